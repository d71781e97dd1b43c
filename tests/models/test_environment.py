"""Capturing a model's environment and comparing it with the running interpreter."""

from __future__ import annotations

import linecache
import subprocess
import sys
import sysconfig
import warnings
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import loopml
from loopml.errors import InvalidInputError, NotFoundError
from loopml.models import environment as environment_module
from loopml.models.environment import (
    Environment,
    EnvironmentMismatchWarning,
    Mismatch,
    capture_environment,
    check_environment,
    installed_version,
    warn_on_mismatch,
)

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"
NUMPY = metadata.version("numpy")
PYYAML = metadata.version("pyyaml")


def _env(*requirements: str, python: str | None = None) -> Environment:
    return Environment(
        python=python or f"{HERE}.0", platform="linux-x86_64", requirements=requirements
    )


def _bump(version: str, part: int) -> str:
    """``version`` with release component ``part`` (0 major, 1 minor, 2 patch) moved on."""
    numbers = [int(x) for x in version.split("+", maxsplit=1)[0].split(".")[:3]]
    numbers += [0] * (3 - len(numbers))
    numbers[part] += 1
    return ".".join(str(n) for n in numbers)


# -- capture ----------------------------------------------------------------------------------
def test_capture_pins_the_installed_versions() -> None:
    env = capture_environment(["numpy", "PyYAML"])
    assert f"numpy=={NUMPY}" in env.requirements
    assert f"pyyaml=={PYYAML}" in env.requirements
    info = sys.version_info
    assert env.python == f"{info.major}.{info.minor}.{info.micro}"
    assert env.platform == sysconfig.get_platform()


def test_capture_always_includes_loopml() -> None:
    assert capture_environment([]).requirements == (f"loopml=={loopml.__version__}",)


def test_capture_normalises_names_sorts_and_deduplicates() -> None:
    env = capture_environment(["Scikit_Learn", "numpy", "scikit-learn", "NumPy", "loopml"])
    sklearn = metadata.version("scikit-learn")
    assert env.requirements == (
        f"loopml=={loopml.__version__}",
        f"numpy=={NUMPY}",
        f"scikit-learn=={sklearn}",
    )


def test_capture_skips_packages_that_are_not_installed() -> None:
    env = capture_environment(["numpy", "surely-not-installed-pkg-xyz"])
    assert not any("surely-not-installed" in r for r in env.requirements)


def test_extras_bare_names_are_pinned_ranges_kept() -> None:
    env = capture_environment(
        ["numpy"], extra=["PyYAML", "pandas>=2", "not-installed-thing", "numpy<99"]
    )
    assert f"pyyaml=={PYYAML}" in env.requirements
    assert "pandas>=2" in env.requirements
    assert "not-installed-thing" in env.requirements
    # the user's declared range takes the place of the automatic pin
    assert "numpy<99" in env.requirements
    assert f"numpy=={NUMPY}" not in env.requirements


def test_extras_keep_extras_and_markers() -> None:
    env = capture_environment([], extra=["pyyaml[extra]", 'pywin32==306; sys_platform == "win32"'])
    assert f"pyyaml[extra]=={PYYAML}" in env.requirements
    assert 'pywin32==306; sys_platform == "win32"' in env.requirements


@pytest.mark.parametrize("bad", ["numpy===", "pandas >= >= 2", "has space name", "-e .", ""])
def test_invalid_extras_are_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        capture_environment(["numpy"], extra=[bad])
    assert caught.value.field == "pip_requirements"
    assert caught.value.hint and "PEP 508" in caught.value.hint


def test_installed_version_matches_importlib_metadata_for_every_distribution() -> None:
    seen: set[str] = set()
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name or environment_module.canonical_name(name) in seen:
            continue  # the first one on sys.path wins; metadata.version agrees with that
        seen.add(environment_module.canonical_name(name))
        assert installed_version(name) == metadata.version(name), name
    assert installed_version("surely-not-installed-pkg-xyz") is None


