"""Per-slice metrics and regressions: a regression hidden in one slice is caught."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score
from tests.gates.helpers import Fixed, hidden_slice_regression

from loopml.gates.criteria import MaxRegression
from loopml.gates.metrics import align, collect_outputs, compute_metrics, make_target
from loopml.gates.slices import MISSING, evaluate_slices, slice_checks


def _setup(frame: pd.DataFrame, new: Fixed, old: Fixed) -> tuple:
    X = frame.drop(columns=["label"])
    outs = [collect_outputs(new, X, "classification"), collect_outputs(old, X, "classification")]
    target = make_target("classification", frame["label"], outs)
    return target, align(outs[0], target), align(outs[1], target)


def test_hidden_regression_in_one_slice_is_caught() -> None:
    frame, new, old = hidden_slice_regression()
    target, a, b = _setup(frame, new, old)
    overall_new = compute_metrics(target, a)["accuracy"]
    overall_old = compute_metrics(target, b)["accuracy"]
    assert overall_new is not None and overall_old is not None
    assert overall_new > overall_old  # better overall ...
    results = evaluate_slices(frame, ["region"], target, a, b, min_rows=30)
    assert [(r.value, r.rows, r.evaluated) for r in results] == [("a", 900, True), ("b", 100, True)]
    b_slice = results[1]
    rows = np.flatnonzero(frame["region"] == "b")
    assert b_slice.challenger["accuracy"] == pytest.approx(
        accuracy_score(frame["label"].iloc[rows], new.values[rows])
    )
    checks = slice_checks(results, [MaxRegression("accuracy", 0.02)])
    by_slice = {c.slice: c for c in checks}
    assert by_slice["region=a"].passed
    assert not by_slice["region=b"].passed  # ... but much worse on region b
    assert by_slice["region=b"].kind == "slice_regression"


def test_small_slices_are_listed_not_judged_and_missing_values_are_a_slice() -> None:
    frame, new, old = hidden_slice_regression()
    frame["tier"] = ["gold"] * 980 + ["tin"] * 10 + [None] * 10
    target, a, b = _setup(frame, new, old)
    results = evaluate_slices(frame, ["tier"], target, a, b, min_rows=30)
    by_value = {r.value: r for r in results}
    assert set(by_value) == {"gold", "tin", MISSING}
    assert by_value["gold"].evaluated
    assert not by_value["tin"].evaluated
    assert by_value["tin"].challenger == {}
    assert not by_value[MISSING].evaluated
    checks = slice_checks(results, [MaxRegression("accuracy", 0.0)])
    assert [c.slice for c in checks] == ["tier=gold"]


def test_no_champion_means_metrics_but_no_checks() -> None:
    frame, new, _ = hidden_slice_regression()
    X = frame.drop(columns=["label"])
    out = collect_outputs(new, X, "classification")
    target = make_target("classification", frame["label"], [out])
    results = evaluate_slices(frame, ["region"], target, align(out, target), None, min_rows=30)
    assert all(r.champion is None and r.challenger for r in results)
    assert slice_checks(results, [MaxRegression("accuracy", 0.0)]) == []


def test_numeric_slice_values_and_to_dict() -> None:
    frame, new, old = hidden_slice_regression()
    frame["bucket"] = np.where(frame.index < 500, 1, 2)
    target, a, b = _setup(frame, new, old)
    results = evaluate_slices(frame, ["bucket"], target, a, b, min_rows=30)
    assert [r.label for r in results] == ["bucket=1", "bucket=2"]
    as_dict = results[0].to_dict()
    assert as_dict["rows"] == 500
    assert set(as_dict["champion"]) >= {"accuracy", "f1"}
