"""ObjectStore.put_files (many files, one durability barrier) over a folder and S3, plus the
local details: the barrier, dedup without writing, temps, O_DIRECT and the pipelined writer."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from blake3 import blake3

from loopml.errors import InvalidInputError, NotFoundError
from loopml.objects import BlobInfo, ObjectStore, collect_garbage
from loopml.objects import _local as local_backend
from loopml.objects import store as store_module

MiB = 2**20


def b3(data: bytes) -> str:
    return str(blake3(data).hexdigest())


def make_files(folder: Path, contents: list[bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, data in enumerate(contents):
        path = folder / f"f{i:03d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_put_files_round_trip_in_order(store: ObjectStore, tmp_path: Path) -> None:
    contents = [os.urandom(n) for n in (0, 1, 4096, 100_000, 3 * MiB + 5)]
    paths = make_files(tmp_path / "src", contents)
    seen: list[tuple[str, bool]] = []
    lock = threading.Lock()

    def on_stored(info: BlobInfo, written: bool) -> None:
        with lock:
            seen.append((info.hex, written))

    infos = store.put_files(paths, workers=3, on_stored=on_stored)
    assert infos == [BlobInfo(b3(data), len(data)) for data in contents]
    assert sorted(seen) == sorted((b3(data), True) for data in contents)
    for info, data in zip(infos, contents, strict=True):
        assert store.get_bytes(info.hex) == data
    assert list(store._iter_temps()) == []


def test_same_content_is_stored_once_and_not_rewritten(store: ObjectStore, tmp_path: Path) -> None:
    paths = make_files(tmp_path / "src", [b"same", b"same", b"other"])
    written: list[bool] = []
    infos = store.put_files(paths, workers=1, on_stored=lambda _, new: written.append(new))
    assert infos[0] == infos[1] == BlobInfo(b3(b"same"), 4)
    assert written == [True, False, True]  # the second copy was never written
    assert {blob.hex for blob in store.iter_blobs()} == {b3(b"same"), b3(b"other")}
    again: list[bool] = []
    store.put_files(paths, on_stored=lambda _, new: again.append(new))
    assert again == [False, False, False]


def test_empty_list(store: ObjectStore) -> None:
    assert store.put_files([]) == []


def test_missing_file_fails_and_leaves_nothing(store: ObjectStore, tmp_path: Path) -> None:
    paths = make_files(tmp_path / "src", [b"a", b"b", b"c"])
    paths.insert(1, tmp_path / "src" / "missing.bin")
    with pytest.raises(NotFoundError) as caught:
        store.put_files(paths, workers=1)
    assert caught.value.field == "path"
    assert list(store._iter_temps()) == []
    if store.url.startswith("file://"):  # locally nothing of a failed batch becomes visible
        assert list(store.iter_blobs()) == []


def test_folder_is_refused(store: ObjectStore, tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(InvalidInputError):
        store.put_files([tmp_path / "dir"])


def test_large_file_goes_through_the_pipeline(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PIPELINE_MIN_SIZE", 2 * MiB)
    data = os.urandom(9 * MiB + 4097)  # several chunks and an unaligned tail
    (tmp_path / "big.bin").write_bytes(data)
    [info] = store.put_files([tmp_path / "big.bin"])
    assert info == BlobInfo(b3(data), len(data))
    assert store.get_bytes(info.hex) == data
    assert store.put_file(tmp_path / "big.bin") == info


def test_pipeline_write_error_is_raised_and_cleaned_up(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not store.url.startswith("file://"):
        pytest.skip("the local temp is what fails here")
    monkeypatch.setattr(store_module, "PIPELINE_MIN_SIZE", MiB)
    calls = {"n": 0}
    real_write = local_backend._LocalTemp.write

    def failing_write(self: Any, data: memoryview) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real_write(self, data)

    monkeypatch.setattr(local_backend._LocalTemp, "write", failing_write)
    (tmp_path / "big.bin").write_bytes(os.urandom(6 * MiB))
    with pytest.raises(OSError, match="No space left"):
        store.put_files([tmp_path / "big.bin"])
    assert list(store.iter_blobs()) == []
    assert list(store._iter_temps()) == []


# -- local only ----------------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "objects"))


def test_one_barrier_for_the_whole_batch(
    local: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs: list[str] = []
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(local_backend, "sync_filesystem", syncs.append)
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd)))
    paths = make_files(tmp_path / "src", [os.urandom(100) for _ in range(50)])
    local.put_files(paths, workers=2, pack=False)
    assert len(syncs) == 2  # data, then the renames: not one fsync per file
    assert fsyncs == []
    assert len(list(local.iter_blobs())) == 50


def test_a_packed_batch_syncs_its_few_files(
    local: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small files packed: the pack, its index and their folder are fsynced, nothing else."""
    syncs: list[str] = []
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(local_backend, "sync_filesystem", syncs.append)
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd)))
    paths = make_files(tmp_path / "src", [os.urandom(100) for _ in range(50)])
    local.put_files(paths, workers=2)
    assert syncs == []
    assert 3 <= len(fsyncs) <= 4  # pack, index, packs/ (and the root when packs/ is new)
    assert len(list(local.iter_blobs())) == 50


