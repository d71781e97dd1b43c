"""``loopml gate``: exit 0 on pass, 1 on fail, 2 on usage errors; reports in --report-dir."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.gates.registry_setup import churn_registry

import loopml

from .conftest import Invoke


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return churn_registry(tmp_path, monkeypatch)


BASE = (
    "--data",
    "datasets:/eval@latest",
    "--target",
    "churned",
    "--bootstrap",
    "100",
    "--seed",
    "0",
)


def test_pass_prints_a_summary_and_writes_reports(
    invoke: Invoke, registry: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "gate-report"
    result = invoke(
        "gate",
        "models:/churn@challenger",
        "--against",
        "models:/churn@champion",
        *BASE,
        "--require",
        "accuracy>=0.7",
        "--max-regression",
        "f1:0.01",
        "--slice",
        "region",
        "--latency-p95-ms",
        "5000",
        "--report-dir",
        str(out),
    )
    text = result.stdout
    assert "gate PASSED" in text
    assert "models:/churn/2" in text and "models:/churn/1" in text
    assert "accuracy>=0.7" in text
    assert "f1 regression <= 0.01 [region=eu]" in text
    assert "improvement" in text
    assert {p.name for p in out.iterdir()} == {"report.json", "report.md", "junit.xml"}
    assert json.loads((out / "report.json").read_text())["passed"] is True
    ET.parse(out / "junit.xml")
    assert (out / "report.md").read_text().startswith("## ✅ loopml gate passed")


def test_fail_exits_1_and_does_not_promote(
    invoke: Invoke, registry: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "r"
    result = invoke(
        "gate",
        "models:/churn/3",
        "--against",
        "models:/churn@challenger",
        *BASE,
        "--max-regression",
        "accuracy:0.01",
        "--promote",
        "champion",
        "--report-dir",
        str(out),
        code=1,
    )
    assert "gate FAILED" in result.stdout
    assert loopml.models.resolve("models:/churn@champion").version == 1
    root = ET.parse(out / "junit.xml").getroot()
    assert root.find("testsuite/testcase/failure") is not None


def test_json_and_promote_on_pass(as_json: Callable[..., Any], registry: dict[str, str]) -> None:
    data = as_json(
        "gate",
        "models:/churn/2",
        "--against",
        "models:/churn@champion",
        *BASE,
        "--require",
        "f1>0.5",
        "--promote",
        "champion",
    )
    assert data["passed"] is True
    assert data["promoted"] == "churn@champion -> version 2"
    assert data["champion"]["resolved"] == "models:/churn/1"
    assert data["bootstrap"][0]["resamples"] == 100
    assert loopml.models.resolve("models:/churn@champion").version == 2


def test_no_champion_yet(invoke: Invoke, registry: dict[str, str]) -> None:
    result = invoke(
        "gate",
        "models:/churn/2",
        "--against",
        "models:/churn@production",
        *BASE,
        "--require",
        "accuracy>=0.7",
    )
    assert "No champion" in result.stdout
    assert "judged on the absolute requirements alone" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--require", "accuracy=0.9"), "cannot parse requirement"),
        (("--max-regression", "f1"), "cannot parse max regression"),
        (("--require", "rmse<1"), "not a classification metric"),
        (("--slice", "nope"), "no column 'nope'"),
        (("--task", "ranking"), "bad task"),
        (("--promote", "Bad Alias"), "cannot promote"),
    ],
)
def test_usage_errors_exit_2(
    invoke: Invoke, registry: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    result = invoke("gate", "models:/churn/2", *BASE, *args, code=2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_target_and_malformed_uri_exit_2(invoke: Invoke, registry: dict[str, str]) -> None:
    result = invoke(
        "gate", "models:/churn/2", "--data", "datasets:/eval/1", "--target", "x", code=2
    )
    assert "no column 'x'" in result.stderr
    invoke("gate", "models:/churn/2", "--data", "nonsense::", "--target", "churned", code=2)


def test_missing_required_option_exits_2(invoke: Invoke, registry: dict[str, str]) -> None:
    invoke("gate", "models:/churn/2", "--target", "churned", code=2)


def test_unknown_model_exits_1(invoke: Invoke, registry: dict[str, str]) -> None:
    result = invoke("gate", "models:/churn/42", *BASE, code=1)
    assert "error:" in result.stderr


def test_help_lists_the_options(invoke: Invoke) -> None:
    text = invoke("gate", "--help").stdout
    for option in (
        "--against",
        "--require",
        "--max-regression",
        "--slice",
        "--latency-p95-ms",
        "--report-dir",
        "--promote",
        "--bootstrap",
        "--confidence",
        "--seed",
        "--min-slice-rows",
        "--task",
        "--json",
    ):
        assert option in text
