"""Run data: the batch write of metrics, params and tags; metric history; tag removal.

A batch is checked and reduced in Python first (:func:`prepare_batch`), then written in one
transaction (:func:`write_batch`): metric history appended with one ``executemany`` of plain
tuples, the latest value per key upserted only where the new point is newer (higher step,
then timestamp), params inserted once, tags upserted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from loopml.entities import Metric, Param, Tag
from loopml.errors import InvalidInputError, NotFoundError, ParamConflictError
from loopml.store.sql import validation
from loopml.store.sql.driver import DriverConnection, driver_sql, text_list
from loopml.store.sql.runs import require_run

__all__ = ["Batch", "delete_tag", "get_metric_history", "prepare_batch", "write_batch"]

#: (run_id, key, step, timestamp, value): a row of ``metrics`` and ``latest_metrics``, in the
#: column order of the statements below. The value None stands for NaN.
_Point = tuple[str, str, int, int, float | None]

_INSERT_POINTS = (
    'INSERT INTO metrics (run_id, "key", step, "timestamp", value) VALUES (?, ?, ?, ?, ?)'
)
#: The stored latest point is replaced only by a newer one: a higher step, or the same step
#: and a timestamp at least as late (so an exact tie goes to the later write).
_UPSERT_LATEST = (
    'INSERT INTO latest_metrics (run_id, "key", step, "timestamp", value) VALUES (?, ?, ?, ?, ?)'
    ' ON CONFLICT (run_id, "key") DO UPDATE SET value = excluded.value, step = excluded.step,'
    ' "timestamp" = excluded."timestamp"'
    " WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step"
    ' AND excluded."timestamp" >= latest_metrics."timestamp")'
)
_STORED_PARAMS = 'SELECT "key", value FROM params WHERE run_id = ? AND "key" IN_TEXT_LIST(?)'
_HISTORY = (
    'SELECT value, step, "timestamp" FROM metrics WHERE run_id = ? AND "key" = ?'
    ' ORDER BY step, "timestamp", id'
)
_DELETE_TAG = 'DELETE FROM tags WHERE run_id = ? AND "key" = ?'
_INSERT_PARAMS = 'INSERT INTO params (run_id, "key", value) VALUES (?, ?, ?)'
_UPSERT_TAGS = (
    'INSERT INTO tags (run_id, "key", value) VALUES (?, ?, ?)'
    ' ON CONFLICT (run_id, "key") DO UPDATE SET value = excluded.value'
)


@dataclass(frozen=True, slots=True)
class Batch:
    """A checked batch: metric points in order, the newest point per key, params, tags."""

    points: list[_Point]
    latest: dict[str, _Point]
    params: dict[str, str]
    tags: dict[str, str]

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to write."""
        return not (self.points or self.params or self.tags)


def _points(run_id: str, items: Sequence[Metric]) -> tuple[list[_Point], dict[str, _Point]]:
    points: list[_Point] = []
    latest: dict[str, _Point] = {}
    checked: set[str] = set()
    for metric in items:
        key, value, step, timestamp = metric.key, metric.value, metric.step, metric.timestamp
        if key not in checked:
            validation.check_key(key, "metric")
            checked.add(key)
        # The common case (a float and two ints) needs no conversion.
        if type(value) is not float or type(step) is not int or type(timestamp) is not int:
            value, step, timestamp = _convert(run_id, metric)
        point = (run_id, key, step, timestamp, None if math.isnan(value) else value)  # NaN: NULL
        points.append(point)
        newest = latest.get(key)
        if newest is None or step > newest[2] or (step == newest[2] and timestamp >= newest[3]):
            latest[key] = point
    return points, latest


def _convert(run_id: str, metric: Metric) -> tuple[float, int, int]:
    try:
        if isinstance(metric.value, str | bytes):
            raise TypeError("text is not a metric value")
        return float(metric.value), int(metric.step), int(metric.timestamp)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(
            f"metric {metric.key!r} of run {run_id} needs a number value and integer step and"
            f" timestamp, got value={metric.value!r} step={metric.step!r}"
            f" timestamp={metric.timestamp!r}",
            field=metric.key,
            run_id=run_id,
        ) from exc


