"""Model flavors: one module per kind of model, imported only when that kind is used.

Detection tries the flavors in :data:`DETECTION_ORDER` (the specific before the general:
an XGBoost or LightGBM estimator is also a scikit-learn estimator).
"""

from __future__ import annotations

import importlib

from loopml.errors import InvalidInputError
from loopml.models.flavors.base import Flavor

__all__ = ["DETECTION_ORDER", "FLAVOR_MODULES", "detect_flavor", "get_flavor"]

#: flavor name -> module defining ``FLAVOR`` (a :class:`Flavor` instance)
FLAVOR_MODULES: dict[str, str] = {
    "pyfunc": "loopml.models.flavors.pyfunc",
    "xgboost": "loopml.models.flavors.xgboost",
    "lightgbm": "loopml.models.flavors.lightgbm",
    "torch": "loopml.models.flavors.torch",
    "onnx": "loopml.models.flavors.onnx",
    "sklearn": "loopml.models.flavors.sklearn",
}

DETECTION_ORDER: tuple[str, ...] = tuple(FLAVOR_MODULES)


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``.

    Raises:
        InvalidInputError: no such flavor (``field="flavor"``), listing the known ones.
    """
    module = FLAVOR_MODULES.get(name)
    if module is None:
        raise InvalidInputError(
            f"unknown model flavor {name!r}",
            field="flavor",
            hint=f"use one of {', '.join(sorted(FLAVOR_MODULES))}",
        )
    flavor: Flavor = importlib.import_module(module).FLAVOR
    return flavor


def detect_flavor(model: object) -> Flavor:
    """The flavor that saves ``model``, found from its class.

    Raises:
        InvalidInputError: no flavor knows the model (``field="model"``), with what to do.
    """
    for name in DETECTION_ORDER:
        flavor = get_flavor(name)
        if flavor.detect(model):
            return flavor
    raise InvalidInputError(
        f"no loopml flavor saves a {type(model).__module__}.{type(model).__qualname__}",
        field="model",
        hint="wrap it in a loopml.models.PythonModel subclass (flavor 'pyfunc'), or pass "
        "flavor='pyfunc' with allow_pickle=True if you trust everyone who will load it",
    )
