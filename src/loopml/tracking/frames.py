"""Runs as a pandas DataFrame: one row a run, ``metrics.*``, ``params.*``, ``tags.*`` columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loopml.entities import Run

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["runs_to_frame"]

_BASE_COLUMNS = [
    "run_id",
    "project",
    "name",
    "status",
    "start_time",
    "end_time",
    "parent_id",
    "user",
    "git_commit",
]


def runs_to_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """A DataFrame of ``runs``: times as UTC timestamps, metrics as floats, params as text.

    Built column by column (not row dicts), so 10,000 runs take milliseconds.
    """
    import pandas as pd

    columns: dict[str, Any] = {
        "run_id": [r.id for r in runs],
        "project": [r.project for r in runs],
        "name": [r.name for r in runs],
        "status": [r.status.value for r in runs],
        "start_time": pd.to_datetime([r.start_time for r in runs], unit="ms", utc=True),
        "end_time": pd.to_datetime(
            [float("nan") if r.end_time is None else float(r.end_time) for r in runs],
            unit="ms",
            utc=True,
        ),
        "parent_id": [r.parent_id for r in runs],
        "user": [r.source.user for r in runs],
        "git_commit": [r.source.git_commit for r in runs],
    }
    for entity in ("metrics", "params", "tags"):
        keys: dict[str, None] = {}
        for run in runs:
            keys.update(dict.fromkeys(getattr(run, entity)))
        for key in sorted(keys):
            values = [getattr(run, entity).get(key) for run in runs]
            if entity == "metrics":
                columns[f"{entity}.{key}"] = pd.array(
                    [float("nan") if v is None else v for v in values], dtype="float64"
                )
            else:
                columns[f"{entity}.{key}"] = values
    return pd.DataFrame(columns, columns=list(columns))
