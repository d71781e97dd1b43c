"""``loopml data diff|push|pull`` through the real root command."""

from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer

import loopml
from loopml.cli import main as cli_main
from loopml.cli.data_extra import format_size, register
from loopml.data.tables import log_table

from .conftest import Invoke


@pytest.fixture(autouse=True)
def data_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use ``loopml.cli.data`` (which calls ``register``) when it exists; until then, a
    stand-in ``data`` group holding only these commands."""
    try:
        importlib.import_module("loopml.cli.data")
    except ModuleNotFoundError as exc:
        if exc.name != "loopml.cli.data":
            raise
        stub = types.ModuleType("_loopml_cli_data_stub")
        app = typer.Typer(no_args_is_help=True, add_completion=False)

        @app.callback()
        def _group() -> None:
            """Version data."""

        register(app)
        stub.app = app  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, stub.__name__, stub)
        monkeypatch.setitem(cli_main.COMMANDS, "data", (stub.__name__, "app", "Version data."))


@pytest.fixture
def tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two versions of table 'sales' (a column added, one retyped, rows added)."""
    monkeypatch.setenv("LOOPML_TRACKING_URI", f"sqlite:///{tmp_path / 'loopml.db'}")
    monkeypatch.setenv("LOOPML_ARTIFACT_URI", str(tmp_path / "objects"))
    loopml.configure()
    rng = np.random.default_rng(0)
    before = pd.DataFrame({"id": np.arange(100), "amount": rng.normal(10, 2, 100)})
    after = pd.DataFrame(
        {"id": np.arange(120, dtype="float64"), "amount": rng.normal(14, 2, 120), "tag": "x"}
    )
    log_table(before, name="sales")
    log_table(after, name="sales")
    loopml.flush()
    return tmp_path


def test_diff_in_the_terminal(invoke: Invoke, tables: Path) -> None:
    out = invoke("data", "diff", "datasets:/sales/1", "datasets:/sales@latest").stdout
    assert "datasets:/sales/1 -> datasets:/sales/2 (table)" in out
    assert "1 modified" in out
    assert "Rows: 100 -> 120 (+20)" in out
    assert "+ tag (large_string)" in out
    assert "~ id: int64 -> double" in out
    assert "Column shifts" in out
    assert "amount" in out


def test_diff_json(invoke: Invoke, tables: Path) -> None:
    data = json.loads(
        invoke("data", "diff", "datasets:/sales/1", "datasets:/sales/2", "--json").stdout
    )
    assert data["table"]["rows_delta"] == 20
    assert data["table"]["columns_added"] == [{"name": "tag", "type": "large_string"}]
    assert data["files"]["modified"][0]["path"] == "data.parquet"
    amount = next(c for c in data["table"]["column_shifts"] if c["name"] == "amount")
    assert amount["psi"] > 0.25


def test_diff_identical(invoke: Invoke, tables: Path) -> None:
    out = invoke("data", "diff", "datasets:/sales/2", "datasets:/sales@latest").stdout
    assert "Identical" in out


def test_diff_errors(invoke: Invoke, tables: Path) -> None:
    result = invoke("data", "diff", "datasets:/sales/1", "datasets:/sales/9", code=1)
    assert "error:" in result.stderr and "no version 9" in result.stderr
    assert "Traceback" not in result.stderr
    result = invoke("data", "diff", "datasets:/sales/1", "sales", code=2)
    assert "not a dataset URI" in result.stderr
    invoke("data", "diff", "datasets:/sales/1", code=2)  # a missing argument


def test_push_and_pull(invoke: Invoke, tables: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = str(tables / "remote")
    data = json.loads(invoke("data", "push", "sales", "--remote", remote, "--json").stdout)
    assert (data["direction"], data["copied"], data["versions"]) == (
        "push",
        4,
        ["datasets:/sales/2"],
    )
    out = invoke("data", "push", "sales", "--remote", remote, "--all-versions").stdout
    assert "Pushed datasets:/sales/1, datasets:/sales/2: 4 blobs copied" in out
    monkeypatch.setenv("LOOPML_ARTIFACT_URI", str(tables / "elsewhere"))
    loopml.configure()
    data = json.loads(invoke("data", "pull", "datasets:/sales/1", "-r", remote, "--json").stdout)
    assert (data["direction"], data["copied"], data["present"]) == ("pull", 4, 0)
    out = invoke("data", "pull", "sales", "--remote", remote).stdout
    assert "Pulled datasets:/sales/2" in out


def test_push_pull_errors(invoke: Invoke, tables: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke("data", "push", "sales", code=2)  # --remote is required
    assert "--remote" in result.stderr
    result = invoke("data", "push", "ghost", "--remote", str(tables / "r"), code=1)
    assert "'ghost' does not exist" in result.stderr
    invoke("data", "push", "sales", "--remote", str(tables / "r"), "--workers", "0", code=2)
    monkeypatch.setenv("LOOPML_ARTIFACT_URI", str(tables / "elsewhere"))
    loopml.configure()
    result = invoke("data", "pull", "sales", "--remote", str(tables / "empty"), code=1)
    assert "are not in" in result.stderr and "hint:" in result.stderr


def test_format_size() -> None:
    assert format_size(512) == "512 B"
    assert format_size(2048) == "2.0 KiB"
    assert format_size(5 * 2**30) == "5.0 GiB"
    assert format_size(None) == "-"
