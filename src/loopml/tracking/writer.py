"""The batched background writer for metrics, params and tags.

Logging in a training loop must cost microseconds, so ``log_metric`` only puts a tuple on a
bounded queue. One daemon thread per process drains it and writes through
:meth:`Store.log_batch`, grouped by run, when the buffer reaches ``max_batch`` items, when
``flush_interval`` seconds have passed, on :meth:`BackgroundWriter.flush`, at run end and at
interpreter exit. A write that fails is retried; if it still fails, the error is raised at
the next ``flush()`` (or run end), never swallowed. The writer is reset in a forked child.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass, field

from loopml.entities import Metric, Param, Tag
from loopml.errors import ConflictError, LoopmlError, StoreError
from loopml.store.base import Store

__all__ = ["BackgroundWriter", "WriteFailedError"]

# queue items: (run_id, kind, key, value, step, timestamp); kind 0 metric, 1 param, 2 tag
_Item = tuple[str, int, str, object, int, int]
METRIC, PARAM, TAG = 0, 1, 2


class WriteFailedError(StoreError):
    """Values the background writer could not store; ``errors`` holds each cause."""

    def __init__(self, errors: list[LoopmlError]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(
            f"background write failed: {first}{more}",
            run_id=first.run_id,
            field=first.field,
            hint=first.hint,
        )
        self.errors = errors


@dataclass
class _FlushRequest:
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class _RunBatch:
    metrics: list[Metric] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)


class BackgroundWriter:
    """Queue-and-batch writer in front of a :class:`Store`.

    Args:
        store: Where batches go.
        max_batch: Items per write before a flush is forced.
        flush_interval: Seconds an item may wait before it is written.
        max_queue: Bound of the queue; producers block (backpressure) when it is full.
        retries: Attempts per batch for transient store errors.
    """

    def __init__(
        self,
        store: Store,
        *,
        max_batch: int = 5000,
        flush_interval: float = 1.0,
        max_queue: int = 200_000,
        retries: int = 3,
    ) -> None:
        self.store = store
        self.max_batch = max_batch
        self.flush_interval = flush_interval
        self.retries = retries
        self._queue: queue.Queue[_Item | list[_Item] | _FlushRequest | None]
        self._queue = queue.Queue(max_queue)
        self._errors: list[LoopmlError] = []
        self._errors_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        _writers.add(self)

    def _reset_after_fork(self) -> None:
        # The parent's thread does not exist in a forked child; its queued items are the
        # parent's to write. Start empty; the thread starts again on the next put.
        self._queue = queue.Queue(self._queue.maxsize)
        self._errors = []
        self._errors_lock = threading.Lock()
        self._thread = None
        self._start_lock = threading.Lock()
        self._closed = False

    # -- producer side --------------------------------------------------------------------
    def put(self, item: _Item) -> None:
        """Enqueue one value (see the module docstring for the tuple layout)."""
        if self._thread is None:
            self._start()
        self._queue.put(item)

    def put_many(self, items: list[_Item]) -> None:
        """Enqueue many values as one queue entry (what ``log_batch`` uses)."""
        if self._thread is None:
            self._start()
        self._queue.put(items)

    def flush(self, timeout: float | None = None) -> None:
        """Write everything queued so far; raise the first error since the last flush.

        Raises:
            WriteFailedError: some values could not be stored.
            StoreError: the writer did not finish within ``timeout`` seconds.
        """
        if self._thread is not None and self._thread.is_alive():
            request = _FlushRequest()
            self._queue.put(request)
            if not request.done.wait(timeout):
                raise StoreError(
                    f"background writer did not flush within {timeout} s",
                    hint="the store may be unreachable; values stay queued",
                )
        self.raise_pending()

    def raise_pending(self) -> None:
        """Raise (and clear) errors recorded by the writer thread."""
        with self._errors_lock:
            errors, self._errors = self._errors, []
        if errors:
            raise WriteFailedError(errors)

    def close(self) -> None:
        """Flush and stop the thread. Errors are raised like :meth:`flush`."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join()
        self.raise_pending()

    # -- consumer side --------------------------------------------------------------------
    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="loopml-writer", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        buffer: list[_Item] = []
        deadline = time.monotonic() + self.flush_interval
        get = self._queue.get
        while True:
            try:
                timeout = max(0.0, deadline - time.monotonic()) if buffer else None
                item = get(timeout=timeout)
            except queue.Empty:
                item = _FlushRequest()  # time-based flush; nobody waits on it
            if isinstance(item, tuple | list):
                if not buffer:
                    deadline = time.monotonic() + self.flush_interval
                if isinstance(item, list):
                    buffer.extend(item)
                else:
                    buffer.append(item)
                if len(buffer) < self.max_batch:
                    continue
            self._write(buffer)
            buffer = []
            if item is None:
                return
            if isinstance(item, _FlushRequest):
                item.done.set()

    def _write(self, items: list[_Item]) -> None:
        if not items:
            return
        batches: dict[str, _RunBatch] = defaultdict(_RunBatch)
        for run_id, kind, key, value, step, ts in items:
            batch = batches[run_id]
            if kind == METRIC:
                batch.metrics.append(Metric(key, value, step, ts))  # type: ignore[arg-type]
            elif kind == PARAM:
                batch.params.append(Param(key, value))  # type: ignore[arg-type]
            else:
                batch.tags.append(Tag(key, value))  # type: ignore[arg-type]
        for run_id, batch in batches.items():
            self._write_run(run_id, batch)

    def _write_run(self, run_id: str, batch: _RunBatch) -> None:
        for attempt in range(self.retries):
            try:
                self.store.log_batch(
                    run_id, metrics=batch.metrics, params=batch.params, tags=batch.tags
                )
                return
            except ConflictError as exc:
                self._record(exc)
                if batch.params:  # keep the metrics and tags; only the params were refused
                    batch.params = []
                    continue
                return
            except StoreError as exc:
                if attempt + 1 == self.retries:
                    self._record(exc)
                    return
                time.sleep(0.05 * 2**attempt)
            except LoopmlError as exc:
                self._record(exc)
                return
            except Exception as exc:  # noqa: BLE001 - surfaced at flush, never swallowed
                self._record(StoreError(f"{type(exc).__name__}: {exc}", run_id=run_id))
                return

    def _record(self, error: LoopmlError) -> None:
        with self._errors_lock:
            self._errors.append(error)


_writers: weakref.WeakSet[BackgroundWriter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer in list(_writers):
        writer._reset_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
