"""Tracking benchmark: loopml vs MLflow, same work, same machine, one run.

    .venv/bin/python bench/tracking.py [--quick] [--json] [--markdown] [--skip-peer]

Workloads (each tool in its own worker subprocess, fresh temp folder, SQLite backend):
a fresh store (a new process that imports the library and creates the schema); 200 runs with
10 params + 5 tags; 5,000 single ``log_metric`` calls (timed through the flush / end of run);
50,000 metrics through the batch call (1,000 per call); ``search_runs`` with a two-clause
filter over 200 and over 10,000 runs (median of 20, DataFrame result, plus the store-level
call); a 50 MB artifact vs a plain ``shutil.copyfile``; the CLI's ``--help``.

MLflow (``mlflow<3.18``, the newest that installs) runs from ``bench/.venv-mlflow``, which this
script creates on first use and reuses while its requirements are unchanged.
Exit status: 0 measured, 1 a worker failed, 2 the peer venv could not be created.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    TIMES,
    WORKERS_DIR,
    Figure,
    Target,
    bench_parser,
    command_line,
    emit_report,
    machine_info,
    measure_as_installed,
    prepare_peer_venv,
    print_table,
    project_python,
    report_consoles,
    run_slots,
)

PEER = "MLflow"
PEER_VENV = "mlflow"
PEER_REQUIREMENTS = ["mlflow<3.18"]  # 3.18.0 does not install here

FULL_SIZES: dict[str, int] = {
    "fresh_repeats": 3,
    "runs": 200,
    "single": 5_000,
    "batch": 50_000,
    "batch_chunk": 1_000,
    "search_small": 200,
    "search_large": 10_000,
    "search_repeats": 20,
    "artifact_mb": 50,
    "copy_repeats": 3,
    "help_repeats": 5,
}
QUICK_SIZES: dict[str, int] = {
    "fresh_repeats": 1,
    "runs": 20,
    "single": 300,
    "batch": 5_000,
    "batch_chunk": 1_000,
    "search_small": 50,
    "search_large": 500,
    "search_repeats": 5,
    "artifact_mb": 5,
    "copy_repeats": 3,
    "help_repeats": 3,
}
WORKER_TIMEOUT_S = 3600.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(
        "bench/tracking.py",
        "Tracking benchmark: loopml vs MLflow (SQLite), same work, one run.",
        "MLflow",
    )
    return parser.parse_args(argv)


def write_random_file(path: Path, size: int) -> None:
    chunk = 1 << 20
    with path.open("wb") as f:
        for start in range(0, size, chunk):
            f.write(os.urandom(min(chunk, size - start)))


def build_figures(
    lm: dict[str, Any] | None, pe: dict[str, Any] | None, sizes: dict[str, int]
) -> list[Figure]:
    def row(
        key: str,
        workload: str,
        unit: str,
        higher_is_better: bool,
        target: Target | None = None,
    ) -> Figure:
        return Figure(
            workload=workload,
            unit=unit,
            loopml=(lm or {}).get(key),
            peer=(pe or {}).get(key),
            higher_is_better=higher_is_better,
            target=target,
            key=key,
        )

    small, large = sizes["search_small"], sizes["search_large"]
    mb = sizes["artifact_mb"]
    return [
        row(
            "fresh_store_wall_s",
            "fresh store: new process, import + schema",
            "s",
            False,
            Target("max", 0.5, "≤ 0.5 s"),
        ),
        row("fresh_store_open_s", "fresh store: schema only (imports excluded)", "s", False),
        row(
            "create_runs_per_s",
            f"create {sizes['runs']:,} runs (10 params + 5 tags)",
            "runs/s",
            True,
            Target("ratio_min", 10, f"≥ 10{TIMES}"),
        ),
        row(
            "single_calls_per_s",
            f"log_metric {TIMES}{sizes['single']:,}, one at a time, incl. flush",
            "calls/s",
            True,
            Target("ratio_min", 100, f"≥ 100{TIMES}"),
        ),
        row("single_us_per_call", "  … per call, incl. flush", "µs", False),
        row("single_enqueue_us_per_call", "  … per call, the call alone (no flush)", "µs", False),
        row(
            "batch_metrics_per_s",
            f"{sizes['batch']:,} metrics via batch call ({sizes['batch_chunk']:,}/call)",
            "metrics/s",
            True,
            Target("ratio_min", 10, f"≥ 10{TIMES}"),
        ),
        row(
            "search_small_df_s",
            f"search_runs → DataFrame, {small:,} runs",
            "s",
            False,
            Target("max", 0.005, "≤ 5 ms"),
        ),
        row(
            "search_large_df_s",
            f"search_runs → DataFrame, {large:,} runs",
            "s",
            False,
            Target("max", 0.050, "≤ 50 ms"),
        ),
        row("search_small_store_s", f"store-level search, {small:,} runs", "s", False),
        row("search_large_store_s", f"store-level search, {large:,} runs", "s", False),
        row("seed_s", f"seed {large:,} runs for search (public API)", "s", False),
        row("artifact_s", f"log a {mb} MB artifact", "s", False),
        row(
            "artifact_vs_copy",
            "  … ÷ plain file copy",
            TIMES,
            False,
            Target("max", 1.5, f"≤ 1.5{TIMES} copy"),
        ),
        row("artifact_vs_durable_copy", "  … ÷ copy + fsync (durable)", TIMES, False),
        row("help_s", "CLI --help (loopml / mlflow)", "s", False, Target("max", 0.3, "≤ 0.3 s")),
    ]


def notes_for(
    lm: dict[str, Any] | None, pe: dict[str, Any] | None, sizes: dict[str, int], quick: bool
) -> list[str]:
    notes = [
        "Each tool runs in its own subprocess with a fresh temp folder and a SQLite file; "
        "MLflow with a local artifact root, telemetry off.",
        "Write timings include the end of the run and loopml's flush (loopml writes in the "
        "background); 'the call alone' is the time until the last call returns.",
        f"Search: filter `metrics.acc > 0.5 and params.depth = '6'`, median of "
        f"{sizes['search_repeats']} after one warm-up; `mlflow.search_runs` vs "
        "`loopml.search_runs` (DataFrames); store level: `MlflowClient.search_runs` vs "
        "`Store.search_runs` (filter parsed on each call).",
        "Fresh store: wall time of `python -c` that imports the library and opens a new "
        f"SQLite store (median of {sizes['fresh_repeats']}); MLflow: "
        "`MlflowClient(uri).search_experiments()`, loopml: `loopml.open_store(uri)`. "
        "'Imports excluded' starts once `import <lib>` returns; modules the library imports "
        "lazily (SQLAlchemy, Alembic) still count.",
        "Writes are checked after timing: the metric history holds every value logged.",
        f"Artifact: median of {sizes['copy_repeats']} `log_artifact` of a random file vs the "
        f"median of {sizes['copy_repeats']} `shutil.copyfile` of the same file in the same "
        "process; loopml fsyncs every blob before acknowledging it (MLflow does not), so the "
        "like-for-like reference is copy + fsync.",
    ]
    if lm and pe:
        for label in ("small", "large"):
            a, b = lm.get(f"search_{label}_rows"), pe.get(f"search_{label}_rows")
            if a is not None and b is not None and a != b:
                notes.append(
                    f"WARNING: search over {lm.get(f'search_{label}_runs')} runs returned "
                    f"{a} rows in loopml and {b} in MLflow."
                )
    if quick:
        notes.append("--quick: sizes reduced for a smoke test; the targets are for full sizes.")
    return notes


def main(argv: list[str] | None = None) -> int:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    args = parse_args(argv)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    measure_as_installed()
    err, out = report_consoles(args.json)
    meta: dict[str, Any] = {
        "benchmark": "tracking",
        "command": command_line(),
        **machine_info(),
        "mode": "quick" if args.quick else "full",
        "sizes": sizes,
    }
    results: dict[str, dict[str, Any] | None] = {"loopml": None, "peer": None}
    failures: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="loopml-bench-tracking-"))
    try:
        artifact = tmp / "artifact.bin"
        write_random_file(artifact, sizes["artifact_mb"] * 1_000_000)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            workers: list[tuple[str, Path, Path]] = [
                ("loopml", project_python(), WORKERS_DIR / "loopml_tracking.py")
            ]
            if not args.skip_peer:
                peer_python = prepare_peer_venv(bar, err, PEER, PEER_VENV, PEER_REQUIREMENTS)
                if peer_python is None:
                    return 2
                workers.append(("peer", peer_python, WORKERS_DIR / f"{PEER_VENV}_tracking.py"))
            run_slots(
                bar,
                workers,
                lambda slot: [
                    "--workdir",
                    str(tmp / slot),
                    "--sizes",
                    json.dumps(sizes),
                    "--artifact",
                    str(artifact),
                ],
                peer=PEER,
                results=results,
                failures=failures,
                timeout=WORKER_TIMEOUT_S,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

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
    for name, res in (("loopml", lm), ("mlflow", pe)):
        if res:
            versions[f"SQLAlchemy ({name})"] = res["versions"].get("sqlalchemy", "?")
    meta["versions"] = versions
    figures = build_figures(lm, pe, sizes)
    notes = notes_for(lm, pe, sizes, args.quick)
    peer_label = f"{PEER} {versions['mlflow']}" if "mlflow" in versions else PEER
    title = "Tracking: loopml vs " + peer_label + (" (--quick)" if args.quick else "")

    print_table(figures, title=title, peer_name=peer_label, console=out)
    for note in notes:
        if note.startswith("WARNING"):
            out.print(f"[yellow]{note}[/]", highlight=False)
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
