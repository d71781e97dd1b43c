"""The sqlite3 path of the SQL store: same answers and errors, no SQLAlchemy import."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from loopml.entities import LineageEdge, Metric, RunStatus, now_ms
from loopml.errors import ConflictError, StoreError
from loopml.store.sql.revisions import SCHEMA_HEAD
from loopml.store.sql.sqlite_direct import DirectSqlite, sqlite_file
from loopml.store.sql.store import SqlStore


@pytest.fixture
def existing(sqlite_uri: str) -> str:
    """A SQLite store that exists, at the current schema."""
    SqlStore(sqlite_uri).close()
    return sqlite_uri


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("sqlite:////tmp/x/loopml.db", "/tmp/x/loopml.db"),
        ("sqlite:///rel/loopml.db", "rel/loopml.db"),
        ("sqlite:///:memory:", None),
        ("sqlite://", None),
        ("sqlite:///file:x?mode=ro&uri=true", None),
        ("postgresql+psycopg://u@h/db", None),
    ],
)
def test_only_plain_sqlite_files_take_the_direct_path(uri: str, path: str | None) -> None:
    assert sqlite_file(uri) == path


def test_a_new_database_is_created_by_the_full_path_then_goes_direct(sqlite_uri: str) -> None:
    with SqlStore(sqlite_uri) as store:
        assert store._direct is not None
        assert store._direct.schema_version() == SCHEMA_HEAD


def test_tracking_on_an_existing_store_never_imports_sqlalchemy(existing: str) -> None:
    code = f"""
import sys
from loopml.entities import LineageEdge, Metric, Param, RunStatus, now_ms
from loopml.store.sql.store import SqlStore
store = SqlStore({existing!r})
parent = store.create_run("p", tags={{"t": "1"}})
child = store.create_run("p", parent_id=parent.id)
store.log_batch(child.id, metrics=[Metric("m", 0.5, 0, 1)], params=[Param("lr", "0.1")])
store.add_lineage([LineageEdge(child.id, "input", "datasets:/d/1", now_ms())])
assert store.get_step_cache("k" * 64) is None
store.end_run(child.id, RunStatus.FINISHED)
store.end_run(parent.id, RunStatus.FINISHED)
print(parent.id, child.id, "sqlalchemy" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert out[2] == "False"
    with SqlStore(existing) as store:  # what SQLAlchemy reads back is what sqlite3 wrote
        child = store.get_run(out[1])
        assert child.parent_id == out[0]
        assert child.status is RunStatus.FINISHED
        assert (dict(child.params), dict(child.metrics)) == ({"lr": "0.1"}, {"m": 0.5})
        assert [e.ref for e in store.lineage_of_runs([child.id])] == ["datasets:/d/1"]


def test_a_broken_constraint_is_a_conflict(existing: str) -> None:
    with SqlStore(existing) as store:
        run = store.create_run("p")
        assert store._direct is not None
        with pytest.raises(ConflictError, match="contradicts stored data"):
            store._direct.run(
                lambda c: (
                    c.exec_driver_sql(
                        "INSERT INTO tags (run_id, \"key\", value) VALUES (?, 'k', 'v')", (run.id,)
                    ).rowcount
                    + c.exec_driver_sql(
                        "INSERT INTO tags (run_id, \"key\", value) VALUES (?, 'k', 'v')", (run.id,)
                    ).rowcount
                ),
                mode="write",
            )
        assert dict(store.get_run(run.id).tags) == {}  # the whole transaction rolled back


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "loopml.db"
    path.write_bytes(b"not a database at all" * 100)
    direct = DirectSqlite.open(f"sqlite:///{path}")
    assert direct is not None
    assert direct.schema_version() is None  # cannot tell: the full path decides
    with pytest.raises(StoreError, match="is not a database") as caught:
        direct.run(lambda c: c.exec_driver_sql("SELECT 1").all())
    assert caught.value.hint is not None and "writable" in caught.value.hint


def test_a_held_write_lock_is_waited_for_then_reported(
    existing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sqlite_file(existing)
    assert path is not None
    monkeypatch.setattr("loopml.store.sql.sqlite_direct._PRAGMAS", ("PRAGMA busy_timeout = 50",))
    monkeypatch.setattr("loopml.store.sql.sqlite_direct.BUSY_RETRIES", 1)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    direct = DirectSqlite.open(existing)
    assert direct is not None
    try:
        with pytest.raises(StoreError, match="locked") as caught:
            direct.run(lambda c: c.exec_driver_sql("SELECT 1").all(), mode="write")
        assert caught.value.hint is not None and "lock" in caught.value.hint
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert direct.run(lambda c: c.exec_driver_sql("SELECT 1").all(), mode="write") == [(1,)]


def test_threads_share_one_connection_by_turns(existing: str) -> None:
    with SqlStore(existing) as store:
        run = store.create_run("p")

        def log(thread: int) -> None:
            for step in range(50):
                store.log_batch(run.id, metrics=[Metric(f"m{thread}", float(step), step, 1)])

        workers = [threading.Thread(target=log, args=(t,)) for t in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert dict(store.get_run(run.id).metrics) == {f"m{t}": 49.0 for t in range(4)}
        assert len(store.get_metric_history(run.id, "m3")) == 50


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_opens_its_own_connection(existing: str) -> None:
    with SqlStore(existing) as store:
        parent = store.create_run("p")  # the parent's connection is open now
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit code
            try:
                store.create_run("p", name="from-child", parent_id=parent.id)
                store.add_lineage([LineageEdge(parent.id, "output", "blake3:00", now_ms())])
                os._exit(0)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        store.end_run(parent.id, RunStatus.FINISHED)  # the parent's connection still works
        assert [e.ref for e in store.lineage_of_runs([parent.id])] == ["blake3:00"]
        assert store.get_run(parent.id).status is RunStatus.FINISHED


def test_sqlalchemy_is_opened_once_on_first_use_whatever_the_threads(
    existing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopml.store.sql import engine

    made: list[str] = []
    real = engine.Database

    class Counted(real):  # type: ignore[misc,valid-type]
        def __init__(self, uri: str) -> None:
            made.append(uri)
            super().__init__(uri)

    monkeypatch.setattr(engine, "Database", Counted)
    with SqlStore(existing) as store:
        store.create_run("p")
        assert made == []  # the frequent calls did not need it
        barrier = threading.Barrier(6)

        def search() -> None:
            barrier.wait()
            store.search_runs(["p"])

        workers = [threading.Thread(target=search) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert made == [existing]
