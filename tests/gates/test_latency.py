"""Latency of predict: percentiles from repeated timed calls after a warm-up."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from loopml.errors import InvalidInputError
from loopml.gates.latency import measure_latency


def test_latency_is_reported_for_a_real_model(binary_frame: pd.DataFrame) -> None:
    X, y = binary_frame.drop(columns=["label"]), binary_frame["label"]
    clf = LogisticRegression().fit(X, y)
    result = measure_latency(clf.predict, X.iloc[:100], repeats=20, warmup=2)
    assert result.batch_rows == 100
    assert result.repeats == 20
    assert 0 < result.p50_ms <= result.p95_ms <= result.p99_ms <= result.max_ms
    assert result.to_dict()["p95_ms"] == result.p95_ms


def test_warmup_calls_are_not_timed() -> None:
    calls: list[int] = []

    def slow_first(batch: list[int]) -> None:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.2)

    result = measure_latency(slow_first, [1], repeats=5, warmup=1)
    assert len(calls) == 6
    assert result.max_ms < 100


def test_sleep_shows_in_p95() -> None:
    result = measure_latency(lambda b: time.sleep(0.005), [1, 2], repeats=5, warmup=0)
    assert result.p95_ms >= 5


def test_budget_stops_early_but_keeps_five() -> None:
    result = measure_latency(lambda b: time.sleep(0.01), [1], repeats=100, budget_s=0.001)
    assert result.repeats == 5


def test_bad_arguments() -> None:
    with pytest.raises(InvalidInputError):
        measure_latency(lambda b: None, [1], repeats=0)
