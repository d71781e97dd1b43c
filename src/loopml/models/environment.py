"""The environment a model runs in: capture it at save time, check it at load time.

A package records the Python version, the platform and exact pins of the packages its flavor
needs (plus the user's). :func:`warn_on_mismatch` runs on every model load, so it is cheap:
versions come from the ``*.dist-info`` names on ``sys.path`` and :mod:`packaging` is imported
only for requirements that are not plain ``name==version`` pins.

Example:
    >>> env = capture_environment(["numpy"], extra=["pandas>=2"])  # doctest: +SKIP
    >>> env.requirements  # doctest: +SKIP
    ('loopml==0.1.0', 'numpy==2.4.6', 'pandas>=2')
    >>> check_environment(env)  # doctest: +SKIP
    []
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from loopml.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from packaging.requirements import Requirement

__all__ = [
    "SERIOUS",
    "Environment",
    "EnvironmentMismatchWarning",
    "Mismatch",
    "Severity",
    "capture_environment",
    "check_environment",
    "dist_info_index",
    "installed_version",
    "verify_environment",
    "warn_on_mismatch",
]

Severity = Literal["missing", "major", "minor", "patch", "python"]

#: Severities that make a model likely to fail or to predict differently.
SERIOUS: frozenset[str] = frozenset({"missing", "major", "python"})

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)\s*$")
_RELEASE = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?")
_SEPARATORS = re.compile(r"[-_.]+")


class EnvironmentMismatchWarning(UserWarning):
    """A model was loaded into an interpreter that differs from the one it was saved with."""


@dataclass(frozen=True, slots=True)
class Environment:
    """Where a model was saved: Python version, platform and exact package pins.

    Attributes:
        python: The full Python version, e.g. ``"3.11.7"``.
        platform: ``sysconfig.get_platform()``, e.g. ``"linux-x86_64"``.
        requirements: Requirement strings, sorted and deduplicated; exact pins
            (``"scikit-learn==1.5.2"``) except where the user declared a range.
    """

    python: str
    platform: str
    requirements: tuple[str, ...]

    @property
    def python_minor(self) -> str:
        """``"3.11"`` for ``"3.11.7"``."""
        return ".".join(self.python.split(".")[:2])

    def to_dict(self) -> dict[str, Any]:
        """The environment as the manifest stores it."""
        return {
            "python": self.python,
            "platform": self.platform,
            "requirements": list(self.requirements),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Environment:
        """Read what :meth:`to_dict` wrote.

        Raises:
            InvalidInputError: ``data`` lacks a field or has one of the wrong type.
        """
        python = data.get("python")
        platform = data.get("platform", "")
        requirements = data.get("requirements", ())
        problem = None
        if not isinstance(python, str) or not _RELEASE.match(python):
            problem = ("python", f"must be a version like '3.11.7', not {python!r}")
        elif not isinstance(platform, str):
            problem = ("platform", "must be a string")
        elif isinstance(requirements, str) or not all(isinstance(r, str) for r in requirements):
            problem = ("requirements", "must be a list of requirement strings")
        if problem is not None:
            field = f"environment.{problem[0]}"
            raise InvalidInputError(f"{field} {problem[1]}", field=field)
        return cls(python=str(python), platform=platform, requirements=tuple(requirements))


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One difference between a model's environment and the running interpreter.

    Attributes:
        package: The distribution name (``"python"`` for the interpreter itself).
        expected: The version (or specifier, for a declared range) the model was saved with.
        found: The installed version, or ``None`` when the package is not installed.
        severity: ``missing``, ``major``, ``minor``, ``patch`` or ``python`` (the
            interpreter's major.minor differs).
    """

    package: str
    expected: str
    found: str | None
    severity: Severity

    @property
    def serious(self) -> bool:
        """Missing package, major version change or another Python minor version."""
        return self.severity in SERIOUS

    def describe(self) -> str:
        """``numpy 1.26.4 -> 2.4.6 (major)``; ``skops missing (model: 0.10.0)``."""
        if self.found is None:
            return f"{self.package} missing (model: {self.expected})"
        return f"{self.package} {self.expected} -> {self.found} ({self.severity})"


def canonical_name(name: str) -> str:
    """PEP 503 normalisation (``Scikit_Learn`` -> ``scikit-learn``), without importing packaging."""
    return _SEPARATORS.sub("-", name).lower()


