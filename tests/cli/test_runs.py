"""`loopml runs`: list, show, compare, metrics, delete, restore."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import Result

Invoke = Callable[..., Result]


def test_list_json_filter_and_order(seeded: dict[str, str], as_json: Callable[..., Any]) -> None:
    runs = as_json(
        "runs",
        "list",
        "--project",
        "churn",
        "--filter",
        "metrics.acc > 0.85",
        "--order-by",
        "metrics.acc DESC",
    )
    assert [r["name"] for r in runs] == ["d6", "d4"]
    assert runs[0]["params"] == {"depth": "6", "lr": "0.1"}
    assert runs[0]["status"] == "FINISHED"


def test_list_table_shows_metrics(seeded: dict[str, str], invoke: Invoke) -> None:
    out = invoke("runs", "list", "--project", "churn").stdout
    assert "d2" in out and "d6" in out and "metrics.acc" in out and "etl" not in out


def test_list_bad_filter_is_usage_error_with_position(
    seeded: dict[str, str], invoke: Invoke
) -> None:
    result = invoke("runs", "list", "--filter", "metrics.acc > 0.9 adn x", code=2)
    assert "adn" in result.stderr and "position" in result.stderr
    assert "Traceback" not in result.stderr


def test_show(seeded: dict[str, str], invoke: Invoke, as_json: Callable[..., Any]) -> None:
    data = as_json("runs", "show", seeded["d6"])
    assert data["run"]["name"] == "d6"
    assert [a["path"] for a in data["artifacts"]] == ["cfg.json", "notes/readme.txt"]
    out = invoke("runs", "show", seeded["d6"]).stdout
    assert "depth" in out and "notes/readme.txt" in out


def test_show_unknown_run(seeded: dict[str, str], invoke: Invoke) -> None:
    result = invoke("runs", "show", "f" * 32, code=1)
    assert "error:" in result.stderr and "f" * 32 in result.stderr


def test_compare(seeded: dict[str, str], as_json: Callable[..., Any], invoke: Invoke) -> None:
    data = as_json("runs", "compare", seeded["d2"], seeded["d6"])
    assert data["params"]["depth"] == ["2", "6"]
    assert data["metrics"]["acc"] == pytest.approx([0.81, 0.93])
    out = invoke("runs", "compare", seeded["d2"], seeded["d6"], "--diff").stdout
    assert "params.depth" in out and "params.lr" not in out


def test_metrics_history(
    seeded: dict[str, str], as_json: Callable[..., Any], invoke: Invoke
) -> None:
    points = as_json("runs", "metrics", seeded["d4"], "acc")
    assert [p["step"] for p in points] == list(range(10))
    out = invoke("runs", "metrics", seeded["d4"], "acc").stdout
    assert "▁" in out and "█" in out


def test_delete_restore(
    seeded: dict[str, str], as_json: Callable[..., Any], invoke: Invoke
) -> None:
    invoke("runs", "delete", seeded["d2"])
    assert seeded["d2"] not in [r["id"] for r in as_json("runs", "list")]
    assert [r["id"] for r in as_json("runs", "list", "--deleted")] == [seeded["d2"]]
    invoke("runs", "restore", seeded["d2"])
    assert seeded["d2"] in [r["id"] for r in as_json("runs", "list")]


def test_delete_unknown_changes_nothing(
    seeded: dict[str, str], invoke: Invoke, as_json: Callable[..., Any]
) -> None:
    invoke("runs", "delete", seeded["d2"], "0" * 32, code=1)
    assert seeded["d2"] in [r["id"] for r in as_json("runs", "list")]
