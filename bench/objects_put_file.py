"""Benchmark: ObjectStore.put_file against shutil.copyfile (run by hand, not collected).

    .venv/bin/python bench/objects_put_file.py [--rounds 15] [--mb 50] [--dir PATH]

Each round syncs first, then times every variant once, interleaved, so all of them see the
same machine. Prints best and median per variant and the ratios to plain copyfile. Timing on
a shared machine is noisy, which is why this is not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import loopml.objects._local as local_backend
from loopml.objects import ObjectStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--dir", default=None, help="folder on the disk to measure (default: tmp)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(dir=args.dir))
    try:
        run(base, args.rounds, args.mb)
    finally:
        for path in base.rglob("*"):
            if path.is_file():
                path.chmod(0o644)
        shutil.rmtree(base)


def _clean(base: Path, keep: Path) -> None:
    """Delete every output, so each run writes into the same kind of free space.

    On some VMs (seen on this project's), writing into never-used disk space is several
    times slower than reusing freed space, for any writer; cleaning keeps the comparison fair.
    """
    for path in base.iterdir():
        if path == keep:
            continue
        if path.is_dir():
            for inner in path.rglob("*"):
                inner.chmod(0o755 if inner.is_dir() else 0o644)
            shutil.rmtree(path)
        else:
            path.unlink()


def run(base: Path, rounds: int, mb: int) -> None:
    src = base / "artifact.bin"
    src.write_bytes(os.urandom(mb * 10**6))
    real_fsync = os.fsync
    real_fadvise = local_backend._FADVISE

    def copyfile(index: int) -> None:
        shutil.copyfile(src, base / f"copy-{index}")

    def copyfile_fsync(index: int) -> None:
        dest = base / f"copy-fsync-{index}"
        shutil.copyfile(src, dest)
        fd = os.open(dest, os.O_RDONLY)
        try:
            real_fsync(fd)
        finally:
            os.close(fd)

    def put(index: int) -> None:
        ObjectStore(str(base / f"store-{index}")).put_file(src)

    def put_no_fsync(index: int) -> None:
        os.fsync = lambda fd: None
        local_backend._FADVISE = None
        try:
            ObjectStore(str(base / f"store-nofsync-{index}")).put_file(src)
        finally:
            os.fsync = real_fsync
            local_backend._FADVISE = real_fadvise

    variants: dict[str, Callable[[int], None]] = {
        "shutil.copyfile": copyfile,
        "copyfile + fsync": copyfile_fsync,
        "put_file (durable)": put,
        "put_file (no fsync)": put_no_fsync,
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for index in range(rounds):
        for name, variant in variants.items():
            os.sync()
            time.sleep(0.05)
            start = time.perf_counter()
            variant(index)
            times[name].append(time.perf_counter() - start)
            _clean(base, keep=src)
    base_best = min(times["shutil.copyfile"])
    base_median = statistics.median(times["shutil.copyfile"])
    for name, values in times.items():
        best, median = min(values), statistics.median(values)
        print(
            f"{name:22s} best {best * 1e3:7.1f} ms  median {median * 1e3:7.1f} ms  "
            f"{mb / best:6.0f} MB/s  x copyfile: best {best / base_best:4.2f}"
            f"  median {median / base_median:4.2f}"
        )


if __name__ == "__main__":
    main()