def capture_environment(packages: Iterable[str], extra: Iterable[str] = ()) -> Environment:
    """Pin the installed versions of ``packages`` plus the user's ``extra`` requirements.

    Args:
        packages: Distribution names (``"scikit-learn"``, not ``"sklearn"``) the model
            needs. A package that is not installed is skipped.
        extra: Requirement strings the user declares (``"pandas>=2"``, ``"pyarrow"``). A
            bare name is pinned to its installed version; a name with a specifier, URL or
            marker is kept as written and takes the place of an automatic pin.

    Returns:
        The environment, always with ``loopml==<this version>``.

    Raises:
        InvalidInputError: An ``extra`` string is not a valid requirement
            (``field="pip_requirements"``).
    """
    import sysconfig

    from loopml._version import __version__

    pins: dict[str, str] = {"loopml": f"loopml=={__version__}"}
    index = dist_info_index()
    for package in packages:
        name = canonical_name(package)
        if name in pins:
            continue
        version = installed_version(name, index)
        if version is not None:
            pins[name] = f"{name}=={version}"
    for text in extra:
        requirement = _parse_requirement(text)
        key = canonical_name(requirement.name)
        if requirement.marker is not None:
            key = f"{key}; {requirement.marker}"
        if requirement.specifier or requirement.url or requirement.marker is not None:
            pins[key] = str(requirement)
            continue
        version = installed_version(requirement.name, index)
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        name = canonical_name(requirement.name)
        pins[key] = f"{name}{extras}=={version}" if version else f"{name}{extras}"
    info = sys.version_info
    return Environment(
        python=f"{info.major}.{info.minor}.{info.micro}",
        platform=sysconfig.get_platform(),
        requirements=tuple(pins[key] for key in sorted(pins)),
    )


def _parse_requirement(text: str) -> Requirement:
    from packaging.requirements import InvalidRequirement, Requirement

    if not isinstance(text, str):
        raise InvalidInputError(
            f"pip requirement {text!r} is not a string",
            field="pip_requirements",
            hint="pass requirement strings such as 'pandas>=2' or 'pyarrow==16.1.0'",
        )
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise InvalidInputError(
            f"{text!r} is not a valid pip requirement: {exc}",
            field="pip_requirements",
            hint="use PEP 508 syntax, e.g. 'pandas>=2', 'pyarrow==16.1.0' or "
            "'pywin32; sys_platform == \"win32\"'",
        ) from None


def installed_version(name: str, index: Mapping[str, str] | None = None) -> str | None:
    """The installed version of distribution ``name``, or ``None`` when it is not installed.

    Reads the ``<name>-<version>.dist-info`` folder names on ``sys.path`` (first match wins,
    as for imports; pass ``index``, a :func:`dist_info_index`, to scan once for many names);
    names not found that way are asked of :mod:`importlib.metadata`.
    """
    wanted = canonical_name(name)
    if wanted == "loopml":
        from loopml._version import __version__

        return __version__
    found = (dist_info_index() if index is None else index).get(wanted)
    if found:
        return found
    return _metadata_version(wanted)  # not found, or "" (ambiguous folder): ask the metadata


def dist_info_index() -> dict[str, str]:
    """Canonical name -> version of every ``*.dist-info`` on ``sys.path`` (first wins)."""
    index: dict[str, str] = {}
    for entry in sys.path:
        for key, version in _dist_info_versions(entry or ".").items():
            index.setdefault(key, version)
    return index


def _dist_info_versions(folder: str) -> dict[str, str]:
    """Canonical name -> version of the dist-info folders in ``folder`` ("" if ambiguous)."""
    versions: dict[str, str] = {}
    try:
        entries = os.scandir(folder)
    except OSError:
        return versions
    with entries:
        for item in entries:
            if not item.name.endswith(".dist-info"):
                continue
            stem = item.name[: -len(".dist-info")]
            name, _, version = stem.rpartition("-")
            if not name or not version[:1].isdigit():
                continue
            key = canonical_name(name)
            versions[key] = "" if key in versions else version
    return versions


def _metadata_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_environment(env: Environment) -> list[Mismatch]:
    """Compare ``env`` with the running interpreter.

    Returns:
        One :class:`Mismatch` per requirement the interpreter does not satisfy (a pin with
        another version, a range not met, a package not installed) and, first, one with
        severity ``python`` when the interpreter's major.minor differs. Requirements whose
        marker does not apply here (``; sys_platform == "win32"``) are ignored.
    """
    found: list[Mismatch] = []
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if env.python_minor != running:
        found.append(Mismatch("python", env.python_minor, running, "python"))
    index = dist_info_index()
    for text in env.requirements:
        mismatch = _check_requirement(text, index)
        if mismatch is not None:
            found.append(mismatch)
    return found


