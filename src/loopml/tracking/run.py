"""The handle of a run in progress: what ``start_run`` returns and ``with`` manages."""

from __future__ import annotations

import operator
import os
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from loopml.entities import ArtifactEntry, Metric, Run, RunStatus, now_ms
from loopml.errors import InvalidInputError, ParamConflictError
from loopml.tracking import artifacts as _artifacts
from loopml.tracking.context import TrackingContext
from loopml.tracking.validation import (
    MAX_TAG_LENGTH,
    check_key,
    metric_value,
    param_text,
)
from loopml.tracking.writer import METRIC, PARAM, TAG

__all__ = ["ActiveRun", "MetricLike"]

#: A metric for :meth:`ActiveRun.log_batch`: a Metric, or ``(key, value)`` / ``(key, value, step)``.
MetricLike = Metric | tuple[str, float] | tuple[str, float, int]


def _step(value: object) -> int:
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidInputError(
            f"step must be an integer, got {type(value).__name__} {value!r}", field="step"
        ) from None


class ActiveRun:
    """A run being logged to. Use it as a context manager, or call :meth:`end`.

    Leaving the ``with`` block normally ends the run FINISHED; an exception ends it FAILED
    with the traceback stored; KeyboardInterrupt or SIGTERM ends it KILLED.
    """

    def __init__(self, record: Run, context: TrackingContext) -> None:
        self.record = record
        self.id = record.id
        self.project = record.project
        self.name = record.name
        self._context = context
        self._put = context.writer.put
        self._params: dict[str, str] = {}
        self._steps: dict[str, int] = {}
        self.status: RunStatus = RunStatus.RUNNING
        self.on_end: list[Any] = []

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name!r} id={self.id} project={self.project!r} {self.status}>"

    # -- metrics, params, tags ------------------------------------------------------------
    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Record one value of a metric. With no ``step``, the key's last step + 1 (from 0)."""
        key = check_key(key, "metric")
        number = metric_value(key, value)
        step = self._steps.get(key, -1) + 1 if step is None else _step(step)
        self._steps[key] = step
        self._put((self.id, METRIC, key, number, step, timestamp or now_ms()))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record several metrics at the same step and time."""
        ts = now_ms()
        for key, value in metrics.items():
            self.log_metric(key, value, step, ts)

    def log_param(self, key: str, value: object) -> None:
        """Record a param. Params are immutable: a new value for a logged key is an error.

        Raises:
            ParamConflictError: ``key`` was logged before with a different value.
        """
        key = check_key(key, "param")
        text = param_text(key, value)
        old = self._params.get(key)
        if old is not None:
            if old != text:
                raise ParamConflictError(
                    f"param {key!r} is already {old!r}; cannot change it to {text!r}",
                    field=key,
                    run_id=self.id,
                    hint="params are immutable; log a new run, or use a tag for mutable values",
                )
            return
        self._params[key] = text
        self._put((self.id, PARAM, key, text, 0, 0))

    def log_params(self, params: Mapping[str, object]) -> None:
        """Record several params (see :meth:`log_param`)."""
        for key, value in params.items():
            self.log_param(key, value)

    def set_tag(self, key: str, value: object) -> None:
        """Set a tag (tags are mutable: a later value replaces an earlier one)."""
        key = check_key(key, "tag")
        self._put((self.id, TAG, key, param_text(key, value, limit=MAX_TAG_LENGTH), 0, 0))

    def set_tags(self, tags: Mapping[str, object]) -> None:
        """Set several tags."""
        for key, value in tags.items():
            self.set_tag(key, value)

    def log_batch(
        self,
        metrics: Iterable[MetricLike] = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
    ) -> None:
        """Record many values in one call: metrics as Metric or (key, value[, step]) tuples."""
        ts = now_ms()
        items: list[tuple[str, int, str, object, int, int]] = []
        given: int | None
        steps = self._steps
        for item in metrics:
            if isinstance(item, Metric):
                key, value, given, stamp = item.key, item.value, item.step, item.timestamp
            elif isinstance(item, tuple) and len(item) in (2, 3):
                key, value, given, stamp = item[0], item[1], (item[2:] or (None,))[0], ts
            else:
                raise InvalidInputError(
                    f"a metric must be a Metric or (key, value[, step]); got {item!r}",
                    field="metrics",
                )
            key = check_key(key, "metric")
            number = metric_value(key, value)
            step = steps.get(key, -1) + 1 if given is None else _step(given)
            steps[key] = step
            items.append((self.id, METRIC, key, number, step, stamp))
        if items:  # one queue entry for the whole batch: validated above, all or nothing
            self._context.writer.put_many(items)
        self.log_params(params or {})
        self.set_tags(tags or {})

    def flush(self) -> None:
        """Write everything queued; raise any write error since the last flush."""
        self._context.flush()

    # -- artifacts ------------------------------------------------------------------------
    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> ArtifactEntry:
        """Store a local file in the run (under ``artifact_path`` if given)."""
        return _artifacts.log_artifact(self._context, self.id, local_path, artifact_path)

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[ArtifactEntry]:
        """Store every file of a local folder in the run."""
        return _artifacts.log_artifacts(self._context, self.id, local_dir, artifact_path)

    def log_text(self, text: str, artifact_file: str) -> ArtifactEntry:
        """Store text as a run file."""
        return _artifacts.log_text(self._context, self.id, text, artifact_file)

    def log_dict(self, data: Mapping[str, Any] | list[Any], artifact_file: str) -> ArtifactEntry:
        """Store a dict as JSON (or YAML for .yaml/.yml)."""
        return _artifacts.log_dict(self._context, self.id, data, artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> ArtifactEntry:
        """Store a matplotlib figure as an image."""
        return _artifacts.log_figure(self._context, self.id, figure, artifact_file)

    def download_artifacts(self, path: str = "", dest: str | os.PathLike[str] = ".") -> Path:
        """Copy run files to a local folder, verified."""
        self.flush()
        return _artifacts.download_artifacts(self._context, self.id, path, dest)

    # -- ending ---------------------------------------------------------------------------
    def end(self, status: RunStatus | str = RunStatus.FINISHED, error: str | None = None) -> None:
        """Flush queued values and mark the run ended. Ending twice does nothing.

        Raises:
            WriteFailedError: some values logged to this process could not be written (the
                run is still marked ended).
        """
        if self.status.is_terminal:
            return
        final = RunStatus(status)
        pending: Exception | None = None
        try:
            self._context.flush()
        except Exception as exc:  # noqa: BLE001 - re-raised below after the run is closed
            pending = exc
        self._context.store.end_run(self.id, final, end_time=now_ms(), error=error)
        self.status = final
        for callback in self.on_end:
            callback(self)
        if pending is not None:
            raise pending

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.end(RunStatus.FINISHED)
        elif isinstance(exc, KeyboardInterrupt) or (
            isinstance(exc, SystemExit) and exc.code not in (0, None)
        ):
            self.end(RunStatus.KILLED, error=f"{type(exc).__name__}: {exc}")
        elif isinstance(exc, SystemExit):
            self.end(RunStatus.FINISHED)
        else:
            text = "".join(traceback.format_exception(exc_type, exc, tb))
            self.end(RunStatus.FAILED, error=text)
