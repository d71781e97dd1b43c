"""Reports: JSON round-trips, Markdown has the tables, JUnit XML is valid and has one test
case per check with failures for failed checks."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tests.gates.helpers import hidden_slice_regression

from loopml.gates import GateReport, GateSpec, evaluate_models
from loopml.gates.report import REPORT_FILES, DataRef, ModelRef


@pytest.fixture
def failed() -> GateReport:
    frame, new, old = hidden_slice_regression()
    frame["tier"] = ["gold"] * 990 + ["tin"] * 10
    spec = GateSpec(
        target="label",
        require=["accuracy>=0.5", "roc_auc>=0.5"],
        max_regression=["accuracy:0.02", "log_loss:0.1"],
        slices=["region", "tier"],
        latency_p95_ms=10_000,
        bootstrap=100,
        seed=0,
    )
    return evaluate_models(
        new,
        old,
        frame,
        spec,
        challenger_ref=ModelRef("models:/churn@challenger", "models:/churn/2", "churn", 2),
        champion_ref=ModelRef("models:/churn@champion", "models:/churn/1", "churn", 1),
        data_ref=DataRef("datasets:/eval@latest", "datasets:/eval/3", 1000),
    )


def test_json(failed: GateReport) -> None:
    data = json.loads(failed.to_json())
    assert data["passed"] is False
    assert data["challenger"]["resolved"] == "models:/churn/2"
    assert data["data"] == {
        "uri": "datasets:/eval@latest",
        "resolved": "datasets:/eval/3",
        "rows": 1000,
    }
    statuses = {c["name"]: c["status"] for c in data["checks"]}
    assert statuses["accuracy regression <= 0.02 [region=b]"] == "failed"
    assert statuses["log_loss regression <= 0.1"] == "skipped"  # no predict_proba
    assert statuses["roc_auc>=0.5"] == "failed"
    assert data["metrics"]["challenger"]["roc_auc"] is None
    assert data["bootstrap"][0]["summary"]
    assert {s["value"] for s in data["slices"]} == {"a", "b", "gold", "tin"}
    assert data["latency"]["challenger"]["p95_ms"] > 0
    assert data["settings"]["bootstrap"] == 100


def test_json_has_no_nan() -> None:
    frame, new, old = hidden_slice_regression()
    report = evaluate_models(
        new,
        old,
        frame,
        GateSpec(target="label", bootstrap=20, seed=0),
        challenger_ref=ModelRef("a"),
        champion_ref=ModelRef("b"),
    )
    text = report.to_json()
    assert "NaN" not in text
    json.loads(text)


def test_markdown(failed: GateReport) -> None:
    text = failed.to_markdown()
    assert text.startswith("## ❌ loopml gate failed")
    assert "`models:/churn/2 (models:/churn@challenger)`" in text
    assert "| ❌ | accuracy regression <= 0.02 [region=b] |" in text
    assert "### Metrics" in text and "95% CI of Δ" in text
    assert "| tier=tin | 10 | too few rows |" in text
    assert "### Latency of `predict`" in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")


def test_junit_xml_is_valid(failed: GateReport) -> None:
    root = ET.fromstring(failed.to_junit_xml().encode())
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(failed.checks)
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == len(failed.failed_checks) == int(suite.get("failures", "-1"))
    assert int(suite.get("skipped", "-1")) == len(
        [c for c in cases if c.find("skipped") is not None]
    )
    names = {c.get("name") for c in failures}
    assert "accuracy regression <= 0.02 [region=b]" in names
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["champion"] == "models:/churn/1"


def test_write(failed: GateReport, tmp_path: Path) -> None:
    paths = failed.write(tmp_path / "out")
    assert {p.name for p in paths.values()} == set(REPORT_FILES.values())
    assert json.loads(paths["json"].read_text())["passed"] is False
    ET.parse(paths["junit"])
    assert paths["markdown"].read_text() == failed.to_markdown()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(REPORT_FILES.values())


def test_passing_report_without_champion() -> None:
    frame, new, _ = hidden_slice_regression()
    report = evaluate_models(
        new,
        None,
        frame,
        GateSpec(target="label", require=["f1>0.5"]),
        challenger_ref=ModelRef("runs:/abc/model"),
        champion_note="No champion: models:/churn@champion does not exist",
    )
    md = report.to_markdown()
    assert md.startswith("## ✅ loopml gate passed")
    assert "with **no champion**" in md
    assert "> No champion" in md
    root = ET.fromstring(report.to_junit_xml())
    assert root.find("testsuite/testcase/failure") is None
