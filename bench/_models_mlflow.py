"""MLflow side of the models benchmark; runs with ``bench/.venv-mlflow``'s python.

SQLite backend (``sqlite:///…/mlflow.db``, also the registry), a local artifact root, and
MLflow's defaults everywhere (scikit-learn models as skops, PyTorch as ``pt2``, requirements
inferred). Loading goes through ``mlflow.pyfunc.load_model``: like ``loopml.models.load``, a
uniform ``predict`` with the signature enforced.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# No network here; keep MLflow from spending time on telemetry or git lookups.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
from _models_driver import main
from mlflow import MlflowClient

TRUSTED_TREE = ["sklearn.tree._tree.Tree"]

COLD_LOAD_CODE = """
import json, sys, time
t0 = time.perf_counter()
import mlflow
t1 = time.perf_counter()
import mlflow.pyfunc
import pandas as pd
mlflow.set_tracking_uri(sys.argv[1])
rows = json.loads(open(sys.argv[3]).read())
model = mlflow.pyfunc.load_model(sys.argv[2])
pred = model.predict(pd.DataFrame(rows["data"], columns=rows["columns"]))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_predict_s": t2 - t1, "pred": pred.tolist()}))
"""


class MlflowAdapter:
    name = "mlflow"

    def __init__(self) -> None:
        self.tracking_uri = ""

    def versions(self) -> dict[str, str]:
        import importlib.metadata as md

        out = {"python": sys.version.split()[0]}
        for dist in ("mlflow", "scikit-learn", "skops", "torch", "pandas"):
            try:
                out[dist] = md.version(dist)
            except md.PackageNotFoundError:
                out[dist] = "absent"
        return out

    def setup(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        os.chdir(folder)
        self.tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
        mlflow.set_tracking_uri(self.tracking_uri)
        experiment = MlflowClient().create_experiment(
            "bench", artifact_location=(folder / "artifacts").as_uri()
        )
        mlflow.set_experiment(experiment_id=experiment)

    def start_run(self) -> None:
        mlflow.start_run()

    def end_run(self) -> None:
        mlflow.end_run()

    def log_model(self, model: Any, example: Any, registered_name: str | None) -> int | None:
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=example, registered_model_name=registered_name
        )
        version = info.registered_model_version
        return None if version is None else int(version)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        MlflowClient().set_registered_model_alias(name, alias, str(version))

    def save_sklearn(self, model: Any, path: Path, example: Any) -> None:
        # skops 0.16 no longer trusts tree node storage by default; MLflow then refuses to
        # save a forest unless told to trust it, which is what a user has to write.
        mlflow.sklearn.save_model(
            model, str(path), input_example=example, skops_trusted_types=TRUSTED_TREE
        )

    def save_torch(self, net: Any, path: Path, example: Any, init_args: dict[str, int]) -> None:
        import mlflow.pytorch

        mlflow.pytorch.save_model(net, str(path), input_example=example)

    def load(self, path: Path) -> Any:
        return mlflow.pyfunc.load_model(str(path))

    def import_code(self) -> str:
        return "import mlflow"

    def cold_load_code(self) -> str:
        return COLD_LOAD_CODE

    def cold_load_args(self) -> list[str]:
        return [self.tracking_uri]


if __name__ == "__main__":
    main(MlflowAdapter())