def _params(run_id: str, items: Sequence[Param]) -> dict[str, str]:
    reduced: dict[str, str] = {}
    for param in items:
        key = validation.check_key(param.key, "param")
        value = validation.check_text(param.value, key=key, kind="param")
        if key in reduced and reduced[key] != value:
            raise ParamConflictError(
                f"param {key!r} appears twice in one batch for run {run_id}, as"
                f" {reduced[key]!r} and {value!r}",
                field=key,
                run_id=run_id,
                hint="a param has one value per run; log it once",
            )
        reduced[key] = value
    return reduced


def prepare_batch(
    run_id: str,
    metric_items: Sequence[Metric],
    param_items: Sequence[Param],
    tag_items: Sequence[Tag],
) -> Batch:
    """Check a batch and reduce it: the newest point per metric key (ties: the later one),
    one value per param (two different values raise), the last value per tag.

    Raises:
        InvalidInputError: a bad key or value.
        ParamConflictError: one param with two values inside the batch.
    """
    points, latest = _points(run_id, metric_items)
    tag_values = {
        validation.check_key(tag.key, "tag"): validation.check_text(
            tag.value, key=tag.key, kind="tag"
        )
        for tag in tag_items
    }
    return Batch(points, latest, _params(run_id, param_items), tag_values)


def write_batch(conn: DriverConnection, run_id: str, batch: Batch) -> None:
    """Write ``batch`` to run ``run_id`` (the caller's transaction makes it all or nothing).

    Rows go to the driver as tuples (``executemany``); nothing is built per row.

    Raises:
        NotFoundError: no such run.
        ConflictError: the run is deleted.
        ParamConflictError: a param is already stored with another value.
    """
    require_run(conn, run_id, write=True)
    if batch.params:
        _insert_params(conn, run_id, batch.params)
    if batch.points:
        conn.exec_driver_sql(driver_sql(conn, _INSERT_POINTS), batch.points)
        conn.exec_driver_sql(driver_sql(conn, _UPSERT_LATEST), list(batch.latest.values()))
    if batch.tags:
        rows = [(run_id, key, value) for key, value in batch.tags.items()]
        conn.exec_driver_sql(driver_sql(conn, _UPSERT_TAGS), rows)


def _insert_params(conn: DriverConnection, run_id: str, values: dict[str, str]) -> None:
    result = conn.exec_driver_sql(
        driver_sql(conn, _STORED_PARAMS), (run_id, text_list(conn, list(values)))
    )
    stored: dict[str, str] = dict(result.all())
    for key, value in values.items():
        if key in stored and stored[key] != value:
            raise ParamConflictError(
                f"param {key!r} of run {run_id} is already {stored[key]!r}; it cannot change"
                f" to {value!r}",
                field=key,
                run_id=run_id,
                hint="params are immutable once logged: use another key or start a new run",
            )
    new = [(run_id, key, value) for key, value in values.items() if key not in stored]
    if new:
        conn.exec_driver_sql(driver_sql(conn, _INSERT_PARAMS), new)


def get_metric_history(conn: DriverConnection, run_id: str, key: str) -> list[Metric]:
    """Every point of metric ``key`` of run ``run_id``, by step, then timestamp, then order
    of logging. NaN comes back as NaN."""
    require_run(conn, run_id)
    rows = conn.exec_driver_sql(driver_sql(conn, _HISTORY), (run_id, key)).all()
    return [
        Metric(key, math.nan if value is None else value, step, timestamp)
        for value, step, timestamp in rows
    ]


def delete_tag(conn: DriverConnection, run_id: str, key: str) -> None:
    """Remove tag ``key`` from run ``run_id``. Raises NotFoundError if there is no such tag."""
    require_run(conn, run_id, write=True)
    result = conn.exec_driver_sql(driver_sql(conn, _DELETE_TAG), (run_id, key))
    if result.rowcount == 0:
        raise NotFoundError(f"run {run_id} has no tag {key!r}", field=key, run_id=run_id)
