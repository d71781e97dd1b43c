"""loopml side of the models benchmark; runs with the project's python.

SQLite store (``sqlite:///…/loopml.db``) and a local object store in the work folder;
loopml's public API only: ``loopml.models.log_model`` / ``save_model`` / ``load`` /
``set_alias``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models_driver import main

import loopml
import loopml.models

COLD_LOAD_CODE = """
import json, sys, time
t0 = time.perf_counter()
import loopml
t1 = time.perf_counter()
import pandas as pd
loopml.configure(tracking_uri=sys.argv[1], artifact_uri=sys.argv[2])
rows = json.loads(open(sys.argv[4]).read())
model = loopml.models.load(sys.argv[3])
pred = model.predict(pd.DataFrame(rows["data"], columns=rows["columns"]))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_predict_s": t2 - t1, "pred": pred.tolist()}))
"""


class LoopmlAdapter:
    name = "loopml"

    def __init__(self) -> None:
        self.tracking_uri = ""
        self.artifact_uri = ""

    def versions(self) -> dict[str, str]:
        import importlib.metadata as md

        out = {"python": sys.version.split()[0]}
        for dist in ("loopml", "scikit-learn", "skops", "torch", "safetensors", "pandas"):
            try:
                out[dist] = md.version(dist)
            except md.PackageNotFoundError:
                out[dist] = "absent"
        return out

    def setup(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.tracking_uri = f"sqlite:///{folder / 'loopml.db'}"
        self.artifact_uri = (folder / "objects").as_uri()
        loopml.configure(tracking_uri=self.tracking_uri, artifact_uri=self.artifact_uri)

    def start_run(self) -> None:
        loopml.start_run()

    def end_run(self) -> None:
        loopml.end_run()

    def log_model(self, model: Any, example: Any, registered_name: str | None) -> int | None:
        info = loopml.models.log_model(
            model, name="model", input_example=example, registered_name=registered_name
        )
        return info.version

    def set_alias(self, name: str, alias: str, version: int) -> None:
        loopml.models.set_alias(name, alias, version)

    def save_sklearn(self, model: Any, path: Path, example: Any) -> None:
        loopml.models.save_model(model, path, input_example=example)

    def save_torch(self, net: Any, path: Path, example: Any, init_args: dict[str, int]) -> None:
        loopml.models.save_model(net, path, input_example=example, init_args=init_args)

    def load(self, path: Path) -> Any:
        return loopml.models.load(str(path))

    def import_code(self) -> str:
        return "import loopml"

    def cold_load_code(self) -> str:
        return COLD_LOAD_CODE

    def cold_load_args(self) -> list[str]:
        return [self.tracking_uri, self.artifact_uri]


if __name__ == "__main__":
    main(LoopmlAdapter())
