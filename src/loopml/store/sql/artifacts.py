"""Run artifacts: the map from a path inside a run to the blob holding its bytes; and the
blobs every record points at (what garbage collection keeps)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select, union
from sqlalchemy.engine import Connection

from loopml.entities import ArtifactEntry
from loopml.errors import InvalidInputError
from loopml.store.sql import validation
from loopml.store.sql.engine import dialect_insert
from loopml.store.sql.runs import require_run
from loopml.store.sql.schema import dataset_files, dataset_versions, run_artifacts

__all__ = ["check_entries", "list_artifacts", "record_artifacts", "referenced_blobs"]


def check_entries(run_id: str, entries: Sequence[ArtifactEntry]) -> list[ArtifactEntry]:
    """The entries with normalised paths; the last entry wins for a path given twice.

    Raises:
        InvalidInputError: an entry of another run, a bad path, blob or size.
    """
    clean: dict[str, ArtifactEntry] = {}
    for entry in entries:
        if entry.run_id != run_id:
            raise InvalidInputError(
                f"artifact {entry.path!r} is for run {entry.run_id}, not {run_id}",
                field="run_id",
                run_id=run_id,
            )
        path = validation.check_artifact_path(entry.path)
        if not isinstance(entry.blob, str) or not entry.blob or len(entry.blob) > 128:
            raise InvalidInputError(
                f"artifact {path!r} needs a blob hash, got {entry.blob!r}", field="blob"
            )
        if isinstance(entry.size, bool) or not isinstance(entry.size, int) or entry.size < 0:
            raise InvalidInputError(
                f"artifact {path!r} needs a size in bytes >= 0, got {entry.size!r}", field="size"
            )
        clean[path] = ArtifactEntry(run_id, path, entry.blob, entry.size, entry.created_at)
    return list(clean.values())


def record_artifacts(conn: Connection, run_id: str, entries: Sequence[ArtifactEntry]) -> None:
    """Map each entry's path to its blob; a path recorded again points at the new blob."""
    require_run(conn, run_id, write=True)
    if not entries:
        return
    upsert = dialect_insert(conn, run_artifacts)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=[run_artifacts.c.run_id, run_artifacts.c.path],
            set_={
                "blob": upsert.excluded.blob,
                "size": upsert.excluded.size,
                "created_at": upsert.excluded.created_at,
            },
        ),
        [
            {
                "run_id": e.run_id,
                "path": e.path,
                "blob": e.blob,
                "size": e.size,
                "created_at": e.created_at,
            }
            for e in entries
        ],
    )


def list_artifacts(conn: Connection, run_id: str, prefix: str) -> list[ArtifactEntry]:
    """The run's files under folder ``prefix`` ("" for all): "a/b" matches "a/b" and
    "a/b/x", not "a/bc". Matching is exact (case-sensitive) on both databases."""
    require_run(conn, run_id)
    table = run_artifacts
    query = select(table).where(table.c.run_id == run_id).order_by(table.c.path)
    folder = prefix.strip("/")
    if folder:
        folder = validation.check_artifact_path(folder, "prefix")
        below = folder + "/"
        query = query.where(
            or_(table.c.path == folder, func.substr(table.c.path, 1, len(below)) == below)
        )
    return [
        ArtifactEntry(row.run_id, row.path, row.blob, row.size, row.created_at)
        for row in conn.execute(query)
    ]


def referenced_blobs(conn: Connection) -> set[str]:
    """Every blob some record points at: run artifacts, dataset files, and the manifests,
    schemas and profiles of dataset versions (one ``UNION`` query)."""
    versions = dataset_versions.c
    query = union(
        select(run_artifacts.c.blob),
        select(dataset_files.c.blob),
        select(versions.manifest_blob),
        select(versions.schema_blob).where(versions.schema_blob.is_not(None)),
        select(versions.profile_blob).where(versions.profile_blob.is_not(None)),
    )
    return set(conn.execute(query).scalars())
