"""The root command: help, lazy imports, error mapping, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

from typer.testing import Result

Invoke = Callable[..., Result]


def test_help_lists_every_group(invoke: Invoke) -> None:
    out = invoke("--help").stdout
    for name in ("init", "projects", "runs", "artifacts", "gc"):
        assert name in out


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys, json\n"
        "from loopml.cli.main import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ['sqlalchemy', 'pandas', 'fsspec', 'numpy', 'alembic', 'pyarrow']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_unknown_command_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("nope", code=2)
    assert "No such command" in result.stderr


def test_subcommand_help(invoke: Invoke) -> None:
    for group in ("runs", "artifacts", "projects"):
        assert (
            "--help" in invoke(group, "--help").stdout or "Usage" in invoke(group, "--help").stdout
        )
    assert "--filter" in invoke("runs", "list", "--help").stdout
    assert "--grace" in invoke("gc", "--help").stdout


def test_bad_tracking_uri_is_explained(invoke: Invoke) -> None:
    result = invoke("--tracking-uri", "mysql://x", "projects", "list", code=2)
    assert "error:" in result.stderr and "tracking URI" in result.stderr
    assert "Traceback" not in result.stderr
