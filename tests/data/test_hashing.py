"""BLAKE3 of local files: small and large (memory-mapped, threaded) give the same digests as
hashing the bytes, in order, with clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from blake3 import blake3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopml.data import hashing
from loopml.data.hashing import hash_file, hash_files, io_workers
from loopml.errors import NotFoundError


def b3(data: bytes) -> str:
    return str(blake3(data).hexdigest())


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=5000))
def test_hash_file_is_blake3_of_the_content(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert hash_file(str(path)) == (b3(data), len(data))


def test_large_file_through_the_memory_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "MMAP_MIN_SIZE", 1 << 20)
    data = os.urandom(3 * (1 << 20) + 11)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert hash_file(str(path)) == (b3(data), len(data))


def test_file_larger_than_one_read(tmp_path: Path) -> None:
    data = os.urandom(2 * (1 << 20) + 3)  # more than one 1 MiB read, below the mmap size
    path = tmp_path / "mid.bin"
    path.write_bytes(data)
    assert hash_file(str(path)) == (b3(data), len(data))


@pytest.mark.parametrize("workers", [1, 3])
def test_hash_files_keeps_the_order(tmp_path: Path, workers: int) -> None:
    contents = [os.urandom(n) for n in range(0, 4000, 97)]
    paths = []
    for i, data in enumerate(contents):
        path = tmp_path / f"{i}.bin"
        path.write_bytes(data)
        paths.append(str(path))
    sizes: list[int] = []
    found = hash_files(paths, workers=workers, on_hashed=sizes.append)
    assert found == [(b3(data), len(data)) for data in contents]
    assert sorted(sizes) == sorted(len(data) for data in contents)


def test_missing_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "ok").write_bytes(b"ok")
    with pytest.raises(NotFoundError) as caught:
        hash_files([str(tmp_path / "ok"), str(tmp_path / "gone")], workers=2)
    assert "gone" in str(caught.value)
    assert caught.value.field == "path"


def test_io_workers() -> None:
    assert io_workers([]) == 1
    assert io_workers([4096] * 20_000) == 1  # small files: one thread (see its docstring)
    assert 1 <= io_workers([50 << 20] * 4) <= 4
