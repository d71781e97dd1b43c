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

from sqlalchemy import Select, delete, select
from sqlalchemy.engine import Connection, Row

from loopml.entities.steps import ArtifactRef, StepCacheEntry
from loopml.errors import InvalidInputError
from loopml.store.sql.engine import dialect_insert
from loopml.store.sql.projects import ensure_project_id
from loopml.store.sql.schema import BLOB_MAX, NAME_MAX, projects, step_cache, step_cache_blobs

__all__ = [
    "check_entry",
    "check_key",
    "delete_entries",
    "get_entry",
    "list_entries",
    "put_entry",
    "referenced_blobs",
]

_sc, _blobs = step_cache.c, step_cache_blobs.c
#: Keys per ``DELETE ... IN (...)`` (SQLite binds at most 32766 values per statement).
_CHUNK = 500


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


def put_entry(conn: Connection, entry: StepCacheEntry) -> None:
    """Insert ``entry`` (checked) and its blobs, unless its key is there already."""
    project_id = None if entry.project is None else ensure_project_id(conn, entry.project)
    outputs = {name: entry.outputs[name].to_dict() for name in sorted(entry.outputs)}
    inserted = conn.execute(
        dialect_insert(conn, step_cache)
        .values(
            key=entry.key,
            pipeline=entry.pipeline,
            step=entry.step,
            run_id=entry.run_id,
            project_id=project_id,
            created_at=entry.created_at,
            outputs=json.dumps(outputs, sort_keys=True, separators=(",", ":")),
        )
        .on_conflict_do_nothing(index_elements=[_sc.key])
        .returning(_sc.key)
    ).first()
    if inserted is None:  # cached already: the first writer's entry stays
        return
    blobs = sorted({blob for ref in entry.outputs.values() for blob in ref.all_blobs})
    if blobs:
        conn.execute(step_cache_blobs.insert(), [{"key": entry.key, "blob": b} for b in blobs])


def _entries() -> Select[Any]:
    return select(
        _sc.key,
        _sc.step,
        _sc.pipeline,
        _sc.run_id,
        _sc.created_at,
        _sc.outputs,
        projects.c.name,
    ).select_from(step_cache.outerjoin(projects, projects.c.id == _sc.project_id))


def _to_entry(row: Row[Any]) -> StepCacheEntry:
    body: Mapping[str, Any] = json.loads(row.outputs)
    return StepCacheEntry(
        key=row.key,
        step=row.step,
        pipeline=row.pipeline,
        run_id=row.run_id,
        created_at=int(row.created_at),
        outputs=MappingProxyType(
            {name: ArtifactRef.from_dict(ref) for name, ref in sorted(body.items())}
        ),
        project=row.name,
    )


def get_entry(conn: Connection, key: str) -> StepCacheEntry | None:
    """The entry of ``key``, or None."""
    row = conn.execute(_entries().where(_sc.key == key)).first()
    return None if row is None else _to_entry(row)


def list_entries(conn: Connection, pipeline: str | None, step: str | None) -> list[StepCacheEntry]:
    """Entries of ``pipeline`` and/or ``step`` (all when None), newest first."""
    query = _entries()
    if pipeline is not None:
        query = query.where(_sc.pipeline == pipeline)
    if step is not None:
        query = query.where(_sc.step == step)
    query = query.order_by(_sc.created_at.desc(), _sc.key)
    return [_to_entry(row) for row in conn.execute(query)]


def delete_entries(conn: Connection, keys: Sequence[str] | None, pipeline: str | None) -> int:
    """Delete the entries of ``keys`` / ``pipeline`` (all when both are None); how many."""
    condition = [] if pipeline is None else [_sc.pipeline == pipeline]
    if keys is None:
        return int(conn.execute(delete(step_cache).where(*condition)).rowcount)
    count = 0
    unique = sorted(set(keys))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        result = conn.execute(delete(step_cache).where(_sc.key.in_(chunk), *condition))
        count += int(result.rowcount)
    return count


def referenced_blobs(conn: Connection) -> set[str]:
    """Every blob a cached step output holds."""
    return set(conn.execute(select(_blobs.blob).distinct()).scalars())
