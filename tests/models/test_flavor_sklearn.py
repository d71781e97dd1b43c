"""scikit-learn packages: skops round trips, and code-running payloads refused."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml.errors import UnsafeContentError
from loopml.models.package import ModelManifest, hash_package_files


def test_pipeline_round_trips_with_identical_predictions(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = cancer
    model = make_pipeline(StandardScaler(), RandomForestClassifier(20, random_state=0)).fit(X, y)
    manifest = loopml.models.save_model(model, tmp_path / "pkg", input_example=X[:5])
    assert manifest.flavor == "sklearn"
    assert manifest.pickle is False
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_model_fitted_on_arrays_takes_frames_without_warnings(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    from sklearn.linear_model import Ridge

    X, y = cancer
    model = Ridge().fit(X.to_numpy(), y)
    loopml.models.save_model(model, tmp_path / "pkg", input_example=X[:3])
    loaded = loopml.models.load(str(tmp_path / "pkg"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X.to_numpy()))


def _swap_in_skops_of(obj: Any, folder: Path) -> None:
    """Replace the package's model file, re-hashing the manifest as an attacker would."""
    import skops.io as sio

    sio.dump(obj, folder / "model.skops")
    manifest = ModelManifest.read(folder)
    manifest.with_(files=hash_package_files(folder)).write(folder)


def test_code_running_payload_in_skops_file_is_refused(
    local_tracking: str, logreg: Any, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, _ = cancer
    folder = tmp_path / "pkg"
    loopml.models.save_model(logreg, folder, input_example=X[:3])
    evil = make_pipeline(FunctionTransformer(builtins.exec), logreg)
    _swap_in_skops_of(evil, folder)
    with pytest.raises(UnsafeContentError) as info:
        loopml.models.load(str(folder))
    assert "builtins.exec" in str(info.value)


def test_saving_a_model_with_untrusted_types_needs_them_named(
    local_tracking: str, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    import operator

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = cancer
    model = make_pipeline(FunctionTransformer(operator.neg), LogisticRegression(max_iter=5000)).fit(
        X, y
    )
    with pytest.raises(UnsafeContentError) as info:
        loopml.models.save_model(model, tmp_path / "a")
    assert "operator.neg" in str(info.value)
    assert "trusted_types" in (info.value.hint or "")
    assert not (tmp_path / "a").exists()

    manifest = loopml.models.save_model(
        model, tmp_path / "b", trusted_types=["_operator.neg"], input_example=X[:3]
    )
    assert manifest.loader["trusted_types"] == ["_operator.neg"]
    loaded = loopml.models.load(str(tmp_path / "b"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
