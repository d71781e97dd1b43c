"""Pipelines benchmark: loopml vs DVC on the same 10-step pipeline, and the executors.

    .venv/bin/python bench/pipelines.py [--quick] [--json] [--markdown] [--skip-peer]

Workloads:

- a linear pipeline of 10 trivial steps (each adds 1 to an integer), first run and fully
  cached re-run, each a whole CLI process as a user types it: ``loopml pipeline run
  bench_chain:chain`` after ``loopml init``, vs ``dvc repro`` on the equivalent ``dvc.yaml``
  (10 stages, each ``python step.py K`` reading the previous stage's file) in a fresh
  ``git init`` + ``dvc init`` folder. The cached re-run is the median of 5.
- the engine's overhead per step, in one process (inline executor): ``chain.run()`` with
  ``cache=False`` (every step executes, outputs stored) and fully cached, median of 7, minus
  the time of calling the 10 functions directly, divided by 10.
- a fan-out of 16 CPU-bound items (~0.5 s each, a pure-Python loop calibrated on this
  machine) then a fan-in, ``cache=False``, on ``inline`` vs ``process`` vs ``ray`` wall time.
  The process pool is started inside the timed run (as ``pipeline run`` does); Ray is started
  before timing (its start-up, 5-20 s, is reported separately).

In-process figures come from worker subprocesses of this same script (``--worker``), in the
project's venv. DVC (latest from PyPI) runs from ``bench/.venv-dvc``, created on first use.
Exit status: 0 measured, 1 a worker or a check failed, 2 the peer venv could not be created.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    TIMES,
    Figure,
    Target,
    WorkerError,
    bench_parser,
    command_line,
    emit_report,
    machine_info,
    measure_as_installed,
    median,
    package_version,
    prepare_peer_venv,
    print_table,
    progress,
    project_python,
    report_consoles,
    rmtree_force,
    run_worker,
    time_command,
)

PEER = "DVC"
PEER_VENV = "dvc"
PEER_REQUIREMENTS = ["dvc"]  # latest from PyPI (the same venv bench/data.py uses)
STEPS = 10
WORKER_TIMEOUT_S = 1800.0
FULL = {
    "rerun_repeats": 5,
    "engine_repeats": 7,
    "fan_items": 16,
    "item_seconds": 0.5,
    "fan_rounds": 3,
}
QUICK = {
    "rerun_repeats": 2,
    "engine_repeats": 3,
    "fan_items": 4,
    "item_seconds": 0.2,
    "fan_rounds": 1,
}

CHAIN_MODULE = "bench_chain"
FAN_MODULE = "bench_fan"


def chain_source(steps: int = STEPS) -> str:
    """A module with ``steps`` trivial steps wired in a line by the pipeline ``chain``."""
    lines = ['"""10 trivial steps in a line."""', "", "from loopml import pipeline, step", ""]
    for k in range(steps):
        lines += ["", "@step", f"def s{k}(x: int) -> int:", "    return x + 1", ""]
    lines += ["", "@pipeline", "def chain(x: int = 0) -> None:", "    v = s0(x)"]
    lines += [f"    v = s{k}(v)" for k in range(1, steps)]
    lines += ["", "", "def direct(x: int = 0) -> int:", "    v = x"]
    lines += [f"    v = s{k}.func(v)" for k in range(steps)]
    lines += ["    return v", ""]
    return "\n".join(lines)


FAN_SOURCE = '''"""A fan-out of CPU-bound items, then a fan-in."""

from loopml import pipeline, step


def spin(item: int, loops: int) -> float:
    total = float(item)
    for i in range(loops):
        total += (i * 3) % 7
    return total


@step
def burn(item: int, loops: int) -> float:
    return spin(item, loops)


@step
def gather(values: list[float]) -> float:
    return sum(values)


@pipeline
def fan(items: int = 16, loops: int = 1000) -> None:
    gather(burn.map(list(range(items)), loops=loops))
'''

DVC_STEP = """import sys
k = int(sys.argv[1])
src = "x.txt" if k == 0 else f"out_{k - 1}.txt"
with open(src) as f:
    value = int(f.read())
