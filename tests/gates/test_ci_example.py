"""examples/ci/github-actions.yml is a valid workflow that runs the gate on pull requests."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from loopml.cli.main import cli

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "ci" / "github-actions.yml"


def _load() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def _steps() -> list[dict[str, Any]]:
    jobs = _load()["jobs"]
    assert list(jobs) == ["gate"]
    steps = jobs["gate"]["steps"]
    assert isinstance(steps, list)
    return steps


def test_triggers_on_pull_request() -> None:
    data = _load()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "pull_request" in triggers
    assert data["permissions"]["pull-requests"] == "write"


def test_steps_install_train_gate_upload_comment_fail() -> None:
    steps = _steps()
    runs = [s.get("run", "") for s in steps]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any("pip install" in r for r in runs)
    assert any("python train.py" in r for r in runs)
    gate = next(s for s in steps if "loopml gate" in s.get("run", ""))
    assert gate["id"] == "gate"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"].rstrip("/") == "gate-report"
    assert "always()" in upload["if"]
    assert any("GITHUB_STEP_SUMMARY" in r and "report.md" in r for r in runs)
    comment = next(s for s in steps if s.get("uses", "").startswith("actions/github-script@"))
    assert "report.md" in comment["with"]["script"]
    last = steps[-1]
    assert "always()" in last["if"]
    assert "steps.gate.outputs.exit_code" in last["run"]
    assert "exit 1" in last["run"]
    order = [steps.index(s) for s in (gate, upload, comment, last)]
    assert order == sorted(order)


def test_the_gate_command_parses_with_the_real_cli() -> None:
    gate = next(s for s in _steps() if "loopml gate" in s.get("run", ""))
    script = gate["run"].replace("\\\n", " ")
    line = next(text for text in script.splitlines() if "loopml gate" in text)
    argv = shlex.split(line.strip())
    assert argv[:2] == ["loopml", "gate"]
    assert "--report-dir" in argv
    assert argv[argv.index("--report-dir") + 1] == "gate-report"
    context = cli.make_context("loopml", argv[1:], resilient_parsing=True)
    sub = cli.get_command(context, "gate")
    assert sub is not None
    parsed = sub.make_context("gate", argv[2:])
    assert parsed.params["against"] == "models:/churn@champion"
    # (a tuple or a list, as the Typer release has it)
    assert list(parsed.params["require"]) == ["accuracy>=0.85", "roc_auc>=0.9"]
    assert list(parsed.params["max_regression"]) == ["f1:0.01", "log_loss:0.02"]
    assert list(parsed.params["slices"]) == ["region"]
