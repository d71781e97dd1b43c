"""push/pull: only missing blobs are copied, in parallel; an interrupted push resumes; a
corrupt source fails loudly; S3 (moto) and a local folder as remotes."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml.data.remote import blobs_of, pull, push, transfer_blobs
from loopml.data.tables import load, log_table
from loopml.data.versioning import record_version
from loopml.entities import DatasetKind, DatasetVersion, FileEntry
from loopml.errors import CorruptObjectError, InvalidInputError, NotFoundError, ObjectStoreError
from loopml.objects import ObjectStore
from loopml.tracking.context import get_context


@pytest.fixture(autouse=True)
def tracking(tmp_path: Path) -> None:
    loopml.configure(
        tracking_uri=f"sqlite:///{tmp_path / 'loopml.db'}", artifact_uri=str(tmp_path / "objects")
    )


def _folder_version(name: str, count: int, salt: str = "") -> DatasetVersion:
    ctx = get_context()
    entries = []
    for i in range(count):
        blob = ctx.objects.put_bytes(f"{salt}file {i}\n".encode() * (i + 1) * 50)
        entries.append(FileEntry(f"part-{i:02d}.txt", blob.size, blob.hex))
    version, _ = record_version(ctx, name=name, kind=DatasetKind.FOLDER, files=entries)
    return version


def _blobs(url: str) -> list[str]:
    with ObjectStore(url) as store:
        return sorted(b.hex for b in store.iter_blobs())


def test_push_copies_only_missing_blobs(tmp_path: Path) -> None:
    version = _folder_version("raw", 6)
    remote = str(tmp_path / "remote")
    needed = blobs_of(get_context(), [version])
    assert len(needed) == 7  # six files and the manifest
    report = push("raw", remote, workers=3)
    assert (report.blobs, report.present, report.copied) == (7, 0, 7)
    assert report.bytes_copied == sum(ObjectStore(remote).size(b) for b in needed)
    assert report.versions == ["datasets:/raw/1"]
    assert _blobs(remote) == sorted(needed)
    again = push("datasets:/raw/1", remote)
    assert (again.present, again.copied, again.bytes_copied) == (7, 0, 0)


def test_all_versions_pushes_the_union(tmp_path: Path) -> None:
    _folder_version("raw", 3)
    _folder_version("raw", 4)  # shares three files with version 1
    remote = str(tmp_path / "remote")
    only_latest = push("raw", remote)
    assert only_latest.versions == ["datasets:/raw/2"]
    report = push("raw", remote, all_versions=True)
    assert report.versions == ["datasets:/raw/1", "datasets:/raw/2"]
    assert report.blobs == 4 + 2  # four files, two manifests
    assert report.copied == 1  # only version 1's manifest was missing


class _BrokenAfter:
    """A reader that hands out a few bytes, then fails like a dropped connection."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._calls = 0

    def readinto(self, view: Any) -> int:
        self._calls += 1
        if self._calls > 1:
            raise ConnectionResetError("connection reset by peer")
        return self._raw.readinto(memoryview(view)[:10])

    def __enter__(self) -> _BrokenAfter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()


