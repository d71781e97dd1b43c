"""Datasets of many small files: their blobs are packed, and everything works as with loose
blobs: same version ids, byte-identical verified checkouts, status, push/pull (resumable)
to a folder and to S3, corruption reported naming the file."""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path
from typing import Any

import pytest
from tests.data.trees import make_tree

import loopml
from loopml.config import init_home
from loopml.data.add import add_path
from loopml.data.remote import pull, push
from loopml.entities import DatasetVersion
from loopml.errors import CorruptObjectError, ObjectStoreError
from loopml.objects import ObjectStore
from loopml.objects._packs import PACK_MIN_FILES
from loopml.tracking.context import get_context

remote_module = importlib.import_module("loopml.data.remote")

SMALL = {
    f"d{i % 3}/f{i:03d}.txt": f"row {i}\n".encode() * (i + 1) for i in range(PACK_MIN_FILES + 9)
}
BIG = {"big.bin": os.urandom(100_000)}


@pytest.fixture(autouse=True)
def home() -> Path:
    return init_home()


@pytest.fixture
def version() -> DatasetVersion:
    make_tree(Path("data"), {**SMALL, **BIG})
    return loopml.data.add("data")


def digest(root: Path) -> dict[str, str]:
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def blobs(version: DatasetVersion) -> dict[str, str]:
    return {f.path: f.blob for f in loopml.data.files(version.uri)}


def test_small_files_are_packed_the_big_one_is_not(version: DatasetVersion) -> None:
    objects = get_context().objects
    by_path = blobs(version)
    packed = objects.packed(by_path.values())
    assert packed == {by_path[path] for path in SMALL}
    assert list((Path(str(objects.local_root)) / "packs").glob("*.pack"))
    assert loopml.data.status("data").clean


@pytest.mark.parametrize("link", ["auto", "hardlink", "copy"])
def test_checkout_of_packed_blobs_is_identical(version: DatasetVersion, link: str) -> None:
    out = loopml.data.checkout(version.uri, "out", link=link)  # type: ignore[arg-type]
    assert digest(out) == digest(Path("data"))
    assert loopml.data.status(out).clean
    # a packed blob has no file to link: it is copied; the big one is linked unless copying
    assert os.stat(out / "d0" / "f000.txt").st_nlink == 1
    assert (os.stat(out / "big.bin").st_nlink > 1) == (link != "copy")


def test_checkout_reads_packs_ahead_in_bounded_spans(
    version: DatasetVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout_module = importlib.import_module("loopml.data.checkout")
    reads: list[int] = []
    read_many = ObjectStore.read_many

    def counted(self: ObjectStore, wanted: list[str]) -> list[bytes]:
        reads.append(len(wanted))
        return read_many(self, wanted)

    monkeypatch.setattr(checkout_module, "_READ_AHEAD_BYTES", 200)
    monkeypatch.setattr(ObjectStore, "read_many", counted)
    out = loopml.data.checkout(version.uri, "out")
    assert digest(out) == digest(Path("data"))
    assert len(reads) > 1 and sum(reads) == len(SMALL)  # several spans, each blob read once


def test_same_content_same_version_packed_or_not(version: DatasetVersion) -> None:
    again = add_path("data", "data", pack=False)
    assert not again.created
    assert again.version.id == version.id
    other = add_path("data", "copy", pack=False).version
    assert other.content_id == version.content_id


def test_corruption_inside_a_pack_names_the_file(version: DatasetVersion) -> None:
    objects = get_context().objects
    blob = blobs(version)["d1/f004.txt"]
    (pack,) = [p for p in objects._iter_packs() if p.blobs and blob in p.blobs]
    loc = pack.blobs[blob]
    path = Path(objects._backend.pack_file(pack.stat.pack, "pack"))
    data = bytearray(path.read_bytes())
    data[loc.offset + 1] ^= 0xFF
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))
    objects._backend.close()  # drop the descriptor of the file just replaced
    for link in ("auto", "copy"):
        with pytest.raises(CorruptObjectError) as caught:
            loopml.data.checkout(version.uri, "out", link=link)  # type: ignore[arg-type]
        assert "d1/f004.txt" in str(caught.value)
        assert caught.value.uri == f"blake3:{blob}"
        assert not Path("out").exists()


def _remote_packs(url: str) -> int:
    with ObjectStore(url) as store:
        return sum(1 for p in store._iter_packs() if p.stat.has_index)


def _push_pull(version: DatasetVersion, remote: str, tmp_path: Path) -> None:
    report = push("data", remote)
    total = len(SMALL) + len(BIG) + 1  # and the manifest
    assert (report.blobs, report.present, report.copied) == (total, 0, total)
    assert _remote_packs(remote) == 1
    assert push("data", remote).copied == 0
    loopml.configure(artifact_uri=str(tmp_path / "other"))  # another machine's empty store
    pulled = pull("data", remote)
    assert pulled.copied == total
    assert get_context().objects.packed(blobs(version).values())  # packs travel as packs
    out = loopml.data.checkout(version.uri, "out")
    assert digest(out) == digest(Path("data"))
    assert pull("data", remote).copied == 0


def test_push_and_pull_packed_blobs_to_a_folder(version: DatasetVersion, tmp_path: Path) -> None:
    _push_pull(version, str(tmp_path / "remote"), tmp_path)


@pytest.mark.s3
def test_push_and_pull_packed_blobs_to_s3(
    version: DatasetVersion, s3_url: str, tmp_path: Path
) -> None:
    _push_pull(version, s3_url, tmp_path)


@pytest.mark.parametrize("where", ["folder", pytest.param("s3", marks=pytest.mark.s3)])
def test_interrupted_packed_push_resumes(
    version: DatasetVersion,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    where: str,
) -> None:
    remote = str(tmp_path / "remote") if where == "folder" else request.getfixturevalue("s3_url")
    monkeypatch.setattr(remote_module, "_PACK_CHUNK", 16)
    real_put_files = ObjectStore.put_files
    calls = 0

    def fail_second_call(self: ObjectStore, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionResetError("network went away")
        return real_put_files(self, *args, **kwargs)

    monkeypatch.setattr(ObjectStore, "put_files", fail_second_call)
    total = len(SMALL) + len(BIG) + 1
    with pytest.raises(ObjectStoreError, match=f"stopped after 16 of {total} blobs") as info:
        push("data", remote)
    assert "run the same command again" in (info.value.hint or "")
    monkeypatch.setattr(ObjectStore, "put_files", real_put_files)
    report = push("data", remote)
    assert (report.present, report.copied) == (16, total - 16)
    with ObjectStore(remote) as store:
        for blob in blobs(version).values():
            assert store.get_bytes(blob) == get_context().objects.get_bytes(blob)
