"""Physical limits for the data-versioning benchmark; runs with the project's python.

On the same (warm) files the tools see: ``cat big.bin > /dev/null``; reading it in 1 MiB
chunks; BLAKE3 over it, multi-threaded over ``update_mmap`` and single-threaded in 1 MiB
chunks; listing, reading and BLAKE3-hashing every small file, in a thread pool and in one
thread. Each figure is the median of a few runs after the data was read once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import blake3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import progress, repeat_median

CHUNK = 1 << 20


def cat_to_null(path: Path) -> None:
    with open(os.devnull, "wb") as null:
        subprocess.run(["cat", str(path)], stdout=null, check=True)


def read_chunks(path: Path) -> int:
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    total = 0
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(view):
            total += n
    return total


def blake3_mmap(path: Path) -> str:
    return blake3.blake3(max_threads=blake3.blake3.AUTO).update_mmap(path).hexdigest()


def blake3_single(path: Path) -> str:
    hasher = blake3.blake3()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(view):
            hasher.update(view[:n])
    return hasher.hexdigest()


def list_files(folder: Path) -> list[str]:
    out = []
    for root, _dirs, names in os.walk(folder):
        out.extend(os.path.join(root, name) for name in names)
    return out


def hash_small(path: str) -> bytes:
    with open(path, "rb") as f:
        return blake3.blake3(f.read()).digest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", required=True, type=Path)
    parser.add_argument("--files", required=True, type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    big: Path = args.big
    size = big.stat().st_size
    reps = args.repeats
    threads = min(32, os.cpu_count() or 1)
    out: dict[str, object] = {"big_bytes": size, "threads": threads}

    progress("physical limits: cat big.bin > /dev/null")
    out["cat_s"] = repeat_median(lambda: cat_to_null(big), reps)
    progress("physical limits: read big.bin in 1 MiB chunks")
    out["read_s"] = repeat_median(lambda: read_chunks(big), reps)
    progress("physical limits: BLAKE3 (multi-threaded, mmap)")
    out["blake3_mt_s"] = repeat_median(lambda: blake3_mmap(big), reps)
    progress("physical limits: BLAKE3 (one thread, 1 MiB chunks)")
    out["blake3_st_s"] = repeat_median(lambda: blake3_single(big), reps, warmup=0)
    if blake3_mmap(big) != blake3_single(big):
        raise RuntimeError("BLAKE3 mmap and chunked digests differ")

    files = list_files(args.files)
    out["files"] = len(files)
    out["files_bytes"] = sum(os.path.getsize(p) for p in files)

    def pool() -> None:
        names = list_files(args.files)
        with ThreadPoolExecutor(max_workers=threads) as ex:
            for _ in ex.map(hash_small, names, chunksize=64):
                pass

    def serial() -> None:
        for name in list_files(args.files):
            hash_small(name)

    progress(f"physical limits: list + read + BLAKE3 {len(files):,} files ({threads} threads)")
    out["small_pool_s"] = repeat_median(pool, reps)
    progress(f"physical limits: list + read + BLAKE3 {len(files):,} files (one thread)")
    out["small_serial_s"] = repeat_median(serial, reps)
    for key in ("cat", "read", "blake3_mt", "blake3_st"):
        out[f"{key}_gbps"] = size / 1e9 / float(out[f"{key}_s"])  # type: ignore[arg-type]
    out["blake3_version"] = getattr(blake3, "__version__", "?")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
