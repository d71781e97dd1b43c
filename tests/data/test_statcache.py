"""The local data cache: the racy-file rule, signatures that match what the walk computes,
tracked paths and their entries, verified blobs, and a damaged or newer cache file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from loopml.data.statcache import (
    RACY_NS,
    SCHEMA_VERSION,
    DataCache,
    Entry,
    StatRow,
    blob_signature,
    cache_path,
    local_folder,
)
from loopml.data.walk import stat_path, stat_signature, walk_changed
from loopml.errors import StoreError

BLOB = "a" * 64
OTHER = "b" * 64
NOW = 1_700_000_000_000_000_000  # fixed: parametrize ids must be the same in every worker
OLD = NOW - 10 * RACY_NS


def entry(**stat: object) -> Entry:
    base = Entry("x.csv", 10, BLOB, 0o644, 1, 2, OLD, None, NOW)
    return base._replace(**stat)


def test_cached_hash_trusts_an_unchanged_old_stat() -> None:
    assert entry().cached_hash(1, 2, 10, OLD) == BLOB
    assert entry(hash=OTHER).cached_hash(1, 2, 10, OLD) == OTHER


@pytest.mark.parametrize(
    ("dev", "ino", "size", "mtime"),
    [(9, 2, 10, OLD), (1, 9, 10, OLD), (1, 2, 11, OLD), (1, 2, 10, OLD + 1)],
)
def test_any_stat_change_means_unknown(dev: int, ino: int, size: int, mtime: int) -> None:
    assert entry().cached_hash(dev, ino, size, mtime) is None


def test_racy_entries_are_not_trusted() -> None:
    racy = entry(mtime_ns=NOW - RACY_NS // 2)  # modified shortly before it was hashed
    assert racy.cached_hash(1, 2, 10, racy.mtime_ns) is None
    assert racy.signature() is None
    assert entry(recorded_ns=None).cached_hash(1, 2, 10, OLD) is None
    assert Entry("x", 1, BLOB, 0o644).cached_hash(1, 2, 1, OLD) is None


def test_signature_only_for_a_trusted_stat_of_the_versions_content() -> None:
    assert entry().signature() == stat_signature(1, 2, 10, OLD, 0o644)
    assert entry(hash=OTHER).signature() is None  # the file there is not the version's


def test_with_stat_drops_a_hash_equal_to_the_blob() -> None:
    assert entry().with_stat(3, 4, OLD, BLOB, NOW).hash is None
    assert entry().with_stat(3, 4, OLD, OTHER, NOW).hash == OTHER


def test_walk_computes_the_same_signature(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    path = tmp_path / "d" / "f.txt"
    path.write_text("data")
    file = stat_path(str(path), "f.txt")
    sig = stat_signature(file.dev, file.ino, file.size, file.mtime_ns, file.mode)
    changed, same = walk_changed(str(tmp_path / "d"), {"f.txt": sig})
    assert (changed, same) == ([], ["f.txt"])
    changed, same = walk_changed(str(tmp_path / "d"), {"f.txt": sig + 1})
    assert [c.path for c in changed] == ["f.txt"]
    assert same == []


def test_blob_signature_is_stable_across_processes() -> None:
    import subprocess
    import sys

    code = (
        "from loopml.data.statcache import blob_signature;"
        f"print(blob_signature(1, 2, 3, 4, {BLOB!r}))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert outputs == {str(blob_signature(1, 2, 3, 4, BLOB))}


def test_record_and_read_back(tmp_path: Path) -> None:
    with DataCache(tmp_path / "data.db") as cache:
        files = [entry(), Entry("y.csv", 3, OTHER, 0o755)]
        tracked = cache.record(
            "/data/raw",
            kind="folder",
            dataset="raw",
            version=2,
            version_id="v2",
            content_id="c2",
            tracking_uri="sqlite:///x",
            entries=files,
        )
        assert tracked.uri == "datasets:/raw/2"
        assert tracked.files == 2
        assert cache.tracked("/data/raw") == tracked
        assert cache.tracked("/data") is None
        assert cache.entries(tracked.id) == {"x.csv": files[0], "y.csv": files[1]}
        assert cache.signatures(tracked.id) == {"x.csv": files[0].signature()}
        assert [t.path for t in cache.tracked_under("/data")] == ["/data/raw"]
        assert cache.tracked_under("/dat") == []
        learned = files[1].with_stat(5, 6, OLD, OTHER, NOW)
        cache.update_entries(tracked.id, [learned])
        assert cache.entries(tracked.id)["y.csv"] == learned
        again = cache.record(
            "/data/raw",
            kind="folder",
            dataset="raw",
            version=3,
            version_id="v3",
            content_id="c3",
            tracking_uri="sqlite:///x",
            entries=[files[0]],
        )
        assert again.id == tracked.id
        assert list(cache.entries(tracked.id)) == ["x.csv"]
        cache.forget("/data/raw")
        assert cache.tracked("/data/raw") is None


def test_verified_blobs(tmp_path: Path) -> None:
    with DataCache(tmp_path / "data.db") as cache:
        scope = cache.objects_scope("/store")
        assert cache.objects_scope("/store") == scope
        assert cache.tracked("/store") is None  # a scope, not a tracked path
        cache.add_verified(scope, [StatRow(1, 2, 3, 4, BLOB, NOW)])
        assert cache.verified_blobs(scope) == {blob_signature(1, 2, 3, 4, BLOB)}
        assert cache.verified_blobs(cache.objects_scope("/other")) == set()


def test_a_newer_cache_is_refused_an_older_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    DataCache(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer loopml"):
        DataCache(path)
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    with DataCache(path) as cache:
        assert cache.tracked("/x") is None


def test_a_damaged_cache_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as caught:
        DataCache(path)
    assert "delete" in (caught.value.hint or "")


def test_where_the_cache_lives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_path(tmp_path / ".loopml") == tmp_path / ".loopml" / "cache" / "data.db"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert local_folder(None) == tmp_path / "xdg" / "loopml"
