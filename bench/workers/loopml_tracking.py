"""loopml side of the tracking benchmark; runs with the project's python.

SQLite backend (``sqlite:///…/loopml.db``), a local object store, loopml's public API.
loopml batches writes in the background, so every write timing includes ``flush()`` / the
end of the run; the cost of the calls alone (enqueue) is reported separately.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _tracking_driver import main, run_acc, run_params, run_tags

import loopml

FRESH_STORE_CODE = """
import json, sys, time
t0 = time.perf_counter()
import loopml
t1 = time.perf_counter()
store = loopml.open_store(sys.argv[1])
store.close()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1}))
"""


def _check(got: int, expected: int, what: str) -> None:
    """Untimed: the writes that were timed must all be in the store."""
    if got != expected:
        raise RuntimeError(f"{what}: {got} values in the store, expected {expected}")


class LoopmlAdapter:
    name = "loopml"

    def __init__(self) -> None:
        self.store: Any = None

    def versions(self) -> dict[str, str]:
        import importlib.metadata as md

        import sqlalchemy

        return {
            "loopml": md.version("loopml"),
            "sqlalchemy": sqlalchemy.__version__,
            "python": sys.version.split()[0],
        }

    def fresh_store_code(self) -> str:
        return FRESH_STORE_CODE

    def store_uri(self, folder: Path) -> str:
        return f"sqlite:///{folder / 'loopml.db'}"

    def setup(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        os.chdir(folder)
        uri = self.store_uri(folder)
        loopml.configure(tracking_uri=uri, artifact_uri=(folder / "objects").as_uri())
        self.store = loopml.open_store(uri)

    def create_runs(
        self, project: str, items: list[tuple[str, dict[str, Any], dict[str, str]]]
    ) -> None:
        for name, params, tags in items:
            with loopml.start_run(project=project, name=name, tags=tags):
                loopml.log_params(params)
        loopml.flush()

    def single_metrics(self, project: str, n: int) -> tuple[float, float]:
        run = loopml.start_run(project=project, name="single")
        log_metric = loopml.log_metric
        with run:
            t0 = time.perf_counter()
            for i in range(n):
                log_metric("loss", 1.0 / (i + 1), step=i)
            t1 = time.perf_counter()
        loopml.flush()
        t2 = time.perf_counter()
        _check(len(loopml.get_metric_history(run.id, "loss")), n, "single log_metric")
        return t1 - t0, t2 - t0

    def batch_metrics(self, project: str, chunks: list[list[tuple[str, float, int]]]) -> float:
        log_batch = loopml.log_batch
        with loopml.start_run(project=project, name="batch") as run:
            t0 = time.perf_counter()
            for metrics in chunks:
                log_batch(metrics=metrics)
        loopml.flush()
        seconds = time.perf_counter() - t0
        expected = sum(1 for chunk in chunks for m in chunk if m[0] == "m0")
        _check(len(loopml.get_metric_history(run.id, "m0")), expected, "log_batch")
        return seconds

    def seed_runs(self, project: str, start: int, stop: int) -> None:
        # The public API, one run at a time: start (with tags), one batch of params + metric.
        for i in range(start, stop):
            with loopml.start_run(project=project, name=f"s{i}", tags=run_tags(i)):
                loopml.log_batch(metrics=[("acc", run_acc(i), 0)], params=run_params(i))
        loopml.flush()

    def search_df(self, project: str, filter_text: str) -> int:
        df = loopml.search_runs(project=project, filter=filter_text, max_results=100_000)
        return len(df)

    def search_store(self, project: str, filter_text: str) -> int | None:
        # Parsed on every call, as MlflowClient.search_runs parses its filter string.
        from loopml.store.filter import parse_filter

        page = self.store.search_runs(
            [project], filter=parse_filter(filter_text), max_results=50_000
        )
        return len(getattr(page, "items", page))

    def log_artifact(self, project: str, path: Path) -> float:
        with loopml.start_run(project=project, name="artifact"):
            t0 = time.perf_counter()
            loopml.log_artifact(str(path))
            loopml.flush()
            return time.perf_counter() - t0

    def help_command(self) -> list[str] | None:
        exe = Path(sys.executable).parent / "loopml"
        return [str(exe), "--help"] if exe.exists() else None


if __name__ == "__main__":
    main(LoopmlAdapter())
