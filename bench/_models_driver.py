"""The models benchmark's driver, shared by the loopml and the MLflow worker.

It runs inside the tool's own interpreter (``bench/_models_loopml.py`` with the project's
venv, ``bench/_models_mlflow.py`` with ``bench/.venv-mlflow``). Each tool supplies an adapter
holding its calls; the driver decides the data, the order and the timing rules, identically
for both tools, checks the results (predictions after a round trip), and prints one JSON
object with every figure as the last line of stdout.

Order matters: the ``log_model`` workload runs first, so that its first call is the first
model call of a fresh process (after imports and after the run, hence the store, exists).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, median, progress

REGISTERED_NAME = "bench"
ALIAS = "champion"
NET_MODULE = "bench_torch_net"
NET_CLASS = "BenchNet"
#: The torch model's module, written by bench/models.py into a folder both workers import from.
NET_SOURCE = '''"""A plain MLP for the models benchmark (written by bench/models.py)."""

import torch


class BenchNet(torch.nn.Module):
    def __init__(self, n_in: int, width: int, depth: int, n_out: int) -> None:
        super().__init__()
        layers = [torch.nn.Linear(n_in, width), torch.nn.ReLU()]
        for _ in range(depth):
            layers += [torch.nn.Linear(width, width), torch.nn.ReLU()]
        layers.append(torch.nn.Linear(width, n_out))
        self.layers = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
'''

#: Imports of the libraries a loaded scikit-learn model needs, whatever the tool: the floor
#: under any cold load of it. Timed in-process after interpreter start-up.
FLOOR_CODE = """
import json, time
t0 = time.perf_counter()
import numpy, pandas, sklearn.linear_model, skops.io
print(json.dumps({"floor_s": time.perf_counter() - t0}))
"""


#: Put before a cold-load script: the model's libraries imported before its timer starts.
PREIMPORT = "import numpy, pandas, sklearn.linear_model, skops.io\n"


class Adapter(Protocol):
    name: str

    def versions(self) -> dict[str, str]: ...
    def setup(self, folder: Path) -> None: ...
    def start_run(self) -> None: ...
    def end_run(self) -> None: ...
    def log_model(self, model: Any, example: Any, registered_name: str | None) -> int | None: ...
    def set_alias(self, name: str, alias: str, version: int) -> None: ...
    def save_sklearn(self, model: Any, path: Path, example: Any) -> None: ...
    def save_torch(self, net: Any, path: Path, example: Any, init_args: dict[str, int]) -> None: ...
    def load(self, path: Path) -> Any: ...
    def import_code(self) -> str: ...
    def cold_load_code(self) -> str: ...
    def cold_load_args(self) -> list[str]: ...


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


def package_bytes(folder: Path) -> int:
    """Bytes of every file in a package folder (what it takes on disk, apparent size)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _timed_each(fn: Callable[[int], object], count: int) -> list[float]:
    times = []
    for i in range(count):
        with Timer() as t:
            fn(i)
        times.append(t.seconds)
    return times


def _predictions(output: Any) -> Any:
    import numpy as np

    return np.asarray(output.to_numpy() if hasattr(output, "to_numpy") else output)


def _iris() -> tuple[Any, Any]:
    from sklearn.datasets import load_iris

    frame, target = load_iris(return_X_y=True, as_frame=True)
    return frame, target


def _log_model_stage(adapter: Adapter, sizes: dict[str, Any], out: dict[str, Any]) -> None:
    from sklearn.linear_model import LogisticRegression

    frame, target = _iris()
    lr = LogisticRegression(max_iter=1000).fit(frame, target)
    example = frame.head(5)

    def one(_: int) -> None:
        adapter.start_run()
        try:
            with Timer() as t:
                adapter.log_model(lr, example, None)
            times.append(t.seconds)
        finally:
            adapter.end_run()

    times: list[float] = []
    progress("log_model: first call in this process")
    one(0)
    out["log_model_first_s"] = times.pop()
    repeats = sizes["log_repeats"]
    for i in range(repeats):
        progress(f"log_model: call {i + 1}/{repeats}")
        one(i)
    out["log_model_s"] = median(times)
    out["log_model_all_s"] = times


