"""Every docs snippet is a file in docs/examples/ and runs clean; the CLI reference covers
every command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from loopml.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.py"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_docs_example_runs(example: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    done = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def _commands(group: TyperGroup, prefix: str) -> list[str]:
    ctx = typer.Context(group)
    names: list[str] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if isinstance(command, TyperGroup):
            names.extend(_commands(command, f"{prefix} {name}"))
        else:
            names.append(f"{prefix} {name}")
    return names


def test_cli_reference_documents_every_command() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    assert isinstance(cli, TyperGroup)
    missing = [c for c in _commands(cli, "loopml") if f"`{c}" not in text]
    assert not missing, f"docs/cli.md lacks {missing}"


@pytest.mark.slow
def test_quickstart_demo_runs(tmp_path: Path) -> None:
    """What `make demo` runs: train, log, compare; then the CLI sees the runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "4 runs with ROC AUC > 0.9" in done.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "loopml", "runs", "list", "--project", "quickstart", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert sorted(r["name"] for r in json.loads(listed.stdout)) == [
        "comparison",
        "forest-100",
        "gboost-100",
        "logreg-C0.1",
        "logreg-C1",
    ]
