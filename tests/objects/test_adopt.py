"""put_files(link=True): files taken in by hardlink become their read-only blobs; anything
that cannot be linked is copied; a failed batch gives every file its mode back."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from loopml.objects import ObjectStore
from loopml.objects._local import LocalBatch


def write(path: Path, data: bytes, mode: int = 0o644) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    return str(path)


def perms(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def local(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "objects"))


def test_linked_files_are_their_blobs_and_read_only(local: ObjectStore, tmp_path: Path) -> None:
    paths = [write(tmp_path / "in" / f"f{i}", f"content {i}".encode() * 50) for i in range(40)]
    big = write(tmp_path / "in" / "big", os.urandom(9 * 2**20))  # hashed over a memory map
    infos = local.put_files([*paths, big], link=True)
    for path, info in zip([*paths, big], infos, strict=True):
        blob_file = local.local_path(info.hex)
        assert os.path.samefile(path, blob_file)  # the same inode: nothing was copied
        assert perms(path) == 0o444
        assert local.get_bytes(info.hex) == Path(path).read_bytes()
    assert not local.packed(info.hex for info in infos)  # linked, so never packed


def test_content_stored_already_keeps_its_own_writable_file(
    local: ObjectStore, tmp_path: Path
) -> None:
    first = write(tmp_path / "a", b"same bytes")
    again = write(tmp_path / "b", b"same bytes", 0o640)
    twin = write(tmp_path / "c", b"same bytes", 0o600)
    (info,) = local.put_files([first], link=True)
    infos = local.put_files([again, twin], link=True)
    assert {i.hex for i in infos} == {info.hex}
    assert (perms(again), perms(twin)) == (0o640, 0o600)
    assert not os.path.samefile(again, local.local_path(info.hex))


def test_duplicates_inside_one_batch_link_once(local: ObjectStore, tmp_path: Path) -> None:
    paths = [write(tmp_path / f"d{i}", b"twin") for i in range(3)]
    infos = local.put_files(paths, link=True, workers=1)
    assert len({i.hex for i in infos}) == 1
    linked = [p for p in paths if os.path.samefile(p, local.local_path(infos[0].hex))]
    assert len(linked) == 1
    assert sorted(perms(p) for p in paths) == [0o444, 0o644, 0o644]


def test_executables_are_copied_with_their_mode(local: ObjectStore, tmp_path: Path) -> None:
    tool = write(tmp_path / "run.sh", b"#!/bin/sh\necho hi\n", 0o755)
    (info,) = local.put_files([tool], link=True)
    assert perms(tool) == 0o755
    assert not os.path.samefile(tool, local.local_path(info.hex))
    assert local.get_bytes(info.hex) == b"#!/bin/sh\necho hi\n"


def test_a_file_on_another_filesystem_is_copied(local: ObjectStore, tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the temp folder")
    path = write(shm / f"loopml-adopt-{os.getpid()}", b"elsewhere")
    try:
        (info,) = local.put_files([path], link=True)
        assert perms(path) == 0o644
        assert local.get_bytes(info.hex) == b"elsewhere"
    finally:
        os.unlink(path)


def test_a_failed_batch_gives_the_files_back(
    local: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [write(tmp_path / f"g{i}", f"gone {i}".encode()) for i in range(5)]

    def fail(self: LocalBatch) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(LocalBatch, "finish", fail)
    with pytest.raises(Exception, match="No space left"):
        local.put_files(paths, link=True)
    assert all(perms(p) == 0o644 for p in paths)
    assert all(os.stat(p).st_nlink == 1 for p in paths)  # no temp link left behind
    assert list(local.iter_blobs()) == []


def test_other_stores_copy(store: ObjectStore, tmp_path: Path) -> None:
    path = write(tmp_path / "x", b"anywhere")
    (info,) = store.put_files([path], link=True)
    assert store.get_bytes(info.hex) == b"anywhere"
    if store.local_root is None:  # S3: a copy, the file untouched
        assert perms(path) == 0o644


def test_symlinks_and_files_with_other_names_are_copied(local: ObjectStore, tmp_path: Path) -> None:
    target = write(tmp_path / "outside" / "real.txt", b"lives elsewhere")
    link = tmp_path / "in" / "link.txt"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    twice = write(tmp_path / "in" / "twice.txt", b"two names")
    os.link(twice, tmp_path / "outside" / "other-name.txt")
    infos = local.put_files([str(link), twice], link=True)
    assert [local.get_bytes(i.hex) for i in infos] == [b"lives elsewhere", b"two names"]
    assert perms(target) == 0o644 and perms(twice) == 0o644  # nothing outside changed
    assert os.stat(twice).st_nlink == 2
