"""The tracking benchmark's driver, shared by the loopml and the MLflow worker.

It runs inside the tool's own interpreter and imports only the standard library (and
``bench/_common.py``, which does too at import time). Each tool supplies an adapter whose
methods hold the tool-specific calls; timed loops live in the adapters so that the loop body
is the tool's call and nothing else. The driver decides the data, the order and the timing
rules, identically for both tools, and prints one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import (
    Timer,
    command_wall_median,
    median,
    progress,
    repeat_median,
)

SEARCH_FILTER = "metrics.acc > 0.5 and params.depth = '6'"
DEPTHS = ("2", "4", "6", "8")


def run_params(i: int) -> dict[str, Any]:
    """Ten params; ``depth`` cycles through DEPTHS so the search filter matches 1 run in 8."""
    return {
        "depth": DEPTHS[i % len(DEPTHS)],
        "lr": 0.001 * (1 + i % 10),
        "batch_size": 32 * (1 + i % 4),
        "optimizer": ("adam", "sgd", "rmsprop")[i % 3],
        "epochs": 10 + i % 5,
        "dropout": 0.1 * (i % 5),
        "seed": i,
        "model": "gbm",
        "n_estimators": 100 + i,
        "subsample": 0.8,
    }


def run_tags(i: int) -> dict[str, str]:
    return {
        "team": "ml",
        "stage": ("dev", "staging", "prod")[i % 3],
        "dataset": f"ds{i % 7}",
        "owner": "bench",
        "index": str(i),
    }


def run_acc(i: int) -> float:
    return random.Random(i).random()


class Adapter(Protocol):
    name: str

    def versions(self) -> dict[str, str]: ...
    def fresh_store_code(self) -> str: ...
    def store_uri(self, folder: Path) -> str: ...
    def setup(self, folder: Path) -> None: ...
    def create_runs(
        self, project: str, items: list[tuple[str, dict[str, Any], dict[str, str]]]
    ) -> None: ...
    def single_metrics(self, project: str, n: int) -> tuple[float, float]: ...
    def batch_metrics(self, project: str, chunks: list[list[tuple[str, float, int]]]) -> float: ...
    def seed_runs(self, project: str, start: int, stop: int) -> None: ...
    def search_df(self, project: str, filter_text: str) -> int: ...
    def search_store(self, project: str, filter_text: str) -> int | None: ...
    def log_artifact(self, project: str, path: Path) -> float: ...
    def help_command(self) -> list[str] | None: ...


def _fresh_store(adapter: Adapter, workdir: Path, repeats: int) -> dict[str, float]:
    walls, imports, opens = [], [], []
    code = adapter.fresh_store_code()
    for i in range(repeats):
        folder = workdir / f"fresh-{i}"
        folder.mkdir(parents=True)
        uri = adapter.store_uri(folder)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code, uri],
            capture_output=True,
            text=True,
            check=False,
            cwd=folder,
        )
        walls.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"fresh store subprocess failed:\n{proc.stderr[-3000:]}")
        inner = json.loads(proc.stdout.strip().splitlines()[-1])
        imports.append(inner["import_s"])
        opens.append(inner["open_s"])
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "fresh_store_wall_s": median(walls),
        "fresh_store_import_s": median(imports),
        "fresh_store_open_s": median(opens),
    }


def _copy_seconds(src: Path, dst_dir: Path, repeats: int) -> float:
    times = []
    for i in range(repeats):
        dst = dst_dir / f"copy-{i}.bin"
        with Timer() as t:
            shutil.copyfile(src, dst)
        times.append(t.seconds)
        dst.unlink()
    return median(times)


def _durable_copy_seconds(src: Path, dst_dir: Path, repeats: int) -> float:
    """A copy that is on disk when it returns: copyfile + fsync (what a durable store pays)."""
    times = []
    for i in range(repeats):
        dst = dst_dir / f"durable-{i}.bin"
        with Timer() as t:
            shutil.copyfile(src, dst)
            fd = os.open(dst, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        times.append(t.seconds)
        dst.unlink()
    return median(times)


class _Stages:
    """Runs each workload so that one that fails is recorded and the next still runs."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            text = "".join(traceback.format_exception(exc))
            self.errors[name] = text[-2500:]
            print(f"stage {name!r} failed:\n{text}", file=sys.stderr, flush=True)


