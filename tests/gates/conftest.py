"""Fixtures for the gate tests: small real datasets and fitted scikit-learn models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def binary_frame() -> pd.DataFrame:
    """600 rows, four numeric features, a 0/1 ``label``."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=600, n_features=4, n_informative=3, n_redundant=0, random_state=0
    )
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"])
    frame["label"] = y
    return frame


@pytest.fixture
def multiclass_frame() -> pd.DataFrame:
    """600 rows, three classes named by strings."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=600, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=1
    )
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    frame["label"] = np.array(["ant", "bee", "cat"])[y]
    return frame


@pytest.fixture
def regression_frame() -> pd.DataFrame:
    """400 rows, a float ``price``."""
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=400, n_features=3, noise=5.0, random_state=2)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["price"] = y
    return frame
