"""The background writer: batching, flushing, error surfacing, backpressure, fork reset."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

import pytest

from loopml.entities import Metric, Param, Tag
from loopml.errors import ParamConflictError, StoreError
from loopml.store.base import Store
from loopml.tracking.writer import METRIC, PARAM, TAG, BackgroundWriter, WriteFailedError


def _abstract_stub(name: str):  # type: ignore[no-untyped-def]
    def method(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise NotImplementedError(name)

    return method


class RecordingStore(Store):  # type: ignore[misc]
    """A Store fake that records log_batch calls and can be told to fail."""

    uri = "memory://recording"

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[Metric], list[Param], list[Tag]]] = []
        self.fail_times = 0
        self.fail_with: Exception | None = None
        self.lock = threading.Lock()

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[Tag] = (),
    ) -> None:
        with self.lock:
            if self.fail_with is not None and self.fail_times > 0:
                self.fail_times -= 1
                raise self.fail_with
            self.batches.append((run_id, list(metrics), list(params), list(tags)))

    @property
    def metrics(self) -> list[Metric]:
        return [m for batch in self.batches for m in batch[1]]


for _name in Store.__abstractmethods__ - {"log_batch"}:
    setattr(RecordingStore, _name, _abstract_stub(_name))
RecordingStore.__abstractmethods__ = frozenset()


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


def test_flush_writes_every_value_in_order(store: RecordingStore) -> None:
    writer = BackgroundWriter(store, max_batch=100, flush_interval=60)
    for step in range(1000):
        writer.put(("r1", METRIC, "loss", float(step), step, 1))
    writer.flush()
    assert [m.step for m in store.metrics] == list(range(1000))
    assert all(len(b[1]) <= 100 for b in store.batches), "batches respect max_batch"
    writer.close()


def test_groups_by_run_and_kind(store: RecordingStore) -> None:
    writer = BackgroundWriter(store, flush_interval=60)
    writer.put(("a", METRIC, "m", 1.0, 0, 1))
    writer.put(("b", PARAM, "p", "x", 0, 0))
    writer.put(("a", TAG, "t", "v", 0, 0))
    writer.close()
    by_run = {run: (m, p, t) for run, m, p, t in store.batches}
    assert by_run["a"] == ([Metric("m", 1.0, 0, 1)], [], [Tag("t", "v")])
    assert by_run["b"] == ([], [Param("p", "x")], [])


def test_time_based_flush_without_explicit_flush(store: RecordingStore) -> None:
    writer = BackgroundWriter(store, flush_interval=0.05)
    writer.put(("r", METRIC, "m", 1.0, 0, 1))
    deadline = time.monotonic() + 5
    while not store.metrics and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.metrics == [Metric("m", 1.0, 0, 1)]
    writer.close()


def test_transient_error_is_retried(store: RecordingStore) -> None:
    store.fail_with, store.fail_times = StoreError("database is busy"), 2
    writer = BackgroundWriter(store, retries=3)
    writer.put(("r", METRIC, "m", 1.0, 0, 1))
    writer.flush()  # no error: third attempt succeeded
    assert store.metrics == [Metric("m", 1.0, 0, 1)]
    writer.close()


def test_persistent_error_surfaces_at_flush_not_swallowed(store: RecordingStore) -> None:
    store.fail_with, store.fail_times = StoreError("disk full"), 100
    writer = BackgroundWriter(store, retries=2)
    writer.put(("r", METRIC, "m", 1.0, 0, 1))
    with pytest.raises(WriteFailedError, match="disk full"):
        writer.flush()
    writer.flush()  # the error was reported once
    writer.close()


def test_param_conflict_keeps_metrics_of_the_batch(store: RecordingStore) -> None:
    store.fail_with, store.fail_times = ParamConflictError("param 'lr' is already '1'"), 1
    writer = BackgroundWriter(store)
    writer.put(("r", PARAM, "lr", "2", 0, 0))
    writer.put(("r", METRIC, "m", 1.0, 0, 1))
    with pytest.raises(WriteFailedError, match="lr"):
        writer.flush()
    assert store.metrics == [Metric("m", 1.0, 0, 1)]
    writer.close()


def test_bounded_queue_applies_backpressure(store: RecordingStore) -> None:
    gate = threading.Event()
    original = store.log_batch

    def slow_log_batch(run_id: str, **kwargs: object) -> None:
        gate.wait(5)
        original(run_id, **kwargs)  # type: ignore[arg-type]

    store.log_batch = slow_log_batch  # type: ignore[method-assign]
    writer = BackgroundWriter(store, max_batch=1, max_queue=10)
    done = threading.Event()

    def produce() -> None:
        for i in range(100):
            writer.put(("r", METRIC, "m", float(i), i, 1))
        done.set()

    threading.Thread(target=produce, daemon=True).start()
    assert not done.wait(0.3), "producer must block while the queue is full"
    gate.set()
    assert done.wait(10)
    writer.close()
    assert len(store.metrics) == 100


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_gets_a_fresh_writer(store: RecordingStore) -> None:
    writer = BackgroundWriter(store)
    writer.put(("parent", METRIC, "m", 1.0, 0, 1))
    writer.flush()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's thread is gone; logging must still work
        try:
            writer.put(("child", METRIC, "m", 2.0, 0, 1))
            writer.flush(timeout=5)
            ok = any(b[0] == "child" for b in store.batches)
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    writer.close()
