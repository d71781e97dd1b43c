"""`loopml pipeline`: run (params, executors, cache, failures), list, show."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

Invoke = Callable[..., Result]

SOURCE = """
from pathlib import Path
from loopml import pipeline, step

@step
def load(n: int) -> list[int]:
    return list(range(n))

@step
def scale(values: list[int], factor: float) -> list[float]:
    return [v * factor for v in values]

@step
def check(values: list[float], flag: str) -> dict[str, float]:
    if Path(flag).exists():
        raise ZeroDivisionError("flag file present")
    return {"total": sum(values)}

@pipeline
def churn(n: int = 3, factor: float = 1.0, flag: str = "no-such-file") -> None:
    check(scale(load(n), factor=factor), flag=flag)

not_a_pipeline = 42
"""


@pytest.fixture
def module() -> Iterator[str]:
    """A pipeline module in the current folder, under a name no other test imported."""
    name = f"pipes_{uuid.uuid4().hex[:8]}"
    Path(f"{name}.py").write_text(textwrap.dedent(SOURCE))
    yield name
    sys.modules.pop(name, None)


def test_run_json_then_all_hits(module: str, as_json: Callable[..., Any]) -> None:
    first = as_json("pipeline", "run", f"{module}:churn", "--param", "n=4", "-p", "factor=0.5")
    assert first["status"] == "FINISHED"
    assert [s["name"] for s in first["steps"]] == ["load", "scale", "check"]
    assert {s["cache"] for s in first["steps"]} == {"miss"}
    assert first["params"] == {"n": 4, "factor": 0.5, "flag": "no-such-file"}
    second = as_json("pipeline", "run", f"{module}:churn", "--param", "n=4", "-p", "factor=0.5")
    assert {s["cache"] for s in second["steps"]} == {"hit"}
    forced = as_json(
        "pipeline", "run", f"{module}:churn", "-p", "n=4", "-p", "factor=0.5", "--no-cache"
    )
    assert {s["cache"] for s in forced["steps"]} == {"disabled"}


def test_run_table(module: str, invoke: Invoke) -> None:
    out = invoke("pipeline", "run", f"{module}:churn", "--executor", "inline").stdout
    assert "load" in out and "miss" in out and "3 executed, 0 cached" in out


def test_run_on_process(module: str, as_json: Callable[..., Any]) -> None:
    result = as_json("pipeline", "run", f"{module}:churn", "--executor", "process")
    assert result["status"] == "FINISHED"


def test_unknown_param_is_exit_2_before_any_run(module: str, invoke: Invoke) -> None:
    result = invoke("pipeline", "run", f"{module}:churn", "--param", "lr=0.1", code=2)
    assert "no param 'lr'" in result.stderr and "n, factor, flag" in result.stderr
    assert invoke("pipeline", "list", "--json").stdout.strip() == "[]"


def test_unconvertible_param_is_exit_2(module: str, invoke: Invoke) -> None:
    result = invoke("pipeline", "run", f"{module}:churn", "--param", "n=many", code=2)
    assert "'n' must be int" in result.stderr
    result = invoke("pipeline", "run", f"{module}:churn", "--param", "novalue", code=2)
    assert "key=value" in result.stderr


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module_xyz:churn", "cannot import module 'no_such_module_xyz'"),
        ("{module}:nope", "has no object 'nope'"),
        ("{module}:not_a_pipeline", "not a @pipeline"),
        ("{module}", "is not module:object"),
    ],
)
def test_bad_target_is_exit_2(module: str, invoke: Invoke, target: str, message: str) -> None:
    result = invoke("pipeline", "run", target.format(module=module), code=2)
    assert message in result.stderr and "Traceback" not in result.stderr


def test_unknown_executor_is_exit_2(module: str, invoke: Invoke) -> None:
    result = invoke("pipeline", "run", f"{module}:churn", "--executor", "threads", code=2)
    assert "unknown executor" in result.stderr


def test_failed_step_shows_traceback_and_resume_command(
    module: str, invoke: Invoke, as_json: Callable[..., Any]
) -> None:
    Path("flag").touch()
    result = invoke("pipeline", "run", f"{module}:churn", "-p", "flag=flag", code=1)
    assert "step 'check' failed: ZeroDivisionError: flag file present" in result.stderr
    assert 'raise ZeroDivisionError("flag file present")' in result.stderr
    assert f"loopml pipeline run {module}:churn --param flag=flag" in " ".join(
        result.stderr.split()
    )
    Path("flag").unlink()
    resumed = as_json("pipeline", "run", f"{module}:churn", "-p", "flag=flag")
    assert [s["cache"] for s in resumed["steps"]] == ["hit", "hit", "miss"]


def test_list_and_show(module: str, invoke: Invoke, as_json: Callable[..., Any]) -> None:
    first = as_json("pipeline", "run", f"{module}:churn")
    as_json("pipeline", "run", f"{module}:churn")
    runs = as_json("pipeline", "list")
    assert len(runs) == 2 and {r["name"] for r in runs} == {"churn"}
    assert as_json("pipeline", "list", "--pipeline", "other") == []
    table = invoke("pipeline", "list").stdout
    assert "churn" in table and "inline" in table
    shown = as_json("pipeline", "show", first["run_id"])
    assert [s["name"] for s in shown["steps"]] == ["load", "scale", "check"]
    assert shown["steps"][1]["upstream"] == ["load"]
    assert {s["status"] for s in shown["steps"]} == {"FINISHED"}
    latest = runs[0]["id"]
    drawn = invoke("pipeline", "show", latest).stdout
    assert "churn" in drawn and "check" in drawn and "cache hit" in drawn


def test_show_rejects_a_run_that_is_not_a_pipeline_run(
    module: str, invoke: Invoke, as_json: Callable[..., Any]
) -> None:
    first = as_json("pipeline", "run", f"{module}:churn")
    step_run = first["steps"][0]["run_id"]
    result = invoke("pipeline", "show", step_run, code=2)
    assert "not a pipeline run" in result.stderr
    invoke("pipeline", "show", "f" * 32, code=1)


def test_show_a_failed_run(module: str, invoke: Invoke, as_json: Callable[..., Any]) -> None:
    Path("flag").touch()
    invoke("pipeline", "run", f"{module}:churn", "-p", "flag=flag", code=1)
    run_id = as_json("pipeline", "list")[0]["id"]
    shown = as_json("pipeline", "show", run_id)
    assert shown["run"]["status"] == "FAILED"
    assert [s["status"] for s in shown["steps"]] == ["FINISHED", "FINISHED", "FAILED"]
    drawn = invoke("pipeline", "show", run_id).stdout
    assert "FAILED" in drawn and "ZeroDivisionError" in drawn


def test_entry_point_fast_path_runs_the_plain_forms(
    module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from loopml.cli.pipeline import run_main

    code = run_main([f"{module}:churn", "-p", "n=4", "--param=factor=0.5", "--json"])
    assert code == 0
    first = json.loads(capsys.readouterr().out)
    assert first["params"] == {"n": 4, "factor": 0.5, "flag": "no-such-file"}
    assert run_main([f"{module}:churn", "-p", "n=4", "-p", "factor=0.5", "--json"]) == 0
    assert {s["cache"] for s in json.loads(capsys.readouterr().out)["steps"]} == {"hit"}


def test_entry_point_fast_path_reports_usage_errors_and_defers_the_rest(
    module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from loopml.cli.pipeline import run_main

    assert run_main([f"{module}:churn", "-p", "nope=1"]) == 2
    assert "nope" in capsys.readouterr().err
    assert run_main([f"{module}:churn", "--executor", "gpu"]) == 2
    # --help, unknown options, a missing value or no target: Typer parses as usual
    assert run_main([f"{module}:churn", "--help"]) is None
    assert run_main([f"{module}:churn", "--bogus"]) is None
    assert run_main([f"{module}:churn", "-p"]) is None
    assert run_main([]) is None
