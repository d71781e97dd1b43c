"""SQL store under concurrency: many processes opening a fresh store, many writer processes,
forked children reusing a parent's store, threads sharing one store."""

from __future__ import annotations

import multiprocessing
import threading
import traceback
from collections.abc import Callable
from multiprocessing.queues import Queue
from typing import Any

from loopml.entities import Metric, Param, Tag
from loopml.store.filter.ast import Comparison
from loopml.store.sql.store import SqlStore

FORK = multiprocessing.get_context("fork")
WRITERS = 8
BATCHES, BATCH_SIZE, SINGLES = 19, 100, 100  # 19 x 100 + 100 single-metric batches = 2,000


def _guarded(queue: Queue[Any], work: Callable[[], Any]) -> None:
    try:
        queue.put(("ok", work()))
    except BaseException:
        queue.put(("error", traceback.format_exc()))


def _run_processes(targets: list[Callable[[], Any]], timeout: float = 240) -> list[Any]:
    """Start one forked process per target at once; their results, or fail with their errors."""
    queue: Queue[Any] = FORK.Queue()
    procs = [FORK.Process(target=_guarded, args=(queue, target)) for target in targets]
    for proc in procs:
        proc.start()
    outcomes = [queue.get(timeout=timeout) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    errors = [detail for kind, detail in outcomes if kind == "error"]
    assert errors == [], "\n".join(errors)
    return [detail for _, detail in outcomes]


def test_many_processes_open_a_fresh_store_at_once(store_uri: str) -> None:
    barrier = FORK.Barrier(6)

    def open_and_write(index: int) -> str:
        barrier.wait()
        with SqlStore(store_uri) as store:
            return store.create_run("shared", name=f"p{index}").id

    ids = _run_processes([lambda i=i: open_and_write(i) for i in range(6)])  # type: ignore[misc]
    with SqlStore(store_uri) as store:
        assert store.get_project("shared").run_count == 6
        assert sorted(r.name for r in store.get_runs(ids)) == [f"p{i}" for i in range(6)]


def _writer(uri: str, index: int, run_id: str, shared_id: str, barrier: Any) -> int:
    barrier.wait()
    with SqlStore(uri) as store:
        for b in range(BATCHES):
            points = [
                Metric("loss", float(index * 10_000 + b * BATCH_SIZE + i), b * BATCH_SIZE + i, i)
                for i in range(BATCH_SIZE)
            ]
            store.log_batch(
                run_id, metrics=points, params=[Param(f"p{b}", str(b))], tags=[Tag("b", str(b))]
            )
        for step in range(SINGLES):
            store.log_batch(shared_id, metrics=[Metric(f"w{index}", float(step), step, step)])
    return index


def test_eight_writer_processes_lose_nothing(store_uri: str) -> None:
    """The issue's scenario: 8 processes log 2,000 metrics each to one store at once, as
    background writers would (batches of 100 plus single-metric batches, some to a shared
    run); afterwards every value is there and no ``database is locked`` reached a caller."""
    with SqlStore(store_uri) as store:
        runs = [store.create_run("load", name=f"w{i}").id for i in range(WRITERS)]
        shared = store.create_run("load", name="shared").id
    barrier = FORK.Barrier(WRITERS)
    done = _run_processes(
        [
            lambda i=i: _writer(store_uri, i, runs[i], shared, barrier)  # type: ignore[misc]
            for i in range(WRITERS)
        ]
    )
    assert sorted(done) == list(range(WRITERS))
    with SqlStore(store_uri) as store:
        total = 0
        for index, run_id in enumerate(runs):
            history = store.get_metric_history(run_id, "loss")
            expected = [float(index * 10_000 + n) for n in range(BATCHES * BATCH_SIZE)]
            assert [m.value for m in history] == expected
            run = store.get_run(run_id)
            assert run.metrics["loss"] == expected[-1]
            assert dict(run.params) == {f"p{b}": str(b) for b in range(BATCHES)}
            assert run.tags["b"] == str(BATCHES - 1)
            total += len(history)
        shared_run = store.get_run(shared)
        for index in range(WRITERS):
            points = store.get_metric_history(shared, f"w{index}")
            assert [m.step for m in points] == list(range(SINGLES))
            assert shared_run.metrics[f"w{index}"] == float(SINGLES - 1)
            total += len(points)
        assert total == WRITERS * 2_000


def test_forked_children_reuse_the_parents_store(store_uri: str) -> None:
    with SqlStore(store_uri) as store:
        run_id = store.create_run("p").id
        store.log_batch(run_id, metrics=[Metric("parent", 1.0, 0, 1)])  # a pooled connection

        def child(index: int) -> None:
            store.log_batch(run_id, metrics=[Metric(f"child{index}", 2.0, 0, 1)])

        _run_processes([lambda i=i: child(i) for i in range(3)])  # type: ignore[misc]
        store.log_batch(run_id, metrics=[Metric("parent", 3.0, 1, 2)])
        assert dict(store.get_run(run_id).metrics) == {
            "parent": 3.0,
            "child0": 2.0,
            "child1": 2.0,
            "child2": 2.0,
        }


def _hammer_from_threads(store: SqlStore) -> None:
    errors: list[BaseException] = []
    run_id = store.create_run("p").id

    def work(index: int) -> None:
        try:
            for step in range(50):
                store.log_batch(run_id, metrics=[Metric(f"t{index}", float(step), step, 1)])
                store.search_runs(filter=Comparison("metrics", f"t{index}", ">=", 0))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert dict(store.get_run(run_id).metrics) == {f"t{i}": 49.0 for i in range(4)}


def test_threads_share_one_store(store_uri: str) -> None:
    with SqlStore(store_uri) as store:
        _hammer_from_threads(store)


def test_threads_share_one_memory_store() -> None:
    with SqlStore("sqlite:///:memory:") as store:
        _hammer_from_threads(store)