def _check_requirement(text: str, index: Mapping[str, str]) -> Mismatch | None:
    pin = _PIN.match(text)
    if pin is not None:
        name, expected = canonical_name(pin.group(1)), pin.group(2)
        installed = installed_version(name, index)
        if installed is None:
            return Mismatch(name, expected, None, "missing")
        severity = _pin_severity(expected, installed)
        return None if severity is None else Mismatch(name, expected, installed, severity)
    requirement = _parse_requirement(text)
    if requirement.marker is not None and not requirement.marker.evaluate():
        return None
    name = canonical_name(requirement.name)
    wanted = str(requirement.specifier) or (requirement.url or "any")
    installed = installed_version(name, index)
    if installed is None:
        return Mismatch(name, wanted, None, "missing")
    if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
        return Mismatch(name, wanted, installed, "major")
    return None


def _pin_severity(expected: str, installed: str) -> Severity | None:
    """How far ``installed`` is from the pinned ``expected``; ``None`` if they are equal."""
    if expected == installed:
        return None
    want, have = _release(expected), _release(installed)
    if want is None or have is None:
        return _pin_severity_packaging(expected, installed)
    if want[0] != have[0]:
        return "major"
    if want[1] != have[1]:
        return "minor"
    if want[2] != have[2]:
        return "patch"
    # Same release numbers: "1.0" vs "1.0.0" are equal; "2.1.0+cpu" vs "2.1.0" are not.
    return _pin_severity_packaging(expected, installed)


def _pin_severity_packaging(expected: str, installed: str) -> Severity | None:
    from packaging.version import InvalidVersion, Version

    try:
        want, have = Version(expected), Version(installed)
    except InvalidVersion:
        return "major"  # not PEP 440: all we know is that they differ
    if want == have:
        return None
    a, b = (*want.release, 0, 0, 0)[:3], (*have.release, 0, 0, 0)[:3]
    if want.epoch != have.epoch or a[0] != b[0]:
        return "major"
    return "minor" if a[1] != b[1] else "patch"


def _release(version: str) -> tuple[int, int, int] | None:
    """``(1, 5, 2)`` for ``"1.5.2rc1"``; ``None`` for an epoch or an unusual version."""
    match = _RELEASE.match(version)
    if match is None or "!" in version:
        return None
    return (int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0))


def warn_on_mismatch(
    env: Environment | None, *, uri: str | None = None, stacklevel: int = 1
) -> list[Mismatch]:
    """Warn once (one :class:`EnvironmentMismatchWarning`) if loading into ``env`` is risky.

    Cheap, as it runs on every model load. Only serious mismatches (missing package, major
    version, Python major.minor) warn; minor and patch ones are only returned.

    Args:
        env: The model's environment; ``None`` (nothing recorded) does nothing.
        uri: The model's URI, quoted in the ``loopml models verify-env`` hint.
        stacklevel: Which frame the warning points at: 1 is the line calling this
            function, 2 its caller (what ``loopml.models.load`` passes, so the warning
            names the user's ``load`` call).

    Returns:
        Every mismatch found (serious or not).
    """
    if env is None:
        return []
    mismatches = check_environment(env)
    serious = [m for m in mismatches if m.serious]
    if serious:
        listed = "; ".join(m.describe() for m in serious)
        warnings.warn(
            f"the model{f' {uri}' if uri else ''} was saved in another environment: {listed}. "
            f"Loading may fail or predictions may differ; "
            f"run `loopml models verify-env {uri or 'URI'}` for details.",
            EnvironmentMismatchWarning,
            stacklevel=stacklevel + 1,
        )
    return mismatches


def verify_environment(uri: str) -> list[Mismatch]:
    """Compare the environment recorded in the model at ``uri`` with this interpreter.

    Args:
        uri: ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``runs:/RUN_ID/PATH`` or a
            local package folder.

    Raises:
        NotFoundError: The model does not exist, or records no environment.
    """
    from loopml.models import manifest_of

    env = manifest_of(uri).environment
    if env is None:
        raise NotFoundError(
            "the model records no environment", uri=uri, hint="save it again with loopml"
        )
    return check_environment(env)
