"""Run each step in the calling thread, one at a time: the debuggable executor."""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING

from loopml.pipelines.executors.base import Executor

if TYPE_CHECKING:
    from loopml.pipelines.task import StepResult, StepTask

__all__ = ["InlineExecutor"]


class InlineExecutor(Executor):
    """Runs a task as soon as it is submitted; the future is already done.

    Breakpoints in a step work, and the step's exception object (not only its text)
    reaches :class:`~loopml.pipelines.errors.StepFailedError`.
    """

    name = "inline"
    in_process = True

    @property
    def max_workers(self) -> int:
        return 1

    def submit(self, task: StepTask) -> Future[StepResult]:
        from loopml.pipelines.task import execute_task

        future: Future[StepResult] = Future()
        try:
            future.set_result(execute_task(task))
        except BaseException as exc:  # noqa: BLE001 - the engine reads it from the future
            future.set_exception(exc)
        return future
