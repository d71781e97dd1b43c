"""Packs: many small blobs in one file, read, verified, listed and collected like loose ones.

Every test runs over a local folder and over S3 (moto), through the ``store`` fixture.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from loopml.errors import CorruptObjectError, NotFoundError, ObjectStoreError
from loopml.objects import ObjectStore, collect_garbage
from loopml.objects._packs import PACK_MAX_BLOB, PACK_MIN_FILES, decode_index, encode_index

COUNT = PACK_MIN_FILES + 8


def _files(folder: Path, count: int = COUNT, salt: str = "") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"f{i:03d}.bin"
        path.write_bytes(f"{salt}small file {i}\n".encode() * (i + 1))
        paths.append(path)
    return paths


def _packs(store: ObjectStore) -> list[Any]:
    return [pack for pack in store._iter_packs() if pack.stat.has_index]


def _pack_path(store: ObjectStore, pack: str) -> str:
    return str(store._backend.pack_file(pack, "pack"))


def _overwrite_pack(store: ObjectStore, pack: str, data: bytes) -> None:
    path = _pack_path(store, pack)
    if store.local_root is not None:
        os.chmod(path, 0o644)
        with open(path, "wb") as file:
            file.write(data)
        store._backend.close()  # drop the cached descriptor of the replaced file
    else:
        store._backend.fs.pipe_file(path, data)


def _read_pack(store: ObjectStore, pack: str) -> bytes:
    path = _pack_path(store, pack)
    if store.local_root is not None:
        return Path(path).read_bytes()
    return bytes(store._backend.fs.cat_file(path))


def test_small_files_go_into_one_pack_and_read_back(store: ObjectStore, tmp_path: Path) -> None:
    paths = _files(tmp_path / "in")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(PACK_MAX_BLOB + 1))
    infos = store.put_files([*paths, big])
    packs = _packs(store)
    assert len(packs) == 1
    assert set(packs[0].blobs) == {info.hex for info in infos[:-1]}  # the big one is loose
    assert store.packed([info.hex for info in infos]) == {info.hex for info in infos[:-1]}
    for path, info in zip([*paths, big], infos, strict=True):
        data = path.read_bytes()
        assert store.get_bytes(info.hex) == data
        with store.open(info.uri) as reader:
            assert reader.read() == data
        with store.open(info.hex, verify=False) as raw:
            assert raw.read() == data
        assert store.exists(info.hex)
        assert store.size(info.hex) == len(data)
        out = store.get_file(info.hex, tmp_path / "out" / path.name)
        assert out.read_bytes() == data
    hexes = [info.hex for info in infos]
    assert store.exists_many([*hexes, "0" * 64]) == set(hexes)
    assert store.read_many(hexes[:5]) == [p.read_bytes() for p in paths[:5]]
    assert sorted(b.hex for b in store.iter_blobs()) == sorted(set(hexes))


def test_same_content_same_id_packed_or_loose(store: ObjectStore, tmp_path: Path) -> None:
    paths = _files(tmp_path / "in")
    packed = store.put_files(paths)
    loose = [store.put_bytes(path.read_bytes()) for path in paths]
    assert [info.hex for info in packed] == [info.hex for info in loose]


def test_a_new_store_object_finds_packs_written_by_another(
    store: ObjectStore, tmp_path: Path
) -> None:
    infos = store.put_files(_files(tmp_path / "in"))
    with ObjectStore(store.url) as other:
        assert other.get_bytes(infos[3].hex) == (tmp_path / "in" / "f003.bin").read_bytes()
        assert other.exists_many(info.hex for info in infos) == {info.hex for info in infos}


def test_content_already_packed_is_not_written_again(store: ObjectStore, tmp_path: Path) -> None:
    paths = _files(tmp_path / "in")
    store.put_files(paths)
    written: list[bool] = []
    store.put_files(paths, on_stored=lambda _info, new: written.append(new))
    assert written == [False] * len(paths)
    assert len(_packs(store)) == 1


def test_no_pack_below_the_threshold_or_when_asked(store: ObjectStore, tmp_path: Path) -> None:
    store.put_files(_files(tmp_path / "few", PACK_MIN_FILES - 1))
    store.put_files(_files(tmp_path / "many", salt="x"), pack=False)
    assert _packs(store) == []
    assert store.packed(b.hex for b in store.iter_blobs()) == set()


def test_contents_are_packed_too(store: ObjectStore) -> None:
    contents = [f"content {i}".encode() for i in range(COUNT)]
    infos = store.put_files([], contents=contents)
    assert len(_packs(store)) == 1
    assert [store.get_bytes(info.hex) for info in infos] == contents


def test_corruption_inside_a_pack_names_the_blob(store: ObjectStore, tmp_path: Path) -> None:
    paths = _files(tmp_path / "in")
    infos = store.put_files(paths)
    pack = _packs(store)[0].stat.pack
    victim = infos[5].hex
    loc = _packs(store)[0].blobs[victim]
    data = bytearray(_read_pack(store, pack))
    data[loc.offset] ^= 0xFF
    _overwrite_pack(store, pack, bytes(data))
    with pytest.raises(CorruptObjectError) as info:
        store.get_bytes(victim)
    assert info.value.uri == f"blake3:{victim}"
    with pytest.raises(CorruptObjectError), store.open(victim) as reader:
        reader.read()
    with pytest.raises(CorruptObjectError, match=victim):
        store.read_many([infos[4].hex, victim])
    with pytest.raises(CorruptObjectError):
        store.get_file(victim, tmp_path / "never.bin")
    assert not (tmp_path / "never.bin").exists()
    assert store.get_bytes(infos[4].hex) == paths[4].read_bytes()  # the others are intact


def test_truncated_pack_is_corrupt_not_short(store: ObjectStore, tmp_path: Path) -> None:
    infos = store.put_files(_files(tmp_path / "in"))
    pack = _packs(store)[0].stat.pack
    last = max(infos, key=lambda info: _packs(store)[0].blobs[info.hex].offset)
    _overwrite_pack(store, pack, _read_pack(store, pack)[:-3])
    with pytest.raises(CorruptObjectError, match="ended after"):
        store.get_bytes(last.hex)


def test_a_damaged_index_hides_its_blobs(store: ObjectStore, tmp_path: Path) -> None:
    infos = store.put_files(_files(tmp_path / "in"))
    pack = _packs(store)[0].stat.pack
    index = store._backend.pack_file(pack, "idx")
    if store.local_root is not None:
        os.chmod(index, 0o644)
        Path(index).write_bytes(b"LMPACK1\n" + b"\0" * 40)
    else:
        store._backend.fs.pipe_file(index, b"garbage")
    with ObjectStore(store.url) as fresh:
        with pytest.raises(NotFoundError):
            fresh.get_bytes(infos[0].hex)
        # gc keeps a pack whose index it cannot read: what it holds is unknown
        report = collect_garbage(fresh, set(), grace_seconds=-5)
        assert report.deleted_packs == []
        assert report.kept_packs == 1


def test_index_round_trip_and_checksum() -> None:
    entries = {"ab" * 32: (0, 3), "cd" * 32: (3, 5)}
    pack, data = encode_index(entries)
    assert {blob: (loc.offset, loc.size) for blob, loc in decode_index(pack, data).items()} == (
        entries
    )
    with pytest.raises(ValueError, match="checksum"):
        decode_index(pack, data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ValueError, match="checksum"):
        decode_index("0" * 64, data)


def test_gc_deletes_dead_packs_keeps_partly_live_ones(
    store: ObjectStore, backdoor: Any, tmp_path: Path
) -> None:
    dead = store.put_files(_files(tmp_path / "dead", salt="dead"))
    live = store.put_files(_files(tmp_path / "live", salt="live"))
    packs = {frozenset(p.blobs): p.stat.pack for p in _packs(store)}
    dead_pack = packs[frozenset(info.hex for info in dead)]
    for pack in packs.values():
        _age_pack(store, backdoor, pack)
    report = collect_garbage(store, {live[0].hex}, grace_seconds=backdoor.old_grace)
    assert report.deleted_packs == [dead_pack]
    assert sorted(report.deleted) == sorted(info.hex for info in dead)
    assert report.kept == 1 and report.kept_packs == 1
    assert report.freed_bytes >= sum(info.size for info in dead)
    with pytest.raises(NotFoundError):
        store.get_bytes(dead[0].hex)
    # every blob of the partly live pack stays, referenced or not
    assert [store.get_bytes(info.hex) for info in live[:3]] == [
        (tmp_path / "live" / f"f{i:03d}.bin").read_bytes() for i in range(3)
    ]
    with pytest.raises(ObjectStoreError, match="deleted whole"):
        store.delete(live[1].hex)


def test_gc_keeps_a_recent_dead_pack(store: ObjectStore, tmp_path: Path) -> None:
    store.put_files(_files(tmp_path / "in"))
    report = collect_garbage(store, set(), grace_seconds=3600)
    assert report.deleted_packs == []
    assert report.skipped_recent == COUNT


def test_dedup_against_a_pack_renews_its_age_local(tmp_path: Path) -> None:
    """A put of content that an old pack holds protects that pack from a running gc."""
    store = ObjectStore(str(tmp_path / "objects"))
    paths = _files(tmp_path / "in")
    store.put_files(paths)
    (pack,) = _packs(store)
    then = time.time() - 7200
    os.utime(store._backend.pack_file(pack.stat.pack, "idx"), (then, then))
    with ObjectStore(store.url) as writer:  # another process
        writer.put_files(paths)
    report = collect_garbage(store, set(), grace_seconds=3600)
    assert report.deleted_packs == []


def test_gc_removes_an_orphan_pack_file(store: ObjectStore, backdoor: Any, tmp_path: Path) -> None:
    store.put_files(_files(tmp_path / "in"))
    pack = _packs(store)[0].stat.pack
    index = store._backend.pack_file(pack, "idx")
    if store.local_root is not None:
        os.unlink(index)
        then = time.time() - 7200
        os.utime(_pack_path(store, pack), (then, then))
    else:
        store._backend.fs.rm_file(index)
    report = collect_garbage(store, set(), grace_seconds=backdoor.old_grace)
    assert report.stale_temps == 1
    assert store._backend.list_packs() == []


def test_failed_put_files_leaves_no_pack(
    store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _files(tmp_path / "in")
    batch_type = type(store._backend.begin_batch())

    def broken_finish(self: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(batch_type, "finish", broken_finish)
    with pytest.raises(ObjectStoreError, match="disk full"):
        store.put_files(paths)
    monkeypatch.undo()
    assert _packs(store) == []
    assert store.exists_many(path.name for path in []) == set()
    if store.local_root is not None:
        assert list(store._iter_temps()) == []


def _age_pack(store: ObjectStore, backdoor: Any, pack: str) -> None:
    if backdoor.is_local:
        then = time.time() - 7200
        os.utime(store._backend.pack_file(pack, "idx"), (then, then))


def test_temp_packs_of_crashed_processes_are_swept(tmp_path: Path) -> None:
    import subprocess
    import sys

    from loopml.objects._packs import STALE_TEMP_PACK_S, sweep_stale_temp_packs

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dead = int(gone)
    old = time.time() - STALE_TEMP_PACK_S - 60
    folder = tmp_path / "loopml-packs"
    folder.mkdir()
    names = {
        "crashed": f"pack-{dead:x}-{'a' * 16}",  # its process is gone, and it is old
        "recent": f"pack-{dead:x}-{'b' * 16}",  # gone, but too recent to be sure
        "ours": f"pack-{os.getpid():x}-{'c' * 16}",  # a running process's, however old
        "other": "not-a-pack",
    }
    for key, name in names.items():
        path = folder / name
        path.write_bytes(b"x")
        if key != "recent":
            os.utime(path, (old, old))
    assert sweep_stale_temp_packs(str(folder)) == [names["crashed"]]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        names[k] for k in ("recent", "ours", "other")
    )
    assert sweep_stale_temp_packs(str(tmp_path / "missing")) == []
