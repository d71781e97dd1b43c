"""`loopml cache list|inspect|clear`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from loopml.cli.main import app
from loopml.entities.steps import ArtifactRef, StepCacheEntry
from loopml.tracking import get_context

Invoke = Callable[..., Result]


def _entry(key: str, pipeline: str, step: str, at: int) -> StepCacheEntry:
    refs = {
        "model": ArtifactRef("model", 1, "m" * 64, "h" * 64, "sklearn.LogisticRegression", 4096),
        "metrics": ArtifactRef("json", 1, "j" * 64, "j" * 64, "builtins.dict", 12),
    }
    return StepCacheEntry(key, step, pipeline, "r" * 32, at, refs, project="churn")


@pytest.fixture
def cached() -> list[str]:
    store = get_context().store
    keys = ["abcdef01" * 8, "abcdef02" * 8, "ffee" * 16]
    store.put_step_cache(_entry(keys[0], "churn", "train", 1_700_000_000_000))
    store.put_step_cache(_entry(keys[1], "churn", "evaluate", 1_700_000_001_000))
    store.put_step_cache(_entry(keys[2], "etl", "load", 1_700_000_002_000))
    return keys


def test_list_as_table_and_json(cached: list[str], invoke: Invoke, as_json: Any) -> None:
    out = invoke("cache", "list").stdout
    assert "abcdef01abcd" in out and "evaluate" in out and "metrics, model" in out
    assert "4.0 KiB" in out
    entries = as_json("cache", "list")
    assert [e["key"] for e in entries] == [cached[2], cached[1], cached[0]]
    assert entries[0]["outputs"]["model"]["materializer"] == "model"
    assert [e["step"] for e in as_json("cache", "list", "--pipeline", "churn")] == [
        "evaluate",
        "train",
    ]
    assert [e["key"] for e in as_json("cache", "list", "--step", "load")] == [cached[2]]


def test_list_when_empty(invoke: Invoke) -> None:
    assert "Nothing cached yet" in invoke("cache", "list").stdout


def test_inspect_by_key_and_prefix(cached: list[str], invoke: Invoke, as_json: Any) -> None:
    out = invoke("cache", "inspect", cached[0]).stdout
    assert "train" in out and "model v1" in out and "m" * 64 in out and "12 B" in out
    data = as_json("cache", "inspect", cached[2][:10])
    assert data["key"] == cached[2] and data["pipeline"] == "etl"
    assert data["outputs"]["metrics"]["blob"] == "j" * 64
    assert as_json("cache", "inspect", "abcdef01")["step"] == "train"
    invoke("cache", "inspect", "abcdef0", code=2)  # two keys start so
    invoke("cache", "inspect", "123456", code=1)
    invoke("cache", "inspect", "abc", code=2)  # too short to be a prefix


def test_clear_asks_unless_yes(cached: list[str], invoke: Invoke, as_json: Any) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["cache", "clear", "--pipeline", "etl"], input="n\n")
    assert refused.exit_code == 1 and "Forget 1 cached step execution(s)" in refused.stderr
    assert len(as_json("cache", "list")) == 3
    agreed = runner.invoke(app, ["cache", "clear", "--pipeline", "etl"], input="y\n")
    assert agreed.exit_code == 0, agreed.stderr
    assert "Forgot 1 cached step execution(s)" in agreed.stdout
    assert {e["pipeline"] for e in as_json("cache", "list")} == {"churn"}
    assert as_json("cache", "clear", "--yes") == {"pipeline": None, "deleted": 2}
    assert as_json("cache", "list") == []
    assert as_json("cache", "clear") == {"pipeline": None, "deleted": 0}  # nothing to ask


def test_cleared_outputs_are_no_longer_kept_by_gc(cached: list[str], invoke: Invoke) -> None:
    store = get_context().store
    assert {"m" * 64, "j" * 64} <= store.referenced_blobs()
    invoke("cache", "clear", "--yes")
    assert not {"m" * 64, "j" * 64} & store.referenced_blobs()
