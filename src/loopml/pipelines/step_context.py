"""Logging from inside a step: ``loopml.log_metric`` and friends go to the step's run.

While a step runs, its run is the active run of the worker. What the step logs (metrics,
params, tags, artifact files) is collected, not written: it travels back in the
:class:`~loopml.pipelines.task.StepResult` and the driver writes it, so workers still write
only blobs, never metadata.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from loopml.entities import ArtifactEntry, Run, RunStatus, now_ms
from loopml.tracking.context import TrackingContext

if TYPE_CHECKING:
    from loopml.objects import ObjectStore
    from loopml.store import Store
    from loopml.tracking.writer import BackgroundWriter

__all__ = ["Collected", "param_texts", "step_run"]

_MAX_PARAM = 6000

#: a writer item: (run_id, kind, key, value, step, timestamp); kind 0 metric, 1 param, 2 tag
Item = tuple[str, int, str, object, int, int]


def param_texts(params: Mapping[str, Any]) -> dict[str, str]:
    """The text logged for each step param (as ``log_param`` would; long values cut)."""
    from loopml.errors import InvalidInputError
    from loopml.tracking.validation import param_text

    out: dict[str, str] = {}
    for key, value in params.items():
        try:
            out[key] = param_text(key, value)
        except InvalidInputError:
            out[key] = str(value)[: _MAX_PARAM - 3] + "..."
    return out


class Collected:
    """What a step logged: writer items and artifact entries, for the driver to write."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.artifacts: list[ArtifactEntry] = []

    # the BackgroundWriter interface ActiveRun uses
    def put(self, item: Item) -> None:
        self.items.append(item)

    def put_many(self, items: list[Item]) -> None:
        self.items.extend(items)

    def flush(self, timeout: float | None = None) -> None:
        return None


class _RelayStore:
    """The real store for reads; artifact records collected; the run's end left to the
    driver."""

    def __init__(self, inner: TrackingContext, collected: Collected) -> None:
        self._inner = inner
        self._collected = collected

    def record_artifacts(self, run_id: str, entries: Sequence[ArtifactEntry]) -> None:
        self._collected.artifacts.extend(entries)

    def end_run(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner.store, name)


class _RelayContext(TrackingContext):
    def __init__(self, inner: TrackingContext, collected: Collected) -> None:
        super().__init__(inner.settings)
        self._inner = inner
        self._collected = collected
        self._relay_store = _RelayStore(inner, collected)

    @property
    def store(self) -> Store:
        return cast("Store", self._relay_store)

    @property
    def objects(self) -> ObjectStore:
        return self._inner.objects

    @property
    def writer(self) -> BackgroundWriter:
        return cast("BackgroundWriter", self._collected)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


@contextlib.contextmanager
def step_run(
    ctx: TrackingContext,
    *,
    run_id: str,
    project: str,
    name: str,
    params: Mapping[str, str],
) -> Iterator[Collected]:
    """Make the step's run the active run while the step runs; yield what it logs.

    ``params`` are the ones the engine logs for the step: logging one of them again with
    another value is a ParamConflictError in the step, like in any run.
    """
    from loopml.tracking import fluent
    from loopml.tracking.run import ActiveRun

    collected = Collected()
    record = Run(run_id, project, name, RunStatus.RUNNING, now_ms())
    run = ActiveRun(record, _RelayContext(ctx, collected))
    run._params.update(params)  # private: the engine logged these already
    with fluent._stack_lock:  # private: the one stack of active runs
        fluent._stack.append(run)
    try:
        yield collected
    finally:
        with fluent._stack_lock:
            if run in fluent._stack:
                fluent._stack.remove(run)