with open(f"out_{k}.txt", "w") as f:
    f.write(str(value + 1))
"""


def dvc_yaml(python: str, steps: int = STEPS) -> str:
    lines = ["stages:"]
    for k in range(steps):
        dep = "x.txt" if k == 0 else f"out_{k - 1}.txt"
        lines += [
            f"  s{k}:",
            f"    cmd: {python} step.py {k}",
            f"    deps: [step.py, {dep}]",
            f"    outs: [out_{k}.txt]",
        ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- whole processes


def loopml_processes(workdir: Path, repeats: int, say: Callable[[str], None]) -> dict[str, Any]:
    """``loopml pipeline run`` first and cached, as whole processes."""
    workdir.mkdir(parents=True)
    (workdir / f"{CHAIN_MODULE}.py").write_text(chain_source())
    loopml = str(Path(project_python()).parent / "loopml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    time_command([loopml, "init"], cwd=workdir, env=env)
    cmd = [loopml, "pipeline", "run", f"{CHAIN_MODULE}:chain", "--json"]
    say("loopml: first run")
    first, proc = time_command(cmd, cwd=workdir, env=env)
    first_json = json.loads(proc.stdout)
    reruns = []
    cached_counts = []
    for i in range(repeats):
        say(f"loopml: cached re-run {i + 1}/{repeats}")
        seconds, proc = time_command(cmd, cwd=workdir, env=env)
        reruns.append(seconds)
        cached_counts.append(sum(s["cache"] == "hit" for s in json.loads(proc.stdout)["steps"]))
    help_s, _ = time_command([loopml, "--help"], cwd=workdir, env=env)
    last = first_json["steps"][-1]
    return {
        "first_s": first,
        "rerun_s": median(reruns),
        "reruns_s": reruns,
        "help_s": help_s,
        "executed_first": sum(s["cache"] != "hit" for s in first_json["steps"]),
        "cached_rerun": min(cached_counts),
        "last_step": last["name"],
        "command": " ".join(["loopml", *cmd[1:]]),
    }


def dvc_processes(
    workdir: Path, peer_python: Path, repeats: int, say: Callable[[str], None]
) -> dict[str, Any]:
    """``dvc repro`` first and cached, as whole processes, in a git + dvc folder."""
    dvc = str(peer_python.parent / "dvc")
    workdir.mkdir(parents=True)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    for cmd in (
        ["git", "init", "-q"],
        [dvc, "init", "-q"],
        [dvc, "config", "core.analytics", "false"],
        [dvc, "config", "core.check_update", "false"],
        [dvc, "config", "core.autostage", "false"],
        [dvc, "config", "core.site_cache_dir", str(workdir.parent / "dvc-site-cache")],
    ):
        time_command(cmd, cwd=workdir, env=env)
    (workdir / "step.py").write_text(DVC_STEP)
    (workdir / "x.txt").write_text("0")
    (workdir / "dvc.yaml").write_text(dvc_yaml(str(peer_python)))
    say("DVC: first dvc repro")
    first, _ = time_command([dvc, "repro"], cwd=workdir, env=env)
    final = (workdir / f"out_{STEPS - 1}.txt").read_text().strip()
    reruns = []
    skipped = []
    for i in range(repeats):
        say(f"DVC: cached dvc repro {i + 1}/{repeats}")
        seconds, proc = time_command([dvc, "repro"], cwd=workdir, env=env)
        reruns.append(seconds)
        skipped.append((proc.stdout + proc.stderr).count("didn't change, skipping"))
    help_s, _ = time_command([dvc, "--help"], cwd=workdir, env=env)
    return {
        "first_s": first,
        "rerun_s": median(reruns),
        "reruns_s": reruns,
        "help_s": help_s,
        "final_value": final,
        "skipped_rerun": min(skipped),
    }


# --------------------------------------------------------------------------- workers


def _configure(workdir: Path) -> None:
    import loopml

    workdir.mkdir(parents=True, exist_ok=True)
    loopml.configure(
        tracking_uri=f"sqlite:///{workdir / 'loopml.db'}", artifact_uri=str(workdir / "objects")
    )
    sys.path.insert(0, str(workdir))


def worker_engine(workdir: Path, repeats: int) -> dict[str, Any]:
    """Per-step overhead of the engine in this process (inline executor)."""
    _configure(workdir)
    (workdir / f"{CHAIN_MODULE}.py").write_text(chain_source())
    module = __import__(CHAIN_MODULE)
    chain, direct = module.chain, module.direct
    progress("engine: warm-up")
    first = chain.run()
    assert first.output(f"s{STEPS - 1}") == STEPS

    def timed(fn: Any) -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    direct_s = median(timed(direct) for _ in range(max(repeats, 5)))
    uncached = []
    for i in range(repeats):
        progress(f"engine: uncached run {i + 1}/{repeats}")
        uncached.append(timed(lambda: chain.run(cache=False)))
    cached = []
    for i in range(repeats):
        progress(f"engine: cached run {i + 1}/{repeats}")
        cached.append(timed(chain.run))
    check = chain.run()
    return {
        "direct_s": direct_s,
        "uncached_s": median(uncached),
        "cached_s": median(cached),
        "uncached_runs_s": uncached,
        "cached_runs_s": cached,
        "cached_steps": len(check.cached),
        "steps": STEPS,
    }


def _calibrate(item_seconds: float) -> int:
    """Loops of ``burn`` that take ``item_seconds`` on this machine (best of 3, so a busy
    moment does not shorten the items)."""
    loops = 1_000_000
    best = min(_spin(loops) for _ in range(3))
    return int(loops * item_seconds / best)


def _spin(loops: int) -> float:
    t0 = time.perf_counter()
    total = 0.0
    for i in range(loops):
        total += (i * 3) % 7
    return time.perf_counter() - t0


def worker_fanout(workdir: Path, items: int, item_seconds: float, rounds: int) -> dict[str, Any]:
    """Wall time of the same fan-out on inline, process (a new pool, and a started one) and
    ray, interleaved over ``rounds`` rounds; the best round of each counts."""
    from loopml.pipelines.executors.process import ProcessExecutor
    from loopml.pipelines.executors.ray_executor import ensure_ray

    _configure(workdir)
    (workdir / f"{FAN_MODULE}.py").write_text(FAN_SOURCE)
    fan = __import__(FAN_MODULE).fan
    loops = _calibrate(item_seconds)
    out: dict[str, Any] = {"items": items, "loops": loops, "item_seconds": item_seconds}
    progress("fan-out: starting Ray")
    t0 = time.perf_counter()
    ensure_ray()
    out["ray_start_s"] = time.perf_counter() - t0
    fan.run(items=2, loops=1000, executor="ray", cache=False)  # workers import loopml
    out["ray_warmup_s"] = time.perf_counter() - t0
    samples: dict[str, list[float]] = {}
    values: dict[str, set[float]] = {}
    with ProcessExecutor() as pool:
        fan.run(items=2, loops=1000, executor=pool, cache=False)  # workers import loopml
        executors: dict[str, Any] = {
            "inline": "inline",
            "process": "process",
            "process_warm": pool,
            "ray": "ray",
        }
        spin = __import__(FAN_MODULE).spin
        with multiprocessing.get_context("spawn").Pool(os.cpu_count()) as plain:
            plain.starmap(spin, [(0, 10)] * 2)
            for round_ in range(rounds):
                for name, executor in executors.items():
                    progress(f"fan-out round {round_ + 1}/{rounds}: {items} items on {name}")
                    t0 = time.perf_counter()
                    result = fan.run(items=items, loops=loops, executor=executor, cache=False)
                    samples.setdefault(name, []).append(time.perf_counter() - t0)
                    values.setdefault(name, set()).add(result.output("gather"))
                progress(f"fan-out round {round_ + 1}/{rounds}: plain loop and plain Pool")
                args = [(i, loops) for i in range(items)]
                t0 = time.perf_counter()
                serial = sum(spin(*a) for a in args)
                samples.setdefault("plain_serial", []).append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                pooled = sum(plain.starmap(spin, args, chunksize=1))
                samples.setdefault("plain_pool", []).append(time.perf_counter() - t0)
                values.setdefault("plain_serial", set()).add(serial)
                values.setdefault("plain_pool", set()).add(pooled)
    expected = values["inline"]
    for name, times in samples.items():
        out[f"{name}_s"] = min(times)
        out[f"{name}_samples_s"] = times
        out[f"{name}_ok"] = values[name] == expected and len(expected) == 1
    out["rounds"] = rounds
    return out


# --------------------------------------------------------------------------- figures


def build_figures(
    lm: dict[str, Any] | None,
    pe: dict[str, Any] | None,
    engine: dict[str, Any] | None,
    fan: dict[str, Any] | None,
) -> list[Figure]:
    lm, pe = lm or {}, pe or {}
    figures = [
        Figure(
            f"{STEPS}-step pipeline, first run (whole process)",
            "s",
            lm.get("first_s"),
            pe.get("first_s"),
            higher_is_better=False,
            key="first_run",
        ),
        Figure(
            f"{STEPS}-step pipeline, fully cached re-run (whole process, median of "
            f"{len(lm.get('reruns_s', [])) or '?'})",
            "s",
            lm.get("rerun_s"),
            pe.get("rerun_s"),
            higher_is_better=False,
            target=Target("max", 0.5, "≤ 0.5 s"),
            key="cached_rerun",
        ),
        Figure(
            "CLI start-up: --help (loopml / dvc)",
            "s",
            lm.get("help_s"),
            pe.get("help_s"),
            higher_is_better=False,
            key="help",
        ),
    ]
    if engine:
        steps = engine["steps"]
        for kind, label in (("uncached", "executed, cache=False"), ("cached", "cache hit")):
            per_step = (engine[f"{kind}_s"] - engine["direct_s"]) / steps * 1000
            figures.append(
                Figure(
                    f"engine overhead per step, in-process, inline ({label})",
                    "ms",
                    per_step,
                    None,
                    higher_is_better=False,
                    target=Target("max", 5.0, "≤ 5 ms"),
                    key=f"engine_{kind}",
                )
            )
    if fan:
        n, sec = fan["items"], fan["item_seconds"]
        labels = {"process_warm": "process, pool already started"}
        for name in ("inline", "process", "process_warm", "ray"):
            if f"{name}_s" in fan:
                figures.append(
                    Figure(
                        f"fan-out {n} {TIMES} {sec:g} s CPU + fan-in on "
                        f"{labels.get(name, name)} (wall)",
                        "s",
                        fan[f"{name}_s"],
                        None,
                        higher_is_better=False,
                        key=f"fan_{name}",
                    )
                )
        if "plain_pool_s" in fan:
            figures.append(
                Figure(
                    "  … reference: the same items, plain loop ÷ plain multiprocessing.Pool "
                    "(no loopml), speed-up this machine gave now",
                    TIMES,
                    fan["plain_serial_s"] / fan["plain_pool_s"],
                    None,
                    higher_is_better=True,
                    key="fan_plain_speedup",
                )
            )
        for name in ("process", "process_warm", "ray"):
            if f"{name}_s" in fan:
                figures.append(
                    Figure(
                        f"  … {labels.get(name, name)}: speed-up over inline",
                        TIMES,
                        fan["inline_s"] / fan[f"{name}_s"],
                        None,
                        higher_is_better=True,
                        target=Target("min", 1.7, f"≈ 2{TIMES} (≥ 1.7{TIMES})"),
                        key=f"fan_{name}_speedup",
                    )
                )
    return figures


def notes_for(
    lm: dict[str, Any] | None,
    pe: dict[str, Any] | None,
    engine: dict[str, Any] | None,
    fan: dict[str, Any] | None,
) -> list[str]:
    notes = [
        "Whole-process rows: each tool in its own fresh folder on the same disk; loopml after "
        "`loopml init` (SQLite + local objects), DVC after `git init` + `dvc init` "
        "(analytics and update checks off). Each DVC stage runs "
        "`python step.py K` (a new interpreter, ~20 ms) and declares its script and the "
        "previous file as deps; each loopml step is an in-process function (int in, int out, "
        "JSON materializer), its run recorded as a child run with params, logs and lineage.",
    ]
    if lm:
        notes.append(
            f"loopml: `{lm['command']}`; first run executed {lm['executed_first']} steps, each "
            f"re-run served {lm['cached_rerun']} of {STEPS} from the cache; re-runs "
            + ", ".join(f"{s * 1000:.0f} ms" for s in lm["reruns_s"])
            + "."
        )
    if pe:
        notes.append(
            f"DVC: `dvc repro`; final value {pe['final_value']} (expected {STEPS}); each "
            f"re-run skipped {pe['skipped_rerun']} of {STEPS} stages; re-runs "
            + ", ".join(f"{s * 1000:.0f} ms" for s in pe["reruns_s"])
            + "."
        )
    if engine:
        notes.append(
            f"Engine rows: `chain.run(cache=False)` {engine['uncached_s'] * 1000:.0f} ms and "
            f"`chain.run()` (all {engine['cached_steps']} steps cached) "
            f"{engine['cached_s'] * 1000:.0f} ms for {STEPS} steps (median of "
            f"{len(engine['cached_runs_s'])}), minus {engine['direct_s'] * 1e6:.1f} µs for "
            "calling the plain functions; SQLite store, local object folder."
        )
    if fan:
        ray = ""
        if "ray_start_s" in fan:
            ray = (
                f" Ray was started before timing (ray.init {fan['ray_start_s']:.1f} s, "
                f"+ warm-up task {fan['ray_warmup_s'] - fan['ray_start_s']:.1f} s), "
                "as a long-lived cluster would be."
            )
        rounds = ", ".join(
            f"{n} " + "/".join(f"{t:.2f}" for t in fan[f"{n}_samples_s"])
            for n in ("inline", "process", "process_warm", "ray", "plain_serial", "plain_pool")
            if f"{n}_samples_s" in fan
        )
        notes.append(
            f"Fan-out: `burn.map(range({fan['items']}), loops={fan['loops']:,})` then `gather`, "
            "cache=False, on each executor in turn, "
            f"{fan['rounds']} rounds; the best round of each counts (other work on a shared "
            f"2-core machine steals CPU from the parallel runs most). All rounds, s: {rounds}. "
            "'process' starts its pool of spawned workers inside the timed run (as "
            "`loopml pipeline run --executor process` does); 'pool already started' reuses one "
            f"pool, {os.cpu_count()} workers.{ray} Same result on every executor: "
            + ", ".join(
                f"{n} {'ok' if fan.get(f'{n}_ok') else 'MISMATCH'}"
                for n in ("inline", "process", "process_warm", "ray", "plain_serial", "plain_pool")
                if f"{n}_s" in fan
            )
            + "."
        )
    return notes


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(
        "bench/pipelines.py",
        "Pipelines benchmark: loopml vs DVC (10-step pipeline), and executors.",
        "DVC",
        quick_help="fewer repeats, a small fan-out",
    )
    parser.add_argument("--worker", choices=["engine", "fanout"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_as_worker(args: argparse.Namespace) -> int:
    sizes = QUICK if args.quick else FULL
    workdir = Path(args.dir)
    if args.worker == "engine":
        result = worker_engine(workdir, int(sizes["engine_repeats"]))
    else:
        result = worker_fanout(
            workdir,
            int(sizes["fan_items"]),
            float(sizes["item_seconds"]),
            int(sizes["fan_rounds"]),
        )
    print(json.dumps(result))
    sys.stdout.flush()
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        sys.modules["ray"].shutdown()  # stops every Ray process this worker started
    return 0


def main(argv: list[str] | None = None) -> int:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    args = parse_args(argv)
    if args.worker:
        return run_as_worker(args)
    measure_as_installed()
    sizes = QUICK if args.quick else FULL
    err, out = report_consoles(args.json)
    meta: dict[str, Any] = {
        "benchmark": "pipelines",
        "command": command_line(),
        **machine_info(),
        "mode": "quick" if args.quick else "full",
        "sizes": sizes,
    }
    results: dict[str, dict[str, Any] | None] = {"loopml": None, "dvc": None}
    engine: dict[str, Any] | None = None
    fan: dict[str, Any] | None = None
    failures: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="loopml-bench-pipelines-"))
    me = Path(__file__).resolve()
    quick = ["--quick"] if args.quick else []
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            peer_python: Path | None = None
            if not args.skip_peer:
                peer_python = prepare_peer_venv(bar, err, PEER, PEER_VENV, PEER_REQUIREMENTS)
                if peer_python is None:
                    return 2
            task = bar.add_task("loopml: whole processes")
            try:
                results["loopml"] = loopml_processes(
                    tmp / "loopml",
                    int(sizes["rerun_repeats"]),
                    lambda text, t=task: bar.update(t, description=text),
                )
            except (RuntimeError, ValueError, KeyError) as exc:
                failures.append("loopml processes")
                bar.console.print(f"[bold red]loopml processes failed:[/] {exc}", highlight=False)
            bar.remove_task(task)
            if peer_python is not None:
                task = bar.add_task("DVC: whole processes")
                try:
                    results["dvc"] = dvc_processes(
                        tmp / "dvc",
                        peer_python,
                        int(sizes["rerun_repeats"]),
                        lambda text, t=task: bar.update(t, description=text),
                    )
                except (RuntimeError, OSError) as exc:
                    failures.append("DVC processes")
                    bar.console.print(f"[bold red]DVC failed:[/] {exc}", highlight=False)
                bar.remove_task(task)
            for kind in ("engine", "fanout"):
                task = bar.add_task(f"{kind}: starting")
                try:
                    value = run_worker(
                        project_python(),
                        me,
                        ["--worker", kind, "--dir", str(tmp / kind), *quick],
                        on_progress=lambda text, t=task: bar.update(t, description=text),
                        timeout=WORKER_TIMEOUT_S,
                    )
                except WorkerError as exc:
                    failures.append(kind)
                    bar.console.print(f"[bold red]{kind} worker failed:[/] {exc}")
                    bar.console.print(exc.stderr_tail, markup=False, highlight=False)
                    value = None
                if kind == "engine":
                    engine = value
                else:
                    fan = value
                bar.remove_task(task)
    finally:
        rmtree_force(tmp)

    lm, pe = results["loopml"], results["dvc"]
    if lm and (lm["executed_first"] != STEPS or lm["cached_rerun"] != STEPS):
        failures.append("check loopml: steps executed/cached")
    if pe and (pe["final_value"] != str(STEPS) or pe["skipped_rerun"] != STEPS):
        failures.append("check DVC: final value / stages skipped")
    if engine and engine["cached_steps"] != STEPS:
        failures.append("check engine: cached steps")
    if fan and not all(v for k, v in fan.items() if k.endswith("_ok")):
        failures.append("check fan-out: results differ")

    versions = {"loopml": package_version(project_python(), "loopml") or "?"}
    ray_version = package_version(project_python(), "ray")
    if ray_version:
        versions["ray"] = ray_version
    if peer_python is not None:
        versions["dvc"] = package_version(peer_python, "dvc") or "?"
    meta["versions"] = versions
    figures = build_figures(lm, pe, engine, fan)
    notes = notes_for(lm, pe, engine, fan)
    peer_label = f"{PEER} {versions['dvc']}" if "dvc" in versions else PEER
    title = "Pipelines: loopml vs " + peer_label + (" (--quick)" if args.quick else "")
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
        raw={"loopml": lm, "dvc": pe, "engine": engine, "fan": fan} if args.json else None,
        failures=failures,
    )


if __name__ == "__main__":
    if shutil.which("git") is None:
        sys.exit("bench/pipelines.py needs git on PATH")
    sys.exit(main())
