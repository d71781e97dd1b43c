"""The Ray executor: where it connects, that steps run as Ray tasks with correct results, and
that a step raising on a Ray worker shows the original exception (type, message, traceback)."""

from __future__ import annotations

import pickle
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from tests.pipelines.sweep_pipelines import CustomStepError, exploding, quadratic

import loopml
from loopml.errors import MissingExtraError
from loopml.pipelines.executors.ray_executor import (
    ADDRESS_VARIABLES,
    RayExecutor,
    _unwrap,
    ensure_ray,
    resolve_ray_address,
    worker_paths,
)
from loopml.pipelines.task import OutputTask, StepResult, StepTask

REPO = Path(__file__).resolve().parents[2]


# -- the address, resolved without connecting -------------------------------------------------
def test_address_argument_wins_over_both_variables() -> None:
    env = {"LOOPML_RAY_ADDRESS": "ray://loopml:10001", "RAY_ADDRESS": "ray://ray:10001"}
    assert resolve_ray_address("ray://arg:10001", env) == "ray://arg:10001"


def test_loopml_variable_wins_over_ray_variable() -> None:
    env = {"LOOPML_RAY_ADDRESS": "ray://loopml:10001", "RAY_ADDRESS": "ray://ray:10001"}
    assert resolve_ray_address(None, env) == "ray://loopml:10001"


def test_ray_variable_is_used_last() -> None:
    assert resolve_ray_address(None, {"RAY_ADDRESS": "auto"}) == "auto"


def test_no_address_means_a_local_ray() -> None:
    assert resolve_ray_address(None, {}) is None
    assert resolve_ray_address("  ", {"LOOPML_RAY_ADDRESS": "", "RAY_ADDRESS": " "}) is None


def test_address_read_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "ray://from-ray:10001")
    assert resolve_ray_address() == "ray://from-ray:10001"
    monkeypatch.setenv("LOOPML_RAY_ADDRESS", "ray://from-loopml:10001")
    assert resolve_ray_address() == "ray://from-loopml:10001"
    assert ADDRESS_VARIABLES == ("LOOPML_RAY_ADDRESS", "RAY_ADDRESS")


def test_missing_ray_is_a_missing_extra_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    with pytest.raises(MissingExtraError) as info:
        RayExecutor()
    assert info.value.hint == "pip install 'loopml[ray]'"
    assert "ray executor" in info.value.message


def test_worker_paths_hold_the_project_folders_not_site_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    paths = worker_paths()
    assert str(tmp_path.resolve()) in paths
    assert str(Path.cwd().resolve()) in paths
    assert not any("site-packages" in p for p in paths)


class _FakeRayTaskError(Exception):
    """What Ray raises for a failed task: its text is the worker's traceback, ``cause`` the
    exception the code raised."""

    def __init__(self, text: str, cause: BaseException) -> None:
        super().__init__(text)
        self.cause = cause


def test_unwrap_returns_the_original_exception_with_the_worker_traceback() -> None:
    original = CustomStepError("the original message")
    shown = _unwrap(_FakeRayTaskError('File "steps.py", line 3, in explode', original))
    assert shown is original
    assert any("line 3, in explode" in note for note in shown.__notes__)
    plain = KeyError("not wrapped")
    assert _unwrap(plain) is plain


# -- on a local Ray ---------------------------------------------------------------------------
# fixtures `local_ray` (one local Ray per session) and `tracking` come from conftest.py


@pytest.mark.slow
def test_pipeline_results_on_ray(local_ray: Any, tracking: str) -> None:
    result = quadratic.run(x=5.0, executor="ray")
    assert result.status == "FINISHED"
    assert result.output("evaluate") == {"score": -9.0, "abs": 3.0}
    assert result.output("shift") == 3.0
    run = loopml.get_run(result.run_id)
    assert run.tags["loopml.executor"] == "ray"
    for name in ("shift", "evaluate"):
        step_run = loopml.get_run(result[name].run_id or "")
        assert step_run.parent_id == result.run_id
        assert step_run.status == "FINISHED"


@pytest.mark.slow
def test_a_step_raising_on_ray_shows_the_original_exception(local_ray: Any, tracking: str) -> None:
    from loopml.pipelines.errors import StepFailedError

    with pytest.raises(StepFailedError) as info:
        exploding.run(x=7.0, executor="ray")
    error = info.value
    assert error.step == "explode"
    assert error.exc_type == "tests.pipelines.sweep_pipelines.CustomStepError"
    assert error.exc_message == "the original message (x=7.0)"
    assert "CustomStepError: the original message (x=7.0)" in error.traceback_text
    assert "in explode" in error.traceback_text  # the worker's frame, not Ray's
    assert isinstance(error.__cause__, CustomStepError)
    assert "RayTaskError" not in str(error)


def _task(function: str, tracking_uri: str, artifact_uri: str, **params: Any) -> StepTask:
    return StepTask(
        step=function.rpartition(":")[2],
        function=function,
        run_id="0" * 32,
        params=params,
        inputs={},
        outputs=(OutputTask("output", "float", "json"),),
        tracking_uri=tracking_uri,
        artifact_uri=artifact_uri,
        sys_path=(str(REPO),),
    )


class _BreaksOnTheWorker:
    """Pickles on the driver; unpickling it (on the worker) raises CustomStepError."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_raise_custom, ("could not unpickle on the worker",))


def _raise_custom(message: str) -> None:
    raise CustomStepError(message)


@pytest.mark.slow
def test_submit_returns_a_concurrent_future_of_the_step_result(
    local_ray: Any, tracking: str, tmp_path: Path
) -> None:
    with RayExecutor() as executor:
        assert executor.max_workers >= 1
        future = executor.submit(
            _task(
                "tests.pipelines.sweep_pipelines:parabola",
                tracking,
                str(tmp_path / "objects"),
                x=4.0,
            )
        )
        assert isinstance(future, Future)
        result = future.result(timeout=120)
    assert isinstance(result, StepResult)
    assert result.error is None
    ref = result.outputs["output"]
    assert ref.materializer == "json"
    from loopml.pipelines.materializers import get_materializer
    from loopml.tracking.context import get_context

    assert get_materializer("json").load(ref, get_context()) == -4.0


@pytest.mark.slow
def test_ray_failing_a_task_itself_raises_the_original_exception(
    local_ray: Any, tracking: str, tmp_path: Path
) -> None:
    task = _task(
        "tests.pipelines.sweep_pipelines:parabola", tracking, str(tmp_path / "objects"), x=1.0
    )
    task.params["x"] = _BreaksOnTheWorker()
    pickle.dumps(task)  # fine on the driver
    with RayExecutor() as executor:
        future = executor.submit(task)
        with pytest.raises(CustomStepError, match="could not unpickle on the worker"):
            future.result(timeout=120)


@pytest.mark.slow
def test_ensure_ray_reuses_the_running_ray(local_ray: Any) -> None:
    ray, local = ensure_ray()
    assert ray.is_initialized()
    assert local is True
    assert ensure_ray()[0] is ray
