"""Executors: by name, where step code is found (modules, scripts, local functions), errors
travel in the result, and independent steps overlap on ``process``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.pipelines.example_pipelines import two_naps

import loopml
from loopml import pipeline, step
from loopml.errors import InvalidInputError
from loopml.pipelines.executors import Executor, get_executor
from loopml.pipelines.executors.inline import InlineExecutor
from loopml.pipelines.executors.process import ProcessExecutor
from loopml.pipelines.task import OutputTask, StepTask, execute_task
from loopml.tracking.context import get_context

REPO = Path(__file__).resolve().parents[2]


@step
def in_test_module(x: int) -> int:
    return x + 1000


@pipeline
def module_pipeline(x: int = 1) -> None:
    in_test_module(x)


def test_get_executor_by_name() -> None:
    assert isinstance(get_executor("inline"), InlineExecutor)
    process = get_executor("process", max_workers=3)
    assert isinstance(process, ProcessExecutor) and process.max_workers == 3
    process.close()
    mine = InlineExecutor()
    assert get_executor(mine) is mine
    with pytest.raises(InvalidInputError, match="unknown executor"):
        get_executor("threads")
    assert issubclass(InlineExecutor, Executor) and InlineExecutor.in_process


def _task(tracking: str, function: str, **params: object) -> StepTask:
    settings = get_context().settings
    return StepTask(
        step="t",
        function=function,
        run_id="r",
        params=dict(params),
        inputs={},
        outputs=(OutputTask("output", "int", "json"),),
        tracking_uri=settings.tracking_uri,
        artifact_uri=settings.artifact_uri,
    )


def test_execute_task_returns_outputs_and_errors(tracking: str) -> None:
    ok = execute_task(_task(tracking, "tests.pipelines.example_pipelines:add", a=1, b=2))
    assert ok.error is None and ok.outputs["output"].materializer == "json"
    bad = execute_task(_task(tracking, "tests.pipelines.example_pipelines:add", a=1, b="x"))
    assert bad.error is not None and bad.error.type == "TypeError" and bad.outputs == {}
    assert "Traceback" in bad.error.traceback
    missing = execute_task(_task(tracking, "tests.pipelines.example_pipelines:nope"))
    assert missing.error is not None and "has no object 'nope'" in missing.error.message


def test_process_runs_a_step_defined_in_a_test_module(tracking: str) -> None:
    result = module_pipeline.run(executor="process", x=2)
    assert result.output("in_test_module") == 1002


def test_process_runs_a_local_function_by_value(tracking: str) -> None:
    offset = 7

    @step
    def local(x: int) -> int:
        return x + offset

    @pipeline
    def local_pipeline(x: int = 1) -> None:
        local(x)

    assert local_pipeline.run(executor="process", x=1).output("local") == 8


def test_process_runs_steps_of_a_script(tmp_path: Path) -> None:
    script = tmp_path / "scripted.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import loopml
            from loopml import pipeline, step

            @step
            def triple(x: int) -> int:
                return 3 * x

            @pipeline
            def scripted(x: int = 1) -> None:
                triple(triple(x))

            if __name__ == "__main__":
                loopml.configure(tracking_uri="sqlite:///{tmp_path / "s.db"}",
                                 artifact_uri="{tmp_path / "objects"}")
                result = scripted.run(executor="process", x=2)
                print("RESULT", result.output("triple_2"))
            """
        )
    )
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "RESULT 18" in out.stdout


def test_process_runs_independent_steps_in_parallel(tracking: str) -> None:
    result = two_naps.run(executor=ProcessExecutor(max_workers=2), seconds=1.0)
    (s1, e1), (s2, e2) = result.output("nap"), result.output("nap_2")
    assert s1 < e2 and s2 < e1  # the two intervals overlap


def test_bad_input_fails_before_any_run_is_created(tracking: str) -> None:
    with pytest.raises(InvalidInputError):
        two_naps.run(executor="process", sleep=1)
    with pytest.raises(InvalidInputError):
        two_naps.run(executor="nope")
    assert loopml.search_runs(output="list") == []
