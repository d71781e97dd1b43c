"""``loopml sweep module:obj --space space.yaml ...``: a function or a pipeline, a table of the
best trials or JSON, trials that ``runs compare`` shows, and clear errors."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import Invoke

TARGETS = textwrap.dedent(
    """
    from loopml import pipeline, step


    def parabola(x: float, depth: int = 1) -> dict:
        return {"score": -((x - 2.0) ** 2) - 0.01 * depth, "depth_seen": depth}


    @step
    def shift(x: float) -> float:
        return x - 2.0


    @step
    def evaluate(delta: float) -> dict[str, float]:
        return {"auc": 1.0 - delta**2}


    @pipeline
    def quad(x: float = 0.0) -> None:
        evaluate(shift(x))


    not_callable = 42
    """
)


@pytest.fixture
def targets(monkeypatch: pytest.MonkeyPatch) -> str:
    """A module `sweep_cli_targets` in the current folder, and a space file next to it."""
    Path("sweep_cli_targets.py").write_text(TARGETS)
    Path("space.yaml").write_text("x: {uniform: [-5, 5]}\ndepth: {int: [1, 3]}\n")
    Path("xonly.yaml").write_text("x: {uniform: [-5, 5]}\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "sweep_cli_targets", raising=False)
    yield "sweep_cli_targets"
    sys.modules.pop("sweep_cli_targets", None)


def test_sweep_a_function_prints_the_best_trials(invoke: Invoke, targets: str) -> None:
    out = invoke(
        "sweep",
        f"{targets}:parabola",
        "--space",
        "space.yaml",
        "--trials",
        "12",
        "--metric",
        "score",
        "--seed",
        "0",
    ).stdout
    assert "best trials (12 complete), maximize score" in out
    header = next(line for line in out.splitlines() if "┃ trial" in line)
    assert "x" in header and "depth" in header and "run" in header
    assert "sweep run " in out
    assert "best score = " in out


def test_sweep_json_and_runs_compare_on_the_trials(invoke: Invoke, targets: str) -> None:
    result = json.loads(
        invoke(
            "sweep",
            f"{targets}:parabola",
            "-s",
            "space.yaml",
            "-n",
            "4",
            "-m",
            "score",
            "--seed",
            "1",
            "--name",
            "cli-sweep",
            "--json",
        ).stdout
    )
    assert result["metric"] == "score"
    assert result["direction"] == "maximize"
    assert len(result["trials"]) == 4
    assert result["best_value"] == max(t["value"] for t in result["trials"])
    assert set(result["best_params"]) == {"x", "depth"}
    ids = [t["run_id"] for t in result["trials"]]
    compared = json.loads(invoke("runs", "compare", *ids, "--json").stdout)
    assert compared["runs"] == ids
    assert compared["params"]["x"] == [str(t["params"]["x"]) for t in result["trials"]]
    assert compared["metrics"]["score"] == pytest.approx([t["value"] for t in result["trials"]])
    shown = json.loads(invoke("runs", "show", result["run_id"], "--json").stdout)["run"]
    assert shown["params"]["best.x"] == str(result["best_params"]["x"])
    assert shown["name"] == "cli-sweep"


def test_sweep_a_pipeline(invoke: Invoke, targets: str) -> None:
    result = json.loads(
        invoke(
            "sweep",
            f"{targets}:quad",
            "--space",
            "xonly.yaml",
            "--trials",
            "5",
            "--metric",
            "evaluate.auc",
            "--seed",
            "2",
            "--json",
        ).stdout
    )
    assert result["metric"] == "evaluate.auc"
    assert all(t["state"] == "COMPLETE" for t in result["trials"])
    assert result["best_value"] <= 1.0


def test_minimize(invoke: Invoke, targets: str) -> None:
    result = json.loads(
        invoke(
            "sweep",
            f"{targets}:parabola",
            "--space",
            "xonly.yaml",
            "-n",
            "5",
            "-m",
            "score",
            "--direction",
            "minimize",
            "--json",
        ).stdout
    )
    assert result["best_value"] == min(t["value"] for t in result["trials"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope_module:f"], "cannot import module 'nope_module'"),
        (["{t}:missing"], "has no object 'missing'"),
        (["{t}:not_callable"], "not a @pipeline or a function"),
        (["{t}:parabola", "--direction", "up"], "direction must be maximize or minimize"),
        (["{t}:parabola", "--executor", "spark"], "unknown executor 'spark'"),
        (["{t}:quad", "--metric", "auc"], "metric is '<step>.<key>'"),
    ],
)
def test_bad_input_exits_2(invoke: Invoke, targets: str, args: list[str], message: str) -> None:
    argv = [a.format(t=targets) for a in args]
    result = invoke("sweep", *argv, "--space", "xonly.yaml", "-n", "2", code=2)
    assert message in result.stderr


def test_bad_space_file_names_the_param(invoke: Invoke, targets: str) -> None:
    Path("bad.yaml").write_text("x: {normal: [0, 1]}\n")
    result = invoke("sweep", f"{targets}:parabola", "--space", "bad.yaml", code=2)
    assert "parameter 'x': unknown distribution 'normal'" in result.stderr
    assert "uniform, loguniform, int, choice" in result.stderr
    missing = invoke("sweep", f"{targets}:parabola", "--space", "nope.yaml", code=1)
    assert "no search-space file" in missing.stderr
