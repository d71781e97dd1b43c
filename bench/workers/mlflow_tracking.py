"""MLflow side of the tracking benchmark; runs with the bench venv's python.

SQLite backend (``sqlite:///…/mlflow.db``), local artifact root, MLflow's public API: the
fluent API where a user would use it, ``MlflowClient`` for batches and bulk seeding.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# No network here; keep MLflow from spending time on telemetry or git lookups.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import mlflow
from _tracking_driver import main, run_acc, run_params, run_tags
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

FRESH_STORE_CODE = """
import json, sys, time
t0 = time.perf_counter()
import mlflow
from mlflow import MlflowClient
t1 = time.perf_counter()
MlflowClient(tracking_uri=sys.argv[1]).search_experiments()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1}))
"""


def _check(got: int, expected: int, what: str) -> None:
    """Untimed: the writes that were timed must all be in the store."""
    if got != expected:
        raise RuntimeError(f"{what}: {got} values in the store, expected {expected}")


class MlflowAdapter:
    name = "mlflow"

    def __init__(self) -> None:
        self.client: MlflowClient | None = None
        self.artifact_root = ""
        self.experiments: dict[str, str] = {}

    def versions(self) -> dict[str, str]:
        import sqlalchemy

        return {
            "mlflow": mlflow.__version__,
            "sqlalchemy": sqlalchemy.__version__,
            "python": sys.version.split()[0],
        }

    def fresh_store_code(self) -> str:
        return FRESH_STORE_CODE

    def store_uri(self, folder: Path) -> str:
        return f"sqlite:///{folder / 'mlflow.db'}"

    def setup(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        os.chdir(folder)
        mlflow.set_tracking_uri(self.store_uri(folder))
        self.artifact_root = (folder / "artifacts").as_uri()
        self.client = MlflowClient()

    def _experiment(self, project: str) -> str:
        if project not in self.experiments:
            assert self.client is not None
            self.experiments[project] = self.client.create_experiment(
                project, artifact_location=f"{self.artifact_root}/{project}"
            )
        return self.experiments[project]

    def create_runs(
        self, project: str, items: list[tuple[str, dict[str, Any], dict[str, str]]]
    ) -> None:
        eid = self._experiment(project)
        for name, params, tags in items:
            with mlflow.start_run(experiment_id=eid, run_name=name, tags=tags):
                mlflow.log_params(params)

    def single_metrics(self, project: str, n: int) -> tuple[float, float]:
        eid = self._experiment(project)
        run = mlflow.start_run(experiment_id=eid, run_name="single")
        log_metric = mlflow.log_metric
        t0 = time.perf_counter()
        for i in range(n):
            log_metric("loss", 1.0 / (i + 1), step=i)
        t1 = time.perf_counter()
        mlflow.end_run()
        t2 = time.perf_counter()
        assert self.client is not None
        got = len(self.client.get_metric_history(run.info.run_id, "loss"))
        _check(got, n, "single log_metric")
        return t1 - t0, t2 - t0

    def batch_metrics(self, project: str, chunks: list[list[tuple[str, float, int]]]) -> float:
        eid = self._experiment(project)
        assert self.client is not None
        ts = int(time.time() * 1000)
        batches = [[Metric(k, v, ts, s) for k, v, s in chunk] for chunk in chunks]
        run = mlflow.start_run(experiment_id=eid, run_name="batch")
        log_batch, run_id = self.client.log_batch, run.info.run_id
        t0 = time.perf_counter()
        for metrics in batches:
            log_batch(run_id, metrics=metrics)
        mlflow.end_run()
        seconds = time.perf_counter() - t0
        expected = sum(1 for chunk in chunks for m in chunk if m[0] == "m0")
        _check(len(self.client.get_metric_history(run_id, "m0")), expected, "log_batch")
        return seconds

    def seed_runs(self, project: str, start: int, stop: int) -> None:
        # The fastest public path: one create_run (with tags) and one log_batch per run.
        eid = self._experiment(project)
        client = self.client
        assert client is not None
        ts = int(time.time() * 1000)
        for i in range(start, stop):
            run = client.create_run(eid, run_name=f"s{i}", tags=run_tags(i))
            client.log_batch(
                run.info.run_id,
                metrics=[Metric("acc", run_acc(i), ts, 0)],
                params=[Param(k, str(v)) for k, v in run_params(i).items()],
            )

    def search_df(self, project: str, filter_text: str) -> int:
        df = mlflow.search_runs(
            experiment_ids=[self._experiment(project)],
            filter_string=filter_text,
            max_results=100_000,
        )
        return len(df)

    def search_store(self, project: str, filter_text: str) -> int | None:
        assert self.client is not None
        runs = self.client.search_runs(
            [self._experiment(project)], filter_string=filter_text, max_results=50_000
        )
        return len(runs)

    def log_artifact(self, project: str, path: Path) -> float:
        with mlflow.start_run(experiment_id=self._experiment(project), run_name="artifact"):
            t0 = time.perf_counter()
            mlflow.log_artifact(str(path))
            return time.perf_counter() - t0

    def help_command(self) -> list[str] | None:
        exe = Path(sys.executable).parent / "mlflow"
        return [str(exe), "--help"] if exe.exists() else None


if __name__ == "__main__":
    main(MlflowAdapter())
