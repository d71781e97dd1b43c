"""scikit-learn models (estimators and pipelines), saved with skops: no pickle.

At load, skops lists the types the file would create that it does not trust by default;
loopml trusts those that come from scikit-learn, NumPy and SciPy, plus the ones the user named
with ``trusted_types=`` when saving (recorded in the manifest). Anything else, which is how a
code-running payload would show up, is refused with :class:`~loopml.errors.UnsafeContentError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from loopml.errors import InvalidInputError, MissingExtraError, UnsafeContentError
from loopml.models.flavors.base import Flavor, Predictor, SavedFlavor, class_path
from loopml.models.package import ModelManifest

__all__ = ["FLAVOR", "SklearnFlavor"]

MODEL_FILE = "model.skops"
#: Module roots whose types are trusted in a skops file.
SAFE_ROOTS = ("sklearn", "numpy", "scipy")


def _skops_io() -> Any:
    try:
        import skops.io as sio
    except ImportError as exc:
        raise MissingExtraError("the scikit-learn flavor", "sklearn", "skops") from exc
    return sio


def _is_safe(type_name: str) -> bool:
    return type_name.split(".", 1)[0] in SAFE_ROOTS


class SklearnPredictor(Predictor):
    """A scikit-learn estimator behind the uniform predict interface."""

    def __init__(self, model: Any) -> None:
        self._model = model
        # An estimator fitted on an array warns when given a DataFrame, and one fitted on a
        # DataFrame checks the names: give each what it was fitted on.
        self._wants_frame = hasattr(model, "feature_names_in_")

    def _input(self, data: Any) -> Any:
        if self._wants_frame or not hasattr(data, "to_numpy"):
            return data
        return data.to_numpy()

    def predict(self, data: Any) -> Any:
        return self._model.predict(self._input(data))

    def predict_proba(self, data: Any) -> Any:
        if not hasattr(self._model, "predict_proba"):
            raise NotImplementedError
        return self._model.predict_proba(self._input(data))

    @property
    def raw(self) -> Any:
        return self._model


class SklearnFlavor(Flavor):
    """scikit-learn through skops."""

    name = "sklearn"
    packages = ("scikit-learn", "skops", "numpy", "scipy")
    extra = "sklearn"

    def detect(self, model: object) -> bool:
        return any(path.startswith("sklearn.base.BaseEstimator") for path in class_path(model))

    def save(
        self, model: Any, folder: Path, *, allow_pickle: bool, options: Mapping[str, Any]
    ) -> SavedFlavor:
        sio = _skops_io()
        import sklearn

        trusted: Sequence[str] = options.get("trusted_types") or ()
        if isinstance(trusted, str) or not all(isinstance(t, str) for t in trusted):
            raise InvalidInputError(
                "trusted_types must be a list of 'module.Class' names", field="trusted_types"
            )
        path = folder / MODEL_FILE
        sio.dump(model, path)
        found = sio.get_untrusted_types(file=path)
        unknown = [t for t in found if not _is_safe(t) and t not in trusted]
        if unknown:
            path.unlink()
            raise UnsafeContentError(
                f"the model holds types loopml would not trust at load: {unknown}",
                field="model",
                hint="if you trust them, pass trusted_types=[...] naming them",
            )
        return SavedFlavor(
            loader={
                "model_file": MODEL_FILE,
                "trusted_types": sorted(trusted),
                # every type skops does not trust by default, so that loading parses the file
                # once: skops itself refuses anything outside this list
                "skops_types": sorted(found),
            },
            flavor_version=sklearn.__version__,
        )

    def load(self, folder: Path, manifest: ModelManifest) -> Predictor:
        sio = _skops_io()
        from skops.io.exceptions import UntrustedTypesFoundException

        path = folder / str(manifest.loader.get("model_file", MODEL_FILE))
        declared = set(manifest.loader.get("trusted_types") or ())
        recorded = manifest.loader.get("skops_types")
        found = list(recorded) if recorded is not None else sio.get_untrusted_types(file=path)
        _refuse([t for t in found if not _is_safe(t) and t not in declared], path.name)
        try:
            model = sio.load(path, trusted=found)
        except UntrustedTypesFoundException as exc:
            # the file holds types its manifest does not list: it was swapped or edited
            raise _refusal(str(exc), path.name) from None
        return SklearnPredictor(model)


def _refusal(what: str, file_name: str) -> UnsafeContentError:
    return UnsafeContentError(
        f"{file_name} would create untrusted types: {what}; refusing to load it",
        field="model_file",
        hint="this file was not written by loopml from a scikit-learn model, or was "
        "tampered with; load it only if you trust its source, with skops directly",
    )


def _refuse(types: list[str], file_name: str) -> None:
    if types:
        raise _refusal(str(types), file_name)


FLAVOR = SklearnFlavor()
