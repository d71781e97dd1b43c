"""What a gate checks: absolute requirements and maximum regressions, and their results.

``--require "accuracy>=0.9"`` is a :class:`Requirement` on the challenger alone;
``--max-regression "f1:0.01"`` is a :class:`MaxRegression`: the challenger may be at most
0.01 worse than the champion, "worse" read in the metric's direction (higher for log_loss,
mae, rmse; lower for everything else). Evaluating either gives a :class:`Check`.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from loopml.errors import InvalidInputError
from loopml.gates.metrics import ALL_METRICS, Task, higher_is_better, metric_names

__all__ = [
    "Check",
    "CheckKind",
    "MaxRegression",
    "Requirement",
    "check_metrics_for_task",
    "parse_max_regression",
    "parse_requirement",
]

CheckKind = Literal["require", "max_regression", "slice_regression", "latency"]

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_REQUIRE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*(\S+)\s*$")
_REGRESSION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(\S+)\s*$")
#: float noise allowed when comparing a difference to a tolerance
_EPSILON = 1e-12


@dataclass(frozen=True, slots=True)
class Check:
    """The result of one check: passed, failed or skipped (a skipped check does not fail)."""

    name: str
    kind: CheckKind
    passed: bool
    value: float | None = None
    threshold: float | None = None
    detail: str = ""
    metric: str | None = None
    slice: str | None = None
    skipped: bool = False

    @property
    def status(self) -> str:
        """``passed``, ``failed`` or ``skipped``."""
        if self.skipped:
            return "skipped"
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping (with ``status``)."""
        return {**asdict(self), "status": self.status}


def _metric(name: str, field: str, text: str) -> str:
    metric = name.lower()
    if metric not in ALL_METRICS:
        raise InvalidInputError(
            f"unknown metric {name!r} in {text!r}",
            field=field,
            hint=f"metrics: {', '.join(ALL_METRICS)}",
        )
    return metric


def _number(value: str, field: str, text: str, example: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise InvalidInputError(
            f"{value!r} in {text!r} is not a number", field=field, hint=f"e.g. {example!r}"
        )
    return number


@dataclass(frozen=True, slots=True)
class Requirement:
    """``metric op threshold`` that the challenger must meet, e.g. ``accuracy>=0.9``."""

    metric: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.threshold:g}"

    def evaluate(self, value: float | None, *, note: str | None = None) -> Check:
        """The check for the challenger's value of the metric (None: the model lacks it)."""
        name = str(self)
        if value is None:
            detail = f"{self.metric} is not available" + (f": {note}" if note else "")
            return Check(name, "require", False, None, self.threshold, detail, self.metric)
        ok = _OPERATORS[self.op](value, self.threshold)
        verb = "meets" if ok else "misses"
        detail = f"{self.metric} = {value:.6g} {verb} {self.op} {self.threshold:g}"
        return Check(name, "require", ok, value, self.threshold, detail, self.metric)


@dataclass(frozen=True, slots=True)
class MaxRegression:
    """The challenger may be at most ``tolerance`` worse than the champion on ``metric``."""

    metric: str
    tolerance: float

    def __str__(self) -> str:
        return f"{self.metric}:{self.tolerance:g}"

    def regression(self, champion: float, challenger: float) -> float:
        """How much worse the challenger is (negative: better), in the metric's direction."""
        if higher_is_better(self.metric):
            return champion - challenger
        return challenger - champion

    def evaluate(
        self, champion: float | None, challenger: float | None, *, where: str | None = None
    ) -> Check:
        """The check for one pair of values: overall, or on the slice ``where`` (``col=value``)."""
        kind: CheckKind = "max_regression" if where is None else "slice_regression"
        name = f"{self.metric} regression <= {self.tolerance:g}"
        if where is not None:
            name += f" [{where}]"
        if champion is None or challenger is None:
            who = "champion" if champion is None else "challenger"
            return Check(
                name,
                kind,
                True,
                None,
                self.tolerance,
                f"skipped: the {who} has no {self.metric} here",
                self.metric,
                where,
                skipped=True,
            )
        worse = self.regression(champion, challenger)
        ok = worse <= self.tolerance + _EPSILON
        word = "worse" if worse > 0 else "better"
        detail = (
            f"{self.metric}: champion {champion:.6g}, challenger {challenger:.6g} "
            f"({abs(worse):.6g} {word}; tolerance {self.tolerance:g})"
        )
        return Check(name, kind, ok, worse, self.tolerance, detail, self.metric, where)


def parse_requirement(text: str | Requirement) -> Requirement:
    """``"accuracy>=0.9"`` (also ``<=``, ``>``, ``<``) as a :class:`Requirement`.

    Raises:
        InvalidInputError: text that does not parse, or an unknown metric (``field="require"``).

    Example:
        >>> parse_requirement("accuracy>=0.9")
        Requirement(metric='accuracy', op='>=', threshold=0.9)
    """
    if isinstance(text, Requirement):
        return text
    match = _REQUIRE.match(text)
    if match is None:
        raise InvalidInputError(
            f"cannot parse requirement {text!r}",
            field="require",
            hint='write METRIC OP NUMBER with OP one of >=, <=, >, <, e.g. "accuracy>=0.9"',
        )
    name, op, value = match.groups()
    metric = _metric(name, "require", text)
    return Requirement(metric, op, _number(value, "require", text, "accuracy>=0.9"))


def parse_max_regression(text: str | MaxRegression) -> MaxRegression:
    """``"f1:0.01"`` as a :class:`MaxRegression` (tolerance >= 0, in the metric's units).

    Raises:
        InvalidInputError: text that does not parse, an unknown metric or a negative
            tolerance (``field="max_regression"``).

    Example:
        >>> parse_max_regression("f1:0.01")
        MaxRegression(metric='f1', tolerance=0.01)
    """
    if isinstance(text, MaxRegression):
        return text
    match = _REGRESSION.match(text)
    if match is None:
        raise InvalidInputError(
            f"cannot parse max regression {text!r}",
            field="max_regression",
            hint='write METRIC:TOLERANCE, e.g. "f1:0.01"',
        )
    name, value = match.groups()
    metric = _metric(name, "max_regression", text)
    tolerance = _number(value, "max_regression", text, "f1:0.01")
    if tolerance < 0:
        raise InvalidInputError(
            f"tolerance in {text!r} is negative",
            field="max_regression",
            hint="a tolerance is how much worse the challenger may be: 0 or more",
        )
    return MaxRegression(metric, tolerance)


def check_metrics_for_task(
    task: Task, requirements: Iterable[Requirement], regressions: Iterable[MaxRegression]
) -> None:
    """Raise if a criterion names a metric the task does not have (e.g. rmse for labels).

    Raises:
        InvalidInputError: ``field="require"`` or ``"max_regression"``, naming the metric.
    """
    allowed = metric_names(task)
    for field, items in (("require", requirements), ("max_regression", regressions)):
        for item in items:
            if item.metric not in allowed:
                raise InvalidInputError(
                    f"{item.metric} is not a {task} metric",
                    field=field,
                    hint=f"{task} metrics: {', '.join(allowed)} (or set --task)",
                )
