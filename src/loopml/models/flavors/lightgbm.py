"""LightGBM models (``Booster`` and the scikit-learn wrappers), in LightGBM's text format.

What is stored: ``model.txt`` written by ``Booster.save_model`` (trees with full-precision
thresholds, parameters, pandas categories), and in the manifest what the wrapper adds on top of
the Booster: the kind of estimator and the class labels (with their dtype). No pickle. At
load ``lightgbm.Booster(model_file=...)`` reads the file and ``predict``/``predict_proba`` do
what the wrapper does: probabilities from the Booster (``[1 - p, p]`` for binary), labels as
``classes[argmax]``.

Example:
    >>> clf = lightgbm.LGBMClassifier(n_estimators=20).fit(X, y)    # doctest: +SKIP
    >>> loopml.models.save_model(clf, "pkg", input_example=X[:5])   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loopml.errors import InvalidInputError, MissingExtraError
from loopml.models.flavors.base import Flavor, Predictor, SavedFlavor, class_path
from loopml.models.package import ModelManifest

__all__ = ["FLAVOR", "LightGBMFlavor"]

MODEL_FILE = "model.txt"
BOOSTER = "lightgbm.basic.Booster"
WRAPPER_BASE = "lightgbm.sklearn.LGBMModel"
CLASSIFIER = "lightgbm.sklearn.LGBMClassifier"


def _lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError as exc:
        raise MissingExtraError("the LightGBM flavor", "lightgbm", "lightgbm") from exc
    return lightgbm


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value YAML can hold."""
    return value.item() if hasattr(value, "item") else value


class LightGBMPredictor(Predictor):
    """A Booster behind the wrapper's predict (and, for classifiers, predict_proba)."""

    def __init__(self, booster: Any, loader: Mapping[str, Any]) -> None:
        import numpy as np

        self._booster = booster
        self._estimator = loader.get("estimator")
        self._raw_output = bool(loader.get("raw_output"))
        classes = loader.get("classes")
        dtype = loader.get("classes_dtype")
        self._classes = (
            None if classes is None else np.asarray(classes, dtype=np.dtype(dtype or object))
        )

    def _scores(self, data: Any) -> Any:
        return self._booster.predict(data)

    def predict(self, data: Any) -> Any:
        if self._estimator != "classifier" or self._raw_output:
            return self._scores(data)
        import numpy as np

        index = np.argmax(self._proba(data), axis=1)
        assert self._classes is not None
        return self._classes[index]

    def _proba(self, data: Any) -> Any:
        import numpy as np

        result = self._scores(data)
        if result.ndim == 2:  # multiclass objectives give one column per class
            return result
        return np.vstack((1.0 - result, result)).transpose()

    def predict_proba(self, data: Any) -> Any:
        if self._estimator != "classifier" or self._raw_output:
            raise NotImplementedError
        return self._proba(data)

    @property
    def raw(self) -> Any:
        return self._booster


class LightGBMFlavor(Flavor):
    """LightGBM through its native text model file."""

    name = "lightgbm"
    packages = ("lightgbm", "numpy", "scipy", "scikit-learn")
    extra = "lightgbm"

    def detect(self, model: object) -> bool:
        return any(path in (BOOSTER, WRAPPER_BASE) for path in class_path(model))

    def save(
        self, model: Any, folder: Path, *, allow_pickle: bool, options: Mapping[str, Any]
    ) -> SavedFlavor:
        lgb = _lightgbm()
        if options:
            raise InvalidInputError(
                f"the lightgbm flavor takes no options, got {sorted(options)}",
                field=sorted(options)[0],
            )
        loader: dict[str, Any] = {"model_file": MODEL_FILE, "estimator": None}
        if isinstance(model, lgb.Booster):
            booster = model
        elif isinstance(model, lgb.LGBMModel):
            if not model.__sklearn_is_fitted__():
                raise InvalidInputError(
                    f"the {type(model).__qualname__} is not fitted",
                    field="model",
                    hint="call fit() before saving",
                )
            booster = model.booster_
            loader.update(self._wrapper_info(model))
        else:
            raise InvalidInputError(
                f"not a LightGBM model: {type(model).__qualname__}", field="model"
            )
        booster.save_model(str(folder / MODEL_FILE))
        return SavedFlavor(loader=loader, flavor_version=str(lgb.__version__))

    @staticmethod
    def _wrapper_info(model: Any) -> dict[str, Any]:
        paths = class_path(model)
        if CLASSIFIER not in paths:
            ranker = any(p == "lightgbm.sklearn.LGBMRanker" for p in paths)
            return {"estimator": "ranker" if ranker else "regressor"}
        if callable(model.objective_):
            # LightGBM returns raw scores for custom objectives; so does the loaded model.
            return {"estimator": "classifier", "raw_output": True, "objective": "custom"}
        classes = model.classes_
        return {
            "estimator": "classifier",
            "objective": str(model.objective_),
            "classes": [_plain(c) for c in classes.tolist()],
            "classes_dtype": classes.dtype.str if classes.dtype.kind != "O" else None,
        }

    def load(self, folder: Path, manifest: ModelManifest) -> Predictor:
        lgb = _lightgbm()
        path = folder / str(manifest.loader.get("model_file", MODEL_FILE))
        booster = lgb.Booster(model_file=str(path))
        return LightGBMPredictor(booster, manifest.loader)


FLAVOR = LightGBMFlavor()
