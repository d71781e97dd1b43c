"""Paired bootstrap: real improvements are significant, noise is not; the vectorised
resampled metrics agree with scikit-learn's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from tests.gates.helpers import flip

from loopml.errors import InvalidInputError
from loopml.gates.bootstrap import paired_bootstrap
from loopml.gates.metrics import (
    ModelOutput,
    Predictions,
    Target,
    align,
    collect_outputs,
    compute_metrics,
    make_target,
)
from loopml.gates.resampled import counts_from_indices, resampled_metrics


def _target(y: np.ndarray, *outputs: ModelOutput) -> tuple[Target, list[Predictions]]:
    target = make_target("classification", pd.Series(y), list(outputs))
    return target, [align(o, target) for o in outputs]


def _identity(n: int) -> np.ndarray:
    return np.ones((1, n))


@pytest.mark.parametrize("frame_name", ["binary_frame", "multiclass_frame"])
def test_resampled_metrics_equal_sklearn_on_the_identity_resample(
    frame_name: str, request: pytest.FixtureRequest
) -> None:
    frame: pd.DataFrame = request.getfixturevalue(frame_name)
    X, y = frame.drop(columns=["label"]), frame["label"]
    clf = LogisticRegression(max_iter=500).fit(X.iloc[:200], y.iloc[:200])
    output = collect_outputs(clf, X, "classification")
    target = make_target("classification", y, [output])
    pred = align(output, target)
    expected = compute_metrics(target, pred)
    got = {k: float(v[0]) for k, v in resampled_metrics(target, pred, _identity(len(y))).items()}
    assert got == pytest.approx(expected)


def test_resampled_regression_metrics_equal_sklearn(regression_frame: pd.DataFrame) -> None:
    X, y = regression_frame.drop(columns=["price"]), regression_frame["price"]
    output = collect_outputs(LinearRegression().fit(X, y), X, "regression")
    target = make_target("regression", y, [output])
    pred = align(output, target)
    got = {k: float(v[0]) for k, v in resampled_metrics(target, pred, _identity(len(y))).items()}
    assert got == pytest.approx(compute_metrics(target, pred))


def test_resampled_metrics_match_sklearn_on_a_resample_with_duplicates() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    p = rng.random(200)
    out = ModelOutput(np.where(p > 0.5, 1, 0), np.column_stack([1 - p, p]), np.array([0, 1]))
    target, (pred,) = _target(y, out)
    idx = rng.integers(0, 200, size=(3, 200))
    counts = counts_from_indices(idx, 200)
    assert (counts.sum(axis=1) == 200).all()
    got = resampled_metrics(target, pred, counts)
    for i in range(3):
        expected = compute_metrics(target, pred, idx[i])
        assert {k: float(v[i]) for k, v in got.items()} == pytest.approx(expected)


def test_resampled_multiclass_and_regression_with_duplicates_and_ties() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 150)
    proba = np.round(rng.dirichlet([1, 1, 1], 150), 1)  # rounded: many tied scores
    proba /= proba.sum(axis=1, keepdims=True)
    out = ModelOutput(proba.argmax(axis=1), proba, np.array([0, 1, 2]))
    target, (pred,) = _target(y, out)
    idx = rng.integers(0, 150, size=(4, 150))
    got = resampled_metrics(target, pred, counts_from_indices(idx, 150))
    for i in range(4):
        assert {k: float(v[i]) for k, v in got.items()} == pytest.approx(
            compute_metrics(target, pred, idx[i])
        )
    values = rng.normal(size=150) * 10 + 100
    reg_target = make_target("regression", pd.Series(values), [])
    reg_pred = Predictions(values + rng.normal(size=150))
    got = resampled_metrics(reg_target, reg_pred, counts_from_indices(idx, 150))
    for i in range(4):
        assert {k: float(v[i]) for k, v in got.items()} == pytest.approx(
            compute_metrics(reg_target, reg_pred, idx[i])
        )


def test_clearly_better_model_is_significant() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 1000)
    old = ModelOutput(flip(y, rng.choice(1000, 300, replace=False)))  # 70% right
    new = ModelOutput(flip(y, rng.choice(1000, 50, replace=False)))  # 95% right
    target, (a, b) = _target(y, old, new)
    result = {r.metric: r for r in paired_bootstrap(target, a, b, seed=1)}
    acc = result["accuracy"]
    assert acc.difference == pytest.approx(0.25, abs=0.03)
    assert acc.ci_low > 0
    assert acc.significant
    assert acc.verdict == "improvement"
    assert acc.summary == "improvement (significant)"
    assert set(result) == {"accuracy", "precision", "recall", "f1"}  # no proba: no AUC


def test_noisy_tiny_improvement_is_not_significant() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    wrong = rng.choice(500, 100, replace=False)
    right = np.setdiff1d(np.arange(500), wrong)
    old = flip(y, wrong)  # 80% right
    new = old.copy()
    fixed, broken = wrong[:6], right[:4]  # net +2 rows of 500
    new[fixed] = y[fixed]
    new[broken] = 1 - y[broken]
    target, (a, b) = _target(y, ModelOutput(old), ModelOutput(new))
    acc = next(r for r in paired_bootstrap(target, a, b, seed=2) if r.metric == "accuracy")
    assert acc.difference == pytest.approx(2 / 500)
    assert acc.verdict == "improvement"
    assert acc.ci_low <= 0 <= acc.ci_high
    assert not acc.significant
    assert acc.summary == "improvement (not significant)"


def test_lower_is_better_metrics_read_in_their_direction() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 800)
    sharp = np.where(y == 1, 0.9, 0.1)
    vague = np.where(y == 1, 0.6, 0.4)
    old = ModelOutput(y.copy(), np.column_stack([1 - vague, vague]), np.array([0, 1]))
    new = ModelOutput(y.copy(), np.column_stack([1 - sharp, sharp]), np.array([0, 1]))
    target, (a, b) = _target(y, old, new)
    loss = next(r for r in paired_bootstrap(target, a, b, seed=0) if r.metric == "log_loss")
    assert loss.difference < 0
    assert not loss.higher_is_better
    assert loss.verdict == "improvement"
    assert loss.significant


def test_identical_models_no_change_and_seed_reproducible() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    out = ModelOutput(flip(y, np.arange(30)))
    target, (a, b) = _target(y, out, out)
    first = paired_bootstrap(target, a, b, resamples=200, seed=7)
    assert all(r.verdict == "no change" and r.ci_low == r.ci_high == 0 for r in first)
    old = ModelOutput(flip(y, np.arange(60)))
    target, (a, b) = _target(y, old, out)
    one = paired_bootstrap(target, a, b, resamples=200, seed=7)
    two = paired_bootstrap(target, a, b, resamples=200, seed=7)
    assert [r.ci_low for r in one] == [r.ci_low for r in two]


def test_chunks_cover_every_resample(monkeypatch: pytest.MonkeyPatch) -> None:
    import loopml.gates.bootstrap as bootstrap

    monkeypatch.setattr(bootstrap, "_CHUNK_CELLS", 1000)  # 300 rows: 3 resamples per chunk
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    target, (a, b) = _target(y, ModelOutput(flip(y, np.arange(90))), ModelOutput(y.copy()))
    result = paired_bootstrap(target, a, b, resamples=50, seed=0)[0]
    assert result.resamples == result.valid_resamples == 50


def test_bad_arguments() -> None:
    y = np.array([0, 1])
    target, (a,) = _target(y, ModelOutput(y))
    with pytest.raises(InvalidInputError):
        paired_bootstrap(target, a, a, resamples=0)
    with pytest.raises(InvalidInputError) as info:
        paired_bootstrap(target, a, a, confidence=1.5)
    assert info.value.field == "confidence"
