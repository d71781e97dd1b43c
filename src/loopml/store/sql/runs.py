"""Runs: create, read (runs with their data in two queries), end, rename, delete, purge.

The frequent calls (create, end, read) run plain SQL through
:func:`~loopml.store.sql.engine.driver_sql`: a statement per step, nothing built per call.
Reading many runs is two queries whatever their number, with the ids bound as one value:
the runs with their params and tags folded into JSON by the database (``json_group_object``
on SQLite, ``json_object_agg`` on PostgreSQL), then their latest metrics as plain rows (a
float written as JSON text by SQLite would not always come back bit for bit).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any, TypeVar

from loopml.entities import Lifecycle, Run, RunSource, RunStatus, new_id, now_ms
from loopml.errors import AlreadyExistsError, ConflictError, InvalidInputError, NotFoundError
from loopml.store.sql import validation
from loopml.store.sql.driver import DriverConnection, driver_sql, text_list
from loopml.store.sql.names import run_name_for

__all__ = [
    "IN_CHUNK",
    "NewRun",
    "chunked",
    "delete_runs",
    "end_run",
    "get_runs",
    "insert_run",
    "load_runs",
    "prepare_run",
    "purge_runs",
    "require_run",
    "restore_runs",
    "set_run_name",
]

T = TypeVar("T")

#: Most ids bound into one ``IN (...)`` list (old SQLite builds allow 999 variables).
IN_CHUNK = 900

_ACTIVE = Lifecycle.ACTIVE.value
_STATUSES = {status.value: status for status in RunStatus}
_LIFECYCLES = {lifecycle.value: lifecycle for lifecycle in Lifecycle}

_INSERT_RUN = (
    "INSERT INTO runs (id, project_id, name, status, start_time, parent_id, lifecycle,"
    ' git_commit, git_dirty, git_diff_hash, entry_point, "user", host, python_version)'
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)
_INSERT_TAGS = 'INSERT INTO tags (run_id, "key", value) VALUES (?, ?, ?)'
_END_RUN = "UPDATE runs SET status = ?, end_time = ?, error = ? WHERE id = ? AND lifecycle = ?"
_RENAME_RUN = "UPDATE runs SET name = ? WHERE id = ? AND lifecycle = ?"
_FIND_RUN = "SELECT project_id, lifecycle FROM runs WHERE id = ?"
#: On PostgreSQL the row is locked (SQLite's write transaction already excludes writers).
_LOCK_RUN = {"sqlite": _FIND_RUN, "postgresql": _FIND_RUN + " FOR NO KEY UPDATE"}
_PARENT_PROJECT = "SELECT project_id FROM runs WHERE id = ?"
_EXISTING = "SELECT id FROM runs WHERE id IN_TEXT_LIST(?)"
_SOFT_DELETE = (
    "UPDATE runs SET lifecycle = ?, deleted_at = ? WHERE id IN_TEXT_LIST(?) AND lifecycle = ?"
)
_RESTORE = "UPDATE runs SET lifecycle = ?, deleted_at = NULL WHERE id IN_TEXT_LIST(?)"
_DOOMED = "SELECT id FROM runs WHERE lifecycle = ? AND deleted_at < ? ORDER BY id"
_PURGE = "DELETE FROM runs WHERE id IN_TEXT_LIST(?)"

#: The columns of a run in the order :func:`_to_run` reads them (10 to 16: the source).
_RUN_COLUMNS = (
    "runs.id, projects.name, runs.name, runs.status, runs.start_time, runs.end_time,"
    " runs.parent_id, runs.lifecycle, runs.deleted_at, runs.error, runs.git_commit,"
    ' runs.git_dirty, runs.git_diff_hash, runs.entry_point, runs."user", runs.host,'
    " runs.python_version"
)
_LOAD_METRICS = 'SELECT run_id, "key", value FROM latest_metrics WHERE run_id IN_TEXT_LIST(?)'
#: Parses the JSON objects the database folds (twice as fast as ``json.loads``, which also
#: checks for a byte order mark and trailing text: neither occurs in what the database made).
_parse_json = json.JSONDecoder().raw_decode


@cache
def _load_runs_sql(dialect: str) -> str:
    """The runs ``IN_TEXT_LIST(?)`` with their project name, and their params and tags as
    the JSON text ``[{params}, {tags}]`` (joined as text: one parse per run in Python)."""
    if dialect == "sqlite":
        folded = 'json_group_object("key", value)'
    else:
        folded = 'CAST(json_object_agg("key", value) AS text)'
    return (
        f"SELECT {_RUN_COLUMNS},"  # noqa: S608 - constant fragments only; the ids are bound
        f" '[' || COALESCE((SELECT {folded} FROM params WHERE params.run_id = runs.id), '{{}}')"
        f" || ',' || COALESCE((SELECT {folded} FROM tags WHERE tags.run_id = runs.id), '{{}}')"
        " || ']' FROM runs JOIN projects ON projects.id = runs.project_id"
        " WHERE runs.id IN_TEXT_LIST(?)"
    )


def chunked(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class NewRun:
    """A validated run, ready to insert."""

    id: str
    project: str
    name: str
    start_time: int
    parent_id: str | None
    source: RunSource
    tags: Mapping[str, str]


def prepare_run(
    project: str,
    *,
    name: str | None,
    tags: Mapping[str, str] | None,
    parent_id: str | None,
    source: RunSource | None,
    start_time: int | None,
    run_id: str | None,
) -> NewRun:
    """Validate the arguments of ``create_run`` and fill in the defaults (id, name, time)."""
    validation.check_name(project, "project")
    new = validation.check_run_id(run_id) if run_id is not None else new_id()
    clean_tags = {
        validation.check_key(key, "tag"): validation.check_text(value, key=key, kind="tag")
        for key, value in (tags or {}).items()
    }
    return NewRun(
        id=new,
        project=project,
        name=run_name_for(new) if name is None else validation.check_name(name, "name"),
        start_time=now_ms()
        if start_time is None
        else validation.check_timestamp(start_time, "start_time"),
        parent_id=parent_id,
        source=source or RunSource(),
        tags=clean_tags,
    )


def insert_run(conn: DriverConnection, new: NewRun, project_id: str) -> Run:
    """Insert ``new`` (with its tags) into project ``project_id``; the run as inserted.

    Raises:
        AlreadyExistsError: a run with this id exists.
        InvalidInputError: the parent is not a run of the same project.
    """
    if new.parent_id is not None:
        _check_parent(conn, new.parent_id, project_id, new.project)
    source = new.source
    row = (new.id, project_id, new.name, RunStatus.RUNNING.value, new.start_time,
           new.parent_id, Lifecycle.ACTIVE.value, source.git_commit, source.git_dirty,
           source.git_diff_hash, source.entry_point, source.user, source.host,
           source.python_version)  # fmt: skip
    if conn.exec_driver_sql(driver_sql(conn, _INSERT_RUN), row).rowcount == 0:
        raise AlreadyExistsError(f"run {new.id} already exists", run_id=new.id, field="run_id")
    if new.tags:
        rows = [(new.id, key, value) for key, value in new.tags.items()]
        conn.exec_driver_sql(driver_sql(conn, _INSERT_TAGS), rows)
    return Run(
        id=new.id,
        project=new.project,
        name=new.name,
        status=RunStatus.RUNNING,
        start_time=new.start_time,
        parent_id=new.parent_id,
        lifecycle=Lifecycle.ACTIVE,
        source=source,
        tags=MappingProxyType(dict(new.tags)),
    )


def _check_parent(conn: DriverConnection, parent_id: str, project_id: str, project: str) -> None:
    found = conn.exec_driver_sql(driver_sql(conn, _PARENT_PROJECT), (parent_id,)).first()
    if found is None or found[0] != project_id:
        where = "does not exist" if found is None else "belongs to another project"
        raise InvalidInputError(
            f"parent run {parent_id!r} {where}; a parent must be a run of project {project!r}",
            field="parent_id",
            hint="pass the id of a run in the same project, or no parent",
        )


def require_run(conn: DriverConnection, run_id: str, *, write: bool = False) -> str:
    """Check that run ``run_id`` exists (and, for a write, is not deleted); its project id.

    For a write the run row is locked (``FOR NO KEY UPDATE`` on PostgreSQL; SQLite's write
    transaction already excludes other writers), so concurrent batches to one run take turns.

    Raises:
        NotFoundError: no such run.
        ConflictError: ``write`` and the run is soft-deleted.
    """
    sql = _LOCK_RUN[conn.dialect.name] if write else _FIND_RUN
    row = conn.exec_driver_sql(driver_sql(conn, sql), (run_id,)).first()
    if row is None:
        raise NotFoundError(f"run {run_id!r} does not exist", run_id=run_id, field="run_id")
    if write and row[1] == Lifecycle.DELETED.value:
        raise ConflictError(
            f"run {run_id} is deleted; it cannot be written to",
            run_id=run_id,
            hint="restore it first (`loopml runs restore`)",
        )
    return str(row[0])


def _update_active_run(conn: DriverConnection, sql: str, values: tuple[Any, ...]) -> None:
    """Run an ``UPDATE ... WHERE id = ? AND lifecycle = ?`` of one run (``values`` end with
    its id); when no row changed, explain why.

    Raises:
        NotFoundError: no such run.
        ConflictError: the run is soft-deleted.
    """
    run_id = values[-1]
    if conn.exec_driver_sql(driver_sql(conn, sql), (*values, _ACTIVE)).rowcount == 0:
        require_run(conn, run_id, write=True)  # raises the error that says why


def end_run(
    conn: DriverConnection, run_id: str, status: RunStatus, end_time: int, error: str | None
) -> None:
    """Set a terminal status, the end time and the error text (one statement)."""
    _update_active_run(conn, _END_RUN, (status.value, end_time, error, run_id))


def set_run_name(conn: DriverConnection, run_id: str, name: str) -> None:
    """Rename run ``run_id``."""
    _update_active_run(conn, _RENAME_RUN, (name, run_id))


# -- reading ----------------------------------------------------------------------------------
def load_runs(conn: DriverConnection, run_ids: Sequence[str]) -> dict[str, Run]:
    """The runs among ``run_ids`` that exist, by id, with their data: two queries."""
    if not run_ids:
        return {}
    ids = text_list(conn, list(dict.fromkeys(run_ids)))
    rows = conn.exec_driver_sql(driver_sql(conn, _load_runs_sql(conn.dialect.name)), (ids,))
    run_rows = rows.all()
    latest: dict[str, dict[str, float]] = {}
    for run_id, key, value in conn.exec_driver_sql(driver_sql(conn, _LOAD_METRICS), (ids,)).all():
        latest.setdefault(run_id, {})[key] = math.nan if value is None else value
    # One JSON document for all runs: its parser keeps one copy of each key, not one per run.
    data = _parse_json("[" + ",".join([row[17] for row in run_rows]) + "]")[0]
    sources: dict[tuple[Any, ...], RunSource] = {}
    return {
        row[0]: _to_run(row, params, tags, latest, sources)
        for row, (params, tags) in zip(run_rows, data, strict=True)
    }


def _to_run(
    row: tuple[Any, ...],
    params: dict[str, str],
    tags: dict[str, str],
    latest: dict[str, dict[str, float]],
    sources: dict[tuple[Any, ...], RunSource],
) -> Run:
    """A :class:`Run` from a row of :func:`_load_runs_sql` and its parsed params and tags;
    runs from the same checkout and machine share one (immutable) :class:`RunSource`."""
    key = row[10:17]
    source = sources.get(key)
    if source is None:
        source = sources[key] = RunSource(
            git_commit=key[0],
            git_dirty=None if key[1] is None else bool(key[1]),  # 0/1 on SQLite
            git_diff_hash=key[2],
            entry_point=key[3],
            user=key[4],
            host=key[5],
            python_version=key[6],
        )
    return Run(
        id=row[0],
        project=row[1],
        name=row[2],
        status=_STATUSES[row[3]],
        start_time=row[4],
        end_time=row[5],
        parent_id=row[6],
        lifecycle=_LIFECYCLES[row[7]],
        deleted_at=row[8],
        source=source,
        error=row[9],
        params=MappingProxyType(params),
        metrics=MappingProxyType(latest.get(row[0], {})),
        tags=MappingProxyType(tags),
    )


def get_runs(conn: DriverConnection, run_ids: Sequence[str]) -> list[Run]:
    """The runs ``run_ids`` in the order asked. Raises NotFoundError naming the missing ids."""
    found = load_runs(conn, run_ids)
    missing = [run_id for run_id in dict.fromkeys(run_ids) if run_id not in found]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise NotFoundError(f"run(s) {shown} do not exist", run_id=missing[0], field="run_id")
    return [found[run_id] for run_id in run_ids]


# -- delete, restore, purge -------------------------------------------------------------------
def _require_all(conn: DriverConnection, run_ids: Sequence[str]) -> list[str]:
    unique = list(dict.fromkeys(run_ids))
    found: set[str] = set()
    for ids in chunked(unique):
        rows = conn.exec_driver_sql(driver_sql(conn, _EXISTING), (text_list(conn, ids),)).all()
        found.update(row[0] for row in rows)
    missing = [run_id for run_id in unique if run_id not in found]
    if missing:
        raise NotFoundError(
            f"run(s) {', '.join(repr(m) for m in missing[:5])} do not exist",
            run_id=missing[0],
            field="run_id",
        )
    return unique


def delete_runs(conn: DriverConnection, run_ids: Sequence[str], when: int) -> None:
    """Soft-delete runs; a run already deleted keeps its first ``deleted_at``."""
    sql = driver_sql(conn, _SOFT_DELETE)
    for ids in chunked(_require_all(conn, run_ids)):
        conn.exec_driver_sql(
            sql, (Lifecycle.DELETED.value, when, text_list(conn, ids), Lifecycle.ACTIVE.value)
        )


def restore_runs(conn: DriverConnection, run_ids: Sequence[str]) -> None:
    """Undo :func:`delete_runs`."""
    sql = driver_sql(conn, _RESTORE)
    for ids in chunked(_require_all(conn, run_ids)):
        conn.exec_driver_sql(sql, (Lifecycle.ACTIVE.value, text_list(conn, ids)))


def purge_runs(conn: DriverConnection, deleted_before: int) -> list[str]:
    """Hard-delete runs soft-deleted before ``deleted_before``; their children cascade."""
    found = conn.exec_driver_sql(
        driver_sql(conn, _DOOMED), (Lifecycle.DELETED.value, deleted_before)
    ).all()
    ids = [row[0] for row in found]
    sql = driver_sql(conn, _PURGE)
    for chunk in chunked(ids):
        conn.exec_driver_sql(sql, (text_list(conn, chunk),))
    return ids
