"""Data-versioning benchmark: loopml vs DVC, same data, same disk, one run.

    .venv/bin/python bench/data.py [--quick] [--json] [--markdown] [--skip-peer]

Workloads, each a whole CLI process as a user types it, each tool in its own fresh work
folder (a copy of the same deterministic data): init; add of one 1 GiB file; add of a folder
of 20,000 files of 4 KiB; status with no change (median of 3); status after changing one
small file; re-add after that change; push of the folder, then of the big file, to a
local-folder remote; ``rm -rf`` the folder and check it out again. Then, untimed, checks that
each tool did the work (store and remote sizes, status verdicts, the checkout byte-identical
to the changed folder). Also the physical limits on the same files, in one process:
``cat big.bin > /dev/null``, BLAKE3 over it (multi-threaded mmap and one thread), and
listing + reading + hashing every small file.

DVC (latest from PyPI) runs from ``bench/.venv-dvc``, which this script creates on first use
and reuses while its requirements are unchanged. Needs ~12 GiB free in the temp folder
(``TMPDIR``); everything is removed at the end, also on Ctrl-C.
Exit status: 0 measured, 1 a worker or a correctness check failed, 2 setup failed (disk,
peer venv).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    TIMES,
    WORKERS_DIR,
    Figure,
    Target,
    WorkerError,
    bench_parser,
    command_line,
    figures_json,
    figures_markdown,
    fmt_value,
    machine_info,
    measure_as_installed,
    median,
    prepare_peer_venv,
    print_table,
    project_python,
    report_consoles,
    rmtree_force,
    run_worker,
)

PEER = "DVC"
PEER_VENV = "dvc"
PEER_REQUIREMENTS = ["dvc"]  # latest from PyPI

GIB = 1 << 30
MIB = 1 << 20
FULL_SIZES: dict[str, int] = {"big_bytes": GIB, "files": 20_000, "file_bytes": 4096}
QUICK_SIZES: dict[str, int] = {"big_bytes": 64 * MIB, "files": 2_000, "file_bytes": 4096}
FILES_PER_DIR = 1_000
FREE_GIB_NEEDED = {"full": 12, "quick": 2}
BIG_SEED, FILES_SEED = 1, 2
WORKER_TIMEOUT_S = 3600.0
REFLINK_FS = {"btrfs", "xfs", "bcachefs", "ocfs2", "apfs"}


@dataclass
class CheckedFigure(Figure):
    """A figure whose verdict is FAIL when loopml's correctness check for it failed."""

    check_failed: bool = False

    @property
    def passed(self) -> bool | None:
        if self.check_failed:
            return False
        return super().passed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(
        "bench/data.py",
        "Data-versioning benchmark: loopml vs DVC, same data, one run.",
        "DVC",
        quick_help="64 MiB and 2,000 files, for a smoke test",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="whole sequences per tool, interleaved (default 3; 1 with --quick): every "
        "figure is the median of its rounds",
    )
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- data


def small_file_path(i: int) -> str:
    """Path under ``files/`` of small file ``i``: 1,000 files per subfolder."""
    return f"d{i // FILES_PER_DIR:03d}/f{i:06d}.bin"


def generate_data(src: Path, sizes: dict[str, int], on_progress: Any) -> None:
    """Deterministic random bytes: the same data on every run and for both tools."""
    big_rng = random.Random(BIG_SEED)
    total = sizes["big_bytes"]
    with (src / "big.bin").open("wb") as f:
        for start in range(0, total, 64 * MIB):
            on_progress(f"writing big.bin: {start / MIB:,.0f} / {total / MIB:,.0f} MiB")
            end = min(start + 64 * MIB, total)
            for pos in range(start, end, MIB):
                f.write(big_rng.randbytes(min(MIB, end - pos)))
    files_rng = random.Random(FILES_SEED)
    n = sizes["files"]
    on_progress(f"writing {n:,} files of {sizes['file_bytes']:,} bytes")
    for i in range(n):
        path = src / "files" / small_file_path(i)
        if i % FILES_PER_DIR == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files_rng.randbytes(sizes["file_bytes"]))
    os.sync()


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def fs_type(path: Path) -> str:
    """The file system type of the mount that holds ``path`` (from /proc/mounts)."""
    best, kind = "", "?"
    target = str(path.resolve())
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) < 3:
                continue
            mount = fields[1]
            inside = target == mount or target.startswith(mount.rstrip("/") + "/")
            if inside and len(mount) >= len(best):
                best, kind = mount, fields[2]
    except OSError:
        pass
    return kind


def mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024 / GIB
    except (OSError, ValueError, IndexError):
        pass
    return None


def loopml_data_available(python: Path) -> tuple[bool, str]:
    """Whether ``loopml data --help`` exits 0 (the command group exists)."""
    exe = python.parent / "loopml"
    if not exe.exists():
        return False, f"{exe} does not exist"
    proc = subprocess.run([str(exe), "data", "--help"], capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return True, ""
    return False, (proc.stdout + proc.stderr).strip()[-300:]


# --------------------------------------------------------------------------- figures


def build_figures(
    lm: dict[str, Any] | None, pe: dict[str, Any] | None, sizes: dict[str, int]
) -> list[CheckedFigure]:
    def row(
        key: str, workload: str, target: Target | None = None, peer_key: str | None = None
    ) -> CheckedFigure:
        lm_checks = (lm or {}).get("checks", {})
        pe_checks = (pe or {}).get("checks", {})
        lm_bad = key in lm_checks and not lm_checks[key]["ok"]
        pe_bad = key in pe_checks and not pe_checks[key]["ok"]
        flagged = (("loopml check FAILED", lm_bad), ("DVC check FAILED", pe_bad))
        notes = [text for text, bad in flagged if bad]
        return CheckedFigure(
            workload=workload,
            unit="s",
            loopml=(lm or {}).get(f"{key}_s"),
            peer=(pe or {}).get(f"{peer_key or key}_s"),
            higher_is_better=False,
            target=target,
            note="; ".join(notes),
            key=key,
            check_failed=lm_bad,
        )

    big = fmt_size(sizes["big_bytes"])
    n = f"{sizes['files']:,} {TIMES} {sizes['file_bytes'] // 1024} KiB"
    rows = [
        row("init", "init (loopml init / git init + dvc init)"),
        row("add_big", f"add one {big} file", Target("ratio_min", 4, f"≥ 4{TIMES}")),
        row("add_files", f"add a folder of {n}", Target("ratio_min", 5, f"≥ 5{TIMES}")),
        row(
            "status_unchanged",
            "status, no change (median of 3)",
            Target("max", 0.3, "≤ 0.3 s"),
        ),
        row("status_changed", "status after changing one small file"),
        row("readd", "re-add the folder after that change"),
        row(
            "push_files",
            "push the folder to a local-folder remote",
            Target("ratio_min", 5, f"≥ 5{TIMES}"),
        ),
        row("push_big", f"push the {big} file to the same remote"),
        row(
            "checkout",
            "checkout the folder after rm -rf",
            Target("ratio_min", 5, f"≥ 5{TIMES}"),
        ),
        row(
            "checkout_copy",
            "checkout, both copying (loopml --link copy)",
            peer_key="checkout",
        ),
    ]
    rows += [
        row(
            "add_files_hardlink",
            "add the folder, both hardlinking (loopml --link hardlink / DVC cache.type=hardlink)",
        ),
        row("checkout_hardlink", "checkout after rm -rf, both hardlinking"),
    ]
    if pe and "add_big_hardlink_s" in pe:
        extra = row("add_big", f"add one {big} file vs DVC cache.type=hardlink")
        extra.peer = pe["add_big_hardlink_s"]
        extra.key = "add_big_vs_hardlink"
        if not pe.get("add_big_hardlink_ok", True):
            extra.note = "DVC check FAILED"
        rows.append(extra)
    return rows


def fmt_size(n: int) -> str:
    return f"{n / GIB:g} GiB" if n >= GIB else f"{n / MIB:g} MiB"


def limit_rows(limits: dict[str, Any] | None, sizes: dict[str, int]) -> list[tuple[str, str, str]]:
    if not limits:
        return []
    big = fmt_size(sizes["big_bytes"])
    n = limits["files"]

    def gbps(key: str) -> str:
        return f"{limits[key + '_gbps']:.2f} GB/s"

    def fps(key: str) -> str:
        return f"{n / limits[key]:,.0f} files/s"

    return [
        (f"`cat big.bin > /dev/null` ({big})", fmt_value(limits["cat_s"], "s"), gbps("cat")),
        ("read it in 1 MiB chunks (Python)", fmt_value(limits["read_s"], "s"), gbps("read")),
        (
            "BLAKE3 of it, multi-threaded, `update_mmap`",
            fmt_value(limits["blake3_mt_s"], "s"),
            gbps("blake3_mt"),
        ),
        (
            "BLAKE3 of it, one thread, 1 MiB chunks",
            fmt_value(limits["blake3_st_s"], "s"),
            gbps("blake3_st"),
        ),
        (
            f"list + read + BLAKE3 {n:,} small files, {limits['threads']} threads",
            fmt_value(limits["small_pool_s"], "s"),
            fps("small_pool_s"),
        ),
        (
            f"list + read + BLAKE3 {n:,} small files, one thread",
            fmt_value(limits["small_serial_s"], "s"),
            fps("small_serial_s"),
        ),
    ]


def notes_for(
    lm: dict[str, Any] | None,
    pe: dict[str, Any] | None,
    limits: dict[str, Any] | None,
    meta: dict[str, Any],
    quick: bool,
) -> list[str]:
    rounds = meta.get("rounds", 1)
    notes = [
        f"Every figure is one whole CLI process (what a user types): the median of {rounds} "
        "rounds, each a whole sequence per tool in a fresh folder, the tools taking turns "
        "and alternating which goes first (the unchanged status is itself the median of 3 "
        "per round). Each tool works in its own fresh folder holding a "
        "copy of the same deterministic random data, on the same disk "
        f"({meta['tmp_fs']}, temp folder); the files are warm in the page cache for both "
        "tools (the cache is not dropped), and both run in that same state.",
        "The small files sit in subfolders of 1,000; the change rewrites one of them with "
        "new bytes of the same size.",
        "Status and push are scoped to the folder on both sides: `dvc status files.dvc` / "
        "`dvc push files.dvc` (then `dvc push big.bin.dvc`) vs `loopml data status files` / "
        "`loopml data push files --remote …` (then `… push big …`). The remote is a local "
        "folder on the same disk.",
    ]
    if pe:
        notes.append(
            "DVC: `git init` + `dvc init`, `core.analytics false`, `core.check_update false`, "
            f"`core.autostage false`, cache.type {pe.get('dvc_cache_type')}, so DVC "
            f"{'can reflink' if meta['tmp_fs'] in REFLINK_FS else 'copies'} on "
            f"{meta['tmp_fs']}; site cache inside the work folder."
        )
    if lm:
        said = (lm.get("outputs") or {}).get("checkout", "").splitlines()
        notes.append(
            "loopml's checkout default is `--link auto`: reflink where the file system can, "
            "else hardlink (read-only files), else copy"
            + (f"; it said: “{said[-1].strip()}”" if said else "")
            + ". The 'both copying' row times `--link copy` against DVC's copy."
        )
    if rounds > 1:
        keys = ("add_files", "push_files", "checkout", "add_files_hardlink", "checkout_hardlink")
        parts = []
        for key in keys:
            got = [
                f"{tool} " + "/".join(f"{v:.2f}" for v in (res or {}).get(f"{key}_rounds", []))
                for tool, res in (("loopml", lm), ("DVC", pe))
                if (res or {}).get(f"{key}_rounds")
            ]
            if got:
                parts.append(f"{key}: " + ", ".join(got))
        notes.append("Every round, s: " + "; ".join(parts) + ".")
    notes.append(
        "Before every timed step, untimed and the same for both tools: `sync` (loopml "
        "fsyncs what it stores, DVC does not; neither is charged for the other's writeback)."
    )
    for tool, res in (("loopml", lm), ("DVC", pe)):
        if res:
            cmds = res.get("commands", {})
            listed = " · ".join(" && ".join(v) if isinstance(v, list) else v for v in cmds.values())
            notes.append(f"{tool} commands: `{listed}`")
    notes.append(
        "Checks after each step, untimed: the store grew by at least the data added, the "
        "workspace file is intact, status reports no change / a change / no change after "
        "re-add, the remote grew by at least the data pushed, and the checkout is "
        "byte-identical (SHA-256 per file) to the changed folder. A failed loopml check "
        "turns its row to FAIL."
    )
    if limits and lm:
        parts = []
        if lm.get("add_big_s"):
            parts.append(
                f"loopml's add of the big file took {lm['add_big_s'] / limits['blake3_mt_s']:.1f}"
                f"{TIMES} the multi-threaded BLAKE3 of it"
            )
        if lm.get("add_files_s"):
            best = min(limits["small_pool_s"], limits["small_serial_s"])
            parts.append(
                f"its add of the folder {lm['add_files_s'] / best:.1f}{TIMES} the faster of "
                "the two list + read + hash passes over the files"
            )
        if parts:
            notes.append("Against the physical limits: " + "; ".join(parts) + ".")
    if quick:
        notes.append("--quick: sizes reduced for a smoke test; the targets are for full sizes.")
    return notes


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One tool's rounds as one result: each timing the median of its rounds (all kept
    under ``<key>_rounds``), each check passed only if it passed in every round."""
    if not rounds:
        return None
    merged = dict(rounds[0])
    for key, value in rounds[0].items():
        if key.endswith("_s") and isinstance(value, int | float):
            values = [r[key] for r in rounds if isinstance(r.get(key), int | float)]
            merged[key] = median(values)
            merged[key.removesuffix("_s") + "_rounds"] = values
    checks: dict[str, Any] = {}
    for result in rounds:
        for key, entry in (result.get("checks") or {}).items():
            kept = checks.setdefault(key, {"ok": True, "results": []})
            kept["ok"] = kept["ok"] and entry["ok"]
            seen = {item["what"] for item in kept["results"]}
            for item in entry["results"]:
                if item["what"] not in seen or not item["ok"]:
                    kept["results"] = [i for i in kept["results"] if i["what"] != item["what"]]
                    kept["results"].append(item)
    merged["checks"] = checks
    merged["errors"] = {k: v for r in rounds for k, v in (r.get("errors") or {}).items()}
    merged["rounds"] = len(rounds)
    return merged


def checks_text(results: dict[str, dict[str, Any] | None]) -> list[tuple[str, bool, str]]:
    rows = []
    for tool, res in results.items():
        for key, entry in ((res or {}).get("checks") or {}).items():
            for item in entry["results"]:
                rows.append((f"{tool}: {key}: {item['what']}", item["ok"], item["detail"]))
    return rows


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    args = parse_args(argv)
    mode = "quick" if args.quick else "full"
    measure_as_installed()
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    err, out = report_consoles(args.json)

    base = Path(tempfile.gettempdir())
    free = shutil.disk_usage(base).free
    if free < FREE_GIB_NEEDED[mode] * GIB:
        err.print(
            f"[bold red]error:[/] {free / GIB:.1f} GiB free in {base}; this benchmark needs "
            f"{FREE_GIB_NEEDED[mode]} GiB ({mode} mode). Free space or point TMPDIR elsewhere."
        )
        return 2

    meta: dict[str, Any] = {
        "benchmark": "data",
        "command": command_line(),
        **machine_info(),
        "mode": mode,
        "sizes": sizes,
        "tmp_fs": fs_type(base),
        "mem_total_gib": mem_total_gib(),
    }
    results: dict[str, dict[str, Any] | None] = {"loopml": None, "dvc": None}
    limits: dict[str, Any] | None = None
    failures: list[str] = []

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="loopml-bench-data-", dir=base))
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

            task = bar.add_task("generating data")
            src = tmp / "src"
            (src / "files").mkdir(parents=True)
            generate_data(src, sizes, lambda text, t=task: bar.update(t, description=text))
            bar.update(task, description="sha256 of big.bin")
            big_sha = sha256_file(src / "big.bin")
            bar.remove_task(task)
            modify = small_file_path(sizes["files"] // 2 + 7)

            task = bar.add_task("physical limits")
            try:
                limits = run_worker(
                    project_python(),
                    WORKERS_DIR / "limits_data.py",
                    ["--big", str(src / "big.bin"), "--files", str(src / "files")],
                    on_progress=lambda text, t=task: bar.update(t, description=text),
                    timeout=WORKER_TIMEOUT_S,
                )
            except WorkerError as exc:
                failures.append("physical limits")
                bar.console.print(f"[bold red]physical limits worker failed:[/] {exc}")
                bar.console.print(exc.stderr_tail, markup=False, highlight=False)
            bar.remove_task(task)

            workers: list[tuple[str, Path, Path]] = []
            available, why = loopml_data_available(project_python())
            if available:
                workers.append(("loopml", project_python(), WORKERS_DIR / "loopml_data.py"))
            else:
                failures.append("loopml (no `loopml data` command)")
                bar.console.print(
                    f"[bold red]loopml skipped:[/] `loopml data --help` failed: {why}",
                    highlight=False,
                )
            if peer_python is not None:
                workers.append(("dvc", peer_python, WORKERS_DIR / "dvc_data.py"))
            rounds = args.rounds or (1 if args.quick else 3)
            meta["rounds"] = rounds
            per_slot: dict[str, list[dict[str, Any]]] = {slot: [] for slot, _, _ in workers}
            for number in range(rounds):
                # alternate which tool goes first, so a slow spell of the disk does not
                # always fall on the same one
                order = workers if number % 2 == 0 else list(reversed(workers))
                for slot, python, script in order:
                    label = "loopml" if slot == "loopml" else PEER
                    task = bar.add_task(f"{label}: starting")
                    workdir = tmp / slot
                    say = f"{label} (round {number + 1}/{rounds})"
                    try:
                        per_slot[slot].append(
                            run_worker(
                                python,
                                script,
                                [
                                    "--workdir",
                                    str(workdir),
                                    "--src",
                                    str(src),
                                    "--big-sha256",
                                    big_sha,
                                    "--modify",
                                    modify,
                                ],
                                on_progress=lambda text, t=task, n=say: bar.update(
                                    t, description=f"{n}: {text}"
                                ),
                                timeout=WORKER_TIMEOUT_S,
                            )
                        )
                    except WorkerError as exc:
                        failures.append(f"{label} (round {number + 1})")
                        bar.console.print(f"[bold red]{label} worker failed:[/] {exc}")
                        bar.console.print(exc.stderr_tail, markup=False, highlight=False)
                    bar.update(task, description=f"{say}: cleaning up")
                    rmtree_force(workdir)
                    bar.remove_task(task)
            for slot, rounds_done in per_slot.items():
                results[slot] = merge_rounds(rounds_done)
    finally:
        rmtree_force(tmp)

    lm, pe = results["loopml"], results["dvc"]
    for label, res in (("loopml", lm), (PEER, pe)):
        for name, text in ((res or {}).get("errors") or {}).items():
            last = text.strip().splitlines()[-1] if text.strip() else "?"
            err.print(f"[yellow]{label}: step {name!r} failed:[/] {last}", highlight=False)
            failures.append(f"{label}:{name}")
    check_rows = checks_text(results)
    for what, ok, _detail in check_rows:
        if not ok:
            failures.append(f"check {what}")
    if pe and not pe.get("add_big_hardlink_ok", True):
        failures.append(f"check DVC: add_big_hardlink: {pe.get('add_big_hardlink_detail')}")

    versions: dict[str, str] = {}
    if lm:
        versions["loopml"] = lm["versions"].get("loopml", "?")
    if pe:
        versions["dvc"] = pe["versions"].get("dvc", "?")
    if limits:
        versions["blake3 (Python)"] = str(limits.get("blake3_version", "?"))
    meta["versions"] = versions
    figures = build_figures(lm, pe, sizes)
    notes = notes_for(lm, pe, limits, meta, args.quick)
    peer_label = f"{PEER} {versions['dvc']}" if "dvc" in versions else PEER
    title = "Data versioning: loopml vs " + peer_label + (" (--quick)" if args.quick else "")

    print_table(figures, title=title, peer_name=peer_label, console=out)
    lim_rows = limit_rows(limits, sizes)
    if lim_rows:
        table = Table(title="Physical limits on the same files (one process, warm page cache)")
        table.add_column("measure")
        table.add_column("time", justify="right")
        table.add_column("throughput", justify="right")
        for measure, seconds, rate in lim_rows:
            table.add_row(measure.replace("`", ""), seconds, rate)
        out.print(table)
    if check_rows:
        bad = [(w, d) for w, ok, d in check_rows if not ok]
        if bad:
            for what, detail in bad:
                out.print(f"[bold red]check failed:[/] {what}: {detail}", highlight=False)
        else:
            out.print(f"[green]all {len(check_rows)} correctness checks passed[/]")
    out.print(
        "[dim]Files are warm in the page cache for both tools (the cache is not dropped).[/dim]"
    )
    if args.markdown:
        md = figures_markdown(figures, title=title, peer_name=peer_label, meta=meta, notes=notes)
        if lim_rows:
            md += "\nPhysical limits on the same files (one process, warm page cache, "
            md += "median of 3):\n\n| measure | time | throughput |\n| --- | ---: | ---: |\n"
            md += "".join(f"| {m} | {s} | {r} |\n" for m, s, r in lim_rows)
        if check_rows:
            n_bad = sum(1 for _, ok, _ in check_rows if not ok)
            md += f"\nCorrectness checks: {len(check_rows) - n_bad} of {len(check_rows)} passed"
            md += "".join(f"; FAILED: {w} ({d})" for w, ok, d in check_rows if not ok)
            md += ".\n"
        mem = meta.get("mem_total_gib")
        ram = f"{mem:.0f} GiB RAM, " if mem else ""
        md += f"\nMachine: {meta['cpu_count']} CPUs, {ram}temp folder on {meta['tmp_fs']}.\n"
        out.print()
        out.print(md, markup=False, highlight=False, soft_wrap=True)
    if args.json:
        meta["raw"] = {"loopml": lm, "dvc": pe, "limits": limits}
        print(figures_json(figures, meta))
    if failures:
        err.print(f"[bold red]failed:[/] {', '.join(failures)}", highlight=False)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
