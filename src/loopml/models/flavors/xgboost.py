"""XGBoost models (``Booster`` and the scikit-learn wrappers), in XGBoost's own UBJSON format.

What is stored: ``model.ubj`` written by ``save_model`` (trees, objective, and for a wrapper
its scikit-learn attributes), and in the manifest the class to rebuild (only
``xgboost.sklearn.*`` wrappers or ``xgboost.core.Booster``), the objective and the number of
classes. No pickle. At load a wrapper is rebuilt and ``load_model`` reads the file, so
``predict`` and ``predict_proba`` are XGBoost's own; a bare Booster predicts on a ``DMatrix``.

Example:
    >>> clf = xgboost.XGBClassifier(n_estimators=20).fit(X, y)      # doctest: +SKIP
    >>> loopml.models.save_model(clf, "pkg", input_example=X[:5])   # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loopml.errors import (
    CorruptObjectError,
    InvalidInputError,
    MissingExtraError,
    UnsafeContentError,
)
from loopml.models.flavors.base import Flavor, Predictor, SavedFlavor, class_path
from loopml.models.package import ModelManifest

__all__ = ["FLAVOR", "XGBoostFlavor"]

MODEL_FILE = "model.ubj"
BOOSTER = "xgboost.core.Booster"
WRAPPER_BASE = "xgboost.sklearn.XGBModel"
#: Objectives whose Booster output is already class probabilities.
_PROBA_OBJECTIVES = ("binary:logistic", "multi:softprob")


def _xgboost() -> Any:
    try:
        import xgboost
    except ImportError as exc:
        raise MissingExtraError("the XGBoost flavor", "xgboost", "xgboost") from exc
    return xgboost


def _wrapper_path(model: object) -> str:
    """The first ``xgboost.sklearn`` class in the model's MRO (a user subclass is saved as
    the XGBoost class it extends)."""
    for path in class_path(model):
        if path.startswith("xgboost.sklearn."):
            return path
    return WRAPPER_BASE


def _objective(booster: Any) -> str | None:
    config = json.loads(booster.save_config())
    name = config.get("learner", {}).get("objective", {}).get("name")
    return str(name) if name else None


class XGBoostPredictor(Predictor):
    """A wrapper (its own predict/predict_proba) or a Booster (predict on a DMatrix)."""

    def __init__(self, model: Any, *, is_booster: bool, objective: str | None) -> None:
        self._model = model
        self._is_booster = is_booster
        self._objective = objective

    def predict(self, data: Any) -> Any:
        if not self._is_booster:
            return self._model.predict(data)
        xgb = _xgboost()
        return self._model.predict(xgb.DMatrix(data, enable_categorical=True))

    def predict_proba(self, data: Any) -> Any:
        if not self._is_booster:
            if not hasattr(self._model, "predict_proba"):
                raise NotImplementedError
            return self._model.predict_proba(data)
        if self._objective not in _PROBA_OBJECTIVES:
            raise NotImplementedError
        import numpy as np

        out = self.predict(data)
        if self._objective == "binary:logistic" and out.ndim == 1:
            return np.column_stack([1.0 - out, out])
        return out

    @property
    def raw(self) -> Any:
        return self._model


class XGBoostFlavor(Flavor):
    """XGBoost through its native UBJSON model file."""

    name = "xgboost"
    packages = ("xgboost", "numpy", "scipy", "scikit-learn")
    extra = "xgboost"

    def detect(self, model: object) -> bool:
        return any(path in (BOOSTER, WRAPPER_BASE) for path in class_path(model))

    def save(
        self, model: Any, folder: Path, *, allow_pickle: bool, options: Mapping[str, Any]
    ) -> SavedFlavor:
        xgb = _xgboost()
        if options:
            raise InvalidInputError(
                f"the xgboost flavor takes no options, got {sorted(options)}",
                field=sorted(options)[0],
            )
        is_booster = isinstance(model, xgb.Booster)
        if not is_booster:
            if not isinstance(model, xgb.XGBModel):
                raise InvalidInputError(
                    f"not an XGBoost model: {type(model).__qualname__}", field="model"
                )
            if not model.__sklearn_is_fitted__():
                raise InvalidInputError(
                    f"the {type(model).__qualname__} is not fitted",
                    field="model",
                    hint="call fit() before saving",
                )
        booster = model if is_booster else model.get_booster()
        model.save_model(str(folder / MODEL_FILE))
        n_classes = getattr(model, "n_classes_", None)
        return SavedFlavor(
            loader={
                "model_file": MODEL_FILE,
                "model_class": BOOSTER if is_booster else _wrapper_path(model),
                "objective": _objective(booster),
                "n_classes": int(n_classes) if n_classes is not None else None,
            },
            flavor_version=str(xgb.__version__),
        )

    def load(self, folder: Path, manifest: ModelManifest) -> Predictor:
        xgb = _xgboost()
        loader = manifest.loader
        path = str(folder / str(loader.get("model_file", MODEL_FILE)))
        model_class = str(loader.get("model_class", BOOSTER))
        objective = loader.get("objective")
        if model_class == BOOSTER:
            booster = xgb.Booster()
            booster.load_model(path)
            return XGBoostPredictor(booster, is_booster=True, objective=objective)
        cls = self._wrapper_class(xgb, model_class)
        model = cls()
        model.load_model(path)
        n_classes = loader.get("n_classes")
        if n_classes is not None and getattr(model, "n_classes_", None) != n_classes:
            raise CorruptObjectError(
                f"{path} holds {getattr(model, 'n_classes_', None)} classes, the manifest "
                f"says {n_classes}",
                field="n_classes",
                hint="the package was tampered with; save the model again",
            )
        return XGBoostPredictor(model, is_booster=False, objective=objective)

    @staticmethod
    def _wrapper_class(xgb: Any, model_class: str) -> Any:
        module, _, name = model_class.rpartition(".")
        if module != "xgboost.sklearn":
            raise UnsafeContentError(
                f"model_class {model_class!r} is not an xgboost.sklearn class; refusing to load",
                field="model_class",
                hint="the manifest was not written by loopml, or was tampered with",
            )
        cls = getattr(xgb.sklearn, name, None)
        if not (isinstance(cls, type) and issubclass(cls, xgb.XGBModel)):
            raise UnsafeContentError(
                f"model_class {model_class!r} is not an XGBoost scikit-learn wrapper",
                field="model_class",
                hint="the manifest was not written by loopml, or was tampered with",
            )
        return cls


FLAVOR = XGBoostFlavor()
