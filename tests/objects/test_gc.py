"""Garbage collection over a local folder and S3 (moto)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from loopml.errors import InvalidInputError
from loopml.objects import GcReport, ObjectStore, collect_garbage


def hexes(store: ObjectStore) -> set[str]:
    return {blob.hex for blob in store.iter_blobs()}


def test_keeps_referenced_deletes_old_unreferenced(store: ObjectStore, backdoor: Any) -> None:
    kept = store.put_bytes(b"referenced")
    orphan = store.put_bytes(b"orphan!")
    backdoor.make_old(kept.hex)
    backdoor.make_old(orphan.hex)
    report = collect_garbage(store, {kept.hex}, grace_seconds=backdoor.old_grace)
    assert report == GcReport(deleted=[orphan.hex], kept=1, freed_bytes=7, skipped_recent=0)
    assert hexes(store) == {kept.hex}
    assert store.get_bytes(kept.hex) == b"referenced"


def test_recent_unreferenced_blob_survives(store: ObjectStore) -> None:
    just_written = store.put_bytes(b"written, not yet recorded")
    report = collect_garbage(store, set())  # default grace: one hour
    assert report == GcReport(deleted=[], kept=0, freed_bytes=0, skipped_recent=1)
    assert store.exists(just_written.hex)


def test_dry_run_deletes_nothing(store: ObjectStore, backdoor: Any) -> None:
    orphans = [store.put_bytes(f"orphan {i}".encode()) for i in range(3)]
    for orphan in orphans:
        backdoor.make_old(orphan.hex)
    backdoor.add_temp("stale", b"12345")
    backdoor.make_old("stale")
    report = collect_garbage(store, set(), grace_seconds=backdoor.old_grace, dry_run=True)
    assert sorted(report.deleted) == sorted(o.hex for o in orphans)
    assert report.freed_bytes == sum(o.size for o in orphans) + 5
    assert report.stale_temps == 1
    assert hexes(store) == {o.hex for o in orphans}
    assert backdoor.temps() == ["stale"]


def test_stale_temps_are_removed(store: ObjectStore, backdoor: Any) -> None:
    backdoor.add_temp("crashed", b"half")
    backdoor.make_old("crashed")
    report = collect_garbage(store, set(), grace_seconds=backdoor.old_grace)
    assert report.stale_temps == 1
    assert report.freed_bytes == 4
    assert backdoor.temps() == []


def test_fresh_temps_are_kept(store: ObjectStore, backdoor: Any) -> None:
    backdoor.add_temp("being-written", b"half")
    report = collect_garbage(store, set())
    assert report.stale_temps == 0
    assert backdoor.temps() == ["being-written"]


def test_referenced_accepts_uris_and_refuses_junk(store: ObjectStore, backdoor: Any) -> None:
    kept = store.put_bytes(b"by uri")
    backdoor.make_old(kept.hex)
    report = collect_garbage(store, [kept.uri], grace_seconds=backdoor.old_grace)
    assert (report.deleted, report.kept) == ([], 1)
    with pytest.raises(InvalidInputError):
        collect_garbage(store, {"not-a-blob"}, grace_seconds=backdoor.old_grace)
    assert store.exists(kept.hex)  # a bad reference set deletes nothing


def test_empty_store(store: ObjectStore) -> None:
    assert collect_garbage(store, set(), grace_seconds=-5) == GcReport()


def test_gc_then_put_again_restores(store: ObjectStore, backdoor: Any) -> None:
    orphan = store.put_bytes(b"comes back")
    backdoor.make_old(orphan.hex)
    collect_garbage(store, set(), grace_seconds=backdoor.old_grace)
    assert not store.exists(orphan.hex)
    assert store.put_bytes(b"comes back") == orphan
    assert store.get_bytes(orphan.hex) == b"comes back"


# -- local only: needs per-blob ages, which S3's LastModified cannot fake ----------------------


def test_mixed_ages_local(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path / "objects"))
    old = store.put_bytes(b"old orphan")
    young = store.put_bytes(b"young orphan")
    referenced_old = store.put_bytes(b"old but referenced")
    path = store._backend.blob_path  # type: ignore[attr-defined]
    then = time.time() - 7200
    for blob in (old, referenced_old):
        os.utime(path(blob.hex)[1], (then, then))
    report = collect_garbage(store, {referenced_old.hex}, grace_seconds=3600)
    assert report == GcReport(deleted=[old.hex], kept=1, freed_bytes=10, skipped_recent=1)
    assert hexes(store) == {young.hex, referenced_old.hex}


def test_put_of_existing_content_refreshes_its_age_local(tmp_path: Path) -> None:
    """A dedup'd put protects the blob from a gc that runs before the put is recorded."""
    store = ObjectStore(str(tmp_path / "objects"))
    blob = store.put_bytes(b"reused")
    then = time.time() - 7200
    os.utime(store._backend.blob_path(blob.hex)[1], (then, then))  # type: ignore[attr-defined]
    store.put_bytes(b"reused")  # a new run logs the same content
    report = collect_garbage(store, set(), grace_seconds=3600)
    assert report.deleted == []
    assert store.exists(blob.hex)
