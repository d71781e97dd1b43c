"""Capture where a run comes from: git commit, dirty flag and diff hash, user, host, python.

Computed once per process (git is asked at most twice) so creating runs stays cheap.
"""

from __future__ import annotations

import functools
import getpass
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from loopml.entities import RunSource

__all__ = ["capture_source"]

_GIT_TIMEOUT_S = 5


def _git(args: list[str], cwd: Path) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, timeout=_GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _entry_point() -> str | None:
    argv0 = sys.argv[0] if sys.argv else ""
    if not argv0 or argv0 == "-c":
        return "<interactive>" if not argv0 else "<python -c>"
    return os.path.basename(argv0)


@functools.cache
def capture_source(cwd: str | None = None) -> RunSource:
    """The source of runs started by this process (cached: one git call per process).

    The dirty flag covers tracked files with uncommitted changes; the diff hash is the
    BLAKE3 of ``git diff HEAD`` so two dirty runs with the same edit share a hash.
    """
    folder = Path(cwd or os.getcwd())
    commit = _git(["rev-parse", "HEAD"], folder)
    git_commit = commit.decode().strip() if commit else None
    dirty: bool | None = None
    diff_hash: str | None = None
    if git_commit:
        diff = _git(["diff", "HEAD", "--no-color", "--no-ext-diff"], folder)
        if diff is not None:
            dirty = bool(diff.strip())
            if dirty:
                import blake3

                diff_hash = blake3.blake3(diff).hexdigest()
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = None
    return RunSource(
        git_commit=git_commit,
        git_dirty=dirty,
        git_diff_hash=diff_hash,
        entry_point=_entry_point(),
        user=user,
        host=socket.gethostname(),
        python_version=platform.python_version(),
    )
