"""LightGBM packages: the native text model, and the wrapper's predict reproduced exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml.errors import InvalidInputError

lgb = pytest.importorskip("lightgbm")


def test_multiclass_classifier_with_text_labels_round_trips(
    local_tracking: str, tmp_path: Path
) -> None:
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    X = iris.data
    y = pd.Series(np.asarray(iris.target_names)[iris.target])  # "setosa", ...
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1, random_state=0).fit(X, y)
    manifest = loopml.models.save_model(model, tmp_path / "pkg", input_example=X[:5])

    assert manifest.flavor == "lightgbm"
    assert manifest.pickle is False
    assert manifest.loader["estimator"] == "classifier"
    assert manifest.loader["classes"] == ["setosa", "versicolor", "virginica"]
    assert "model.txt" in manifest.files
    assert manifest.signature is not None and manifest.signature.input_names == list(X.columns)

    loaded = loopml.models.load(str(tmp_path / "pkg"))
    assert isinstance(loaded.raw, lgb.Booster)
    predicted = loaded.predict(X)
    np.testing.assert_array_equal(predicted, model.predict(X))
    assert predicted.dtype == model.predict(X).dtype
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_binary_classifier_round_trips(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = cancer
    model = lgb.LGBMClassifier(n_estimators=30, verbose=-1, random_state=0).fit(X, y)
    loopml.models.save_model(model, tmp_path / "pkg", input_example=X[:5])
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.predict(X).dtype == model.predict(X).dtype
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_binary_classifier_on_arrays_keeps_integer_labels(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = cancer
    array, labels = X.to_numpy(), (y.to_numpy() * 3 + 1).astype(np.int32)  # classes 1 and 4
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1, random_state=0).fit(array, labels)
    manifest = loopml.models.save_model(model, tmp_path / "pkg", input_example=array[:4])
    assert manifest.loader["classes"] == [1, 4]
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    np.testing.assert_array_equal(loaded.predict(array), model.predict(array))
    assert loaded.predict(array).dtype == np.int32


def test_regressor_with_categorical_column_round_trips(local_tracking: str, tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X = X.assign(band=pd.Categorical(np.where(X["bmi"] > 0, "high", "low")))
    model = lgb.LGBMRegressor(n_estimators=30, verbose=-1, random_state=0).fit(X, y)
    manifest = loopml.models.save_model(model, tmp_path / "pkg", input_example=X[:5])
    assert manifest.loader["estimator"] == "regressor"
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(InvalidInputError):
        loaded.predict_proba(X)


def test_booster_round_trips(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = cancer
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "seed": 0},
        lgb.Dataset(X, label=y),
        num_boost_round=15,
    )
    manifest = loopml.models.save_model(booster, tmp_path / "pkg", input_example=X[:5])
    assert manifest.flavor == "lightgbm"
    assert manifest.loader["estimator"] is None
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    np.testing.assert_array_equal(loaded.predict(X), booster.predict(X))


def test_log_model_registers_and_loads_by_alias(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = cancer
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1, random_state=0).fit(X, y)
    info = loopml.models.log_model(model, input_example=X[:5], registered_name="lgb-cancer")
    assert info.version == 1
    for uri in (info.uri, "models:/lgb-cancer@latest", "models:/lgb-cancer/1"):
        loaded = loopml.models.load(uri)
        assert loaded.flavor == "lightgbm"
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_early_stopped_classifier_predicts_with_its_best_iteration(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = cancer
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.3, verbose=-1).fit(
        X[:400],
        y[:400],
        eval_X=(X[400:],),
        eval_y=(y[400:],),
        callbacks=[lgb.early_stopping(5, verbose=False)],
    )
    assert model.best_iteration_ < 300
    loopml.models.save_model(model, tmp_path / "pkg", input_example=X[:3])
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
