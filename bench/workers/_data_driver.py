"""The data-versioning benchmark's driver, shared by the loopml and the DVC worker.

It runs inside the tool's own interpreter and imports only the standard library (and
``bench/_common.py``). Every timed step is one whole CLI process, as a user types it, run
in the tool's own work folder. The driver decides the data, the order and the checks,
identically for both tools; each adapter only says which command does what and how to
read its status output. It prints one JSON object with every figure and check.

Order: copy the data in (untimed, then ``sync``; a ``sync`` also precedes every timed
step), init, add the big file, add the folder, status with no change (3 runs), change one
small file, status, re-add, push the folder, push the big file, ``rm -rf`` the folder,
checkout; then, in a fresh folder set to hardlink, add the folder, ``rm -rf``, checkout.
Checks run after each timed step, untimed, so a tool that skips work is caught.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import median, progress, rmtree_force, time_command

MODIFY_SEED = 20_250_101
"""Seed of the new bytes written into the one small file that is changed."""
STATUS_REPEATS = 3
BIG = "big.bin"
FILES = "files"


class Adapter(Protocol):
    name: str
    env: dict[str, str]

    def versions(self) -> dict[str, str]: ...
    def init(self, ws: Path) -> list[list[str]]: ...
    def after_init(self, ws: Path) -> dict[str, Any]: ...
    def add_big(self) -> list[str]: ...
    def add_files(self) -> list[str]: ...
    def status_files(self) -> list[str]: ...
    def parse_status(self, proc: subprocess.CompletedProcess[str]) -> str: ...
    def remote_forms(self, remote: Path) -> list[str]: ...
    def remote_setup(self, remote: str) -> list[list[str]]: ...
    def push(self, dataset: str, remote: str) -> list[str]:
        """The push of ``dataset`` ("files" or "big") to ``remote`` (one of remote_forms)."""
        ...

    def checkout_files(self) -> list[str]: ...
    def checkout_files_copy(self) -> list[str] | None:
        """A checkout that copies every file, if the default one does not (else None)."""
        ...

    def store_dir(self, ws: Path) -> Path: ...
    def init_hardlink(self, ws: Path) -> list[list[str]]:
        """Init a fresh folder whose adds and checkouts hardlink (untimed)."""
        ...

    def add_files_hardlink(self) -> list[str]:
        """The add of the folder that takes its files in as hardlinks."""
        ...

    def extras(self, workdir: Path, src: Path, big_sha256: str) -> dict[str, Any]: ...


# --------------------------------------------------------------------------- helpers


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def manifest(folder: Path) -> dict[str, str]:
    """``{relative posix path: sha256}`` of every file under ``folder``."""
    out: dict[str, str] = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            out[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def tree_bytes(folder: Path) -> int:
    """Sum of the sizes of the regular files under ``folder`` (0 if it does not exist)."""
    total = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def new_content(size: int) -> bytes:
    return random.Random(MODIFY_SEED).randbytes(size)


def settle() -> None:
    """Before each timed step, untimed and the same for both tools: ``sync``, so a step is
    not charged for the writeback of what an earlier step wrote (one tool fsyncs its
    writes, the other does not)."""
    os.sync()


def copy_in(src: Path, ws: Path) -> None:
    """Fresh copies (not hardlinks: tools move, chmod or link their inputs) of the data."""
    ws.mkdir(parents=True)
    shutil.copyfile(src / BIG, ws / BIG)
    shutil.copytree(src / FILES, ws / FILES)
    os.sync()


class Checks:
    """Untimed correctness checks, keyed by the figure they vouch for."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def record(self, key: str, what: str, ok: bool, detail: str = "") -> None:
        entry = self.items.setdefault(key, {"ok": True, "results": []})
        entry["results"].append({"what": what, "ok": ok, "detail": detail})
        entry["ok"] = entry["ok"] and ok


class Stages:
    """Runs each step so that one that fails is recorded and the rest still run."""

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


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stdout + proc.stderr).strip()[-600:]


# --------------------------------------------------------------------------- main


