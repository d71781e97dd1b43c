"""Shared helpers for loopml's benchmarks.

Every benchmark compares loopml with a peer tool on the same machine in one invocation.
Each tool's workload runs in its own worker subprocess (the peer inside a bench venv that
:func:`ensure_venv` creates next to this file), and prints one JSON object as its last
line of stdout; :func:`run_worker` runs it and returns that object. :class:`Figure` rows
carry both tools' numbers, the target, and PASS/FAIL; :func:`print_table`,
:func:`figures_markdown` and :func:`figures_json` render them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORKERS_DIR = BENCH_DIR / "workers"
TIMES = "\N{MULTIPLICATION SIGN}"
PROGRESS_PREFIX = "@@progress "
"""Workers print ``@@progress <text>`` lines on stderr; :func:`run_worker` relays them."""


# --------------------------------------------------------------------------- venvs


class BenchSetupError(RuntimeError):
    """A bench venv could not be created; ``output_tail`` holds the end of pip's output."""

    def __init__(self, message: str, output_tail: str = "") -> None:
        super().__init__(message)
        self.output_tail = output_tail


def project_python() -> Path:
    """The interpreter of the project's own venv (falls back to the running one)."""
    candidate = REPO_DIR / ".venv" / "bin" / "python"
    return candidate if candidate.exists() else Path(sys.executable)


def _base_python() -> str:
    """The base interpreter behind the running one, so bench venvs use the same Python."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return base if Path(base).exists() else sys.executable


def ensure_venv(
    name: str,
    requirements: Sequence[str],
    *,
    on_line: Callable[[str], None] | None = None,
) -> Path:
    """Create (or reuse) ``bench/.venv-<name>`` with ``requirements`` installed.

    Idempotent: a stamp file records the requirement list and the base Python; when both are
    unchanged and the interpreter exists, the venv is reused as is. Returns the venv's python.
    Raises :class:`BenchSetupError` with the tail of pip's output when creation fails.
    """
    venv = BENCH_DIR / f".venv-{name}"
    python = venv / "bin" / "python"
    stamp = venv / ".bench-stamp.json"
    wanted = {"requirements": sorted(requirements), "base_python": _base_python()}
    if python.exists() and stamp.exists():
        try:
            if json.loads(stamp.read_text()) == wanted:
                return python
        except (OSError, ValueError):
            pass
    if venv.exists():
        shutil.rmtree(venv)
    tail: deque[str] = deque(maxlen=40)

    def run(cmd: list[str]) -> int:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            tail.append(line)
            if on_line is not None and line:
                on_line(line)
        return proc.wait()

    if run([_base_python(), "-m", "venv", str(venv)]) != 0:
        raise BenchSetupError(f"python -m venv {venv} failed", "\n".join(tail))
    if run([str(python), "-m", "pip", "install", "--progress-bar", "off", *requirements]) != 0:
        shutil.rmtree(venv, ignore_errors=True)
        raise BenchSetupError(
            f"pip install {' '.join(requirements)} failed in {venv}", "\n".join(tail)
        )
    stamp.write_text(json.dumps(wanted, indent=2))
    return python


def prepare_peer_venv(
    bar: Any, err: Any, peer: str, venv: str, requirements: Sequence[str]
) -> Path | None:
    """``ensure_venv`` with a progress line on ``bar``; on failure print pip's tail to ``err``
    and return None (the caller exits 2)."""
    task = bar.add_task(f"{peer}: preparing bench/.venv-{venv}")
    try:
        python = ensure_venv(
            venv,
            requirements,
            on_line=lambda line: bar.update(task, description=f"{peer} venv: {line[:90]}"),
        )
    except BenchSetupError as exc:
        bar.stop()
        err.print(f"[bold red]error:[/] {exc}")
        err.print(exc.output_tail, markup=False, highlight=False)
        return None
    bar.remove_task(task)
    return python


def package_version(python: Path, distribution: str) -> str | None:
    """Installed version of ``distribution`` in the interpreter ``python`` (None if absent)."""
    code = (
        "import importlib.metadata as m, sys\n"
        f"try: print(m.version({distribution!r}))\n"
        "except m.PackageNotFoundError: sys.exit(1)\n"
    )
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


# --------------------------------------------------------------------------- workers


class WorkerError(RuntimeError):
    """A worker subprocess failed or printed no JSON; ``stderr_tail`` says why."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


