"""pyfunc packages: a user class with its code and artifacts (no pickle), and cloudpickle only
when allowed."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import loopml
from loopml.errors import InvalidInputError, UnsafeContentError
from loopml.models.flavors.pyfunc import PythonModel, PythonModelContext
from loopml.models.loading import PickleLoadWarning
from loopml.models.package import MANIFEST_NAME

#: A linear probability model fitted by least squares; its coefficients are an artifact.
MODEL_CODE = """
import numpy as np

import loopml.models
from {package}.features import with_bias


class LinearScorer(loopml.models.PythonModel):
    def __init__(self, threshold=0.5):
        self.threshold = threshold
        self.coef = None

    def load_context(self, context):
        self.coef = np.load(context.artifacts["coef"])

    def _score(self, frame):
        return np.clip(with_bias(frame) @ self.coef, 0.0, 1.0)

    def predict(self, context, model_input):
        return (self._score(model_input) > self.threshold).astype(np.int64)

    def predict_proba(self, context, model_input):
        score = self._score(model_input)
        return np.column_stack([1.0 - score, score])
"""

FEATURES_CODE = """
import numpy as np


def with_bias(frame):
    values = np.asarray(frame, dtype=np.float64)
    return np.column_stack([values, np.ones(len(values))])
"""

#: Run in a fresh interpreter, elsewhere, without the user's code on sys.path.
LOAD_SCRIPT = """
import sys

import numpy as np
from sklearn.datasets import load_breast_cancer

import loopml.models

model = loopml.models.load(sys.argv[1])
X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
np.save(sys.argv[2], model.predict(X))
np.save(sys.argv[3], model.predict_proba(X))
print(sys.modules[type(model.raw).__module__].__file__)
"""


@pytest.fixture
def scorer_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A package ``scorers_<random>`` (model + helper module) on sys.path; removed afterwards."""
    name = f"scorers_{uuid.uuid4().hex[:8]}"
    src = tmp_path / "src"
    package = src / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "features.py").write_text(FEATURES_CODE)
    (package / "model.py").write_text(MODEL_CODE.format(package=name))
    monkeypatch.syspath_prepend(str(src))
    yield name, src
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def _fit(X: pd.DataFrame, y: pd.Series, folder: Path) -> Path:
    design = np.column_stack([X.to_numpy(dtype=np.float64), np.ones(len(X))])
    coef, *_ = np.linalg.lstsq(design, y.to_numpy(dtype=np.float64), rcond=None)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "coef.npy", coef)
    return folder / "coef.npy"


def _run_elsewhere(tmp_path: Path, package: Path) -> tuple[Any, Any, str]:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pred, proba = elsewhere / "pred.npy", elsewhere / "proba.npy"
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", LOAD_SCRIPT, str(package), str(pred), str(proba)],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return np.load(pred), np.load(proba), done.stdout.strip()


def test_class_code_and_artifacts_are_packaged_and_load_in_a_fresh_process(
    local_tracking: str,
    scorer_package: tuple[str, Path],
    cancer: tuple[pd.DataFrame, pd.Series],
    tmp_path: Path,
) -> None:
    name, _ = scorer_package
    X, y = cancer
    coef = _fit(X, y, tmp_path / "train")
    cls = importlib.import_module(f"{name}.model").LinearScorer
    model = cls(threshold=0.4)
    folder = tmp_path / "pkg"
    manifest = loopml.models.save_model(
        model,
        folder,
        input_example=X[:5],
        init_args={"threshold": 0.4},
        artifacts={"coef": str(coef)},
    )
    assert manifest.flavor == "pyfunc"  # detected from the PythonModel base class
    assert manifest.pickle is False
    assert manifest.loader["python_class"] == f"{name}.model:LinearScorer"
    assert manifest.loader["init_args"] == {"threshold": 0.4}
    assert manifest.loader["code"] == [f"code/{name}"]
    assert manifest.loader["artifacts"] == {"coef": "artifacts/coef"}
    assert {f"code/{name}/model.py", f"code/{name}/features.py", "artifacts/coef"} <= set(
        manifest.files
    )
    assert not any("__pycache__" in path for path in manifest.files)
    assert manifest.signature is not None and manifest.signature.input_names == list(X.columns)

    model.load_context(PythonModelContext({"coef": str(coef)}))
    context = PythonModelContext()
    expected = model.predict(context, X)
    expected_proba = model.predict_proba(context, X)

    loaded = loopml.models.load(str(folder))
    np.testing.assert_array_equal(loaded.predict(X), expected)
    np.testing.assert_array_equal(loaded.predict_proba(X), expected_proba)

    pred, proba, module_file = _run_elsewhere(tmp_path, folder)
    np.testing.assert_array_equal(pred, expected)
    np.testing.assert_array_equal(proba, expected_proba)
    assert Path(module_file).is_relative_to(folder / "code")