# -- the record -------------------------------------------------------------------------------
def test_to_dict_round_trips() -> None:
    env = capture_environment(["numpy"], extra=["pandas>=2"])
    assert Environment.from_dict(env.to_dict()) == env
    assert env.to_dict()["requirements"] == list(env.requirements)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"python": 3.11, "platform": "x", "requirements": []},
        {"python": "3.11.7", "platform": "x", "requirements": "numpy==1"},
        {"python": "3.11.7", "platform": "x", "requirements": [1]},
    ],
)
def test_from_dict_refuses_malformed_bodies(body: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Environment.from_dict(body)
    assert caught.value.field and caught.value.field.startswith("environment")


@given(
    st.lists(
        st.from_regex(r"[a-z][a-z0-9]{0,8}==[0-9]{1,2}\.[0-9]{1,2}\.[0-9]", fullmatch=True),
        max_size=5,
    )
)
def test_from_dict_to_dict_property(pins: list[str]) -> None:
    env = Environment("3.12.1", "macosx-14.0-arm64", tuple(pins))
    assert Environment.from_dict(env.to_dict()) == env


# -- check ------------------------------------------------------------------------------------
def test_a_captured_environment_matches_itself() -> None:
    assert check_environment(capture_environment(["numpy", "pyyaml"], extra=["pandas"])) == []


def test_mismatch_severities() -> None:
    env = _env(
        f"numpy=={_bump(NUMPY, 0)}",
        f"pyyaml=={_bump(PYYAML, 1)}",
        f"scikit-learn=={_bump(metadata.version('scikit-learn'), 2)}",
        "surely-not-installed-pkg-xyz==1.0",
        "pandas<1",
        python="2.7.18",
    )
    found = {m.package: m for m in check_environment(env)}
    assert found["python"] == Mismatch("python", "2.7", HERE, "python")
    assert found["numpy"] == Mismatch("numpy", _bump(NUMPY, 0), NUMPY, "major")
    assert found["pyyaml"].severity == "minor"
    assert found["scikit-learn"].severity == "patch"
    assert found["surely-not-installed-pkg-xyz"] == Mismatch(
        "surely-not-installed-pkg-xyz", "1.0", None, "missing"
    )
    assert found["pandas"].severity == "major"
    assert found["pandas"].expected == "<1"
    assert {m.package for m in check_environment(env) if m.serious} == {
        "python",
        "numpy",
        "surely-not-installed-pkg-xyz",
        "pandas",
    }


def test_python_patch_differences_do_not_count() -> None:
    assert check_environment(_env(python=f"{HERE}.999")) == []


def test_satisfied_ranges_and_foreign_markers_are_fine() -> None:
    env = _env(
        "numpy>=1",
        'surely-not-installed-pkg-xyz==1.0; sys_platform == "no-such-platform"',
        f"numpy=={NUMPY}",
    )
    assert check_environment(env) == []


def test_equal_versions_written_differently_match() -> None:
    assert environment_module._pin_severity("1.0", "1.0.0") is None
    assert environment_module._pin_severity("2.1.0", "2.1.0+cpu") == "patch"
    assert environment_module._pin_severity("1!1.0", "1.0") == "major"
    assert environment_module._pin_severity("1.0rc1", "1.0") == "patch"


@given(
    st.tuples(*[st.integers(0, 30)] * 3),
    st.tuples(*[st.integers(0, 30)] * 3),
    st.sampled_from(["", "rc1", ".post1", "+cpu"]),
)
def test_fast_severity_agrees_with_packaging(
    a: tuple[int, int, int], b: tuple[int, int, int], suffix: str
) -> None:
    expected, installed = ".".join(map(str, a)), ".".join(map(str, b)) + suffix
    fast = environment_module._pin_severity(expected, installed)
    slow = environment_module._pin_severity_packaging(expected, installed)
    assert fast == slow


# -- the load-time warning --------------------------------------------------------------------
def test_serious_mismatches_warn_once_with_the_verify_hint() -> None:
    env = _env(f"numpy=={_bump(NUMPY, 0)}", "surely-not-installed-pkg-xyz==1.0", python="2.7.1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mismatches = warn_on_mismatch(env, uri="models:/churn/3")
    assert len(caught) == 1
    message = str(caught[0].message)
    assert issubclass(caught[0].category, EnvironmentMismatchWarning)
    assert issubclass(EnvironmentMismatchWarning, UserWarning)
    assert "numpy" in message and "surely-not-installed-pkg-xyz" in message
    assert "python 2.7 -> " in message
    assert "loopml models verify-env models:/churn/3" in message
    assert len(mismatches) == 3
    assert caught[0].filename == __file__  # points at the caller, not at loopml


def test_stacklevel_points_a_wrapper_warning_at_its_caller() -> None:
    env = _env("surely-not-installed-pkg-xyz==1.0")

    def load() -> None:
        warn_on_mismatch(env, stacklevel=2)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load()
    assert len(caught) == 1
    assert caught[0].filename == __file__
    assert linecache.getline(__file__, caught[0].lineno).strip() == "load()"


def test_minor_and_patch_mismatches_do_not_warn() -> None:
    env = _env(f"numpy=={_bump(NUMPY, 1)}", f"pyyaml=={_bump(PYYAML, 2)}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [m.severity for m in warn_on_mismatch(env)] == ["minor", "patch"]
        assert warn_on_mismatch(None) == []


def test_warning_is_cheap_no_packaging_or_metadata_import() -> None:
    """warn_on_mismatch runs on every load: plain pins import neither packaging nor
    importlib.metadata (measured in a fresh interpreter)."""
    code = f"""
import sys, warnings
from loopml.models.environment import Environment, warn_on_mismatch
before = set(sys.modules)
env = Environment("{HERE}.0", "x", ("numpy=={NUMPY}", "pyyaml=={_bump(PYYAML, 0)}"))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    warn_on_mismatch(env)
assert len(caught) == 1, caught
new = sorted(set(sys.modules) - before)
assert not [m for m in new if m.startswith(("packaging", "importlib.metadata"))], new
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# -- verify_environment -----------------------------------------------------------------------
def test_verify_environment_reads_the_package_at_a_uri(tmp_path: Path) -> None:
    from loopml.models.environment import verify_environment
    from loopml.models.package import ModelManifest, hash_package_files

    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\x00")
    env = _env(f"numpy=={_bump(NUMPY, 0)}", f"pyyaml=={PYYAML}")
    ModelManifest(flavor="pyfunc", files=hash_package_files(folder), environment=env).write(folder)
    assert verify_environment(str(folder)) == [Mismatch("numpy", _bump(NUMPY, 0), NUMPY, "major")]

    bare = tmp_path / "bare"
    bare.mkdir()
    ModelManifest(flavor="pyfunc", files={}).write(bare)
    with pytest.raises(NotFoundError):
        verify_environment(str(bare))