def run_worker(
    python: Path | str,
    script_path: Path | str,
    args: Sequence[str] = (),
    *,
    env: dict[str, str] | None = None,
    cwd: Path | str | None = None,
    on_progress: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run ``python script_path *args`` and return the JSON object it prints last on stdout.

    Lines the worker prints on stderr that start with :data:`PROGRESS_PREFIX` go to
    ``on_progress``; the rest are kept, and their tail is reported if the worker fails.
    """
    cmd = [str(python), str(script_path), *args]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    err_tail: deque[str] = deque(maxlen=60)

    def pump_stderr() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.rstrip("\n")
            if line.startswith(PROGRESS_PREFIX):
                if on_progress is not None:
                    on_progress(line[len(PROGRESS_PREFIX) :])
            else:
                err_tail.append(line)

    reader = threading.Thread(target=pump_stderr, daemon=True)
    reader.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        reader.join(timeout=5)
        raise WorkerError(f"{' '.join(cmd)} timed out", "\n".join(err_tail)) from None
    reader.join(timeout=5)
    if code != 0:
        raise WorkerError(f"{' '.join(cmd)} exited with {code}", "\n".join(err_tail))
    for raw in reversed(out.strip().splitlines()):
        line = raw.strip()
        if line.startswith("{"):
            try:
                result = json.loads(line)
            except ValueError:
                continue
            if isinstance(result, dict):
                return result
    raise WorkerError(f"{' '.join(cmd)} printed no JSON object", "\n".join(err_tail))


def run_slots(
    bar: Any,
    workers: Sequence[tuple[str, Path | str, Path | str]],
    args_for: Callable[[str], list[str]],
    *,
    peer: str,
    results: dict[str, dict[str, Any] | None],
    failures: list[str],
    timeout: float | None = None,
) -> None:
    """Run each ``(slot, python, script)`` worker in turn with ``args_for(slot)``, showing
    its progress on ``bar``; put its JSON in ``results[slot]``, or its label in ``failures``
    (with the tail of its stderr printed) when it fails."""
    for slot, python, script in workers:
        label = "loopml" if slot == "loopml" else peer
        task = bar.add_task(f"{label}: starting")
        try:
            results[slot] = run_worker(
                python,
                script,
                args_for(slot),
                on_progress=lambda text, t=task, n=label: bar.update(t, description=f"{n}: {text}"),
                timeout=timeout,
            )
        except WorkerError as exc:
            failures.append(label)
            bar.console.print(f"[bold red]{label} worker failed:[/] {exc}")
            bar.console.print(exc.stderr_tail, markup=False, highlight=False)
        bar.remove_task(task)


def progress(text: str) -> None:
    """For workers: tell the parent what is running now (relayed to its progress bar)."""
    print(PROGRESS_PREFIX + text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- timing


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``; also usable as ``t.start()/t.stop()``."""

    def __init__(self) -> None:
        self._start = 0.0
        self.seconds = 0.0

    def start(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def stop(self) -> float:
        self.seconds = time.perf_counter() - self._start
        return self.seconds

    def __enter__(self) -> Timer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def median(values: Iterable[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def repeat_median(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall seconds of ``fn()`` over ``repeats`` runs after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return median(times)


def command_wall_median(cmd: Sequence[str], repeats: int = 5) -> float:
    """Median wall seconds of running ``cmd`` ``repeats`` times; raises if it ever fails."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} exited with {proc.returncode}: {proc.stderr.strip()[-1500:]}"
            )
    return median(times)


def bench_parser(
    prog: str, description: str, peer: str, *, quick_help: str = "small sizes, for a smoke test"
) -> argparse.ArgumentParser:
    """The options every benchmark takes: --quick, --json, --markdown, --skip-peer."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--json", action="store_true", help="print all figures as JSON")
    parser.add_argument(
        "--markdown", action="store_true", help="print a section for docs/benchmarks.md"
    )
    parser.add_argument(
        "--skip-peer", action="store_true", help=f"run loopml only (no {peer}, no bench venv)"
    )
    return parser


def report_consoles(as_json: bool, *, width: int = 132) -> tuple[Any, Any]:
    """``(err, out)``: progress goes to stderr, the report to stdout (to stderr too with
    ``--json``, which keeps stdout for the JSON); both at least ``width`` wide when not a
    terminal, so tables are not wrapped in logs."""
    from rich.console import Console

    err = Console(stderr=True)
    out = err if as_json else Console()
    for console in (err, out):
        if not console.is_terminal:
            console.width = max(console.width, width)
    return err, out


def measure_as_installed() -> None:
    """Run loopml as installed: with bytecode caches. A source checkout run with
    PYTHONDONTWRITEBYTECODE=1 would recompile loopml's modules in every fresh process,
    while a peer's come precompiled from its wheel. Child processes inherit this."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def time_command(
    cmd: Sequence[str],
    *,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall seconds of one run of ``cmd`` as a whole process (what a user types), and its result.

    Output is captured (not shown). With ``check``, a non-zero exit raises ``RuntimeError``
    carrying the tail of the command's output.
    """
    t0 = time.perf_counter()
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False, cwd=cwd, env=env)
    seconds = time.perf_counter() - t0
    if check and proc.returncode != 0:
        tail = (proc.stdout.strip() + "\n" + proc.stderr.strip()).strip()[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{tail}")
    return seconds, proc


def rmtree_force(path: Path | str) -> None:
    """Remove a tree even where tools left read-only files or folders (cache objects)."""

    def make_writable_and_retry(func: Callable[..., Any], target: str, _exc: object) -> None:
        for item in (os.path.dirname(target), target):
            with contextlib.suppress(OSError):
                os.chmod(item, stat.S_IRWXU)
        func(target)

    if not os.path.lexists(path):
        return
    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=make_writable_and_retry)
        else:
            shutil.rmtree(path, onerror=make_writable_and_retry)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- figures


@dataclass
class Target:
    """What loopml must reach on one figure.

    ``kind``: ``"ratio_min"`` (ratio, oriented so >1 means loopml better, must be >= value),
    ``"max"`` (loopml's figure must be <= value) or ``"min"`` (loopml's figure >= value).
    """

    kind: str
    value: float
    text: str

    def check(self, loopml: float | None, ratio: float | None) -> bool | None:
        subject = ratio if self.kind == "ratio_min" else loopml
        if subject is None or math.isnan(subject):
            return None
        if self.kind in ("ratio_min", "min"):
            return subject >= self.value
        return subject <= self.value


@dataclass
class Figure:
    """One row: a workload measured for loopml and the peer, in the same unit."""

    workload: str
    unit: str
    loopml: float | None
    peer: float | None
    higher_is_better: bool
    target: Target | None = None
    note: str = ""
    key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """loopml vs peer, oriented so that >1 means loopml is better."""
        a, b = self.loopml, self.peer
        if a is None or b is None or a <= 0 or b <= 0:
            return None
        return a / b if self.higher_is_better else b / a

    @property
    def passed(self) -> bool | None:
        return None if self.target is None else self.target.check(self.loopml, self.ratio)


def fmt_value(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == TIMES:
        return f"{value:.2f}{TIMES}"
    if unit == "s" and value < 1:
        return f"{value * 1000:.3g} ms"
    if unit == "ms" and value < 1:
        return f"{value * 1000:.3g} µs"
    if unit == "µs" and value >= 1000:
        return f"{value / 1000:.3g} ms"
    if abs(value) >= 10000:
        return f"{value / 1000:,.1f}k {unit}"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    if ratio >= 100:
        return f"{ratio:,.0f}{TIMES}"
    return f"{ratio:.3g}{TIMES}"


def _verdict(passed: bool | None) -> str:
    return "—" if passed is None else ("PASS" if passed else "FAIL")


def print_table(
    figures: Sequence[Figure],
    *,
    title: str,
    peer_name: str,
    console: Any = None,
) -> None:
    """Render the figures as a Rich table: workload, loopml, peer, ratio, target, verdict."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=title, show_lines=False)
    table.add_column("workload")
    table.add_column("loopml", justify="right")
    table.add_column(peer_name, justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("target")
    table.add_column("", justify="center")
    for f in figures:
        verdict = _verdict(f.passed)
        style = {"PASS": "green", "FAIL": "bold red"}.get(verdict, "dim")
        table.add_row(
            f.workload + (f" [dim]({f.note})[/dim]" if f.note else ""),
            fmt_value(f.loopml, f.unit),
            fmt_value(f.peer, f.unit),
            fmt_ratio(f.ratio),
            f.target.text if f.target else "",
            f"[{style}]{verdict}[/{style}]",
        )
    console.print(table)
    console.print(f"[dim]ratio: >1{TIMES} means loopml is better (faster, more throughput).[/dim]")


def machine_info() -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def command_line() -> str:
    """The command line that ran this benchmark, as a user would type it from the repo root."""
    script = Path(sys.argv[0])
    with contextlib.suppress(ValueError):
        script = script.resolve().relative_to(REPO_DIR)
    python = Path(sys.executable)
    try:
        python = python.relative_to(REPO_DIR)
    except ValueError:
        try:
            python = Path(sys.executable).absolute().relative_to(REPO_DIR)
        except ValueError:
            python = Path(python.name)
    return " ".join([str(python), str(script), *sys.argv[1:]])


def figures_json(figures: Sequence[Figure], meta: dict[str, Any]) -> str:
    rows = []
    for f in figures:
        row = asdict(f)
        row["ratio"] = f.ratio
        row["passed"] = f.passed
        rows.append(row)
    return json.dumps({"meta": meta, "figures": rows}, indent=2, default=str)


def figures_markdown(
    figures: Sequence[Figure],
    *,
    title: str,
    peer_name: str,
    meta: dict[str, Any],
    notes: Sequence[str] = (),
) -> str:
    """A section ready to paste into docs/benchmarks.md."""
    lines = [f"## {title}", ""]
    lines.append(f"Command: `{meta.get('command', command_line())}`  ")
    lines.append(
        f"Date: {meta.get('date')} · CPUs: {meta.get('cpu_count')} ({meta.get('cpu_model')}) · "
        f"Python {meta.get('python')} · {meta.get('platform')} · "
        f"load average at start {meta.get('load_avg_1m_at_start')}  "
    )
    versions = meta.get("versions", {})
    if versions:
        lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    lines.append("")
    lines.append(f"| workload | loopml | {peer_name} | ratio | target | |")
    lines.append("| --- | ---: | ---: | ---: | --- | :---: |")
    for f in figures:
        workload = f.workload + (f" ({f.note})" if f.note else "")
        lines.append(
            f"| {workload} | {fmt_value(f.loopml, f.unit)} | {fmt_value(f.peer, f.unit)} | "
            f"{fmt_ratio(f.ratio)} | {f.target.text if f.target else ''} | "
            f"{_verdict(f.passed)} |"
        )
    lines.append("")
    lines.append(f"Ratio: >1{TIMES} means loopml is better (faster, or more throughput).")
    for note in notes:
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def emit_report(
    out: Any,
    err: Any,
    figures: Sequence[Figure],
    *,
    title: str,
    peer_name: str,
    meta: dict[str, Any],
    notes: Sequence[str],
    markdown: bool,
    raw: dict[str, Any] | None,
    failures: Sequence[str],
) -> int:
    """The tail every bench shares after its table: the markdown section (``--markdown``),
    the figures as JSON with ``raw`` (``--json``, raw not None), and the failures; the exit
    status (1 if anything failed)."""
    if markdown:
        out.print()
        out.print(
            figures_markdown(figures, title=title, peer_name=peer_name, meta=meta, notes=notes),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if raw is not None:
        meta["raw"] = raw
        print(figures_json(figures, meta))
    if failures:
        err.print(f"[bold red]failed:[/] {', '.join(failures)}", highlight=False)
        return 1
    return 0