def test_sync_filesystem_runs(tmp_path: Path) -> None:
    local_backend.sync_filesystem(str(tmp_path))  # syncfs (Linux) or sync: no error


def test_existing_blob_is_refreshed_not_rewritten(local: ObjectStore, tmp_path: Path) -> None:
    info = local.put_bytes(b"old content")
    path = local.local_path(info.hex)
    assert path is not None
    then = time.time() - 7200
    os.utime(path, (then, then))
    inode = path.stat().st_ino
    (tmp_path / "same.txt").write_bytes(b"old content")
    local.put_files([tmp_path / "same.txt"])
    assert path.stat().st_ino == inode  # the same file: not written again
    assert path.stat().st_mtime > time.time() - 60  # but young again, so gc keeps it


def test_blobs_are_read_only(local: ObjectStore, tmp_path: Path) -> None:
    [info] = local.put_files(make_files(tmp_path / "src", [b"x"]))
    path = local.local_path(info.hex)
    assert path is not None
    assert path.stat().st_mode & 0o777 == 0o444


def test_crashed_batch_temps_are_collected(local: ObjectStore, tmp_path: Path) -> None:
    backend = local._backend
    batch = backend.begin_batch()
    temp = batch.create_temp()
    temp.write(memoryview(b"half"))
    temp.commit(b3(b"half"), 4)  # queued, never finished: what a crash leaves
    temps = [t.name for t in local._iter_temps()]
    assert len(temps) == 1
    assert "/" in temps[0]  # in a subfolder of tmp/
    report = collect_garbage(local, set(), grace_seconds=-5)
    assert report.stale_temps == 1
    assert list(local._iter_temps()) == []


def test_delete_temp_refuses_paths(local: ObjectStore) -> None:
    from loopml.errors import ObjectStoreError

    for bad in ("../x", "zz/x", "ab/../x", "", "ab/"):
        with pytest.raises(ObjectStoreError):
            local._backend.delete_temp(bad)


def test_direct_write_falls_back_where_refused(
    local: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PIPELINE_MIN_SIZE", MiB)
    real_open = os.open

    def no_direct(path: str, flags: int, mode: int = 0o777) -> int:
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(22, "Invalid argument")  # what tmpfs says
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", no_direct)
    data = os.urandom(3 * MiB + 1)
    (tmp_path / "big.bin").write_bytes(data)
    info = local.put_file(tmp_path / "big.bin")
    assert local.get_bytes(info.hex) == data


def test_local_paths_and_root(local: ObjectStore, tmp_path: Path) -> None:
    info = local.put_bytes(b"z")
    assert local.local_root == tmp_path / "objects"
    [path] = local.local_paths([info.uri]) or []
    assert Path(path).read_bytes() == b"z"
    assert local.local_path(info.hex) == Path(path)
    with pytest.raises(InvalidInputError):
        local.local_paths(["nope"])


def test_exists_many_refresh(local: ObjectStore) -> None:
    info = local.put_bytes(b"r")
    path = local.local_path(info.hex)
    assert path is not None
    os.utime(path, (1, 1))
    assert local.exists_many([info.hex, "0" * 64], refresh=True) == {info.hex}
    assert path.stat().st_mtime > 1


def test_remote_store_has_no_local_paths(s3_url: str) -> None:
    with ObjectStore(s3_url) as remote:
        assert remote.local_root is None
        assert remote.local_paths(["0" * 64]) is None
        assert remote.local_path("0" * 64) is None
