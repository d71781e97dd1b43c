"""Recording dataset versions and the lineage edges that come with them.

Every way of making a version (a folder, a file, a table) ends in :func:`record_version`;
every way of reading one as a run input calls :func:`record_input`.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from typing import Any

from loopml.data.manifest import canonical_manifest, content_id_of
from loopml.data.uris import check_dataset_name
from loopml.entities import DatasetKind, DatasetVersion, FileEntry, LineageEdge, now_ms
from loopml.tracking.context import TrackingContext
from loopml.tracking.fluent import active_run

__all__ = ["record_input", "record_version"]


def _author() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def record_version(
    ctx: TrackingContext,
    *,
    name: str,
    kind: DatasetKind,
    files: Sequence[FileEntry],
    project: str | None = None,
    message: str | None = None,
    num_rows: int | None = None,
    schema_blob: str | None = None,
    profile_blob: str | None = None,
    metadata: Mapping[str, str] | None = None,
    manifest_extra: Mapping[str, Any] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Store the manifest blob and record the version (the blobs of ``files`` must already be
    in the object store). Inside an active run, the run gets an ``output`` lineage edge.

    Returns:
        The version, and True if it is new (False: the same content was already a version).
    """
    check_dataset_name(name)
    manifest = canonical_manifest(files, kind, manifest_extra)
    blob = ctx.objects.put_bytes(manifest)
    run = active_run()
    version, created = ctx.store.create_dataset_version(
        project or (run.project if run is not None else ctx.settings.project),
        name,
        kind=kind,
        content_id=content_id_of(manifest),
        manifest_blob=blob.hex,
        files=files,
        message=message,
        author=_author(),
        source_run_id=run.id if run is not None else None,
        num_rows=num_rows,
        schema_blob=schema_blob,
        profile_blob=profile_blob,
        metadata=metadata,
    )
    if run is not None:
        ctx.store.add_lineage([LineageEdge(run.id, "output", version.uri, now_ms(), run.project)])
    return version, created


def record_input(ctx: TrackingContext, version: DatasetVersion) -> None:
    """Inside an active run, record that the run read ``version``."""
    run = active_run()
    if run is not None:
        ctx.store.add_lineage([LineageEdge(run.id, "input", version.uri, now_ms(), run.project)])
