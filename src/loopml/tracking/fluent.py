"""The module-level tracking API: ``loopml.start_run``, ``loopml.log_metric`` and friends.

There is one stack of active runs per process. ``start_run`` inside an active run starts a
child run. Logging with no active run starts one in the default project (as MLflow does);
it is ended FINISHED at exit, or FAILED if the interpreter dies of an uncaught exception.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

from loopml.entities import ArtifactEntry, Metric, Project, Run, RunStatus
from loopml.errors import InvalidInputError
from loopml.tracking import artifacts as _artifacts
from loopml.tracking.context import get_context
from loopml.tracking.run import ActiveRun, MetricLike
from loopml.tracking.source import capture_source

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "active_run",
    "delete_run",
    "download_artifacts",
    "end_run",
    "flush",
    "get_metric_history",
    "get_run",
    "list_artifacts",
    "list_projects",
    "log_artifact",
    "log_artifacts",
    "log_batch",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "restore_run",
    "search_runs",
    "set_tag",
    "set_tags",
    "start_run",
]

_stack: list[ActiveRun] = []
_stack_lock = threading.RLock()
_terminated = False
_hooks_installed = False


def start_run(
    project: str | None = None,
    name: str | None = None,
    tags: Mapping[str, object] | None = None,
    *,
    parent: ActiveRun | str | None = None,
    nested: bool = True,
) -> ActiveRun:
    """Start a run and make it the active one.

    Args:
        project: Project name (created if new); defaults to the configured project.
        name: Run name; a readable one is generated when omitted.
        tags: Initial tags, written with the run in one transaction.
        parent: Parent run (handle or id). Defaults to the active run, if any.
        nested: With False, refuse to start while another run is active.

    Returns:
        The run handle; use it with ``with`` so it ends FINISHED, FAILED or KILLED.

    Example:
        >>> import loopml
        >>> with loopml.start_run(project="churn", name="baseline") as run:  # doctest: +SKIP
        ...     loopml.log_metric("acc", 0.91)
    """
    ctx = get_context()
    with _stack_lock:
        current = _stack[-1] if _stack else None
        if current is not None and not nested and parent is None:
            raise InvalidInputError(
                f"run {current.name!r} ({current.id}) is still active",
                field="nested",
                hint="end it first, or pass nested=True for a child run",
            )
        parent_id = parent.id if isinstance(parent, ActiveRun) else parent
        if parent_id is None and current is not None:
            parent_id = current.id
        if project is None:
            project = current.project if current is not None else ctx.settings.project
        tag_text = {str(k): str(v) for k, v in (tags or {}).items()}
        record = ctx.store.create_run(
            project, name=name, tags=tag_text, parent_id=parent_id, source=capture_source()
        )
        run = ActiveRun(record, ctx)
        run.on_end.append(_pop)
        _stack.append(run)
    _install_hooks()
    return run


def _pop(run: ActiveRun) -> None:
    with _stack_lock:
        if run in _stack:
            _stack.remove(run)


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    with _stack_lock:
        return _stack[-1] if _stack else None


def _current() -> ActiveRun:
    run = active_run()
    return run if run is not None else start_run()


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End the active run (flushing what it logged). Does nothing when no run is active."""
    run = active_run()
    if run is not None:
        run.end(status)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Record one metric value in the active run (queued: costs microseconds)."""
    _current().log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Record several metrics at one step in the active run."""
    _current().log_metrics(metrics, step)


def log_param(key: str, value: object) -> None:
    """Record one param (immutable) in the active run."""
    _current().log_param(key, value)


def log_params(params: Mapping[str, object]) -> None:
    """Record several params in the active run."""
    _current().log_params(params)


def set_tag(key: str, value: object) -> None:
    """Set a tag on the active run."""
    _current().set_tag(key, value)


def set_tags(tags: Mapping[str, object]) -> None:
    """Set several tags on the active run."""
    _current().set_tags(tags)


