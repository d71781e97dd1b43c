"""What a worker receives and sends back: :class:`StepTask` in, :class:`StepResult` out.

:func:`execute_task` runs in any worker (this thread, a spawned process, a Ray task): it
loads the inputs through their materializers, calls the step function with stdout/stderr
captured, and saves each output through its materializer. It writes blobs only, never
metadata; the driver records what the result says.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loopml.entities import ArtifactEntry
from loopml.pipelines.refs import ArtifactRef

if TYPE_CHECKING:
    from loopml.tracking.context import TrackingContext

__all__ = ["ErrorInfo", "OutputTask", "StepResult", "StepTask", "execute_task"]

#: an input is one stored output, or a list of them (fan-in)
InputRef = ArtifactRef | list[ArtifactRef]


@dataclass(frozen=True, slots=True)
class OutputTask:
    """One output to save: its name, its type hint (as text) and the materializer to use
    (None: choose from the value at run time)."""

    name: str
    hint: str
    materializer: str | None


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A step's exception, as text that survives any pickling (``exception`` when it can)."""

    type: str
    message: str
    traceback: str
    exception: BaseException | None = None

    @classmethod
    def from_exception(cls, exc: BaseException, *, check_pickle: bool = True) -> ErrorInfo:
        """Describe ``exc``; keep the object itself unless ``check_pickle`` finds it does not
        pickle (a worker's result must)."""
        kind = type(exc)
        name = (
            kind.__qualname__
            if kind.__module__ == "builtins"
            else (f"{kind.__module__}.{kind.__qualname__}")
        )
        text = "".join(traceback.format_exception(exc))
        obj: BaseException | None = exc
        if check_pickle:
            try:
                pickle.dumps(obj)
            except Exception:  # noqa: BLE001 - unpicklable exceptions travel as text only
                obj = None
        return cls(name, str(exc), text, obj)


@dataclass
class StepTask:
    """One step execution, small and picklable.

    ``func`` is set only for in-process executors and never pickled; workers import the
    function by ``function`` (``module:qualname``) after putting ``sys_path`` on
    ``sys.path``, or unpickle ``function_bytes`` when it is not importable.
    """

    step: str
    function: str
    run_id: str
    params: dict[str, Any]
    inputs: dict[str, InputRef]
    outputs: tuple[OutputTask, ...]
    tracking_uri: str
    artifact_uri: str
    project: str = "default"
    allow_pickle: bool = False
    attempt: int = 1
    sys_path: tuple[str, ...] = ()
    file: str | None = None
    function_bytes: bytes | None = None
    func: Callable[..., Any] | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["func"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


@dataclass(frozen=True, slots=True)
class StepResult:
    """What a step execution produced (``error`` set when the step raised)."""

    outputs: Mapping[str, ArtifactRef]
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    error: ErrorInfo | None = None
    started_at: int = 0
    #: what the step logged with ``loopml.log_*``: writer items for its run, artifact entries
    logged: tuple[tuple[str, int, str, object, int, int], ...] = ()
    artifacts: tuple[ArtifactEntry, ...] = ()


_contexts: dict[tuple[str, str], TrackingContext] = {}


def _context_for(task: StepTask) -> TrackingContext:
    from loopml.tracking.context import get_context

    current = get_context()
    settings = current.settings
    if settings.tracking_uri == task.tracking_uri and settings.artifact_uri == task.artifact_uri:
        return current
    key = (task.tracking_uri, task.artifact_uri)
    ctx = _contexts.get(key)
    if ctx is None:
        from loopml.config import Settings
        from loopml.tracking.context import TrackingContext

        ctx = TrackingContext(Settings(task.tracking_uri, task.artifact_uri, task.project))
        _contexts[key] = ctx
    return ctx


def resolve_function(task: StepTask) -> Callable[..., Any]:
    """The plain function a task runs (a ``Step`` object is unwrapped)."""
    func: Any = task.func
    if func is None:
        if task.function_bytes is not None:
            import cloudpickle

            # Not a stored artifact: the driver of this very run pickled its own step function
            # (one defined in __main__ or inside a function, which cannot be imported by path)
            # and handed the bytes to its own worker through the pool's pipe or Ray. Nothing
            # read from the object store or a file is ever unpickled without allow_pickle.
            func = cloudpickle.loads(task.function_bytes)
        else:
            from loopml.pipelines.imports import import_object

            func = import_object(task.function, sys_path=task.sys_path, file=task.file)
    inner = getattr(func, "func", None)
    return inner if callable(inner) and hasattr(func, "map") else func  # type: ignore[no-any-return]


def _load_inputs(task: StepTask, ctx: TrackingContext) -> dict[str, Any]:
    from loopml.pipelines.materializers import get_materializer

    values: dict[str, Any] = {}
    for name, ref in task.inputs.items():
        if isinstance(ref, list):
            values[name] = [get_materializer(r.materializer).load(r, ctx) for r in ref]
        else:
            values[name] = get_materializer(ref.materializer).load(ref, ctx)
    return values


def _save_outputs(
    task: StepTask, func: Callable[..., Any], value: Any, ctx: TrackingContext
) -> dict[str, ArtifactRef]:
    if not task.outputs:
        return {}
    from loopml.pipelines.materializers import get_materializer, materializer_for
    from loopml.pipelines.outputs import shape_of, split_outputs

    shape = shape_of(func, task.step)
    values = split_outputs(value, shape, task.step)
    hints = {spec.name: spec.hint for spec in shape.specs}
    refs: dict[str, ArtifactRef] = {}
    for out in task.outputs:
        item = values[out.name]
        if out.materializer is not None:
            materializer = get_materializer(out.materializer)
        else:
            materializer = materializer_for(
                hints.get(out.name, Any), item, allow_pickle=task.allow_pickle, step=task.step
            )
        refs[out.name] = materializer.save(item, ctx)
    return refs


def execute_task(task: StepTask) -> StepResult:
    """Run one step: load inputs, call the function (output captured), save outputs.

    Never raises for an error of the step itself: it comes back in ``StepResult.error``.
    What the step logs with ``loopml.log_*`` comes back too (see
    :mod:`loopml.pipelines.step_context`).
    """
    from loopml.pipelines.step_context import param_texts, step_run

    started = time.time_ns() // 1_000_000
    start = time.perf_counter()
    out, err = io.StringIO(), io.StringIO()
    refs: dict[str, ArtifactRef] = {}
    error: ErrorInfo | None = None
    logged: tuple[Any, ...] = ()
    artifacts: tuple[Any, ...] = ()
    try:
        ctx = _context_for(task)
        func = resolve_function(task)
        texts = param_texts(task.params)
        with (
            step_run(
                ctx, run_id=task.run_id, project=task.project, name=task.step, params=texts
            ) as collected,
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                kwargs = dict(task.params)
                if task.inputs:
                    kwargs.update(_load_inputs(task, ctx))
                value = func(**kwargs)
                refs = _save_outputs(task, func, value, ctx)
            finally:
                logged, artifacts = tuple(collected.items), tuple(collected.artifacts)
    except Exception as exc:  # noqa: BLE001 - the step's error goes back to the driver
        refs = {}
        error = ErrorInfo.from_exception(exc, check_pickle=task.func is None)
    return StepResult(
        refs,
        out.getvalue(),
        err.getvalue(),
        time.perf_counter() - start,
        error,
        started,
        logged,
        artifacts,
    )