def main(adapter: Adapter) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--src", required=True, type=Path, help="folder with big.bin, files/")
    parser.add_argument("--big-sha256", required=True)
    parser.add_argument("--modify", required=True, help="path under files/ of the file to change")
    args = parser.parse_args()
    workdir: Path = args.workdir
    src: Path = args.src
    ws = workdir / "ws"
    remote = workdir / "remote"
    out: dict[str, Any] = {
        "tool": adapter.name,
        "versions": adapter.versions(),
        "commands": {},
        "outputs": {},
    }
    stage = Stages()
    checks = Checks()
    cmds: dict[str, Any] = out["commands"]

    def timed(key: str, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        """One timed run; ``check=False`` for status, whose exit code may signal a change."""
        cmds[key] = cmd_text(cmd)
        settle()
        seconds, proc = time_command(cmd, cwd=ws, env=adapter.env, check=check)
        out[f"{key}_s"] = seconds
        out["outputs"][key] = _output(proc)
        return proc

    def cmd_text(cmd: list[str]) -> str:
        return " ".join([Path(cmd[0]).name, *[a.replace(str(workdir), "$W") for a in cmd[1:]]])

    progress("copying the data into a fresh work folder")
    copy_in(src, ws)
    small_bytes = tree_bytes(src / FILES)
    big_bytes = (src / BIG).stat().st_size
    expected = manifest(src / FILES)
    modify_rel = args.modify
    changed_bytes = new_content((src / FILES / modify_rel).stat().st_size)
    expected[modify_rel] = hashlib.sha256(changed_bytes).hexdigest()

    progress("init")
    with stage("init"):
        total = 0.0
        cmds["init"] = []
        for cmd in adapter.init(ws):
            seconds, _ = time_command(cmd, cwd=ws, env=adapter.env)
            total += seconds
            cmds["init"].append(cmd_text(cmd))
        out["init_s"] = total
        out.update(adapter.after_init(ws))

    store = adapter.store_dir(ws)
    progress(f"add {BIG} ({big_bytes / 2**20:,.0f} MiB)")
    with stage("add_big"):
        before = tree_bytes(store)
        timed("add_big", adapter.add_big())
        grew = tree_bytes(store) - before
        checks.record(
            "add_big",
            "store holds the file",
            grew >= big_bytes,
            f"store grew by {grew:,} bytes, file is {big_bytes:,}",
        )
        same = (ws / BIG).exists() and sha256_file(ws / BIG) == args.big_sha256
        checks.record("add_big", "workspace file unchanged", same)

    n_files = len(expected)
    progress(f"add {FILES}/ ({n_files:,} files)")
    with stage("add_files"):
        before = tree_bytes(store)
        timed("add_files", adapter.add_files())
        grew = tree_bytes(store) - before
        checks.record(
            "add_files",
            "store holds the files",
            grew >= small_bytes,
            f"store grew by {grew:,} bytes, files are {small_bytes:,}",
        )

    progress(f"status, no change ({STATUS_REPEATS} runs)")
    with stage("status_unchanged"):
        times, verdicts = [], []
        for _ in range(STATUS_REPEATS):
            proc = timed("status_unchanged", adapter.status_files(), check=False)
            times.append(out.pop("status_unchanged_s"))
            verdicts.append(adapter.parse_status(proc))
        out["status_unchanged_s"] = median(times)
        out["status_unchanged_first_s"] = times[0]
        out["status_unchanged_all_s"] = times
        out["status_unchanged_output"] = _output(proc)
        checks.record(
            "status_unchanged",
            "reports no change",
            all(v == "clean" for v in verdicts),
            f"parsed: {verdicts}; output: {_output(proc)[:200]!r}",
        )

    progress(f"change one file ({modify_rel}), status")
    with stage("status_changed"):
        (ws / FILES / modify_rel).write_bytes(changed_bytes)
        proc = timed("status_changed", adapter.status_files(), check=False)
        verdict = adapter.parse_status(proc)
        out["status_changed_output"] = _output(proc)
        checks.record(
            "status_changed",
            "reports a change",
            verdict == "changed",
            f"parsed: {verdict}; output: {_output(proc)[:200]!r}",
        )

    progress(f"re-add {FILES}/ after the change")
    with stage("readd"):
        timed("readd", adapter.add_files())
        _, proc = time_command(adapter.status_files(), cwd=ws, env=adapter.env, check=False)
        verdict = adapter.parse_status(proc)
        checks.record(
            "readd",
            "status after re-add reports no change",
            verdict == "clean",
            f"parsed: {verdict}; output: {_output(proc)[:200]!r}",
        )

    progress(f"push {FILES} to a local-folder remote")
    remote_arg = ""
    with stage("push_files"):
        failures = []
        for form in adapter.remote_forms(remote):
            for cmd in adapter.remote_setup(form):  # configuration, untimed
                time_command(cmd, cwd=ws, env=adapter.env)
            try:
                timed("push_files", adapter.push("files", form))
            except RuntimeError as exc:  # try the next way of naming the remote
                failures.append(str(exc)[-800:])
                continue
            remote_arg = form
            break
        else:
            raise RuntimeError("push failed with every remote form:\n" + "\n".join(failures))
        out["remote_form"] = remote_arg.replace(str(workdir), "$W")
        if failures:
            out["remote_form_failures"] = failures
        got = tree_bytes(remote)
        out["remote_bytes_after_push_files"] = got
        checks.record(
            "push_files",
            "remote holds the files",
            got >= small_bytes,
            f"remote has {got:,} bytes, files are {small_bytes:,}",
        )

    progress(f"push {BIG} to the same remote")
    with stage("push_big"):
        if not remote_arg:
            raise RuntimeError("push of the folder failed; no remote to push to")
        before = tree_bytes(remote)
        timed("push_big", adapter.push("big", remote_arg))
        grew = tree_bytes(remote) - before
        checks.record(
            "push_big",
            "remote holds the big file",
            grew >= big_bytes,
            f"remote grew by {grew:,} bytes, file is {big_bytes:,}",
        )

    def check_checkout(key: str) -> None:
        got = manifest(ws / FILES) if (ws / FILES).is_dir() else {}
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        differ = sorted(k for k in expected if k in got and got[k] != expected[k])
        checks.record(
            key,
            "checkout is byte-identical to the changed folder",
            not (missing or extra or differ),
            f"{len(got):,} files; missing {len(missing)} {missing[:3]}, "
            f"extra {len(extra)} {extra[:3]}, different {len(differ)} {differ[:3]}",
        )

    progress(f"rm -rf {FILES}, checkout")
    with stage("checkout"):
        rmtree_force(ws / FILES)
        timed("checkout", adapter.checkout_files())
        check_checkout("checkout")

    copy_cmd = adapter.checkout_files_copy()
    if copy_cmd is not None:
        progress(f"rm -rf {FILES}, checkout copying every file")
        with stage("checkout_copy"):
            rmtree_force(ws / FILES)
            timed("checkout_copy", copy_cmd)
            check_checkout("checkout_copy")

    with stage("extras"):
        rmtree_force(remote)
        out.update(adapter.extras(workdir, src, args.big_sha256))

    progress(f"both hardlinking: add {FILES}/, rm -rf, checkout")
    with stage("hardlink"):
        hl = workdir / "ws-hardlink-files"
        copy_in(src, hl)
        (hl / BIG).unlink()
        for cmd in adapter.init_hardlink(hl):
            time_command(cmd, cwd=hl, env=adapter.env)
        settle()
        seconds, proc = time_command(adapter.add_files_hardlink(), cwd=hl, env=adapter.env)
        out["add_files_hardlink_s"] = seconds
        cmds["add_files_hardlink"] = cmd_text(adapter.add_files_hardlink())
        linked = sum(1 for p in (hl / FILES).rglob("*") if p.is_file() and p.stat().st_nlink > 1)
        checks.record(
            "add_files_hardlink", "files are hardlinked", linked == n_files, f"{linked:,} linked"
        )
        rmtree_force(hl / FILES)
        settle()
        seconds, proc = time_command(adapter.checkout_files(), cwd=hl, env=adapter.env)
        out["checkout_hardlink_s"] = seconds
        out["outputs"]["checkout_hardlink"] = _output(proc)
        got = manifest(hl / FILES)
        checks.record(
            "checkout_hardlink",
            "checkout is byte-identical to the added folder",
            got == manifest(src / FILES),
            f"{len(got):,} files",
        )
        rmtree_force(hl)

    out["files"] = n_files
    out["files_bytes"] = small_bytes
    out["big_bytes"] = big_bytes
    out["checks"] = checks.items
    out["errors"] = stage.errors
    print(json.dumps(out))
