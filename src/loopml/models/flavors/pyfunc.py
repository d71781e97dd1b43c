"""Custom Python models (flavor ``pyfunc``): a :class:`PythonModel` subclass, its code packaged
with it, no pickle.

What is stored: the class's import path (``module:QualName``), its code under ``code/`` (the
top-level module or package the class comes from, or the user's ``code_paths``), the user's
``artifacts`` under ``artifacts/`` and JSON-able ``init_args``. At load the package's
``code/`` folder goes first on ``sys.path``, the class is imported and built with
``init_args``, :meth:`PythonModel.load_context` gets the artifacts' local paths, and
``predict`` is the class's own.

Only with ``allow_pickle=True`` is the instance (or any Python object, with ``flavor="pyfunc"``)
written with cloudpickle instead; the manifest records ``pickle: true`` and loading warns.

Example:
    >>> class AddN(loopml.models.PythonModel):              # doctest: +SKIP
    ...     def __init__(self, n=1): self.n = n
    ...     def predict(self, context, model_input): return model_input + self.n
    >>> loopml.models.save_model(AddN(n=2), "pkg", init_args={"n": 2},   # doctest: +SKIP
    ...                          input_example=df)
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.errors import InvalidInputError, MissingExtraError, UnsafeContentError
from loopml.models.flavors._imports import (
    check_constructible,
    import_object,
    import_path_of,
    json_init_args,
)
from loopml.models.flavors.base import Flavor, Predictor, SavedFlavor, class_path
from loopml.models.package import ModelManifest

__all__ = ["FLAVOR", "PyfuncFlavor", "PythonModel", "PythonModelContext"]

CODE_DIR = "code"
ARTIFACTS_DIR = "artifacts"
PICKLE_FILE = "python_model.pkl"
_BASE_PATH = f"{__name__}.PythonModel"
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".git")


@dataclass(frozen=True, slots=True)
class PythonModelContext:
    """What :meth:`PythonModel.load_context` and ``predict`` receive.

    ``artifacts`` maps each name given in ``artifacts={...}`` at save time to the local path
    of its copy in the loaded package.
    """

    artifacts: dict[str, str] = field(default_factory=dict)


class PythonModel:
    """Base class of custom models: subclass it, implement :meth:`predict` (and optionally
    :meth:`load_context` and :meth:`predict_proba`).

    The instance is rebuilt at load as ``YourClass(**init_args)``: keep whatever else it needs
    in ``artifacts`` and read them in :meth:`load_context`.

    Example:
        >>> class Threshold(PythonModel):
        ...     def __init__(self, cut: float = 0.5) -> None:
        ...         self.cut = cut
        ...     def predict(self, context, model_input):
        ...         return (model_input["score"] > self.cut).astype(int).to_numpy()
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Called once at load, before any ``predict``: read artifacts here."""

    def predict(self, context: PythonModelContext, model_input: Any) -> Any:
        """Predictions for ``model_input`` (a DataFrame for column signatures, an array for
        tensor ones)."""
        raise NotImplementedError(f"{type(self).__qualname__} does not implement predict")

    def predict_proba(self, context: PythonModelContext, model_input: Any) -> Any:
        """Class probabilities; models without them leave this as is."""
        raise NotImplementedError


# -- helpers shared with the torch flavor ----------------------------------------------------
# -- the flavor -------------------------------------------------------------------------------
def _cloudpickle() -> Any:
    try:
        import cloudpickle
    except ImportError as exc:
        raise MissingExtraError("pickling a pyfunc model", "pickle", "cloudpickle") from exc
    return cloudpickle


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore=_IGNORE)
    else:
        shutil.copy2(source, target)


def _class_code(cls: type) -> Path | None:
    """The file or package folder holding the top-level module ``cls`` comes from (None for
    an installed distribution: the environment brings it, not the package)."""
    root_name = cls.__module__.split(".", 1)[0]
    if root_name == "__main__":  # a script: pickled by value, nothing to import back
        return None
    file = getattr(sys.modules.get(root_name), "__file__", None)
    if not file:
        return None
    path = Path(file)
    if {"site-packages", "dist-packages"} & set(path.parts):
        return None
    return path.parent if path.name == "__init__.py" else path


def _copy_code(folder: Path, model: object, code_paths: Any) -> list[str]:
    if code_paths is None:
        source = _class_code(type(model)) if isinstance(model, PythonModel) else None
        sources = [source] if source is not None else []
    elif isinstance(code_paths, str | Path) or not isinstance(code_paths, Sequence):
        raise InvalidInputError("code_paths must be a list of paths", field="code_paths")
    else:
        sources = [Path(p) for p in code_paths]
    stored: list[str] = []
    for source in sources:
        target = folder / CODE_DIR / source.name
        if not source.exists() or target.exists():
            raise InvalidInputError(
                f"code path {source} "
                + ("is listed twice" if target.exists() else "does not exist"),
                field="code_paths",
                hint="give existing files or folders, with distinct names",
            )
        _copy(source, target)
        stored.append(f"{CODE_DIR}/{source.name}")
    return stored


def _copy_artifacts(folder: Path, artifacts: Any) -> dict[str, str]:
    if artifacts is None:
        return {}
    if not isinstance(artifacts, Mapping):
        raise InvalidInputError("artifacts must be a mapping name -> path", field="artifacts")
    stored: dict[str, str] = {}
    for name, path in artifacts.items():
        if not isinstance(name, str) or not _ARTIFACT_NAME.match(name) or name in {".", ".."}:
            raise InvalidInputError(
                f"bad artifact name {name!r}",
                field="artifacts",
                hint="use letters, digits, '.', '_' and '-'",
            )
        if not Path(path).exists():
            raise InvalidInputError(f"artifact {name!r}: {path} does not exist", field="artifacts")
        _copy(Path(path), folder / ARTIFACTS_DIR / name)
        stored[name] = f"{ARTIFACTS_DIR}/{name}"
    return stored


def _copy_files(folder: Path, model: object, options: Mapping[str, Any]) -> dict[str, Any]:
    """Copy code and artifacts into the package; their part of the loader."""
    return {
        "code": _copy_code(folder, model, options.get("code_paths")),
        "artifacts": _copy_artifacts(folder, options.get("artifacts")),
    }


def _artifact_paths(folder: Path, stored: Any) -> dict[str, str]:
    """Local paths of the package's artifacts, each checked to stay inside the package."""
    root = folder.resolve()
    paths: dict[str, str] = {}
    for name, rel in dict(stored or {}).items():
        path = (root / str(rel)).resolve()
        if not path.is_relative_to(root):
            raise UnsafeContentError(
                f"artifact {name!r} points outside the package ({rel!r})",
                field="artifacts",
                hint="the manifest was tampered with; do not load it",
            )
        paths[str(name)] = str(path)
    return paths


