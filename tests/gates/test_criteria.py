"""Parsing --require and --max-regression, and evaluating them (direction-aware)."""

from __future__ import annotations

import pytest

from loopml.errors import InvalidInputError
from loopml.gates.criteria import (
    MaxRegression,
    Requirement,
    check_metrics_for_task,
    parse_max_regression,
    parse_requirement,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accuracy>=0.9", Requirement("accuracy", ">=", 0.9)),
        (" f1 > 0.5 ", Requirement("f1", ">", 0.5)),
        ("log_loss<=0.3", Requirement("log_loss", "<=", 0.3)),
        ("RMSE<12", Requirement("rmse", "<", 12.0)),
        ("r2>=-1e-1", Requirement("r2", ">=", -0.1)),
    ],
)
def test_parse_requirement(text: str, expected: Requirement) -> None:
    assert parse_requirement(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "accuracy",
        "accuracy=0.9",
        "accuracy>=",
        ">=0.9",
        "accuracy>=high",
        "acc>=0.9",
        "accuracy>=nan",
        "accuracy=>0.9",
        "",
    ],
)
def test_bad_requirement_is_a_usage_error(text: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_requirement(text)
    assert info.value.field == "require"
    assert info.value.hint


def test_unknown_metric_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="unknown metric 'acc'") as info:
        parse_requirement("acc>=0.9")
    assert "accuracy" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("f1:0.01", MaxRegression("f1", 0.01)),
        ("mae : 2", MaxRegression("mae", 2.0)),
        ("roc_auc:0", MaxRegression("roc_auc", 0.0)),
    ],
)
def test_parse_max_regression(text: str, expected: MaxRegression) -> None:
    assert parse_max_regression(text) == expected


@pytest.mark.parametrize("text", ["f1", "f1:", "f1:-0.1", "f1:x", "f1=0.01", "nope:0.1"])
def test_bad_max_regression(text: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_max_regression(text)
    assert info.value.field == "max_regression"


def test_requirement_operators() -> None:
    assert parse_requirement("accuracy>=0.9").evaluate(0.9).passed
    assert not parse_requirement("accuracy>0.9").evaluate(0.9).passed
    assert parse_requirement("log_loss<0.3").evaluate(0.2).passed
    assert not parse_requirement("log_loss<=0.3").evaluate(0.31).passed


def test_requirement_on_a_missing_metric_fails_and_says_why() -> None:
    check = parse_requirement("roc_auc>=0.8").evaluate(None, note="the model has no predict_proba")
    assert not check.passed
    assert check.status == "failed"
    assert "predict_proba" in check.detail


def test_max_regression_higher_is_better() -> None:
    rule = MaxRegression("f1", 0.01)
    assert rule.evaluate(0.80, 0.795).passed  # 0.005 worse: within
    assert rule.evaluate(0.80, 0.79).passed  # exactly the tolerance (float noise allowed)
    assert not rule.evaluate(0.80, 0.78).passed
    assert rule.evaluate(0.80, 0.95).passed
    check = rule.evaluate(0.80, 0.78)
    assert check.value == pytest.approx(0.02)
    assert check.kind == "max_regression"


def test_max_regression_lower_is_better() -> None:
    rule = MaxRegression("log_loss", 0.05)
    assert rule.evaluate(0.30, 0.20).passed  # lower loss: better
    assert rule.evaluate(0.30, 0.34).passed
    assert not rule.evaluate(0.30, 0.40).passed  # higher loss: worse by 0.10
    assert MaxRegression("rmse", 0.0).evaluate(3.0, 2.9).passed
    assert not MaxRegression("mae", 0.0).evaluate(3.0, 3.1).passed


def test_max_regression_on_a_slice_and_when_a_value_is_missing() -> None:
    check = MaxRegression("f1", 0.0).evaluate(0.9, 0.5, where="region=eu")
    assert check.kind == "slice_regression"
    assert check.slice == "region=eu"
    assert "region=eu" in check.name
    skipped = MaxRegression("roc_auc", 0.0).evaluate(None, 0.5)
    assert skipped.skipped
    assert skipped.passed
    assert skipped.status == "skipped"


def test_metrics_checked_against_the_task() -> None:
    check_metrics_for_task("classification", [parse_requirement("f1>0.5")], [])
    with pytest.raises(InvalidInputError, match="rmse is not a classification metric") as info:
        check_metrics_for_task("classification", [parse_requirement("rmse<1")], [])
    assert info.value.field == "require"
    with pytest.raises(InvalidInputError) as info:
        check_metrics_for_task("regression", [], [parse_max_regression("f1:0.1")])
    assert info.value.field == "max_regression"


def test_str_round_trips() -> None:
    for text in ("accuracy>=0.9", "mae<3"):
        assert str(parse_requirement(text)) == text
    assert str(parse_max_regression("f1:0.01")) == "f1:0.01"
