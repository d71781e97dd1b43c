"""Whole-process behaviour: exit, uncaught exceptions, SIGTERM, many writers, git capture."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import loopml
from loopml.entities import RunStatus


def _python(code: str, cwd: Path, **popen: object) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )


def _runs(cwd: Path) -> list[loopml.Run]:
    loopml.configure(
        tracking_uri=f"sqlite:///{cwd / '.loopml' / 'loopml.db'}",
        artifact_uri=str(cwd / ".loopml" / "objects"),
    )
    return loopml.search_runs(output="list", lifecycle="all")


def test_run_left_open_is_finished_at_exit_with_every_value(tmp_path: Path) -> None:
    proc = _python(
        """
        import loopml
        run = loopml.start_run(project="p")
        for i in range(20000):
            loopml.log_metric("m", float(i))
        """,
        tmp_path,
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    (run,) = _runs(tmp_path)
    assert run.status is RunStatus.FINISHED
    assert len(loopml.get_metric_history(run.id, "m")) == 20000


def test_uncaught_exception_marks_the_run_failed(tmp_path: Path) -> None:
    proc = _python(
        """
        import loopml
        loopml.start_run(project="p")
        loopml.log_metric("m", 1.0)
        raise ValueError("boom")
        """,
        tmp_path,
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "ValueError: boom" in err
    (run,) = _runs(tmp_path)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and "boom" in run.error
    assert run.metrics["m"] == 1.0


def test_sigterm_marks_the_run_killed(tmp_path: Path) -> None:
    proc = _python(
        """
        import time, loopml
        with loopml.start_run(project="p"):
            loopml.log_metric("m", 1.0)
            loopml.flush()
            print("ready", flush=True)
            time.sleep(60)
        """,
        tmp_path,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    (run,) = _runs(tmp_path)
    assert run.status is RunStatus.KILLED
    assert run.metrics["m"] == 1.0


@pytest.mark.slow
def test_eight_processes_log_to_one_sqlite_store(tmp_path: Path) -> None:
    code = """
        import sys, loopml
        n = int(sys.argv[1])
        with loopml.start_run(project="conc", name=f"w{n}"):
            for i in range(2000):
                loopml.log_metric("m", float(i), step=i)
                if i % 500 == 0:
                    loopml.flush()
        """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    loopml.configure(tracking_uri=f"sqlite:///{tmp_path / '.loopml' / 'loopml.db'}")
    loopml.list_projects()  # create the store first; the race on creation is tested in store
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), str(n)],
            cwd=tmp_path,
            env=env,
            text=True,
            stderr=subprocess.PIPE,
        )
        for n in range(8)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert not any("locked" in e for e in errors), errors
    runs = _runs(tmp_path)
    assert len(runs) == 8
    for run in runs:
        assert run.status is RunStatus.FINISHED
        history = loopml.get_metric_history(run.id, "m")
        assert [m.value for m in history] == [float(i) for i in range(2000)]


def test_git_commit_and_dirty_diff_are_captured(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (tmp_path / "train.py").write_text("print('v1')\n")
    git("add", "train.py")
    git("commit", "-qm", "v1")
    head = git("rev-parse", "HEAD")
    script = "import loopml\nwith loopml.start_run(project='g'):\n    pass\n"
    clean = _python(script, tmp_path)
    assert clean.communicate(timeout=60)[0] is not None and clean.returncode == 0
    (tmp_path / "train.py").write_text("print('v2')\n")
    dirty = _python(script, tmp_path)
    dirty.communicate(timeout=60)
    runs = sorted(_runs(tmp_path), key=lambda r: r.start_time)
    assert [r.source.git_commit for r in runs] == [head, head]
    assert [r.source.git_dirty for r in runs] == [False, True]
    assert runs[0].source.git_diff_hash is None and runs[1].source.git_diff_hash
    assert runs[1].source.python_version == ".".join(map(str, sys.version_info[:3]))
