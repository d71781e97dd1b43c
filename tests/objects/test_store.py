"""ObjectStore: the same tests over a local folder and S3 (moto), plus local-only details."""

from __future__ import annotations

import io
import os
import stat
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from blake3 import blake3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopml.errors import (
    CorruptObjectError,
    InvalidInputError,
    MissingExtraError,
    NotFoundError,
    ObjectStoreError,
)
from loopml.objects import BlobInfo, ObjectStore, blob_uri, open_object_store, parse_blob_uri

MiB = 2**20
EMPTY = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"


def b3(data: bytes) -> str:
    return str(blake3(data).hexdigest())


class Trickle(io.RawIOBase):
    """A non-seekable stream that hands out at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int = 1000) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._step = step
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        self.largest_read = max(self.largest_read, len(view))
        count = min(len(view), self._step, len(self._data) - self._pos)
        view[:count] = self._data[self._pos : self._pos + count]
        self._pos += count
        return count


class ReadOnly:
    """A file-like object with ``read`` only (no ``readinto``)."""

    def __init__(self, data: bytes) -> None:
        self._source = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._source.read(size)


class Exploding(io.RawIOBase):
    """Yields ``good`` bytes of zeros, then raises, like a network stream that drops."""

    def __init__(self, good: int) -> None:
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            raise ConnectionResetError("source went away")
        view = memoryview(buffer).cast("B")
        count = min(len(view), self._left)
        view[:count] = bytes(count)
        self._left -= count
        return count


def write_random_file(path: Path, size: int) -> str:
    """Write ``size`` pseudo-random bytes in 1 MiB pieces; return their BLAKE3 hex."""
    hasher = blake3()
    piece = os.urandom(MiB)
    with open(path, "wb") as file:
        for index in range(size // MiB):
            chunk = index.to_bytes(8, "little") + piece[8:]
            hasher.update(chunk)
            file.write(chunk)
    return str(hasher.hexdigest())


def drain(reader: Any, size: int = 100_000) -> None:
    while reader.read(size):
        pass


# -- round trips -------------------------------------------------------------------------------


def test_put_bytes_round_trip(store: ObjectStore) -> None:
    info = store.put_bytes(b"hello, blobs")
    assert info == BlobInfo(b3(b"hello, blobs"), 12)
    assert info.uri == f"blake3:{info.hex}"
    assert store.get_bytes(info.hex) == b"hello, blobs"
    assert store.exists(info.hex)
    assert store.size(info.hex) == 12


def test_put_file_and_get_file_round_trip(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "model.bin"
    data = os.urandom(3 * MiB + 17)
    src.write_bytes(data)
    info = store.put_file(src)
    assert info == BlobInfo(b3(data), len(data))
    dest = store.get_file(info.hex, tmp_path / "out" / "nested" / "model.bin")
    assert dest == tmp_path / "out" / "nested" / "model.bin"
    assert dest.read_bytes() == data
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.bin"]  # no temp left


def test_get_file_replaces_existing_dest(store: ObjectStore, tmp_path: Path) -> None:
    info = store.put_bytes(b"new")
    dest = tmp_path / "file.txt"
    dest.write_bytes(b"old content")
    store.get_file(info.uri, dest)
    assert dest.read_bytes() == b"new"


def test_put_stream_short_reads_round_trip(store: ObjectStore) -> None:
    data = os.urandom(5 * MiB + 3)
    info = store.put_stream(Trickle(data, step=64 * 1024))
    assert info == BlobInfo(b3(data), len(data))
    assert store.get_bytes(info.hex) == data


def test_put_stream_without_readinto(store: ObjectStore) -> None:
    data = os.urandom(MiB + 1)
    info = store.put_stream(ReadOnly(data))  # type: ignore[arg-type]
    assert store.get_bytes(info.hex) == data


def test_put_stream_text_mode_is_refused(store: ObjectStore) -> None:
    with pytest.raises(InvalidInputError) as caught:
        store.put_stream(io.StringIO("text"))  # type: ignore[arg-type]
    assert caught.value.field == "fileobj"
    assert list(store.iter_blobs()) == []
    assert list(store._iter_temps()) == []


def test_empty_blob(store: ObjectStore) -> None:
    info = store.put_bytes(b"")
    assert info == BlobInfo(EMPTY, 0)
    assert store.get_bytes(EMPTY) == b""
    with store.open(EMPTY) as reader:
        assert reader.read() == b""


def test_open_reads_in_pieces_and_supports_lines(store: ObjectStore) -> None:
    data = b"line one\nline two\n" + os.urandom(2 * MiB)
    info = store.put_bytes(data)
    with store.open(info.hex) as reader:
        assert reader.readline() == b"line one\n"
        assert reader.read(4) == b"line"
        rest = reader.read()
    assert b"line one\nline" + rest == data


def test_partial_read_then_close_is_fine(store: ObjectStore) -> None:
    info = store.put_bytes(os.urandom(MiB))
    with store.open(info.hex) as reader:
        assert len(reader.read(10)) == 10


def test_open_unverified_is_seekable(store: ObjectStore) -> None:
    info = store.put_bytes(b"0123456789")
    with store.open(info.hex, verify=False) as reader:
        reader.seek(5)
        assert reader.read(3) == b"567"


def test_methods_accept_blob_uris(store: ObjectStore, tmp_path: Path) -> None:
    info = store.put_bytes(b"by uri")
    assert store.exists(info.uri)
    assert store.size(info.uri) == 6
    assert store.get_bytes(info.uri) == b"by uri"
    assert store.get_file(info.uri, tmp_path / "x").read_bytes() == b"by uri"
    assert store.exists_many([info.uri]) == {info.hex}
    store.delete(info.uri)
    assert not store.exists(info.hex)


# -- dedup ---------------------------------------------------------------------------------


def test_same_content_twice_is_stored_once(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(MiB)
    src = tmp_path / "a.bin"
    src.write_bytes(data)
    first = store.put_bytes(data)
    second = store.put_file(src)
    third = store.put_stream(io.BytesIO(data))
    assert first == second == third
    assert [blob.hex for blob in store.iter_blobs()] == [first.hex]
    assert list(store._iter_temps()) == []
    assert store.get_bytes(first.hex) == data


# -- large files, bounded memory -------------------------------------------------------------


@pytest.mark.slow
def test_large_file_streams_with_bounded_memory(
    store: ObjectStore, backdoor: Any, tmp_path: Path
) -> None:
    size = 64 * MiB
    src = tmp_path / "big.bin"
    expected = write_random_file(src, size)
    # The whole write path runs under tracemalloc. Locally the peak is our one chunk buffer.
    # On S3 the moto server shares this process and keeps the object in memory itself, so
    # the bound there is checked from our side: the source is read in chunks, never whole.
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        info = store.put_file(src)
        write_peak = tracemalloc.get_traced_memory()[1] - baseline
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        dest = store.get_file(info.hex, tmp_path / "copy.bin")
        read_peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        if started:
            tracemalloc.stop()
    assert info == BlobInfo(expected, size)
    assert dest.stat().st_size == size
    with open(dest, "rb") as copied:
        hasher = blake3()
        while chunk := copied.read(4 * MiB):
            hasher.update(chunk)
    assert hasher.hexdigest() == expected
    if backdoor.is_local:
        assert write_peak < 16 * MiB, write_peak
        assert read_peak < 16 * MiB, read_peak
    stream = Trickle(b"x" * (20 * MiB), step=20 * MiB)
    store.put_stream(stream)
    assert stream.largest_read <= 8 * MiB


# -- corruption ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: bytes([data[0] ^ 1]) + data[1:], id="bit-flip"),
        pytest.param(lambda data: data[:-1], id="truncated"),
        pytest.param(lambda data: data + b"!", id="extended"),
    ],
)
def test_corrupt_blob_is_detected_and_never_materialized(
    store: ObjectStore, backdoor: Any, tmp_path: Path, damage: Any
) -> None:
    data = os.urandom(MiB + 5)
    info = store.put_bytes(data)
    backdoor.overwrite(info.hex, damage(data))

    with pytest.raises(CorruptObjectError) as caught:
        store.get_bytes(info.hex)
    assert caught.value.uri == info.uri
    assert caught.value.hint and "loopml gc" in caught.value.hint and "again" in caught.value.hint
    assert info.uri in str(caught.value)

    with store.open(info.hex) as reader, pytest.raises(CorruptObjectError):
        drain(reader)

    dest = tmp_path / "out" / "model.bin"
    with pytest.raises(CorruptObjectError):
        store.get_file(info.hex, dest)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # the temp beside dest is gone too

    existing = tmp_path / "existing.bin"
    existing.write_bytes(b"keep me")
    with pytest.raises(CorruptObjectError):
        store.get_file(info.hex, existing)
    assert existing.read_bytes() == b"keep me"


def test_corrupt_blob_repaired_by_delete_and_put(store: ObjectStore, backdoor: Any) -> None:
    data = os.urandom(1000)
    info = store.put_bytes(data)
    backdoor.overwrite(info.hex, bytes(1000))
    store.delete(info.hex)
    assert store.put_bytes(data) == info
    assert store.get_bytes(info.hex) == data


def test_corrupt_local_blob_healed_by_putting_it_again(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path / "objects"))
    data = os.urandom(1000)
    info = store.put_bytes(data)
    path = store._backend.blob_path(info.hex)[1]  # type: ignore[attr-defined]
    os.chmod(path, 0o644)
    Path(path).write_bytes(bytes(1000))
    with pytest.raises(CorruptObjectError):
        store.get_bytes(info.hex)
    store.put_bytes(data)
    assert store.get_bytes(info.hex) == data


# -- failed writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("good", [0, 3 * MiB, 20 * MiB], ids=["at-start", "first-chunk", "later"])
def test_failed_write_leaves_no_blob_and_no_temp(
    store: ObjectStore, backdoor: Any, s3_uploads: Any, good: int
) -> None:
    with pytest.raises(ConnectionResetError):
        store.put_stream(Exploding(good))
    assert list(store.iter_blobs()) == []
    assert backdoor.temps() == []
    assert s3_uploads(store) == []


@pytest.fixture
def s3_uploads() -> Any:
    """Multipart uploads still open under an S3 store (always [] for a local store)."""

    def pending(store: ObjectStore) -> list[str]:
        if not store.url.startswith("s3://"):
            return []
        fs = store._backend.fs  # type: ignore[attr-defined]
        bucket = store.url.removeprefix("s3://").split("/", 1)[0]
        reply = fs.call_s3("list_multipart_uploads", Bucket=bucket)
        return [upload["Key"] for upload in reply.get("Uploads", [])]

    return pending


def test_failed_put_file_of_missing_path(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        store.put_file(tmp_path / "nope.bin")
    assert caught.value.field == "path"
    with pytest.raises(InvalidInputError) as caught_dir:
        store.put_file(tmp_path)
    assert caught_dir.value.field == "path"


# -- bad ids, missing blobs ------------------------------------------------------------------

BAD_IDS = [
    "",
    "abc",
    "A" * 64,
    "g" * 64,
    "0" * 63,
    "0" * 65,
    "../" + "0" * 61,
    "0" * 62 + "/x",
    "blake3:" + "0" * 63,
    "sha256:" + "0" * 64,
    " " + "0" * 63,
    "0" * 64 + "\n",
]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_malformed_ids_are_refused_everywhere(store: ObjectStore, tmp_path: Path, bad: str) -> None:
    calls = [
        lambda: store.open(bad),
        lambda: store.open(bad, verify=False),
        lambda: store.get_bytes(bad),
        lambda: store.get_file(bad, tmp_path / "dest"),
        lambda: store.exists(bad),
        lambda: store.exists_many(["0" * 64, bad]),
        lambda: store.size(bad),
        lambda: store.stat(bad),
        lambda: store.delete(bad),
        lambda: blob_uri(bad),
    ]
    for call in calls:
        with pytest.raises(InvalidInputError) as caught:
            call()
        assert caught.value.field == "blob"
    assert not (tmp_path / "dest").exists()


def test_non_string_id_is_refused(store: ObjectStore) -> None:
    with pytest.raises(InvalidInputError):
        store.exists(b"0" * 64)  # type: ignore[arg-type]


def test_missing_blob_is_not_found(store: ObjectStore, tmp_path: Path) -> None:
    missing = b3(b"never stored")
    uri = f"blake3:{missing}"
    calls = [
        lambda: store.open(missing),
        lambda: store.open(missing, verify=False),
        lambda: store.get_bytes(missing),
        lambda: store.get_file(missing, tmp_path / "dest"),
        lambda: store.size(missing),
        lambda: store.stat(missing),
        lambda: store.delete(missing),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as caught:
            call()
        assert caught.value.uri == uri
    assert not (tmp_path / "dest").exists()
    assert not store.exists(missing)
    store.delete(missing, missing_ok=True)


def test_blob_uri_helpers() -> None:
    hex_ = b3(b"x")
    assert blob_uri(hex_) == f"blake3:{hex_}"
    assert blob_uri(f"blake3:{hex_}") == f"blake3:{hex_}"
    assert parse_blob_uri(f"blake3:{hex_}") == hex_
    for bad in [hex_, f"blake3:{hex_.upper()}", f"md5:{hex_}", "blake3:", "blake3"]:
        with pytest.raises(InvalidInputError) as caught:
            parse_blob_uri(bad)
        assert caught.value.field == "blob"


# -- listing, exists_many, delete ------------------------------------------------------------


def test_exists_many_mixes_present_and_missing(store: ObjectStore) -> None:
    present = {store.put_bytes(f"blob {i}".encode()).hex for i in range(7)}
    missing = {b3(f"absent {i}".encode()) for i in range(7)}
    assert store.exists_many(present | missing) == present
    assert store.exists_many(list(missing)[:2]) == set()
    assert store.exists_many([]) == set()
    assert store.exists_many(list(present)[:2]) == set(list(present)[:2])


def test_iter_blobs_lists_sizes_and_times_and_skips_temps(
    store: ObjectStore, backdoor: Any
) -> None:
    import time

    before = time.time() - 5
    infos = [store.put_bytes(os.urandom(n)) for n in (0, 1, 1000)]
    backdoor.add_temp("crashed-writer", b"half a blob")
    listed = {blob.hex: blob for blob in store.iter_blobs()}
    assert set(listed) == {info.hex for info in infos}
    for info in infos:
        hex_, size, mtime = listed[info.hex]
        assert (hex_, size) == (info.hex, info.size)
        assert before <= mtime <= time.time() + 5
    assert backdoor.temps() == ["crashed-writer"]


def test_delete_removes_only_that_blob(store: ObjectStore) -> None:
    keep = store.put_bytes(b"keep")
    drop = store.put_bytes(b"drop")
    store.delete(drop.hex)
    assert not store.exists(drop.hex)
    assert store.exists(keep.hex)
    with pytest.raises(NotFoundError):
        store.delete(drop.hex)


def test_empty_store_lists_nothing(store: ObjectStore) -> None:
    assert list(store.iter_blobs()) == []
    assert list(store._iter_temps()) == []
    assert not store.exists(EMPTY)


# -- property --------------------------------------------------------------------------------


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(max_size=10_000))
def test_put_then_get_is_identity_and_key_is_blake3(store: ObjectStore, data: bytes) -> None:
    info = store.put_bytes(data)
    assert info.hex == b3(data)
    assert info.size == len(data)
    assert store.get_bytes(info.hex) == data


# -- opening stores --------------------------------------------------------------------------


def test_local_roots_in_every_spelling(tmp_path: Path) -> None:
    folder = tmp_path / "objects"
    stores = [
        ObjectStore(str(folder)),
        ObjectStore(folder.as_uri()),
        open_object_store(str(folder)),
    ]
    info = stores[0].put_bytes(b"same place")
    for store in stores:
        assert store.url == folder.as_uri()
        assert store.get_bytes(info.hex) == b"same place"
        store.close()
        store.close()  # idempotent


def test_relative_root_is_made_absolute(tmp_path: Path) -> None:
    store = ObjectStore("rel/objects")
    assert store.url == (Path.cwd() / "rel" / "objects").as_uri()


@pytest.mark.parametrize(
    "url",
    ["", "   ", "file://otherhost/x", "s3://", "s3:///prefix-without-bucket"],
)
def test_bad_root_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        ObjectStore(url)
    assert caught.value.field == "root_url"


def test_s3_without_s3fs_needs_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)
    with pytest.raises(MissingExtraError) as caught:
        ObjectStore("s3://bucket/prefix")
    assert caught.value.extra == "s3"
    assert caught.value.hint == "pip install 'loopml[s3]'"


def test_import_does_not_load_fsspec() -> None:
    import subprocess

    code = (
        "import sys, tempfile, loopml.objects as o; "
        "o.ObjectStore(tempfile.mkdtemp()).put_bytes(b'x'); "
        "print([m for m in ('fsspec', 's3fs', 'botocore') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_other_fsspec_protocols_work(tmp_path: Path) -> None:
    import uuid

    with ObjectStore(f"memory://loopml-{uuid.uuid4().hex}/objects") as store:
        info = store.put_bytes(b"in memory")
        assert store.get_bytes(info.hex) == b"in memory"
        assert [blob.hex for blob in store.iter_blobs()] == [info.hex]
        assert store.exists_many([info.hex, EMPTY]) == {info.hex}


def test_backend_errors_become_object_store_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    store = ObjectStore(str(blocker / "objects"))
    with pytest.raises(ObjectStoreError) as caught:
        store.put_bytes(b"x")
    assert caught.value.uri == store.url


# -- local layout ----------------------------------------------------------------------------


def test_local_layout_and_read_only_blobs(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    store = ObjectStore(root.as_uri())
    info = store.put_bytes(b"layout")
    path = root / info.hex[:2] / info.hex[2:]
    assert path.read_bytes() == b"layout"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert sorted(p.name for p in root.iterdir()) == [info.hex[:2], "tmp"]
    assert list((root / "tmp").iterdir()) == []
    (root / "zz").mkdir()
    (root / info.hex[:2] / "stray.txt").write_bytes(b"not a blob")
    assert [blob.hex for blob in store.iter_blobs()] == [info.hex]


# -- concurrency and refresh -----------------------------------------------------------------


def test_concurrent_puts_of_the_same_content(store: ObjectStore, backdoor: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = os.urandom(2 * MiB)
    with ThreadPoolExecutor(4) as pool:
        infos = list(pool.map(lambda _: store.put_bytes(data), range(8)))
    assert len(set(infos)) == 1
    assert [blob.hex for blob in store.iter_blobs()] == [infos[0].hex]
    assert backdoor.temps() == []
    assert store.get_bytes(infos[0].hex) == data


def test_put_over_an_old_copy_replaces_it(
    store: ObjectStore, backdoor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dedup path that overwrites (S3: existing copy older than the refresh window)."""
    import loopml.objects._fsspec as fsspec_backend

    monkeypatch.setattr(fsspec_backend, "REFRESH_AFTER_SECONDS", -1.0)
    first = store.put_bytes(b"twice")
    assert store.put_bytes(b"twice") == first
    assert [blob.hex for blob in store.iter_blobs()] == [first.hex]
    assert backdoor.temps() == []
    assert store.get_bytes(first.hex) == b"twice"