def test_code_paths_package_exactly_the_files_named(
    local_tracking: str,
    scorer_package: tuple[str, Path],
    cancer: tuple[pd.DataFrame, pd.Series],
    tmp_path: Path,
) -> None:
    name, src = scorer_package
    X, y = cancer
    coef = _fit(X, y, tmp_path / "train")
    model = importlib.import_module(f"{name}.model").LinearScorer()
    folder = tmp_path / "pkg"
    manifest = loopml.models.save_model(
        model,
        folder,
        input_example=X[:5],
        code_paths=[str(src / name)],
        artifacts={"coef": str(coef)},
    )
    assert manifest.loader["code"] == [f"code/{name}"]
    assert manifest.loader["init_args"] == {}
    pred, _, _ = _run_elsewhere(tmp_path, folder)
    np.testing.assert_array_equal(pred, loopml.models.load(str(folder)).predict(X))


def test_log_model_into_a_run_loads_by_runs_uri(
    local_tracking: str,
    scorer_package: tuple[str, Path],
    cancer: tuple[pd.DataFrame, pd.Series],
    tmp_path: Path,
) -> None:
    name, _ = scorer_package
    X, y = cancer
    coef = _fit(X, y, tmp_path / "train")
    model = importlib.import_module(f"{name}.model").LinearScorer()
    with loopml.start_run():
        info = loopml.models.log_model(model, input_example=X[:5], artifacts={"coef": str(coef)})
    loaded = loopml.models.load(info.uri)
    assert loaded.flavor == "pyfunc"
    assert (loaded.path / "artifacts" / "coef").is_file()
    np.testing.assert_array_equal(loaded.raw.coef, np.load(coef))
    model.load_context(PythonModelContext({"coef": str(coef)}))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(PythonModelContext(), X))


class _Polynomial:
    """Not a PythonModel: a plain object with predict, which only pickle can save."""

    def __init__(self, coef: np.ndarray[Any, Any]) -> None:
        self.coef = coef

    def predict(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        return np.asarray(np.polyval(self.coef, frame["x"].to_numpy()))


@pytest.fixture
def polynomial() -> tuple[_Polynomial, pd.DataFrame]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, 200)
    y = 1.5 * x**2 - x + rng.normal(0, 0.1, 200)
    return _Polynomial(np.polyfit(x, y, 2)), pd.DataFrame({"x": x})


def test_pickle_is_refused_without_allow_pickle(
    polynomial: tuple[_Polynomial, pd.DataFrame], tmp_path: Path
) -> None:
    model, frame = polynomial
    for obj in (model, lambda df: df):
        with pytest.raises(UnsafeContentError) as info:
            loopml.models.save_model(obj, tmp_path / "pkg", flavor="pyfunc", input_example=frame)
        assert info.value.hint and "allow_pickle=True" in info.value.hint
        assert not (tmp_path / "pkg").exists()


