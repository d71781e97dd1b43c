"""``loopml lineage URI [--depth N] [--json]``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import loopml
from loopml.data.tables import load, log_table

from .conftest import Invoke


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """raw -> prep -> features -> train -> scores; run ids by name."""
    monkeypatch.setenv("LOOPML_TRACKING_URI", f"sqlite:///{tmp_path / 'loopml.db'}")
    monkeypatch.setenv("LOOPML_ARTIFACT_URI", str(tmp_path / "objects"))
    loopml.configure()
    log_table(pd.DataFrame({"x": [1, 2]}), name="raw")
    ids = {}
    with loopml.start_run(project="churn", name="prep") as run:
        log_table(load("datasets:/raw/1").assign(y=1), name="features")
    ids["prep"] = run.id
    with loopml.start_run(project="churn", name="train") as run:
        log_table(load("datasets:/features/1").assign(p=0.5), name="scores")
    ids["train"] = run.id
    loopml.flush()
    return ids


def test_tree(invoke: Invoke, chain: dict[str, str]) -> None:
    out = invoke("lineage", "datasets:/raw@latest").stdout
    lines = out.splitlines()
    assert lines[0] == "datasets:/raw/1"
    assert "used by (downstream)" in out
    assert "made from" not in out  # raw was logged outside any run
    order = [
        next(i for i, line in enumerate(lines) if needle in line)
        for needle in ("run prep", "datasets:/features/1", "run train", "datasets:/scores/1")
    ]
    assert order == sorted(order)
    assert f"runs:/{chain['prep']}" in out
    assert "FINISHED" in out and "churn" in out


def test_tree_both_ways_from_a_run(invoke: Invoke, chain: dict[str, str]) -> None:
    out = invoke("lineage", chain["train"], "--depth", "1").stdout
    assert "made from (upstream)" in out and "used by (downstream)" in out
    assert "datasets:/features/1" in out and "datasets:/scores/1" in out
    assert "datasets:/raw/1" not in out  # two runs away


def test_json(invoke: Invoke, chain: dict[str, str]) -> None:
    data = json.loads(invoke("lineage", "datasets:/features/1", "--json").stdout)
    assert data["root"] == "datasets:/features/1"
    ids = {n["id"] for n in data["nodes"]}
    assert ids == {
        "datasets:/features/1",
        f"runs:/{chain['prep']}",
        "datasets:/raw/1",
        f"runs:/{chain['train']}",
        "datasets:/scores/1",
    }
    assert {"from": "datasets:/raw/1", "to": f"runs:/{chain['prep']}", "direction": "input"} in (
        data["edges"]
    )
    runs = [n for n in data["nodes"] if n["kind"] == "run"]
    assert {n["name"] for n in runs} == {"prep", "train"}


def test_direction_and_depth(invoke: Invoke, chain: dict[str, str]) -> None:
    data = json.loads(
        invoke(
            "lineage", "datasets:/scores/1", "--direction", "upstream", "--depth", "1", "--json"
        ).stdout
    )
    assert {n["id"] for n in data["nodes"]} == {
        "datasets:/scores/1",
        f"runs:/{chain['train']}",
        "datasets:/features/1",
    }


def test_no_lineage(invoke: Invoke, chain: dict[str, str]) -> None:
    log_table(pd.DataFrame({"z": [0]}), name="alone")
    assert "no lineage recorded" in invoke("lineage", "datasets:/alone/1").stdout


def test_errors(invoke: Invoke, chain: dict[str, str]) -> None:
    result = invoke("lineage", "datasets:/ghost/1", code=1)
    assert "'ghost' does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    result = invoke("lineage", "datasets:/raw/5", code=1)
    assert "no version 5" in result.stderr
    result = invoke("lineage", "nonsense", code=2)
    assert "not a lineage URI" in result.stderr and "hint:" in result.stderr
    result = invoke("lineage", "runs:/" + "f" * 32, code=1)
    assert "no run" in result.stderr
    invoke("lineage", "datasets:/raw/1", "--depth", "0", code=2)
    result = invoke("lineage", "datasets:/raw/1", "--direction", "sideways", code=2)
    assert "unknown direction" in result.stderr
