"""Per-slice evaluation: the same metrics on each value of a column, for both models.

An overall improvement can hide a regression in one segment (one country, one device type).
Every value of a ``--slice`` column with at least ``min_rows`` rows is scored for both
models, and every ``--max-regression`` criterion is checked on it; smaller slices are listed
but not judged (their metrics are too noisy to fail a build on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from loopml.gates.criteria import Check, MaxRegression
from loopml.gates.metrics import Predictions, Target, compute_metrics

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MISSING", "SliceResult", "evaluate_slices", "slice_checks"]

#: how a missing value (None, NaN) is named as a slice
MISSING = "<missing>"


@dataclass(frozen=True, slots=True)
class SliceResult:
    """One value of one slice column: its row count and (if big enough) both models' metrics."""

    column: str
    value: str
    rows: int
    evaluated: bool
    challenger: dict[str, float | None] = field(default_factory=dict)
    champion: dict[str, float | None] | None = None

    @property
    def label(self) -> str:
        """``column=value``."""
        return f"{self.column}={self.value}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping."""
        return {
            "column": self.column,
            "value": self.value,
            "rows": self.rows,
            "evaluated": self.evaluated,
            "challenger": dict(self.challenger),
            "champion": None if self.champion is None else dict(self.champion),
        }


def _name(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    try:
        import pandas as pd

        if pd.isna(value):
            return MISSING
    except (TypeError, ValueError):  # list-like values: not missing
        pass
    return str(value)


def evaluate_slices(
    frame: pd.DataFrame,
    columns: Sequence[str],
    target: Target,
    challenger: Predictions,
    champion: Predictions | None,
    *,
    min_rows: int = 30,
) -> list[SliceResult]:
    """Metrics of both models on each value of each column in ``columns``.

    Args:
        frame: The evaluation data (its rows line up with ``target`` and the predictions).
        columns: The slice columns.
        target: The true values.
        challenger: The challenger's predictions.
        champion: The champion's predictions, or None when there is no champion.
        min_rows: Values with fewer rows are listed with ``evaluated=False``.

    Returns:
        One result per (column, value), columns in the given order, values sorted.
    """
    results: list[SliceResult] = []
    for column in columns:
        groups: dict[str, list[int]] = {}
        for position, value in enumerate(frame[column].tolist()):
            groups.setdefault(_name(value), []).append(position)
        for value in sorted(groups):
            rows = np.asarray(groups[value], dtype=np.intp)
            if len(rows) < min_rows:
                results.append(SliceResult(column, value, len(rows), evaluated=False))
                continue
            results.append(
                SliceResult(
                    column,
                    value,
                    len(rows),
                    evaluated=True,
                    challenger=compute_metrics(target, challenger, rows),
                    champion=None if champion is None else compute_metrics(target, champion, rows),
                )
            )
    return results


def slice_checks(slices: Sequence[SliceResult], criteria: Sequence[MaxRegression]) -> list[Check]:
    """Every max-regression criterion on every evaluated slice that has a champion."""
    checks = []
    for item in slices:
        if not item.evaluated or item.champion is None:
            continue
        for criterion in criteria:
            checks.append(
                criterion.evaluate(
                    item.champion.get(criterion.metric),
                    item.challenger.get(criterion.metric),
                    where=item.label,
                )
            )
    return checks
