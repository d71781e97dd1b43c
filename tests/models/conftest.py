"""Models tests: real scikit-learn models on bundled data, a store per backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import loopml


@pytest.fixture
def tracking(store_uri: str, tmp_path: Path) -> str:
    """Point loopml at a fresh store (SQLite or PostgreSQL) and a fresh object folder."""
    loopml.configure(tracking_uri=store_uri, artifact_uri=str(tmp_path / "objects"))
    return store_uri


@pytest.fixture
def local_tracking(sqlite_uri: str, tmp_path: Path) -> str:
    """SQLite only, for tests whose subject is not the store."""
    loopml.configure(tracking_uri=sqlite_uri, artifact_uri=str(tmp_path / "objects"))
    return sqlite_uri


@pytest.fixture(scope="session")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    """The breast-cancer table (569 rows, 30 float columns) and its 0/1 target."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def logreg(cancer: tuple[pd.DataFrame, pd.Series]) -> Any:
    """A fitted LogisticRegression on the breast-cancer table."""
    from sklearn.linear_model import LogisticRegression

    X, y = cancer
    return LogisticRegression(max_iter=5000).fit(X, y)
