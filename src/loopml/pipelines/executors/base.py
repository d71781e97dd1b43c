"""The one interface every executor implements: submit a step task, get a future.

Executors only run :func:`loopml.pipelines.task.execute_task` somewhere (this thread, a
process pool, a Ray cluster). Workers write blobs; the driver alone writes metadata.
"""

from __future__ import annotations

import abc
from concurrent.futures import Future
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from loopml.pipelines.task import StepResult, StepTask

__all__ = ["Executor"]


class Executor(abc.ABC):
    """Runs step tasks. Subclasses: ``InlineExecutor``, ``ProcessExecutor``, ``RayExecutor``.

    Example:
        >>> from loopml.pipelines.executors import get_executor
        >>> with get_executor("inline") as executor:                  # doctest: +SKIP
        ...     result = executor.submit(task).result()
    """

    #: short name shown in run tags and the CLI ("inline", "process", "ray")
    name: str = "?"
    #: True when tasks run in the driver's own process and thread (the task then carries the
    #: function object itself and the step's exception object comes back as is)
    in_process: bool = False

    @property
    @abc.abstractmethod
    def max_workers(self) -> int:
        """How many tasks can run at the same time (1 for inline)."""

    @abc.abstractmethod
    def submit(self, task: StepTask) -> Future[StepResult]:
        """Start ``task``; the future's result is its :class:`StepResult`.

        A step that raises does not fail the future: the error travels in
        ``StepResult.error``. The future fails only when the executor itself does (a worker
        died, the cluster went away).
        """

    def close(self) -> None:  # noqa: B027 - optional hook, inline holds nothing
        """Release workers. Submitting after close is an error."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
