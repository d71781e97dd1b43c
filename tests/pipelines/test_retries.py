"""Retries with backoff, failures with the original error, and resume after a failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.pipelines.example_pipelines import (
    FlakyError,
    dying,
    interrupting,
    resumable,
    retrying,
)

import loopml
from loopml.pipelines import StepFailedError
from loopml.pipelines.history import read_pipeline_run

pytestmark = pytest.mark.usefixtures("tracking")


def test_a_step_that_fails_then_succeeds_is_retried(executor: str, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    result = retrying.run(executor=executor, counter=str(counter), fail_times=2)
    assert result.output("add") == 11
    assert result["flaky"].attempts == 3
    assert counter.read_text() == "3"
    run = loopml.get_run(result["flaky"].run_id or "")
    assert run.status.value == "FINISHED"
    assert run.tags["loopml.attempts"] == "3"
    stderr = loopml.list_artifacts(run.id)
    assert stderr == [] or all(a.path.startswith("logs/") for a in stderr)


def test_a_step_failing_after_its_retries_fails_the_run(executor: str, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    with pytest.raises(StepFailedError) as info:
        retrying.run(executor=executor, counter=str(counter), fail_times=5)
    error = info.value
    assert counter.read_text() == "3"  # 1 try + 2 retries
    assert error.step == "flaky" and error.attempts == 3
    assert error.exc_type == "tests.pipelines.example_pipelines.FlakyError"
    assert error.exc_message == "attempt 3 fails"
    assert "raise FlakyError" in error.traceback_text
    assert "loopml pipeline run tests.pipelines.example_pipelines:retrying" in error.resume_hint
    assert f"--param 'counter={counter}'" in error.resume_hint or (
        f"--param counter={counter}" in error.resume_hint
    )
    if executor != "process" or error.original is not None:
        assert isinstance(error.original, FlakyError | type(None))
    pipeline_run = loopml.get_run(error.run_id or "")
    assert pipeline_run.status.value == "FAILED"
    assert "FlakyError" in (pipeline_run.error or "")
    step_run = loopml.get_run(error.step_run_id or "")
    assert step_run.status.value == "FAILED" and "attempt 3 fails" in (step_run.error or "")
    names = {r.name: r.status.value for r in read_pipeline_run(pipeline_run.id).steps}
    assert names == {"source": "FINISHED", "flaky": "FAILED"}  # add never started


def test_inline_failure_chains_the_original_exception(tmp_path: Path) -> None:
    with pytest.raises(StepFailedError) as info:
        retrying.run(counter=str(tmp_path / "c"), fail_times=9)
    assert isinstance(info.value.__cause__, FlakyError)
    assert isinstance(info.value.original, FlakyError)
    assert any("raise FlakyError" in note for note in info.value.__notes__)


def test_resume_reruns_only_the_failed_and_downstream_steps(executor: str, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.touch()
    with pytest.raises(StepFailedError) as info:
        resumable.run(executor=executor, flag=str(flag))
    assert info.value.step == "gate"
    flag.unlink()
    resumed = resumable.run(executor=executor, flag=str(flag))
    assert resumed.output("mul") == (1 + 1 + 100) * (1 + 5)
    assert resumed.cached == ["source", "add", "add_2"]
    assert resumed.executed == ["gate", "mul"]


def test_independent_branch_finishes_when_another_fails(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    flag.touch()
    with pytest.raises(StepFailedError) as info:
        resumable.run(executor="inline", flag=str(flag))
    steps = {r.name: r for r in read_pipeline_run(info.value.run_id or "").steps}
    assert steps["gate"].status.value == "FAILED"
    assert "mul" not in steps


def test_a_dead_worker_fails_the_step_not_the_engine() -> None:
    with pytest.raises(StepFailedError) as info:
        dying.run(executor="process")
    assert info.value.step == "die" and "BrokenProcessPool" in info.value.exc_type
    assert loopml.get_run(info.value.run_id or "").status.value == "FAILED"


def test_an_interrupt_kills_the_runs() -> None:
    with pytest.raises(KeyboardInterrupt):
        interrupting.run()
    (run,) = loopml.search_runs(filter="tags.loopml.step IS NULL", output="list")
    assert run.status.value == "KILLED"
    steps = {r.name: r.status.value for r in read_pipeline_run(run.id).steps}
    assert steps == {"source": "FINISHED", "interrupted": "KILLED"}