def test_interrupted_push_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The streaming path (a remote source or destination), interrupted mid-blob."""
    real_local_path = ObjectStore.local_path
    monkeypatch.setattr(ObjectStore, "local_path", lambda self, blob: None)
    version = _folder_version("raw", 10)
    needed = blobs_of(get_context(), [version])
    remote = str(tmp_path / "remote")
    real_open = ObjectStore.open
    opened = 0
    lock = threading.Lock()

    def open_failing_fourth(self: ObjectStore, blob: str, *, verify: bool = True) -> Any:
        nonlocal opened
        with lock:
            opened += 1
            fourth = opened == 4
        stream = real_open(self, blob, verify=verify)
        return _BrokenAfter(stream) if fourth else stream

    monkeypatch.setattr(ObjectStore, "open", open_failing_fourth)
    with pytest.raises(ObjectStoreError, match="stopped after 3 of 11 blobs") as info:
        push("raw", remote, workers=1)
    assert "run the same command again" in (info.value.hint or "")
    assert isinstance(info.value.__cause__, ConnectionResetError)
    assert len(_blobs(remote)) == 3  # the half-written fourth is not visible
    with ObjectStore(remote) as store:
        assert list(store._iter_temps()) == []  # and left no temp file behind
    monkeypatch.setattr(ObjectStore, "open", real_open)
    monkeypatch.setattr(ObjectStore, "local_path", real_local_path)

    report = push("raw", remote, workers=4)
    assert (report.present, report.copied) == (3, 8)
    assert _blobs(remote) == sorted(needed)  # everything, exactly once
    with ObjectStore(remote) as store:
        for blob in needed:
            assert store.get_bytes(blob) == get_context().objects.get_bytes(blob)


def test_interrupted_local_push_resumes_by_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folder to folder: blobs go in chunks through put_files, one durability barrier each."""
    from loopml.data import remote as remote_module

    version = _folder_version("raw", 10)
    needed = blobs_of(get_context(), [version])
    remote = str(tmp_path / "remote")
    monkeypatch.setattr(remote_module, "_CHUNK", 4)
    real_put_files = ObjectStore.put_files
    calls = 0

    def fail_second_call(self: ObjectStore, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionResetError("disk went away")
        return real_put_files(self, *args, **kwargs)

    monkeypatch.setattr(ObjectStore, "put_files", fail_second_call)
    with pytest.raises(ObjectStoreError, match="stopped after 4 of 11 blobs"):
        push("raw", remote, workers=2)
    assert len(_blobs(remote)) == 4
    monkeypatch.setattr(ObjectStore, "put_files", real_put_files)
    report = push("raw", remote, workers=2)
    assert (report.present, report.copied) == (4, 7)
    assert _blobs(remote) == sorted(needed)


def test_corrupt_source_blob_fails_loudly(tmp_path: Path) -> None:
    version = _folder_version("raw", 2)
    ctx = get_context()
    victim = ctx.store.get_dataset_files(version.id)[0].blob
    path = tmp_path / "objects" / victim[:2] / victim[2:]
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
    remote = str(tmp_path / "remote")
    with pytest.raises(CorruptObjectError, match="stopped after"):
        push("raw", remote, workers=1)
    assert victim not in _blobs(remote)


def test_pull_into_a_fresh_local_store(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": np.arange(50), "y": np.linspace(0, 1, 50)})
    log_table(df, name="table")
    remote = str(tmp_path / "remote")
    push("table", remote)
    # Another machine: the same tracking store, an empty local object store.
    loopml.configure(
        tracking_uri=f"sqlite:///{tmp_path / 'loopml.db'}", artifact_uri=str(tmp_path / "other")
    )
    with pytest.raises(NotFoundError):
        load("datasets:/table/1")
    report = pull("table", remote)
    assert (report.blobs, report.copied) == (4, 4)  # parquet, manifest, schema, profile
    pd.testing.assert_frame_equal(load("datasets:/table/1"), df)
    assert pull("table", remote).copied == 0


def test_pull_from_a_remote_without_the_blobs(tmp_path: Path) -> None:
    _folder_version("raw", 2)
    loopml.configure(
        tracking_uri=f"sqlite:///{tmp_path / 'loopml.db'}", artifact_uri=str(tmp_path / "other")
    )
    with pytest.raises(NotFoundError, match="3 of the 3 blobs to pull are not in") as info:
        pull("raw", str(tmp_path / "empty-remote"))
    assert "push them" in (info.value.hint or "")


def test_push_of_blobs_missing_locally(tmp_path: Path) -> None:
    version = _folder_version("raw", 2)
    blob = get_context().store.get_dataset_files(version.id)[0].blob
    get_context().objects.delete(blob)
    with pytest.raises(NotFoundError, match="1 of the 3 blobs to push") as info:
        push("raw", str(tmp_path / "remote"))
    assert info.value.uri == f"blake3:{blob}"
    assert _blobs(str(tmp_path / "remote")) == []  # checked before anything is copied


def test_bad_arguments(tmp_path: Path) -> None:
    _folder_version("raw", 1)
    with pytest.raises(NotFoundError, match="'ghost' does not exist"):
        push("ghost", str(tmp_path / "r"))
    with pytest.raises(InvalidInputError, match="invalid dataset name"):
        push("no/such name", str(tmp_path / "r"))
    with pytest.raises(InvalidInputError, match="positive integer"):
        push("datasets:/raw/x", str(tmp_path / "r"))
    with pytest.raises(InvalidInputError, match="remote object store URL"):
        push("raw", " ")
    with pytest.raises(InvalidInputError, match="workers"):
        push("raw", str(tmp_path / "r"), workers=0)


def test_progress_counts_every_byte(tmp_path: Path) -> None:
    version = _folder_version("raw", 5)
    ctx = get_context()
    sizes = {b: int(s or ctx.objects.size(b)) for b, s in blobs_of(ctx, [version]).items()}
    seen: list[int] = []
    with ObjectStore(str(tmp_path / "remote")) as remote:
        copied, copied_bytes = transfer_blobs(ctx.objects, remote, sizes, 3, seen.append)
    assert copied == len(sizes)
    assert sum(seen) == copied_bytes == sum(sizes.values())


def test_progress_bar_renders_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _folder_version("raw", 3)
    report = push("raw", str(tmp_path / "remote"), progress=True)
    assert report.copied == 4
    assert capsys.readouterr().out == ""  # progress goes to stderr only


@pytest.mark.s3
def test_push_to_s3_then_pull_back(s3_url: str, tmp_path: Path) -> None:
    df = pd.DataFrame({"k": ["a", "b", "c"], "v": [1.0, 2.0, 3.0]})
    log_table(df, name="table")
    _folder_version("files", 6)
    assert push("table", s3_url).copied == 4
    assert push("files", s3_url, workers=4).copied == 7
    assert push("files", s3_url).copied == 0
    loopml.configure(
        tracking_uri=f"sqlite:///{tmp_path / 'loopml.db'}", artifact_uri=str(tmp_path / "other")
    )
    assert pull("datasets:/table@latest", s3_url).copied == 4
    pd.testing.assert_frame_equal(load("datasets:/table/1"), df)
    assert pull("files", s3_url, workers=4).copied == 7


@pytest.mark.s3
def test_interrupted_push_to_s3_resumes(s3_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    version = _folder_version("raw", 8)
    needed = blobs_of(get_context(), [version])
    real_put = ObjectStore.put_stream
    calls = 0

    def put_failing_third(self: ObjectStore, fileobj: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ObjectStoreError("simulated network failure")
        return real_put(self, fileobj)

    monkeypatch.setattr(ObjectStore, "put_stream", put_failing_third)
    with pytest.raises(ObjectStoreError, match="stopped after 2 of 9"):
        push("raw", s3_url, workers=1)
    monkeypatch.setattr(ObjectStore, "put_stream", real_put)
    report = push("raw", s3_url, workers=4)
    assert (report.present, report.copied) == (2, 7)
    assert _blobs(s3_url) == sorted(needed)
