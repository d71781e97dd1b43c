"""CLI tests invoke the real root command in-process against a seeded SQLite store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import loopml
from loopml.cli.main import app

Invoke = Callable[..., Result]


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("COLUMNS", "200")  # tables as a wide terminal shows them
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


@pytest.fixture
def as_json(invoke: Invoke) -> Callable[..., Any]:
    def run(*args: str) -> Any:
        return json.loads(invoke(*args, "--json").stdout)

    return run


@pytest.fixture
def seeded(tmp_path: Path) -> dict[str, str]:
    """Three runs in project 'churn' (one with artifacts) and one in 'ops'; ids by name."""
    ids: dict[str, str] = {}
    for depth, acc in ((2, 0.81), (4, 0.87), (6, 0.93)):
        with loopml.start_run(project="churn", name=f"d{depth}", tags={"team": "risk"}) as run:
            loopml.log_params({"depth": depth, "lr": 0.1})
            for step in range(10):
                loopml.log_metric("acc", acc * (step + 1) / 10, step=step)
            if depth == 6:
                loopml.log_text("hello", "notes/readme.txt")
                loopml.log_dict({"a": 1}, "cfg.json")
        ids[run.name] = run.id
    with loopml.start_run(project="ops", name="etl") as run:
        pass
    ids["etl"] = run.id
    loopml.flush()
    return ids
