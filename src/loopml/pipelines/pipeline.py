"""``@pipeline``: a function whose body wires steps into a static DAG, and ``.run()``."""

from __future__ import annotations

import functools
import json
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from loopml.errors import InvalidInputError
from loopml.pipelines.dag import Graph, GraphBuilder, active_builder

if TYPE_CHECKING:
    from loopml.pipelines.executors.base import Executor
    from loopml.pipelines.result import PipelineRunResult

__all__ = ["Pipeline", "pipeline"]


class Pipeline:
    """A pipeline: its body function, name and project. Made by :func:`pipeline`.

    Calling it inside another pipeline's body adds its steps there; calling it elsewhere
    runs it (like :meth:`run` with the default options).
    """

    def __init__(
        self, func: Callable[..., Any], *, name: str | None = None, project: str | None = None
    ) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.name: str = str(name or getattr(func, "__name__", "pipeline"))
        self.project = project

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if active_builder() is not None:
            return self.func(*args, **kwargs)
        if args:
            raise InvalidInputError(
                f"pipeline {self.name!r} takes its params by name", field=self.name
            )
        return self.run(**kwargs)

    @property
    def target(self) -> str:
        """``module:name`` for ``loopml pipeline run`` (a script's ``__main__`` is its file
        name)."""
        import sys

        module_name = getattr(self.func, "__module__", None) or "__main__"
        if module_name in ("__main__", "__mp_main__"):
            file = getattr(sys.modules.get(module_name), "__file__", None)
            module_name = Path(file).stem if file else module_name
        return f"{module_name}:{getattr(self.func, '__qualname__', self.name)}"

    def build(self, **params: Any) -> tuple[Graph, dict[str, Any], dict[str, Any]]:
        """Check and convert ``params``, run the body to get the DAG, and check that every
        step's outputs can be stored; nothing runs.

        Returns:
            ``(graph, all params, the params given)``.

        Raises:
            InvalidInputError: an unknown, missing or unconvertible param; a step returning
                a type no materializer stores; a body without steps.
        """
        from loopml.pipelines.materializers import materializer_for
        from loopml.pipelines.params import bind_params

        full, given = bind_params(self.func, params, pipeline=self.name)
        with GraphBuilder(self.name) as builder:
            self.func(**full)
        graph = builder.graph
        if not graph.nodes:
            raise InvalidInputError(
                f"pipeline {self.name!r} calls no step",
                field=self.name,
                hint="decorate the functions it calls with @step",
            )
        chosen: dict[int, dict[str, str]] = {}
        for node in graph.nodes.values():
            step = node.step
            names = chosen.get(id(step))
            if names is None:
                names = {
                    spec.name: materializer_for(
                        spec.hint, allow_pickle=step.allow_pickle, step=step.name
                    ).name
                    for spec in step.shape.specs
                }
                chosen[id(step)] = names
            node.materializers = dict(names)
        return graph, full, given

    def run(
        self,
        *,
        executor: str | Executor = "inline",
        cache: bool = True,
        ray_address: str | None = None,
        max_workers: int | None = None,
        parent: str | None = None,
        **params: Any,
    ) -> PipelineRunResult:
        """Run the pipeline: a run with one child run per step execution.

        Args:
            executor: "inline" (this process, one step at a time), "process" (a pool of
                processes) or "ray"; or an Executor.
            cache: With False, no step is served from the cache (results are still stored
                so the next run can reuse them).
            ray_address: Ray cluster address (else LOOPML_RAY_ADDRESS, RAY_ADDRESS, local).
            max_workers: Processes for the "process" executor (default: CPU count).
            parent: Run id to nest the pipeline run under (default: the active run, if any).
            **params: The pipeline's params, converted to its type hints.

        Returns:
            The run's id, and each step's status, cache use and outputs.

        Raises:
            InvalidInputError: bad params or an unstorable return type, before any step runs.
            StepFailedError: a step failed after its retries; the message has a resume command.
        """
        from loopml.pipelines.runner import run_pipeline

        graph, full, given = self.build(**params)
        return run_pipeline(
            self,
            graph,
            full,
            given,
            executor=executor,
            cache=cache,
            ray_address=ray_address,
            max_workers=max_workers,
            parent=parent,
        )

    def resume_command(self, given: Mapping[str, Any], executor: str = "inline") -> str:
        """The ``loopml pipeline run`` command that re-runs with ``given`` params."""
        parts = ["loopml", "pipeline", "run", self.target]
        for key, value in given.items():
            text = value if isinstance(value, str) else _param_text(value)
            parts += ["--param", f"{key}={text}"]
        if executor != "inline":
            parts += ["--executor", executor]
        return shlex.join(parts)


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict | tuple):
        try:
            return json.dumps(value)
        except TypeError:
            return str(value)
    if isinstance(value, Path):
        return str(value)
    return str(getattr(value, "value", value))


@overload
def pipeline(func: Callable[..., Any], /) -> Pipeline: ...
@overload
def pipeline(
    *, name: str | None = None, project: str | None = None
) -> Callable[[Callable[..., Any]], Pipeline]: ...
def pipeline(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    project: str | None = None,
) -> Pipeline | Callable[[Callable[..., Any]], Pipeline]:
    """Make a function a pipeline: ``@pipeline`` or ``@pipeline(name=..., project=...)``.

    The body calls steps; each call is a node of a static DAG (it does not run then).
    The pipeline's params are the function's params, converted to its type hints.

    Example:
        >>> from loopml import pipeline, step
        >>> @step
        ... def inc(x: int) -> int:
        ...     return x + 1
        >>> @pipeline(name="plus-two")
        ... def plus_two(x: int = 0) -> None:
        ...     inc(inc(x))
        >>> graph, _, _ = plus_two.build(x=1)
        >>> list(graph.nodes)
        ['inc', 'inc_2']
    """
    if func is not None:
        return Pipeline(func, name=name, project=project)

    def decorate(inner: Callable[..., Any]) -> Pipeline:
        return Pipeline(inner, name=name, project=project)

    return decorate
