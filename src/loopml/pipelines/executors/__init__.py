"""Executors: where step tasks run (``inline``, ``process``, ``ray``).

Example:
    >>> from loopml.pipelines.executors import get_executor
    >>> get_executor("inline").max_workers
    1
"""

from __future__ import annotations

from typing import Any

from loopml.errors import InvalidInputError
from loopml.pipelines.executors.base import Executor

__all__ = ["EXECUTORS", "Executor", "get_executor"]

#: executor names accepted by ``Pipeline.run(executor=...)`` and ``--executor``
EXECUTORS = ("inline", "process", "ray")


def get_executor(name: str | Executor, **kwargs: Any) -> Executor:
    """An executor by name; an :class:`Executor` instance is returned as is.

    Args:
        name: "inline", "process" or "ray".
        **kwargs: Passed to the executor: ``max_workers`` for process, ``address`` for ray.

    Raises:
        InvalidInputError: an unknown name.
        MissingExtraError: "ray" without Ray installed.
    """
    if isinstance(name, Executor):
        return name
    if name == "inline":
        from loopml.pipelines.executors.inline import InlineExecutor

        return InlineExecutor()
    if name == "process":
        from loopml.pipelines.executors.process import ProcessExecutor

        return ProcessExecutor(max_workers=kwargs.get("max_workers"))
    if name == "ray":
        from loopml.pipelines.executors.ray_executor import RayExecutor

        return RayExecutor(**kwargs)
    raise InvalidInputError(
        f"unknown executor {name!r}",
        field="executor",
        hint=f"use one of: {', '.join(EXECUTORS)}",
    )