def main(adapter: Adapter) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--sizes", required=True, help="JSON object of workload sizes")
    parser.add_argument("--artifact", required=True, type=Path)
    args = parser.parse_args()
    sizes = json.loads(args.sizes)
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"tool": adapter.name, "versions": adapter.versions()}
    stage = _Stages()

    # (a) a fresh store: a new process that imports the library and creates the schema.
    progress("fresh store (new process, schema creation)")
    with stage("fresh_store"):
        out.update(_fresh_store(adapter, workdir, sizes["fresh_repeats"]))

    ready = False
    with stage("setup"):
        adapter.setup(workdir / "main")
        ready = True

    # (b) runs with 10 params + 5 tags: start with tags, log_params, end.
    n_runs = sizes["runs"]
    progress(f"create {n_runs} runs with 10 params + 5 tags")
    with stage("create_runs"):
        if not ready:
            raise RuntimeError("setup failed")
        adapter.create_runs("warmup", [("warmup", run_params(0), run_tags(0))])
        items = [(f"r{i}", run_params(i), run_tags(i)) for i in range(n_runs)]
        with Timer() as t:
            adapter.create_runs("bench", items)
        out["create_runs_s"] = t.seconds
        out["create_runs_per_s"] = n_runs / t.seconds

    # (c) single log_metric calls in one run, timed through the end of the run (flush).
    n_single = sizes["single"]
    progress(f"{n_single:,} single log_metric calls")
    with stage("single_metrics"):
        if not ready:
            raise RuntimeError("setup failed")
        enqueue_s, total_s = adapter.single_metrics("bench", n_single)
        out["single_total_s"] = total_s
        out["single_calls_per_s"] = n_single / total_s
        out["single_us_per_call"] = total_s / n_single * 1e6
        out["single_enqueue_s"] = enqueue_s
        out["single_enqueue_calls_per_s"] = n_single / enqueue_s
        out["single_enqueue_us_per_call"] = enqueue_s / n_single * 1e6

    # (d) metrics through the batch call, chunked, through the end of the run (flush).
    n_batch, chunk = sizes["batch"], sizes["batch_chunk"]
    progress(f"{n_batch:,} metrics through the batch call ({chunk}/call)")
    with stage("batch_metrics"):
        if not ready:
            raise RuntimeError("setup failed")
        entries = [(f"m{j % 10}", float(j) * 0.001, j // 10) for j in range(n_batch)]
        chunks = [entries[k : k + chunk] for k in range(0, n_batch, chunk)]
        batch_s = adapter.batch_metrics("bench", chunks)
        out["batch_s"] = batch_s
        out["batch_metrics_per_s"] = n_batch / batch_s

    # (e) search with a two-clause filter, over a small and a large set of runs.
    small, large, repeats = sizes["search_small"], sizes["search_large"], sizes["search_repeats"]
    seeded = 0
    seed_total = 0.0
    for label, target in (("small", small), ("large", large)):
        with stage(f"seed_{label}"):
            if not ready:
                raise RuntimeError("setup failed")
            progress(f"seed runs {seeded:,} → {target:,} for search")
            with Timer() as t:
                adapter.seed_runs("search", seeded, target)
            seed_total += t.seconds
            seeded = target
        if seeded != target:
            continue
        progress(f"search_runs over {target:,} runs ({repeats} repeats)")
        out[f"search_{label}_runs"] = target
        with stage(f"search_{label}_df"):
            # The first call is the warm-up and gives the row count.
            out[f"search_{label}_rows"] = adapter.search_df("search", SEARCH_FILTER)
            out[f"search_{label}_df_s"] = repeat_median(
                lambda: adapter.search_df("search", SEARCH_FILTER), repeats, warmup=0
            )
        with stage(f"search_{label}_store"):
            store_rows = adapter.search_store("search", SEARCH_FILTER)
            if store_rows is not None:
                out[f"search_{label}_store_rows"] = store_rows
                out[f"search_{label}_store_s"] = repeat_median(
                    lambda: adapter.search_store("search", SEARCH_FILTER), repeats, warmup=0
                )
    if seeded == large:
        out["seed_runs"] = seeded
        out["seed_s"] = seed_total

    # (f) a large artifact vs a plain file copy of the same file, in this process.
    progress(f"log a {args.artifact.stat().st_size / 1e6:.0f} MB artifact vs plain copy")
    copy_dir = workdir / "copies"
    copy_dir.mkdir()
    out["copy_s"] = _copy_seconds(args.artifact, copy_dir, sizes["copy_repeats"])
    out["durable_copy_s"] = _durable_copy_seconds(args.artifact, copy_dir, sizes["copy_repeats"])
    out["artifact_bytes"] = args.artifact.stat().st_size
    with stage("artifact"):
        if not ready:
            raise RuntimeError("setup failed")
        out["artifact_s"] = median(
            [adapter.log_artifact("artifacts", args.artifact) for _ in range(sizes["copy_repeats"])]
        )
        out["artifact_vs_copy"] = out["artifact_s"] / out["copy_s"]
        out["artifact_vs_durable_copy"] = out["artifact_s"] / out["durable_copy_s"]

    # (g) the CLI's --help, as a user types it.
    with stage("help"):
        cmd = adapter.help_command()
        if cmd is not None:
            progress(f"{Path(cmd[0]).name} --help")
            out["help_s"] = command_wall_median(cmd, sizes["help_repeats"])

    out["errors"] = stage.errors
    print(json.dumps(out))
