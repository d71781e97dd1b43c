"""The pipeline step cache: one row per cache key, plus the blobs its outputs hold.

Putting a key that is cached already changes nothing (``ON CONFLICT DO NOTHING``: the first
writer wins, and equal keys mean interchangeable outputs). An entry's outputs are a JSON
object of :class:`~loopml.entities.steps.ArtifactRef` dicts; every blob they name is also a
row of ``step_cache_blobs``, which garbage collection reads and which goes with its entry
(``ON DELETE CASCADE``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from loopml.entities.steps import ArtifactRef, StepCacheEntry
from loopml.errors import InvalidInputError
from loopml.store.sql.driver import DriverConnection, driver_sql, text_list
from loopml.store.sql.limits import BLOB_MAX, NAME_MAX
from loopml.store.sql.projects import ensure_project_id

__all__ = [
    "check_entry",
    "check_key",
    "delete_entries",
    "get_entry",
    "list_entries",
    "put_entry",
    "referenced_blobs",
]

#: Keys per ``DELETE``: the keys are bound as one value (see ``IN_TEXT_LIST``).
_CHUNK = 500
_INSERT = (
    'INSERT INTO step_cache ("key", pipeline, step, run_id, project_id, created_at, outputs)'
    ' VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("key") DO NOTHING'
)
_INSERT_BLOBS = 'INSERT INTO step_cache_blobs ("key", blob) VALUES (?, ?)'
_ENTRIES = (
    'SELECT c."key", c.step, c.pipeline, c.run_id, c.created_at, c.outputs, p.name'
    " FROM step_cache c LEFT OUTER JOIN projects p ON p.id = c.project_id"
)
_BY_KEY = _ENTRIES + ' WHERE c."key" = ?'
_NEWEST_FIRST = ' ORDER BY c.created_at DESC, c."key"'
_DELETE = "DELETE FROM step_cache"
_REFERENCED = "SELECT DISTINCT blob FROM step_cache_blobs"


def check_key(key: object) -> str:
    """``key`` if it is a non-empty str of at most :data:`BLOB_MAX` characters.

    Raises:
        InvalidInputError: anything else (``field="key"``).
    """
    if not isinstance(key, str) or not key or len(key) > BLOB_MAX:
        raise InvalidInputError(
            f"a step cache key is a non-empty string of at most {BLOB_MAX} characters, got {key!r}",
            field="key",
        )
    return key


def _check_name(value: object, field: str, limit: int = NAME_MAX) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidInputError(
            f"{field} must be a non-empty string of at most {limit} characters, got {value!r}",
            field=field,
        )
    return value


def check_entry(entry: StepCacheEntry) -> StepCacheEntry:
    """``entry`` if its fields can be stored.

    Raises:
        InvalidInputError: an empty or too long key, step, pipeline, run id or project, a
            negative time, or outputs that are not artifact refs.
    """
    check_key(entry.key)
    _check_name(entry.step, "step")
    _check_name(entry.pipeline, "pipeline")
    _check_name(entry.run_id, "run_id", 32)
    if entry.project is not None:
        _check_name(entry.project, "project")
    if not isinstance(entry.created_at, int) or entry.created_at < 0:
        raise InvalidInputError(
            f"created_at must be epoch milliseconds, got {entry.created_at!r}",
            field="created_at",
        )
    for name, ref in entry.outputs.items():
        if not isinstance(name, str) or not isinstance(ref, ArtifactRef):
            raise InvalidInputError(
                f"outputs must map names to ArtifactRefs, got {name!r}: {type(ref).__name__}",
                field="outputs",
            )
        for blob in ref.all_blobs:
            check_key(blob)
    return entry


def put_entry(conn: DriverConnection, entry: StepCacheEntry) -> None:
    """Insert ``entry`` (checked) and its blobs, unless its key is there already."""
    project_id = None if entry.project is None else ensure_project_id(conn, entry.project)
    outputs = {name: entry.outputs[name].to_dict() for name in sorted(entry.outputs)}
    row = (entry.key, entry.pipeline, entry.step, entry.run_id, project_id, entry.created_at,
           json.dumps(outputs, sort_keys=True, separators=(",", ":")))  # fmt: skip
    if conn.exec_driver_sql(driver_sql(conn, _INSERT), row).rowcount == 0:
        return  # cached already: the first writer's entry stays
    blobs = sorted({blob for ref in entry.outputs.values() for blob in ref.all_blobs})
    if blobs:
        conn.exec_driver_sql(driver_sql(conn, _INSERT_BLOBS), [(entry.key, b) for b in blobs])


def _to_entry(row: tuple[Any, ...]) -> StepCacheEntry:
    body: Mapping[str, Any] = json.loads(row[5])
    return StepCacheEntry(
        key=row[0],
        step=row[1],
        pipeline=row[2],
        run_id=row[3],
        created_at=int(row[4]),
        outputs=MappingProxyType(
            {name: ArtifactRef.from_dict(ref) for name, ref in sorted(body.items())}
        ),
        project=row[6],
    )


def get_entry(conn: DriverConnection, key: str) -> StepCacheEntry | None:
    """The entry of ``key``, or None."""
    row = conn.exec_driver_sql(driver_sql(conn, _BY_KEY), (key,)).first()
    return None if row is None else _to_entry(row)


def list_entries(
    conn: DriverConnection, pipeline: str | None, step: str | None
) -> list[StepCacheEntry]:
    """Entries of ``pipeline`` and/or ``step`` (all when None), newest first."""
    where, values = _where(pipeline=pipeline, step=step)
    rows = conn.exec_driver_sql(driver_sql(conn, _ENTRIES + where + _NEWEST_FIRST), values).all()
    return [_to_entry(row) for row in rows]


def delete_entries(conn: DriverConnection, keys: Sequence[str] | None, pipeline: str | None) -> int:
    """Delete the entries of ``keys`` / ``pipeline`` (all when both are None); how many."""
    if keys is None:
        where, values = _where(pipeline=pipeline)
        return int(conn.exec_driver_sql(driver_sql(conn, _DELETE + where), values).rowcount)
    count = 0
    unique = sorted(set(keys))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        where, values = _where(pipeline=pipeline, keys=text_list(conn, chunk))
        count += int(conn.exec_driver_sql(driver_sql(conn, _DELETE + where), values).rowcount)
    return count


def _where(**conditions: object) -> tuple[str, tuple[object, ...]]:
    """`` WHERE`` clause (or "") and its values for the conditions that are not None."""
    clauses = {"pipeline": "pipeline = ?", "step": "step = ?", "keys": '"key" IN_TEXT_LIST(?)'}
    given = [(clauses[name], value) for name, value in conditions.items() if value is not None]
    if not given:
        return "", ()
    return " WHERE " + " AND ".join(c for c, _ in given), tuple(v for _, v in given)


def referenced_blobs(conn: DriverConnection) -> set[str]:
    """Every blob a cached step output holds."""
    return {row[0] for row in conn.exec_driver_sql(driver_sql(conn, _REFERENCED)).all()}
