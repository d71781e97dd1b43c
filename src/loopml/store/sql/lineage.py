"""Lineage: which runs read (``input``) or wrote (``output``) which versioned artifacts.

An edge is its ``(run_id, direction, ref)``; recording it again changes nothing (``ON
CONFLICT DO NOTHING``, so the first ``created_at`` stays). An edge carries its run's project.
Both reads are one query with the ids or refs bound as one value, whatever their number,
served by the primary key (by run) or the ``ref`` index.
"""

from __future__ import annotations

from collections.abc import Sequence

from loopml.entities import Lifecycle, LineageEdge
from loopml.errors import ConflictError, InvalidInputError, NotFoundError
from loopml.store.sql import validation
from loopml.store.sql.driver import DriverConnection, driver_sql, text_list

__all__ = [
    "DIRECTIONS",
    "REF_MAX_BYTES",
    "add_lineage",
    "check_edges",
    "lineage_of_refs",
    "lineage_of_runs",
]

#: What a run did with an artifact.
DIRECTIONS = ("input", "output")
#: Longest ref, in UTF-8 bytes (it is part of a primary key and of an index).
REF_MAX_BYTES = 1024

#: (run_id, direction, ref, created_at, project or None): a checked edge.
_Edge = tuple[str, str, str, int, str | None]

_RUNS = (
    "SELECT r.id, r.project_id, p.name, r.lifecycle FROM runs r"
    " JOIN projects p ON p.id = r.project_id WHERE r.id IN_TEXT_LIST(?)"
)
_INSERT_EDGES = (
    "INSERT INTO lineage_edges (run_id, direction, ref, created_at, project_id)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_EDGES = (
    "SELECT e.run_id, e.direction, e.ref, e.created_at, p.name FROM lineage_edges e"
    " JOIN projects p ON p.id = e.project_id WHERE "
)
_OF_RUNS = _EDGES + "e.run_id IN_TEXT_LIST(?)"
_OF_REFS = _EDGES + "e.ref IN_TEXT_LIST(?)"


def check_edges(edges: Sequence[LineageEdge]) -> list[_Edge]:
    """The edges as rows, each once.

    Raises:
        InvalidInputError: a bad run id, direction, ref, time or project.
    """
    clean: dict[tuple[str, str, str], _Edge] = {}
    for edge in edges:
        if not isinstance(edge.run_id, str) or not edge.run_id:
            raise InvalidInputError(
                f"lineage edge needs a run id, got {edge.run_id!r}", field="run_id"
            )
        if edge.direction not in DIRECTIONS:
            raise InvalidInputError(
                f"lineage direction must be 'input' or 'output', got {edge.direction!r}",
                field="direction",
                run_id=edge.run_id,
            )
        ref = edge.ref
        if not isinstance(ref, str) or not ref or "\x00" in ref:
            raise InvalidInputError(
                f"lineage ref must be a non-empty URI, got {ref!r}",
                field="ref",
                run_id=edge.run_id,
                hint="e.g. 'datasets:/churn-raw/3'",
            )
        if len(ref.encode()) > REF_MAX_BYTES:
            raise InvalidInputError(
                f"lineage ref {ref[:60]!r}... is longer than {REF_MAX_BYTES} bytes",
                field="ref",
                run_id=edge.run_id,
            )
        created_at = validation.check_timestamp(edge.created_at, "created_at")
        if edge.project is not None:
            validation.check_name(edge.project, "project")
        key = (edge.run_id, edge.direction, ref)
        clean.setdefault(key, (*key, created_at, edge.project))
    return list(clean.values())


def add_lineage(conn: DriverConnection, edges: Sequence[_Edge]) -> None:
    """Insert the edges that are not stored yet, each with its run's project.

    Raises:
        NotFoundError: a run does not exist.
        ConflictError: a run is deleted.
        InvalidInputError: an edge names another project than its run's.
    """
    run_ids = list(dict.fromkeys(edge[0] for edge in edges))
    found = conn.exec_driver_sql(driver_sql(conn, _RUNS), (text_list(conn, run_ids),))
    runs = {row[0]: row for row in found.all()}
    rows = []
    for run_id, direction, ref, created_at, project in edges:
        run = runs.get(run_id)
        if run is None:
            raise NotFoundError(
                f"run {run_id!r} does not exist; lineage needs a recorded run",
                run_id=run_id,
                field="run_id",
            )
        if run[3] == Lifecycle.DELETED.value:
            raise ConflictError(
                f"run {run_id} is deleted; it cannot be written to",
                run_id=run_id,
                hint="restore it first (`loopml runs restore`)",
            )
        if project is not None and project != run[2]:
            raise InvalidInputError(
                f"lineage edge of run {run_id} names project {project!r}, but the run belongs"
                f" to {run[2]!r}",
                field="project",
                run_id=run_id,
                hint="leave project out: it is taken from the run",
            )
        rows.append((run_id, direction, ref, created_at, run[1]))
    conn.exec_driver_sql(driver_sql(conn, _INSERT_EDGES), rows)


def _edges(conn: DriverConnection, sql: str, values: Sequence[str]) -> list[LineageEdge]:
    """The edges of ``sql`` for ``values``, oldest first (ties: by run, direction, ref)."""
    result = conn.exec_driver_sql(driver_sql(conn, sql), (text_list(conn, values),))
    rows = sorted(result.all(), key=lambda row: (row[3], row[0], row[1], row[2]))
    return [
        LineageEdge(run_id, direction, ref, at, project)
        for run_id, direction, ref, at, project in rows
    ]


def lineage_of_runs(conn: DriverConnection, run_ids: Sequence[str]) -> list[LineageEdge]:
    """Every edge of the runs ``run_ids`` (unknown ids have none), in both directions."""
    return _edges(conn, _OF_RUNS, list(dict.fromkeys(run_ids)))


def lineage_of_refs(conn: DriverConnection, refs: Sequence[str]) -> list[LineageEdge]:
    """Every edge whose ref is one of ``refs``, in both directions."""
    return _edges(conn, _OF_REFS, list(dict.fromkeys(refs)))
