"""Flavor detection (the specific before the general), cheap imports, polite missing extras."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from loopml.errors import InvalidInputError, MissingExtraError
from loopml.models.flavors import DETECTION_ORDER, FLAVOR_MODULES, detect_flavor, get_flavor
from loopml.models.flavors.pyfunc import PythonModel
from loopml.models.package import ModelManifest


class _Echo(PythonModel):
    def predict(self, context: Any, model_input: Any) -> Any:
        return model_input


def _xgb_classifier() -> Any:
    return pytest.importorskip("xgboost").XGBClassifier()


def _xgb_booster() -> Any:
    return pytest.importorskip("xgboost").Booster()


def _lgbm_classifier() -> Any:
    return pytest.importorskip("lightgbm").LGBMClassifier()


def _lgbm_regressor() -> Any:
    return pytest.importorskip("lightgbm").LGBMRegressor()


def _torch_module() -> Any:
    return pytest.importorskip("torch").nn.Linear(3, 1)


def _onnx_proto() -> Any:
    return pytest.importorskip("onnx").ModelProto()


def _sklearn_model() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression()


@pytest.mark.parametrize(
    ("make", "flavor"),
    [
        (_xgb_classifier, "xgboost"),  # also a sklearn BaseEstimator: xgboost wins
        (_xgb_booster, "xgboost"),
        (_lgbm_classifier, "lightgbm"),  # likewise
        (_lgbm_regressor, "lightgbm"),
        (_torch_module, "torch"),
        (_onnx_proto, "onnx"),
        (lambda: "models/net.onnx", "onnx"),
        (_sklearn_model, "sklearn"),
        (_Echo, "pyfunc"),
    ],
    ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", "?").strip("_"),
)
def test_flavor_is_detected_from_the_class(make: Any, flavor: str) -> None:
    assert detect_flavor(make()).name == flavor


def test_detection_tries_the_specific_flavors_before_sklearn() -> None:
    order = list(DETECTION_ORDER)
    assert order.index("sklearn") == len(order) - 1
    assert order.index("pyfunc") == 0


@pytest.mark.parametrize(
    "obj", [object(), {"a": 1}, "model.pkl", 42], ids=["object", "dict", "pkl-path", "int"]
)
def test_unknown_objects_are_a_clear_error(obj: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        detect_flavor(obj)
    assert info.value.field == "model"
    assert info.value.hint and "PythonModel" in info.value.hint


@pytest.mark.parametrize("name", list(FLAVOR_MODULES))
def test_each_module_exposes_its_flavor(name: str) -> None:
    flavor = get_flavor(name)
    assert flavor.name == name
    assert flavor.packages
    assert flavor.extra


def test_importing_flavors_and_detecting_imports_no_model_library() -> None:
    code = (
        "import sys\n"
        "from loopml.models.flavors import FLAVOR_MODULES, get_flavor\n"
        "for name in FLAVOR_MODULES:\n"
        "    if name != 'sklearn':\n"
        "        get_flavor(name).detect(object())\n"
        "heavy = {'torch', 'xgboost', 'lightgbm', 'onnx', 'onnxruntime', 'cloudpickle',\n"
        "         'safetensors', 'sklearn', 'pandas', 'numpy'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("flavor", "blocked", "extra"),
    [
        ("xgboost", "xgboost", "xgboost"),
        ("lightgbm", "lightgbm", "lightgbm"),
        ("torch", "torch", "torch"),
        ("torch", "safetensors", "torch"),
        ("onnx", "onnxruntime", "onnx"),
    ],
)
def test_missing_library_at_load_names_the_extra(
    flavor: str, blocked: str, extra: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for module in [m for m in sys.modules if m == blocked or m.startswith(f"{blocked}.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, blocked, None)  # import raises ImportError
    manifest = ModelManifest(flavor=flavor, files={}, loader={"module_class": "x:Y"})
    with pytest.raises(MissingExtraError) as info:
        importlib.import_module(FLAVOR_MODULES[flavor]).FLAVOR.load(tmp_path, manifest)
    assert info.value.extra == extra
    assert f"loopml[{extra}]" in str(info.value)


def test_pickling_without_cloudpickle_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "cloudpickle", None)
    with pytest.raises(MissingExtraError) as info:
        get_flavor("pyfunc").save(len, tmp_path, allow_pickle=True, options={})
    assert info.value.extra == "pickle"