def _registry_stage(
    adapter: Adapter, workdir: Path, sizes: dict[str, Any], out: dict[str, Any]
) -> None:
    from sklearn.linear_model import LogisticRegression

    frame, target = _iris()
    lr = LogisticRegression(max_iter=1000).fit(frame, target)
    progress("registry: log + register + alias")
    adapter.start_run()
    try:
        version = adapter.log_model(lr, frame.head(5), REGISTERED_NAME)
    finally:
        adapter.end_run()
    assert version is not None
    adapter.set_alias(REGISTERED_NAME, ALIAS, version)
    rows = frame.iloc[::10]
    expected = lr.predict(rows).tolist()
    rows_file = workdir / "cold_rows.json"
    rows_file.write_text(
        json.dumps({"columns": list(rows.columns), "data": rows.to_numpy().tolist()})
    )

    # Interpreter start-up alone, then start-up + import of the library, as whole processes.
    progress("interpreter start-up and import")
    out["python_startup_s"] = median(
        _timed_each(
            lambda _: _run([sys.executable, "-c", "pass"], workdir), sizes["import_repeats"]
        )
    )
    code = adapter.import_code()
    out["import_wall_s"] = median(
        _timed_each(lambda _: _run([sys.executable, "-c", code], workdir), sizes["import_repeats"])
    )
    floors = [
        json.loads(_run([sys.executable, "-c", FLOOR_CODE], workdir).splitlines()[-1])["floor_s"]
        for _ in range(sizes["import_repeats"])
    ]
    out["floor_import_s"] = median(floors)

    cold_code = adapter.cold_load_code()
    args = [*adapter.cold_load_args(), f"models:/{REGISTERED_NAME}@{ALIAS}", str(rows_file)]
    walls, loads, imports = [], [], []
    for i in range(sizes["cold_repeats"]):
        progress(f"cold load models:/{REGISTERED_NAME}@{ALIAS} ({i + 1}/{sizes['cold_repeats']})")
        cwd = workdir / f"cold-{i}"
        cwd.mkdir()
        with Timer() as t:
            text = _run([sys.executable, "-c", cold_code, *args], cwd)
        inner = json.loads(text.splitlines()[-1])
        if inner["pred"] != expected:
            raise RuntimeError(f"cold load predicted {inner['pred']}, expected {expected}")
        walls.append(t.seconds)
        loads.append(inner["load_predict_s"])
        imports.append(inner["import_s"])
    # The same with the model's libraries imported before the timer starts: what is left is
    # the tool's own share (its lazy imports, the store, the registry lookup, the files).
    own = []
    for i in range(max(sizes["cold_repeats"] - 1, 1)):
        progress(f"cold load, model libraries pre-imported ({i + 1})")
        cwd = workdir / f"cold-pre-{i}"
        cwd.mkdir()
        text = _run([sys.executable, "-c", PREIMPORT + cold_code, *args], cwd)
        inner = json.loads(text.splitlines()[-1])
        if inner["pred"] != expected:
            raise RuntimeError(f"cold load predicted {inner['pred']}, expected {expected}")
        own.append(inner["load_predict_s"])
    out["cold_preimported_s"] = median(own)
    out["cold_first_s"] = loads[0]
    rest = loads[1:] or loads
    out["cold_load_s"] = median(rest)
    out["cold_load_all_s"] = loads
    out["cold_import_s"] = median(imports)
    out["cold_wall_s"] = median(walls[1:] or walls)


def _run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:2]} … exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc.stdout.strip()