def test_pickle_with_allow_pickle_is_recorded_and_warned_about(
    local_tracking: str, polynomial: tuple[_Polynomial, pd.DataFrame], tmp_path: Path
) -> None:
    model, frame = polynomial
    folder = tmp_path / "pkg"
    manifest = loopml.models.save_model(
        model, folder, flavor="pyfunc", allow_pickle=True, input_example=frame[:5]
    )
    assert manifest.pickle is True
    assert manifest.loader["pickle_file"] == "python_model.pkl"
    with pytest.warns(PickleLoadWarning):
        loaded = loopml.models.load(str(folder))
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_python_model_defined_in_main_pickles_only_when_allowed(
    local_tracking: str, tmp_path: Path
) -> None:
    def predict(self: Any, context: Any, model_input: Any) -> Any:
        return model_input["x"].to_numpy() * 2

    main_cls = type("Doubler", (PythonModel,), {"__module__": "__main__", "predict": predict})
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(InvalidInputError, match="__main__") as info:
        loopml.models.save_model(main_cls(), tmp_path / "a", input_example=frame)
    assert info.value.hint and "module file" in info.value.hint

    manifest = loopml.models.save_model(
        main_cls(), tmp_path / "b", input_example=frame, allow_pickle=True
    )
    assert manifest.pickle is True
    assert manifest.loader["code"] == []  # the script itself is not packaged
    with pytest.warns(PickleLoadWarning):
        loaded = loopml.models.load(str(tmp_path / "b"))
    np.testing.assert_array_equal(loaded.predict(frame), [2.0, 4.0])
    with pytest.raises(InvalidInputError) as no_proba:
        loaded.predict_proba(frame)
    assert no_proba.value.field == "predict_proba"


def test_pickle_hidden_from_the_manifest_is_refused(
    local_tracking: str, polynomial: tuple[_Polynomial, pd.DataFrame], tmp_path: Path
) -> None:
    model, _ = polynomial
    folder = tmp_path / "pkg"
    loopml.models.save_model(model, folder, flavor="pyfunc", allow_pickle=True)
    path = folder / MANIFEST_NAME
    body = yaml.safe_load(path.read_text(encoding="utf-8"))
    body["pickle"] = False
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    with pytest.raises(UnsafeContentError) as info:
        loopml.models.load(str(folder))
    assert info.value.field == "pickle_file"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"init_args": {"threshold": object()}}, "init_args"),
        ({"init_args": {"nope": 1}}, "init_args"),
        ({"artifacts": {"../up": "x"}}, "artifacts"),
        ({"artifacts": {"coef": "/does/not/exist"}}, "artifacts"),
        ({"code_paths": "single_string"}, "code_paths"),
        ({"trusted_types": []}, "trusted_types"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_bad_options_are_clear_errors(
    scorer_package: tuple[str, Path], options: dict[str, Any], field: str, tmp_path: Path
) -> None:
    name, _ = scorer_package
    model = importlib.import_module(f"{name}.model").LinearScorer()
    with pytest.raises(InvalidInputError) as info:
        loopml.models.save_model(model, tmp_path / "pkg", **options)
    assert info.value.field == field
    assert not (tmp_path / "pkg").exists()


def test_artifact_paths_outside_the_package_are_refused(
    local_tracking: str,
    scorer_package: tuple[str, Path],
    cancer: tuple[pd.DataFrame, pd.Series],
    tmp_path: Path,
) -> None:
    name, _ = scorer_package
    X, y = cancer
    coef = _fit(X, y, tmp_path / "train")
    folder = tmp_path / "pkg"
    model = importlib.import_module(f"{name}.model").LinearScorer()
    loopml.models.save_model(model, folder, artifacts={"coef": str(coef)})
    path = folder / MANIFEST_NAME
    body = yaml.safe_load(path.read_text(encoding="utf-8"))
    body["loader"]["artifacts"] = {"coef": "../train/coef.npy"}
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    with pytest.raises(UnsafeContentError) as info:
        loopml.models.load(str(folder))
    assert info.value.field == "artifacts"
