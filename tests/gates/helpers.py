"""Shared test doubles and data for the gate tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class Fixed:
    """A model whose predictions were decided in advance, looked up by the row's index."""

    def __init__(self, values: Any) -> None:
        self.values = np.asarray(values)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.values[X.index.to_numpy()]


class FixedProba(Fixed):
    """:class:`Fixed` with probabilities too (columns in ``classes_`` order)."""

    def __init__(self, values: Any, proba: Any, classes: Any) -> None:
        super().__init__(values)
        self.proba = np.asarray(proba, dtype=float)
        self.classes_ = np.asarray(classes)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.proba[X.index.to_numpy()]


def flip(y: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``y`` (0/1) with ``rows`` wrong."""
    out = y.copy()
    out[rows] = 1 - out[rows]
    return out


def hidden_slice_regression(seed: int = 0) -> tuple[pd.DataFrame, Fixed, Fixed]:
    """1000 rows, region a (900) and b (100); the challenger is better overall (~0.915 vs
    0.85 accuracy) but much worse on region b (~0.6 vs 0.85)."""
    rng = np.random.default_rng(seed)
    n = 1000
    region = np.array(["a"] * 900 + ["b"] * 100)
    y = rng.integers(0, 2, n)
    champion = flip(y, rng.choice(n, size=150, replace=False))
    a_wrong = rng.choice(900, size=45, replace=False)
    b_wrong = 900 + rng.choice(100, size=40, replace=False)
    challenger = flip(y, np.concatenate([a_wrong, b_wrong]))
    frame = pd.DataFrame({"x": rng.normal(size=n), "region": region, "label": y})
    return frame, Fixed(challenger), Fixed(champion)
