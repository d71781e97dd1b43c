"""Garbage collection: delete blobs nothing refers to, once they are old enough.

A blob is written before the record that refers to it (a run's artifact, a dataset
manifest) is committed, so a blob that looks unreferenced may be one a writer is about to
record. The grace period protects it: only blobs whose modification time is older than
``grace_seconds`` are deleted. A put of content that is already stored refreshes the blob's
mtime, so re-used content is protected the same way. Stale temp files (left by a crashed
writer) older than the grace period are removed too.

Each blob's age is checked again just before it is deleted, which narrows (but, without a
lock, cannot close) the window in which a concurrent put of the same content races a delete.
Packs (many small blobs in one file, see :mod:`loopml.objects._packs`) are deleted whole:
a pack is kept while any of its blobs is referenced, or while it is younger than the grace
period (its age is its index's modification time, which a put of content it holds renews).
A pack file left without an index by a crashed writer is removed once older than the grace.

On S3, the parts of a multipart upload abandoned by a crashed writer are not objects and are
not listed here: give the bucket a lifecycle rule that aborts incomplete multipart uploads.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from loopml.errors import NotFoundError
from loopml.objects.blobs import check_blob
from loopml.objects.store import ObjectStore

__all__ = ["GcReport", "collect_garbage"]


@dataclass(frozen=True, slots=True)
class GcReport:
    """What a garbage collection did (or, in a dry run, would do).

    Attributes:
        deleted: Hexes of the unreferenced blobs deleted.
        kept: Blobs kept because they are referenced.
        freed_bytes: Bytes freed, blobs and stale temp files together.
        skipped_recent: Unreferenced blobs kept because they are younger than the grace period.
        stale_temps: Temp files deleted (left behind by interrupted writes).
        deleted_packs: Ids of the packs deleted (their blobs are in ``deleted``).
        kept_packs: Packs kept because a blob in them is referenced (or their index is
            unreadable, so what they hold is unknown).
    """

    deleted: list[str] = field(default_factory=list)
    kept: int = 0
    freed_bytes: int = 0
    skipped_recent: int = 0
    stale_temps: int = 0
    deleted_packs: list[str] = field(default_factory=list)
    kept_packs: int = 0


def collect_garbage(
    store: ObjectStore,
    referenced: Iterable[str],
    *,
    grace_seconds: float = 3600,
    dry_run: bool = False,
) -> GcReport:
    """Delete the blobs of ``store`` that are not in ``referenced`` and older than the grace.

    Args:
        store: The object store to clean.
        referenced: Every blob still in use (hex or ``blake3:`` URI). Anything missing from
            it and older than the grace period is deleted, so pass the complete set.
        grace_seconds: Minimum age (by modification time) of a blob or temp file to delete.
        dry_run: Report what would be deleted, delete nothing.

    Returns:
        A :class:`GcReport`.

    Raises:
        InvalidInputError: an entry of ``referenced`` is not a blob id (nothing is deleted).

    Example:
        >>> import tempfile
        >>> store = ObjectStore(tempfile.mkdtemp())
        >>> keep = store.put_bytes(b"keep").hex
        >>> _ = store.put_bytes(b"drop")
        >>> report = collect_garbage(store, {keep}, grace_seconds=-1)
        >>> (len(report.deleted), report.kept, report.freed_bytes)
        (1, 1, 4)
    """
    wanted = {check_blob(blob) for blob in referenced}
    cutoff = time.time() - grace_seconds
    deleted: list[str] = []
    kept = skipped_recent = freed = 0
    for blob in store._iter_loose():
        if blob.hex in wanted:
            kept += 1
            continue
        if blob.mtime > cutoff:
            skipped_recent += 1
            continue
        if not dry_run:
            # Look again just before deleting: a put of the same content since the listing
            # refreshed the mtime, and the blob is about to be referenced.
            try:
                current = store.stat(blob.hex)
            except NotFoundError:
                continue
            if current.mtime > cutoff:
                skipped_recent += 1
                continue
            store.delete(blob.hex, missing_ok=True)
        deleted.append(blob.hex)
        freed += blob.size
    packs = _collect_packs(store, wanted, cutoff, dry_run)
    deleted.extend(packs.deleted)
    kept += packs.kept
    skipped_recent += packs.skipped_recent
    freed += packs.freed_bytes
    stale = packs.stale_temps
    for temp in store._iter_temps():
        if temp.mtime <= cutoff:
            if not dry_run:
                store._delete_temp(temp.name)
            stale += 1
            freed += temp.size
    return GcReport(
        deleted=deleted,
        kept=kept,
        freed_bytes=freed,
        skipped_recent=skipped_recent,
        stale_temps=stale,
        deleted_packs=packs.deleted_packs,
        kept_packs=packs.kept_packs,
    )


def _collect_packs(store: ObjectStore, wanted: set[str], cutoff: float, dry_run: bool) -> GcReport:
    """The pack half of :func:`collect_garbage` (orphan pack files count as stale temps)."""
    deleted: list[str] = []
    deleted_packs: list[str] = []
    kept = kept_packs = skipped_recent = freed = stale = 0
    for pack in store._iter_packs():
        stat = pack.stat
        if not stat.has_index or not stat.has_pack:  # a crashed writer's (or gc's) leftover
            if stat.mtime <= cutoff:
                if not dry_run:
                    store._delete_pack(stat.pack)
                stale += 1
                freed += stat.size
            continue
        if pack.blobs is None:
            kept_packs += 1
            continue
        live = sum(1 for blob in pack.blobs if blob in wanted)
        if live:
            kept += live
            kept_packs += 1
            continue
        if stat.mtime > cutoff:
            skipped_recent += len(pack.blobs)
            continue
        if not dry_run:
            # Look again just before deleting: a put of content it holds renewed its age.
            current = store._pack_stat(stat.pack)
            if current is None:
                continue
            if current.mtime > cutoff:
                skipped_recent += len(pack.blobs)
                continue
            store._delete_pack(stat.pack)
        deleted.extend(pack.blobs)
        deleted_packs.append(stat.pack)
        freed += stat.size
    return GcReport(
        deleted=deleted,
        kept=kept,
        freed_bytes=freed,
        skipped_recent=skipped_recent,
        stale_temps=stale,
        deleted_packs=deleted_packs,
        kept_packs=kept_packs,
    )
