"""The gate's core on plain scikit-learn models and fixed predictions: pass, fail, slices,
latency, no champion, usage errors."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from tests.gates.helpers import hidden_slice_regression

from loopml.errors import InvalidInputError
from loopml.gates import GateSpec, evaluate_models
from loopml.gates.report import ModelRef

NEW, OLD = ModelRef("models:/churn/2"), ModelRef("models:/churn/1")


def _models(frame: pd.DataFrame) -> tuple[LogisticRegression, DummyClassifier]:
    X, y = frame.drop(columns=["label"]), frame["label"]
    good = LogisticRegression().fit(X.iloc[:300], y.iloc[:300])
    dummy = DummyClassifier(strategy="prior").fit(X.iloc[:300], y.iloc[:300])
    return good, dummy


def test_better_challenger_passes(binary_frame: pd.DataFrame) -> None:
    good, dummy = _models(binary_frame)
    spec = GateSpec(
        target="label",
        require=["accuracy>=0.7"],
        max_regression=["f1:0.01", "log_loss:0"],
        bootstrap=200,
        seed=0,
    )
    report = evaluate_models(good, dummy, binary_frame, spec, challenger_ref=NEW, champion_ref=OLD)
    assert report.passed
    assert report.task == "classification"
    assert [c.kind for c in report.checks] == ["require", "max_regression", "max_regression"]
    assert {b.metric for b in report.bootstrap} >= {"accuracy", "roc_auc", "log_loss"}
    acc = next(b for b in report.bootstrap if b.metric == "accuracy")
    assert acc.significant
    assert report.metrics["champion"]["accuracy"] is not None
    assert set(report.latency) == {"challenger", "champion"}
    assert report.data.rows == len(binary_frame)


def test_worse_challenger_fails(binary_frame: pd.DataFrame) -> None:
    good, dummy = _models(binary_frame)
    spec = GateSpec(target="label", max_regression=["accuracy:0.01"], bootstrap=100, seed=0)
    report = evaluate_models(dummy, good, binary_frame, spec, challenger_ref=OLD, champion_ref=NEW)
    assert not report.passed
    assert [c.name for c in report.failed_checks] == ["accuracy regression <= 0.01"]


def test_failed_requirement_fails(binary_frame: pd.DataFrame) -> None:
    good, _ = _models(binary_frame)
    spec = GateSpec(target="label", require=["accuracy>=0.999"], bootstrap=0)
    report = evaluate_models(good, None, binary_frame, spec, challenger_ref=NEW)
    assert not report.passed
    assert report.bootstrap == []


def test_hidden_slice_regression_fails_the_gate() -> None:
    frame, new, old = hidden_slice_regression()
    spec = GateSpec(
        target="label", max_regression=["accuracy:0.02"], slices=["region"], bootstrap=100, seed=0
    )
    report = evaluate_models(new, old, frame, spec, challenger_ref=NEW, champion_ref=OLD)
    overall = next(c for c in report.checks if c.kind == "max_regression")
    assert overall.passed  # the overall metric improved ...
    assert not report.passed  # ... and yet the gate fails, on region b
    assert [c.slice for c in report.failed_checks] == ["region=b"]


def test_no_champion_is_judged_on_requirements_alone(binary_frame: pd.DataFrame) -> None:
    good, _ = _models(binary_frame)
    spec = GateSpec(target="label", require=["accuracy>=0.7"], max_regression=["f1:0"])
    report = evaluate_models(
        good, None, binary_frame, spec, challenger_ref=NEW, champion_note="no champion yet"
    )
    assert report.passed
    assert [c.kind for c in report.checks] == ["require"]
    assert report.champion is None
    assert "champion" not in report.metrics
    assert report.champion_note == "no champion yet"


def test_latency_limit(binary_frame: pd.DataFrame) -> None:
    good, _ = _models(binary_frame)
    fast = GateSpec(target="label", latency_p95_ms=10_000)
    assert evaluate_models(good, None, binary_frame, fast, challenger_ref=NEW).passed
    slow = GateSpec(target="label", latency_p95_ms=1e-6)
    report = evaluate_models(good, None, binary_frame, slow, challenger_ref=NEW)
    assert not report.passed
    assert report.failed_checks[0].kind == "latency"
    assert report.latency["challenger"].batch_rows == 100


def test_regression_task(regression_frame: pd.DataFrame) -> None:
    X, y = regression_frame.drop(columns=["price"]), regression_frame["price"]
    linear = LinearRegression().fit(X, y)
    spec = GateSpec(
        target="price", require=["r2>=0.9"], max_regression=["rmse:0.5"], seed=0, bootstrap=100
    )
    report = evaluate_models(
        linear, linear, regression_frame, spec, challenger_ref=NEW, champion_ref=OLD
    )
    assert report.passed
    assert report.task == "regression"
    assert all(b.verdict == "no change" for b in report.bootstrap)


def test_requirement_on_proba_metric_without_predict_proba_fails(
    binary_frame: pd.DataFrame,
) -> None:
    from sklearn.svm import LinearSVC

    X, y = binary_frame.drop(columns=["label"]), binary_frame["label"]
    svc = LinearSVC().fit(X, y)
    spec = GateSpec(target="label", require=["roc_auc>=0.5"])
    report = evaluate_models(svc, None, binary_frame, spec, challenger_ref=NEW)
    assert not report.passed
    assert "predict_proba" in report.failed_checks[0].detail
    assert any("no roc_auc" in n for n in report.notes)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"target": "nope"}, "target"),
        ({"target": "label", "slices": ["nope"]}, "slice"),
        ({"target": "label", "require": ["rmse<1"]}, "require"),
        ({"target": "label", "task": "regression", "max_regression": ["f1:0.1"]}, "max_regression"),
    ],
)
def test_usage_errors(binary_frame: pd.DataFrame, kwargs: dict, field: str) -> None:
    good, _ = _models(binary_frame)
    with pytest.raises(InvalidInputError) as info:
        evaluate_models(good, None, binary_frame, GateSpec(**kwargs), challenger_ref=NEW)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"require": ["accuracy=1"]}, "require"),
        ({"max_regression": ["f1"]}, "max_regression"),
        ({"task": "ranking"}, "task"),
        ({"confidence": 1.0}, "confidence"),
        ({"bootstrap": -1}, "bootstrap"),
        ({"min_slice_rows": 0}, "min_slice_rows"),
        ({"latency_p95_ms": 0}, "latency_p95_ms"),
    ],
)
def test_spec_rejects_bad_values_at_once(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        GateSpec(target="label", **kwargs)
    assert info.value.field == field


def test_missing_target_values_are_refused(binary_frame: pd.DataFrame) -> None:
    good, _ = _models(binary_frame)
    frame = binary_frame.astype({"label": "float"})
    frame.loc[3, "label"] = float("nan")
    with pytest.raises(InvalidInputError, match="missing values"):
        evaluate_models(good, None, frame, GateSpec(target="label"), challenger_ref=NEW)
