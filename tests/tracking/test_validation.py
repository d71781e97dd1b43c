"""Names, values and artifact paths are checked before anything is queued."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loopml.errors import InvalidInputError
from loopml.tracking.validation import check_artifact_path, check_key, metric_value, param_text


@pytest.mark.parametrize("key", ["", "a" * 251, "bad\nname", "/abs", "a/../b", 3])
def test_bad_keys_are_refused_with_the_name(key: object) -> None:
    with pytest.raises(InvalidInputError):
        check_key(key, "metric")


@pytest.mark.parametrize("key", ["loss", "val/loss", "f1 score", "lr-1.0:x"])
def test_good_keys(key: str) -> None:
    assert check_key(key, "metric") == key


def test_metric_values_accept_numbers_and_numpy_and_nan() -> None:
    assert metric_value("m", 3) == 3.0
    assert metric_value("m", np.float32(0.5)) == 0.5
    assert metric_value("m", np.int64(7)) == 7.0
    assert math.isnan(metric_value("m", float("nan")))


@pytest.mark.parametrize("value", ["0.5", None, True, [1.0]])
def test_metric_values_refuse_non_numbers_naming_the_key(value: object) -> None:
    with pytest.raises(InvalidInputError, match="'acc'"):
        metric_value("acc", value)


def test_param_text() -> None:
    assert param_text("lr", 0.01) == "0.01"
    assert param_text("depth", 6) == "6"
    assert param_text("depth", 6.0) == "6.0"
    with pytest.raises(InvalidInputError, match="log_text"):
        param_text("blob", "x" * 9000)


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../b", "", "."])
def test_artifact_paths_cannot_escape_the_run(path: str) -> None:
    with pytest.raises(InvalidInputError):
        check_artifact_path(path)


def test_artifact_paths_are_normalized() -> None:
    assert check_artifact_path("plots//roc.png") == "plots/roc.png"
    assert check_artifact_path("a\\b.txt") == "a/b.txt"
