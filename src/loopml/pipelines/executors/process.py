"""Run steps in a pool of spawned processes: independent branches and map items in parallel.

Spawned (not forked) workers start clean: no inherited threads, locks or open database
connections. Each worker imports a step's function by ``module:qualname``; the folder that
makes the module importable travels with the task.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from loopml.pipelines.executors.base import Executor

if TYPE_CHECKING:
    from loopml.pipelines.task import StepResult, StepTask

__all__ = ["ProcessExecutor"]


def _init_worker(cwd_path: str) -> None:
    import sys

    if cwd_path not in sys.path:
        sys.path.insert(0, cwd_path)


class ProcessExecutor(Executor):
    """A spawn-context :class:`~concurrent.futures.ProcessPoolExecutor`.

    Args:
        max_workers: Processes in the pool (default: the number of CPUs).
    """

    name = "process"

    def __init__(self, max_workers: int | None = None) -> None:
        self._max_workers = max_workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    @property
    def max_workers(self) -> int:
        return self._max_workers

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self._max_workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(os.getcwd(),),
            )
        return self._pool

    def submit(self, task: StepTask) -> Future[StepResult]:
        from loopml.pipelines.task import execute_task

        return self._get_pool().submit(execute_task, task)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
