"""Run artifacts: the map from a path inside a run to the blob holding its bytes; and the
blobs every record points at (what garbage collection keeps)."""

from __future__ import annotations

from collections.abc import Sequence

from loopml.entities import ArtifactEntry
from loopml.errors import InvalidInputError
from loopml.store.sql import validation
from loopml.store.sql.driver import DriverConnection, driver_sql
from loopml.store.sql.runs import require_run

__all__ = ["check_entries", "list_artifacts", "record_artifacts", "referenced_blobs"]

#: A path recorded again points at the new blob.
_UPSERT = (
    "INSERT INTO run_artifacts (run_id, path, blob, size, created_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (run_id, path) DO UPDATE SET blob = excluded.blob, size = excluded.size,"
    " created_at = excluded.created_at"
)
_LIST = "SELECT run_id, path, blob, size, created_at FROM run_artifacts WHERE run_id = ?"
_ORDER = " ORDER BY path"
_UNDER = " AND (path = ? OR substr(path, 1, ?) = ?)"
_REFERENCED = (
    "SELECT blob FROM run_artifacts UNION SELECT blob FROM dataset_files"
    " UNION SELECT manifest_blob FROM dataset_versions"
    " UNION SELECT schema_blob FROM dataset_versions WHERE schema_blob IS NOT NULL"
    " UNION SELECT profile_blob FROM dataset_versions WHERE profile_blob IS NOT NULL"
)


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


def record_artifacts(conn: DriverConnection, run_id: str, entries: Sequence[ArtifactEntry]) -> None:
    """Map each entry's path to its blob; a path recorded again points at the new blob."""
    require_run(conn, run_id, write=True)
    if not entries:
        return
    rows = [(e.run_id, e.path, e.blob, e.size, e.created_at) for e in entries]
    conn.exec_driver_sql(driver_sql(conn, _UPSERT), rows)


def list_artifacts(conn: DriverConnection, run_id: str, prefix: str) -> list[ArtifactEntry]:
    """The run's files under folder ``prefix`` ("" for all): "a/b" matches "a/b" and
    "a/b/x", not "a/bc". Matching is exact (case-sensitive) on both databases."""
    require_run(conn, run_id)
    folder = prefix.strip("/")
    if folder:
        folder = validation.check_artifact_path(folder, "prefix")
        below = folder + "/"
        sql = driver_sql(conn, _LIST + _UNDER + _ORDER)
        rows = conn.exec_driver_sql(sql, (run_id, folder, len(below), below)).all()
    else:
        rows = conn.exec_driver_sql(driver_sql(conn, _LIST + _ORDER), (run_id,)).all()
    return [ArtifactEntry(*row) for row in rows]


def referenced_blobs(conn: DriverConnection) -> set[str]:
    """Every blob some record points at: run artifacts, dataset files, and the manifests,
    schemas and profiles of dataset versions (one ``UNION`` query)."""
    return {row[0] for row in conn.exec_driver_sql(driver_sql(conn, _REFERENCED)).all()}