def _save_load_stage(
    adapter: Adapter,
    label: str,
    save: Callable[[Path], None],
    first_input: Any,
    check: Callable[[Any], None],
    workdir: Path,
    repeats: int,
    out: dict[str, Any],
) -> None:
    """Save ``repeats`` + 1 packages (the first is the warm-up, reported apart), load each of
    them and predict once on ``first_input`` (a loader may defer work to the first predict),
    check that prediction, and record the package size."""
    folders = [workdir / f"{label}-{i}" for i in range(repeats + 1)]
    saves: list[float] = []
    for i, folder in enumerate(folders):
        progress(f"{label}: save {i}/{repeats}")
        with Timer() as t:
            save(folder)
        saves.append(t.seconds)
    out[f"{label}_save_first_s"] = saves[0]
    out[f"{label}_save_s"] = median(saves[1:])
    out[f"{label}_bytes"] = package_bytes(folders[0])
    out[f"{label}_files"] = sorted(
        str(p.relative_to(folders[0])) for p in folders[0].rglob("*") if p.is_file()
    )
    loads: list[float] = []
    for i, folder in enumerate(folders):
        progress(f"{label}: load {i}/{repeats}")
        with Timer() as t:
            model = adapter.load(folder)
            output = model.predict(first_input)
        loads.append(t.seconds)
        check(output)
        del model, output
    out[f"{label}_load_first_s"] = loads[0]
    out[f"{label}_load_s"] = median(loads[1:])
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def _rf_stage(adapter: Adapter, workdir: Path, sizes: dict[str, Any], out: dict[str, Any]) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    progress("random forest: fit")
    features, labels = make_classification(
        n_samples=sizes["rf_rows"], n_features=20, n_informative=10, random_state=0
    )
    frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(20)])
    rf = RandomForestClassifier(n_estimators=sizes["rf_trees"], random_state=0, n_jobs=1)
    rf.fit(frame, labels)
    example = frame.head(5)
    expected = rf.predict(frame.head(200))

    def check(output: Any) -> None:
        if not np.array_equal(_predictions(output), expected):
            raise RuntimeError("the loaded random forest predicts differently")

    _save_load_stage(
        adapter,
        "rf",
        lambda folder: adapter.save_sklearn(rf, folder, example),
        frame.head(200),
        check,
        workdir,
        sizes["save_repeats"],
        out,
    )


def _torch_stage(
    adapter: Adapter, workdir: Path, sizes: dict[str, Any], out: dict[str, Any]
) -> None:
    import numpy as np
    import torch

    module = __import__(NET_MODULE)
    init_args = {
        "n_in": 32,
        "width": sizes["torch_width"],
        "depth": sizes["torch_depth"],
        "n_out": 10,
    }
    progress("torch: build the model")
    torch.manual_seed(0)
    net = getattr(module, NET_CLASS)(**init_args).eval()
    out["torch_weights_bytes"] = sum(p.numel() * p.element_size() for p in net.parameters())
    example = np.random.default_rng(0).standard_normal((5, 32)).astype(np.float32)
    with torch.inference_mode():
        expected = net(torch.from_numpy(example)).numpy()

    def check(output: Any) -> None:
        got = _predictions(output)
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
            raise RuntimeError("the loaded torch model predicts differently")

    _save_load_stage(
        adapter,
        "torch",
        lambda folder: adapter.save_torch(net, folder, example, init_args),
        example,
        check,
        workdir,
        sizes["save_repeats"],
        out,
    )


def main(adapter: Adapter) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--sizes", required=True, help="JSON object of workload sizes")
    parser.add_argument("--netdir", required=True, type=Path, help="holds bench_torch_net.py")
    parser.add_argument("--only", default="", help="comma-separated stages (default: all)")
    args = parser.parse_args()
    sizes = json.loads(args.sizes)
    only = {s for s in args.only.split(",") if s}
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(args.netdir.resolve()))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(args.netdir.resolve()), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    out: dict[str, Any] = {"tool": adapter.name, "versions": adapter.versions()}
    stage = _Stages()
    ready = False
    with stage("setup"):
        adapter.setup(workdir / "store")
        ready = True

    def wanted(name: str) -> bool:
        return ready and (not only or name in only)

    t0 = time.perf_counter()
    if wanted("log_model"):
        with stage("log_model"):
            _log_model_stage(adapter, sizes, out)
    if wanted("registry"):
        with stage("registry"):
            _registry_stage(adapter, workdir, sizes, out)
    if wanted("rf"):
        with stage("rf"):
            _rf_stage(adapter, workdir, sizes, out)
    if wanted("torch"):
        with stage("torch"):
            _torch_stage(adapter, workdir, sizes, out)
    out["worker_s"] = time.perf_counter() - t0
    out["errors"] = stage.errors
    print(json.dumps(out))