class PyfuncPredictor(Predictor):
    """A :class:`PythonModel` (or, when pickled, any object with ``predict``)."""

    def __init__(self, model: Any, context: PythonModelContext) -> None:
        self._model = model
        self._context = context

    def predict(self, data: Any) -> Any:
        if isinstance(self._model, PythonModel):
            return self._model.predict(self._context, data)
        if hasattr(self._model, "predict"):
            return self._model.predict(data)
        return self._model(data)

    def predict_proba(self, data: Any) -> Any:
        if isinstance(self._model, PythonModel):
            return self._model.predict_proba(self._context, data)
        if hasattr(self._model, "predict_proba"):
            return self._model.predict_proba(data)
        raise NotImplementedError

    @property
    def raw(self) -> Any:
        return self._model


class PyfuncFlavor(Flavor):
    """User classes with their code (no pickle), or cloudpickle when allowed."""

    name = "pyfunc"
    packages = ("numpy", "pandas", "cloudpickle")
    extra = "pickle"

    def detect(self, model: object) -> bool:
        return _BASE_PATH in class_path(model)

    def save(
        self, model: Any, folder: Path, *, allow_pickle: bool, options: Mapping[str, Any]
    ) -> SavedFlavor:
        unknown = sorted(set(options) - {"code_paths", "artifacts", "init_args"})
        if unknown:
            raise InvalidInputError(
                f"unknown pyfunc options: {unknown}",
                field=unknown[0],
                hint="the pyfunc flavor takes code_paths, artifacts and init_args",
            )
        if allow_pickle:
            return self._save_pickle(model, folder, options)
        if not isinstance(model, PythonModel):
            raise UnsafeContentError(
                f"a {type(model).__module__}.{type(model).__qualname__} can only be saved "
                "as pyfunc with pickle",
                field="model",
                hint="wrap it in a loopml.models.PythonModel subclass, or pass "
                "allow_pickle=True if you trust everyone who will load it",
            )
        cls = type(model)
        import_path = import_path_of(cls)
        given = options.get("init_args") is not None
        init_args = json_init_args(options.get("init_args"))
        check_constructible(cls, init_args, given=given)
        files = _copy_files(folder, model, options)
        return SavedFlavor(loader={"python_class": import_path, "init_args": init_args, **files})

    def _save_pickle(self, model: Any, folder: Path, options: Mapping[str, Any]) -> SavedFlavor:
        cloudpickle = _cloudpickle()
        if options.get("init_args") is not None:
            raise InvalidInputError(
                "init_args is not used when the model is pickled",
                field="init_args",
                hint="drop init_args, or save without allow_pickle",
            )
        if not isinstance(model, PythonModel) and not (
            hasattr(model, "predict") or callable(model)
        ):
            raise InvalidInputError(
                f"a {type(model).__qualname__} has no predict and is not callable",
                field="model",
            )
        files = _copy_files(folder, model, options)
        (folder / PICKLE_FILE).write_bytes(cloudpickle.dumps(model))
        return SavedFlavor(
            loader={"pickle_file": PICKLE_FILE, **files},
            flavor_version=str(cloudpickle.__version__),
            pickle=True,
        )

    def load(self, folder: Path, manifest: ModelManifest) -> Predictor:
        loader = manifest.loader
        if loader.get("code"):
            code_dir = str((folder / CODE_DIR).resolve())
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)
        context = PythonModelContext(_artifact_paths(folder, loader.get("artifacts")))
        # Importing the packaged code must not write __pycache__ into the package.
        no_bytecode = sys.dont_write_bytecode
        sys.dont_write_bytecode = True
        try:
            model = self._instance(folder, manifest)
        finally:
            sys.dont_write_bytecode = no_bytecode
        if isinstance(model, PythonModel):
            model.load_context(context)
        return PyfuncPredictor(model, context)

    def _instance(self, folder: Path, manifest: ModelManifest) -> Any:
        loader = manifest.loader
        if "pickle_file" in loader:
            if not manifest.pickle:
                raise UnsafeContentError(
                    "the package holds a pickle but its manifest does not say pickle: true",
                    field="pickle_file",
                    hint="the package was tampered with; do not load it",
                )
            with (folder / str(loader["pickle_file"])).open("rb") as handle:
                return _cloudpickle().load(handle)
        cls = import_object(str(loader["python_class"]))
        if not (isinstance(cls, type) and issubclass(cls, PythonModel)):
            raise UnsafeContentError(
                f"{loader['python_class']} is not a loopml.models.PythonModel",
                field="python_class",
                hint="the package was tampered with, or its code changed since it was saved",
            )
        return cls(**dict(loader.get("init_args") or {}))


FLAVOR = PyfuncFlavor()
