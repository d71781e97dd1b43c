"""Models benchmark: loopml vs MLflow, same models, same data, same machine, one run.

    .venv/bin/python bench/models.py [--quick] [--json] [--markdown] [--skip-peer]

Workloads (each tool in its own worker subprocess, fresh temp folder, SQLite store, local
artifacts; scikit-learn's bundled iris data and generated data, nothing downloaded):

1. ``log_model`` of a tiny LogisticRegression (iris) with a 5-row input example, inside a
   run: the first call of a fresh process (after imports), then the median of warm calls.
2. save + load (+ one predict) and package size of a RandomForestClassifier (100 trees):
   ``loopml.models.save_model`` / ``loopml.models.load`` vs ``mlflow.sklearn.save_model`` /
   ``mlflow.pyfunc.load_model`` (both skops files, both a uniform ``predict``).
3. the same for a ~100 MB PyTorch MLP (float32 ``nn.Linear`` stack) whose class lives in a
   small module this script writes and both workers import: loopml's torch flavor
   (safetensors + import path + init args) vs ``mlflow.pytorch.save_model`` (its default).
4. cold load of ``models:/bench@champion`` (the registered iris model) in a fresh
   interpreter: time from just after ``import loopml`` / ``import mlflow`` to a model that
   predicted once; interpreter + import timed apart.

MLflow (``mlflow<3.18``) runs from ``bench/.venv-mlflow`` (the venv ``bench/tracking.py``
uses), which this script creates on first use; it adds ``torch==2.13.0`` (the CPU build on
this machine's disk) to it when missing. Exit status: 0 measured, 1 a worker or a workload
failed, 2 the peer venv could not be prepared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_DIR,
    Figure,
    Target,
    bench_parser,
    command_line,
    emit_report,
    machine_info,
    measure_as_installed,
    package_version,
    prepare_peer_venv,
    print_table,
    project_python,
    report_consoles,
    run_slots,
)
from _models_driver import NET_MODULE, NET_SOURCE

PEER = "MLflow"
PEER_VENV = "mlflow"
PEER_REQUIREMENTS = ["mlflow<3.18"]  # the same venv as bench/tracking.py; 3.18.0 does not install
#: Added to the peer venv for the PyTorch workload: pinned, so pip takes the CPU build that lies
#: on this machine's disk (an unpinned torch would pull a multi-GB CUDA build).
PEER_EXTRAS = {"torch": "torch==2.13.0", "scikit-learn": "scikit-learn"}

FULL_SIZES: dict[str, int] = {
    "log_repeats": 5,
    "import_repeats": 5,
    "cold_repeats": 6,
    "rf_rows": 5_000,
    "rf_trees": 100,
    "save_repeats": 3,
    "torch_width": 2048,
    "torch_depth": 6,
}
QUICK_SIZES: dict[str, int] = {
    "log_repeats": 2,
    "import_repeats": 2,
    "cold_repeats": 2,
    "rf_rows": 500,
    "rf_trees": 100,
    "save_repeats": 1,
    "torch_width": 256,
    "torch_depth": 2,
}
WORKER_TIMEOUT_S = 3600.0
MB = 1_000_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(
        "bench/models.py",
        "Models benchmark: loopml vs MLflow (SQLite), same models, one run.",
        "MLflow",
    )
    return parser.parse_args(argv)


def ensure_peer_extras(bar: Any, err: Any, python: Path) -> bool:
    """pip install what the PyTorch workload needs into the peer venv, when missing."""
    missing = [
        spec
        for dist, spec in PEER_EXTRAS.items()
        if not (version := package_version(python, dist))
        or (dist == "torch" and not version.startswith("2.13.0"))
    ]
    if not missing:
        return True
    task = bar.add_task(f"{PEER} venv: pip install {' '.join(missing)}")
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "--progress-bar", "off", *missing],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    bar.remove_task(task)
    if proc.returncode != 0:
        bar.stop()
        err.print(f"[bold red]error:[/] pip install {' '.join(missing)} failed in the peer venv")
        err.print((proc.stdout + proc.stderr)[-3000:], markup=False, highlight=False)
        return False
    return True


def _mb(key: str) -> Callable[[dict[str, Any]], float | None]:
    def get(res: dict[str, Any]) -> float | None:
        value = res.get(key)
        return None if value is None else value / MB

    return get


def torch_note(lm: dict[str, Any] | None) -> str:
    """Why the loopml PyTorch rows are empty, if they are."""
    if lm is None or "torch_save_s" in lm:
        return ""
    error = (lm.get("errors") or {}).get("torch", "")
    if any(
        marker in error
        for marker in ("loopml.models.flavors.torch", "unknown model flavor", "no loopml flavor")
    ):
        return "n/a (torch flavor missing)"
    last = error.strip().splitlines()[-1] if error.strip() else "not run"
    return f"n/a ({last[:80]})"


def build_figures(
    lm: dict[str, Any] | None, pe: dict[str, Any] | None, sizes: dict[str, int]
) -> list[Figure]:
    def row(
        key: str | Callable[[dict[str, Any]], float | None],
        workload: str,
        unit: str,
        target: Target | None = None,
        note: str = "",
    ) -> Figure:
        get = (lambda res: res.get(key)) if isinstance(key, str) else key
        return Figure(
            workload=workload,
            unit=unit,
            loopml=get(lm) if lm else None,
            peer=get(pe) if pe else None,
            higher_is_better=False,
            target=target,
            note=note,
            key=key if isinstance(key, str) else "",
        )

    not_larger = Target("ratio_min", 1.0, f"≤ {PEER}'s")
    n = sizes["save_repeats"]
    weights_mb = ((lm or pe or {}).get("torch_weights_bytes") or 0) / MB
    tnote = torch_note(lm)
    return [
        row(
            "log_model_s",
            f"log_model, tiny LogisticRegression + input example (warm, median of "
            f"{sizes['log_repeats']})",
            "s",
            Target("max", 0.5, "≤ 0.5 s"),
        ),
        row("log_model_first_s", "  … first call in a fresh process (after imports)", "s"),
        row("rf_save_s", f"save RandomForest, {sizes['rf_trees']} trees (median of {n})", "s"),
        row("rf_load_s", f"load RandomForest + 1 predict (median of {n})", "s"),
        row(_mb("rf_bytes"), "RandomForest package size", "MB", not_larger),
        row(
            "torch_save_s",
            f"save PyTorch MLP, {weights_mb:.0f} MB of weights (median of {n})",
            "s",
            note=tnote,
        ),
        row("torch_load_s", f"load PyTorch MLP + 1 predict (median of {n})", "s", note=tnote),
        row(_mb("torch_bytes"), "PyTorch package size", "MB", not_larger, note=tnote),
        row(
            "cold_load_s",
            "cold load models:/bench@champion + 1 predict, after import "
            f"(median of {max(sizes['cold_repeats'] - 1, 1)})",
            "s",
            Target("max", 0.2, "≤ 0.2 s"),
        ),
        row(
            "cold_preimported_s",
            "  … numpy/pandas/sklearn/skops imported before the timer (the tool's own share)",
            "s",
            Target("max", 0.2, "≤ 0.2 s"),
        ),
        row("cold_first_s", "  … first load of that version (empty cache)", "s"),
        row("floor_import_s", "  … floor: import numpy + pandas + sklearn + skops alone", "s"),
        row("import_wall_s", "interpreter start-up + import loopml / mlflow", "s"),
        row("cold_wall_s", "cold load as a whole process (start → prediction → exit)", "s"),
    ]


def notes_for(lm: dict[str, Any] | None, pe: dict[str, Any] | None, quick: bool) -> list[str]:
    notes = [
        "Each tool runs in its own worker subprocess (loopml: the project's .venv; MLflow: "
        "bench/.venv-mlflow), one after the other, each with a fresh temp folder, a SQLite "
        "store and local artifacts; MLflow telemetry off. Same models, same data, same "
        "library versions on both sides.",
        "log_model: `loopml.models.log_model(lr, input_example=X[:5])` vs "
        "`mlflow.sklearn.log_model(lr, name='model', input_example=X[:5])`, each in its own "
        "run (run start and end not timed). The first call is the first model call of the "
        "worker process, after `import loopml.models` / `import mlflow.sklearn` and "
        "scikit-learn; it pays the libraries each tool imports lazily (skops, ...).",
        "Save + load: `loopml.models.save_model(m, path, input_example=...)` + "
        "`loopml.models.load(path).predict(X)` vs `mlflow.sklearn.save_model` / "
        "`mlflow.pytorch.save_model` + `mlflow.pyfunc.load_model(path).predict(X)` (pyfunc is "
        "the equivalent of loopml's LoadedModel: a uniform predict with the signature "
        "enforced). MLflow defaults otherwise: skops for scikit-learn (with "
        "`skops_trusted_types=['sklearn.tree._tree.Tree']`, without which MLflow refuses to "
        "save a forest with skops 0.16), `pt2` (torch.export) for PyTorch, requirements "
        "inferred. Medians exclude the first save/load of the process; loads include one "
        "predict, predictions are checked against the original model.",
        "Package size: all files of the saved folder (apparent size), input example included.",
        "Cold load: a fresh `python -c` that imports the library, then (timed) imports pandas, "
        "points at the store, loads `models:/bench@champion` (registered with "
        "`registered_name=` / `registered_model_name=`, alias set with "
        "`loopml.models.set_alias` / `MlflowClient().set_registered_model_alias`) and "
        "predicts 15 iris rows (checked). The first run loads into an empty cache; the "
        "median is over the runs after it. The floor is the same libraries imported "
        "alone in a fresh process: no tool can load a scikit-learn model faster.",
    ]
    if lm and pe:
        for key, what in (("rf_bytes", "RandomForest"), ("torch_bytes", "PyTorch")):
            if key in lm and key in pe:
                notes.append(
                    f"{what} package bytes: loopml {lm[key]:,}, {PEER} {pe[key]:,} "
                    f"(loopml {lm[key] - pe[key]:+,})."
                )
    for label, res in (("loopml", lm), (PEER, pe)):
        if res and "torch_files" in res:
            notes.append(f"{label} PyTorch package files: {', '.join(res['torch_files'])}.")
        if res and "rf_files" in res:
            notes.append(f"{label} RandomForest package files: {', '.join(res['rf_files'])}.")
    if quick:
        notes.append("--quick: sizes reduced for a smoke test; the targets are for full sizes.")
    return notes


def run_workers(
    args: argparse.Namespace, sizes: dict[str, int], tmp: Path, err: Any
) -> tuple[dict[str, dict[str, Any] | None], list[str], int]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    results: dict[str, dict[str, Any] | None] = {"loopml": None, "peer": None}
    failures: list[str] = []
    net_dir = tmp / "net"
    net_dir.mkdir()
    (net_dir / f"{NET_MODULE}.py").write_text(NET_SOURCE)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        workers: list[tuple[str, Path, Path]] = [
            ("loopml", project_python(), BENCH_DIR / "_models_loopml.py")
        ]
        if not args.skip_peer:
            peer_python = prepare_peer_venv(bar, err, PEER, PEER_VENV, PEER_REQUIREMENTS)
            if peer_python is None or not ensure_peer_extras(bar, err, peer_python):
                return results, failures, 2
            workers.append(("peer", peer_python, BENCH_DIR / "_models_mlflow.py"))
        run_slots(
            bar,
            workers,
            lambda slot: [
                "--workdir",
                str(tmp / slot),
                "--sizes",
                json.dumps(sizes),
                "--netdir",
                str(net_dir),
            ],
            peer=PEER,
            results=results,
            failures=failures,
            timeout=WORKER_TIMEOUT_S,
        )
    return results, failures, 0


def main(argv: list[str] | None = None) -> int:

    args = parse_args(argv)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    err, out = report_consoles(args.json, width=140)
    meta: dict[str, Any] = {
        "benchmark": "models",
        "command": command_line(),
        **machine_info(),
        "mode": "quick" if args.quick else "full",
        "sizes": sizes,
    }
    measure_as_installed()
    tmp = Path(tempfile.mkdtemp(prefix="loopml-bench-models-"))
    try:
        results, failures, status = run_workers(args, sizes, tmp, err)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if status:
        return status

    lm, pe = results["loopml"], results["peer"]
    for label, res in (("loopml", lm), (PEER, pe)):
        for name, text in ((res or {}).get("errors") or {}).items():
            last = text.strip().splitlines()[-1] if text.strip() else "?"
            err.print(f"[yellow]{label}: workload {name!r} failed:[/] {last}", highlight=False)
            failures.append(f"{label}:{name}")
    versions: dict[str, str] = {}
    if lm:
        versions["loopml"] = lm["versions"].get("loopml", "?")
    if pe:
        versions["mlflow"] = pe["versions"].get("mlflow", "?")
    for dist in ("scikit-learn", "skops", "torch", "pandas"):
        seen = {res["versions"].get(dist, "?") for res in (lm, pe) if res}
        if seen:
            versions[dist] = " / ".join(sorted(seen))
    meta["versions"] = versions
    figures = build_figures(lm, pe, sizes)
    notes = notes_for(lm, pe, args.quick)
    peer_label = f"{PEER} {versions['mlflow']}" if "mlflow" in versions else PEER
    title = "Models: loopml vs " + peer_label + (" (--quick)" if args.quick else "")

    print_table(figures, title=title, peer_name=peer_label, console=out)
    return emit_report(
        out,
        err,
        figures,
        title=title,
        peer_name=peer_label,
        meta=meta,
        notes=notes,
        markdown=args.markdown,
        raw={"loopml": lm, "mlflow": pe} if args.json else None,
        failures=failures,
    )


if __name__ == "__main__":
    sys.exit(main())
