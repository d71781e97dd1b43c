"""XGBoost packages: native UBJSON round trips with identical predictions, no pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import loopml
from loopml.errors import InvalidInputError, UnsafeContentError
from loopml.models.package import MANIFEST_NAME

xgb = pytest.importorskip("xgboost")


def test_classifier_round_trips_with_identical_predictions_and_probabilities(
    local_tracking: str, tmp_path: Path
) -> None:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    model = xgb.XGBClassifier(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    manifest = loopml.models.save_model(model, tmp_path / "pkg", input_example=X[:5])

    assert manifest.flavor == "xgboost"  # detected, although it is also a sklearn estimator
    assert manifest.pickle is False
    assert manifest.loader["model_class"] == "xgboost.sklearn.XGBClassifier"
    assert manifest.loader["n_classes"] == 3
    assert manifest.loader["objective"] == "multi:softprob"
    assert "model.ubj" in manifest.files
    assert manifest.signature is not None and manifest.signature.kind == "columns"
    assert manifest.signature.input_names == list(X.columns)
    assert manifest.signature.outputs[0].dtype == "int64"

    loaded = loopml.models.load(str(tmp_path / "pkg"))
    assert loaded.flavor == "xgboost"
    assert isinstance(loaded.raw, xgb.XGBClassifier)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_binary_classifier_from_arrays_round_trips(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = cancer
    array = X.to_numpy()
    model = xgb.XGBClassifier(n_estimators=15, random_state=0).fit(array, y.to_numpy())
    manifest = loopml.models.save_model(model, tmp_path / "pkg", input_example=array[:5])
    assert manifest.signature is not None and manifest.signature.kind == "tensor"
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    np.testing.assert_array_equal(loaded.predict(array), model.predict(array))
    np.testing.assert_array_equal(loaded.predict_proba(array), model.predict_proba(array))


def test_regressor_round_trips_and_has_no_predict_proba(
    local_tracking: str, tmp_path: Path
) -> None:
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = xgb.XGBRegressor(n_estimators=25, random_state=0).fit(X, y)
    manifest = loopml.models.save_model(model, tmp_path / "pkg", input_example=X[:5])
    assert manifest.loader["model_class"] == "xgboost.sklearn.XGBRegressor"
    assert manifest.loader["n_classes"] is None
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(InvalidInputError) as info:
        loaded.predict_proba(X)
    assert info.value.field == "predict_proba"


def test_booster_round_trips_with_probabilities_for_logistic_objective(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = cancer
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "seed": 0},
        xgb.DMatrix(X, label=y),
        num_boost_round=20,
    )
    manifest = loopml.models.save_model(booster, tmp_path / "pkg", input_example=X[:5])
    assert manifest.flavor == "xgboost"
    assert manifest.loader["model_class"] == "xgboost.core.Booster"
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    assert isinstance(loaded.raw, xgb.Booster)
    expected = booster.predict(xgb.DMatrix(X))
    np.testing.assert_array_equal(loaded.predict(X), expected)
    np.testing.assert_array_equal(
        loaded.predict_proba(X), np.column_stack([1.0 - expected, expected])
    )


def test_log_model_into_a_run_loads_by_runs_uri(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = cancer
    model = xgb.XGBClassifier(n_estimators=10, random_state=0).fit(X, y)
    with loopml.start_run():
        info = loopml.models.log_model(model, "model", input_example=X[:5])
    assert info.flavor == "xgboost"
    assert info.uri == f"runs:/{info.run_id}/model"
    loaded = loopml.models.load(info.uri)
    assert loaded.manifest.run_id == info.run_id
    assert loaded.manifest.pickle is False
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_manifest_naming_a_class_outside_xgboost_is_refused(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = cancer
    model = xgb.XGBClassifier(n_estimators=5).fit(X, y)
    folder = tmp_path / "pkg"
    loopml.models.save_model(model, folder, input_example=X[:3])
    body = yaml.safe_load((folder / MANIFEST_NAME).read_text())
    body["loader"]["model_class"] = "os.system"
    (folder / MANIFEST_NAME).write_text(yaml.safe_dump(body))
    with pytest.raises(UnsafeContentError) as info:
        loopml.models.load(str(folder))
    assert info.value.field == "model_class"


def test_unfitted_wrapper_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not fitted"):
        loopml.models.save_model(xgb.XGBClassifier(), tmp_path / "pkg")
    assert not (tmp_path / "pkg").exists()


def test_early_stopped_classifier_keeps_its_best_iteration(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = cancer
    model = xgb.XGBClassifier(n_estimators=300, learning_rate=0.3, early_stopping_rounds=5)
    model.fit(X[:400], y[:400], eval_set=[(X[400:], y[400:])], verbose=False)
    assert model.best_iteration < 299
    loopml.models.save_model(model, tmp_path / "pkg", input_example=X[:3])
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    assert loaded.raw.best_iteration == model.best_iteration
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