def log_batch(
    metrics: Iterable[MetricLike] = (),
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, object] | None = None,
) -> None:
    """Record many metrics, params and tags in the active run in one call."""
    _current().log_batch(metrics, params, tags)


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None
) -> ArtifactEntry:
    """Store a local file in the active run."""
    return _current().log_artifact(local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None
) -> list[ArtifactEntry]:
    """Store every file of a folder in the active run."""
    return _current().log_artifacts(local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> ArtifactEntry:
    """Store text as a file of the active run."""
    return _current().log_text(text, artifact_file)


def log_dict(data: Mapping[str, Any] | list[Any], artifact_file: str) -> ArtifactEntry:
    """Store a dict as JSON/YAML in the active run."""
    return _current().log_dict(data, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> ArtifactEntry:
    """Store a matplotlib figure in the active run."""
    return _current().log_figure(figure, artifact_file)


def flush() -> None:
    """Write every queued value now; raise the first write error since the last flush."""
    get_context().flush()


def get_run(run_id: str) -> Run:
    """A run with its params, latest metrics and tags."""
    ctx = get_context()
    ctx.flush()
    return ctx.store.get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    """Every logged point of one metric of a run, by step."""
    ctx = get_context()
    ctx.flush()
    return ctx.store.get_metric_history(run_id, key)


def list_projects() -> list[Project]:
    """All projects with their run counts."""
    return get_context().store.list_projects()


def delete_run(run_id: str) -> None:
    """Soft-delete a run (``restore_run`` brings it back until ``loopml gc`` purges it)."""
    get_context().store.delete_runs([run_id])


def restore_run(run_id: str) -> None:
    """Undo :func:`delete_run`."""
    get_context().store.restore_runs([run_id])


def list_artifacts(run_id: str, path: str = "") -> list[ArtifactEntry]:
    """The run's files under the folder ``path`` ("" for all), by path."""
    from loopml.tracking.validation import check_artifact_path

    ctx = get_context()
    return ctx.store.list_artifacts(run_id, check_artifact_path(path) if path else "")


def download_artifacts(run_id: str, path: str = "", dest: str | os.PathLike[str] = ".") -> Path:
    """Copy a run's file or folder into ``dest``, verified against its hashes."""
    ctx = get_context()
    return _artifacts.download_artifacts(ctx, run_id, path, dest)


@overload
def search_runs(
    project: str | Sequence[str] | None = ...,
    filter: str | None = ...,
    order_by: Sequence[str] | str | None = ...,
    max_results: int = ...,
    lifecycle: Literal["active", "deleted", "all"] = ...,
    output: Literal["pandas"] = ...,
) -> pd.DataFrame: ...
@overload
def search_runs(
    project: str | Sequence[str] | None = ...,
    filter: str | None = ...,
    order_by: Sequence[str] | str | None = ...,
    max_results: int = ...,
    lifecycle: Literal["active", "deleted", "all"] = ...,
    *,
    output: Literal["list"],
) -> list[Run]: ...
def search_runs(
    project: str | Sequence[str] | None = None,
    filter: str | None = None,  # noqa: A002 - the name users know from MLflow
    order_by: Sequence[str] | str | None = None,
    max_results: int = 100_000,
    lifecycle: Literal["active", "deleted", "all"] = "active",
    output: Literal["pandas", "list"] = "pandas",
) -> pd.DataFrame | list[Run]:
    """Find runs with a filter, newest first unless ``order_by`` says otherwise.

    Args:
        project: A project, several, or None for all.
        filter: e.g. ``"metrics.acc > 0.9 and params.depth = '6'"`` (see the docs' grammar).
        order_by: e.g. ``["metrics.acc DESC"]``.
        max_results: Upper bound on rows returned.
        lifecycle: "active" (default), "deleted" or "all".
        output: "pandas" for a DataFrame (one row a run, ``metrics.*``/``params.*``/``tags.*``
            columns) or "list" for Run records.

    Raises:
        FilterSyntaxError: the filter does not parse; the message points at the token.
    """
    from loopml.store.filter import parse_filter, parse_order_by

    if max_results < 1:
        raise InvalidInputError("max_results must be at least 1", field="max_results")
    ast = parse_filter(filter)
    ordering = parse_order_by(order_by)
    projects = [project] if isinstance(project, str) else (list(project) if project else None)
    ctx = get_context()
    ctx.flush()
    runs: list[Run] = []
    token: str | None = None
    while len(runs) < max_results:
        page = ctx.store.search_runs(
            projects,
            filter=ast,
            order_by=ordering,
            page_token=token,
            max_results=min(10_000, max_results - len(runs)),
            lifecycle=lifecycle,
        )
        runs.extend(page.items)
        token = page.next_token
        if token is None:
            break
    if output == "list":
        return runs
    from loopml.tracking.frames import runs_to_frame

    return runs_to_frame(runs)


# -- process-wide hooks: SIGTERM, uncaught exceptions, exit ---------------------------------
def _install_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous_hook = sys.excepthook

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        status = RunStatus.KILLED if issubclass(exc_type, KeyboardInterrupt) else RunStatus.FAILED
        _end_all(status, text)
        previous_hook(exc_type, exc, tb)

    sys.excepthook = excepthook
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    global _terminated
    _terminated = True
    raise SystemExit(128 + signum)


def _end_all(status: RunStatus, error: str | None) -> None:
    with _stack_lock:
        runs = list(reversed(_stack))
    for run in runs:
        try:
            run.end(status, error)
        except Exception as exc:  # noqa: BLE001 - ending the rest matters more
            print(f"loopml: could not end run {run.id}: {exc}", file=sys.stderr)


def _end_runs_at_exit() -> None:
    """End runs still open at interpreter exit (KILLED after SIGTERM, else FINISHED)."""
    _end_all(
        RunStatus.KILLED if _terminated else RunStatus.FINISHED,
        "terminated by SIGTERM" if _terminated else None,
    )


def _after_fork_in_child() -> None:
    global _stack_lock, _hooks_installed
    _stack.clear()
    _stack_lock = threading.RLock()
    _hooks_installed = True  # the parent's hooks are inherited


os.register_at_fork(after_in_child=_after_fork_in_child)