# -- local file errors -----------------------------------------------------------------------


def test_get_file_into_a_folder_is_refused(store: ObjectStore, tmp_path: Path) -> None:
    info = store.put_bytes(b"x")
    with pytest.raises(InvalidInputError) as caught:
        store.get_file(info.hex, tmp_path)
    assert caught.value.field == "dest"


def test_get_file_write_error_is_typed_and_leaves_nothing(
    store: ObjectStore, tmp_path: Path
) -> None:
    info = store.put_bytes(b"x")
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(ObjectStoreError) as caught:
        store.get_file(info.hex, blocker / "under-a-file" / "dest")
    assert caught.value.field == "dest"
    assert caught.value.uri == info.uri


def test_put_file_source_read_error_is_typed(
    store: ObjectStore, backdoor: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import builtins

    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(MiB))
    real_open = builtins.open

    def failing_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened = real_open(file, *args, **kwargs)
        if Path(str(file)) == src:
            opened.readinto = Exploding(0).readinto  # type: ignore[method-assign]
        return opened

    monkeypatch.setattr(builtins, "open", failing_open)
    with pytest.raises(ObjectStoreError) as caught:
        store.put_file(src)
    monkeypatch.undo()
    assert caught.value.field == "path"
    assert isinstance(caught.value.__cause__, ConnectionResetError)
    assert list(store.iter_blobs()) == []
    assert backdoor.temps() == []


# -- docs ------------------------------------------------------------------------------------


def test_docstring_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import doctest
    import importlib
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the examples' mkdtemp()s
    for name in ("loopml.objects", "loopml.objects.store", "loopml.objects.gc"):
        module = importlib.import_module(name)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, name
        assert result.attempted > 0, name
