"""Garbage collection: purge long-deleted runs, then delete blobs nothing points at."""

from __future__ import annotations

from dataclasses import dataclass, field

from loopml.entities import now_ms
from loopml.tracking.context import TrackingContext

__all__ = ["GcResult", "collect_garbage"]


@dataclass(frozen=True, slots=True)
class GcResult:
    """What a gc pass did (or, with dry_run, would do to blobs)."""

    purged_runs: list[str] = field(default_factory=list)
    deleted_blobs: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    kept_blobs: int = 0
    skipped_recent: int = 0
    dry_run: bool = False


def collect_garbage(
    ctx: TrackingContext,
    *,
    grace_seconds: float = 3600.0,
    purge_deleted_older_than_s: float | None = None,
    dry_run: bool = False,
) -> GcResult:
    """Purge runs deleted longer ago than ``purge_deleted_older_than_s`` (if given), then
    delete unreferenced blobs older than ``grace_seconds`` (younger ones may belong to a
    write in progress)."""
    from loopml.objects.gc import collect_garbage as collect_blobs

    purged: list[str] = []
    if purge_deleted_older_than_s is not None and not dry_run:
        cutoff = now_ms() - int(purge_deleted_older_than_s * 1000)
        purged = ctx.store.purge_runs(deleted_before=cutoff)
    referenced = ctx.store.referenced_blobs()
    report = collect_blobs(ctx.objects, referenced, grace_seconds=grace_seconds, dry_run=dry_run)
    return GcResult(
        purged_runs=purged,
        deleted_blobs=list(report.deleted),
        freed_bytes=report.freed_bytes,
        kept_blobs=report.kept,
        skipped_recent=report.skipped_recent,
        dry_run=dry_run,
    )
