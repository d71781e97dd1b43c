"""SQL store: projects and runs (create, read, end, rename, soft delete, restore, purge)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from sqlalchemy import Table, event, func, select

from loopml.entities import Lifecycle, Metric, Param, RunSource, RunStatus, new_id, now_ms
from loopml.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from loopml.store.sql import sqlite_direct
from loopml.store.sql.schema import latest_metrics, metrics, params, run_artifacts, tags
from loopml.store.sql.store import SqlStore


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:
    with SqlStore(store_uri) as opened:
        yield opened


# -- projects ---------------------------------------------------------------------------------
def test_get_or_create_project_is_idempotent(store: SqlStore) -> None:
    first = store.get_or_create_project("vision")
    second = store.get_or_create_project("vision")
    assert first.id == second.id
    assert first.name == "vision"
    assert first.run_count == 0
    assert first.last_run_at is None
    assert [p.name for p in store.list_projects()] == ["vision"]


def test_get_project_counts_active_runs(store: SqlStore) -> None:
    store.create_run("p", start_time=1_000)
    gone = store.create_run("p", start_time=3_000)
    store.create_run("p", start_time=2_000)
    store.delete_runs([gone.id])
    project = store.get_project("p")
    assert project.run_count == 2
    assert project.last_run_at == 2_000


def test_list_projects_by_name_with_counts(store: SqlStore) -> None:
    store.create_run("zeta", start_time=5)
    store.create_run("alpha", start_time=7)
    store.create_run("alpha", start_time=9)
    store.get_or_create_project("empty")
    listed = {p.name: (p.run_count, p.last_run_at) for p in store.list_projects()}
    assert [p.name for p in store.list_projects()] == ["alpha", "empty", "zeta"]
    assert listed == {"alpha": (2, 9), "empty": (0, None), "zeta": (1, 5)}


def test_missing_project(store: SqlStore) -> None:
    with pytest.raises(NotFoundError) as info:
        store.get_project("nope")
    assert info.value.field == "project"


@pytest.mark.parametrize("name", ["", "   ", "x" * 251, "bad\nname"])
def test_bad_project_names(store: SqlStore, name: str) -> None:
    with pytest.raises(InvalidInputError):
        store.create_run(name)
    with pytest.raises(InvalidInputError):
        store.get_or_create_project(name)
    assert store.list_projects() == []


# -- create and read --------------------------------------------------------------------------
def test_create_run_defaults(store: SqlStore) -> None:
    before = now_ms()
    run = store.create_run("p", tags={"team": "risk", "stage": "dev"})
    assert run.status is RunStatus.RUNNING
    assert run.lifecycle is Lifecycle.ACTIVE
    assert run.project == "p"
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{3}", run.name)
    assert before <= run.start_time <= now_ms()
    assert run.end_time is None
    assert dict(run.tags) == {"team": "risk", "stage": "dev"}
    assert len(run.id) == 32
    assert store.get_run(run.id) == run
    assert store.get_project("p").run_count == 1


def test_generated_name_is_stable_for_an_id(store: SqlStore) -> None:
    run_id = new_id()
    run = store.create_run("p", run_id=run_id)
    assert run.id == run_id
    assert store.get_run(run_id).name == run.name


def test_create_run_with_everything(store: SqlStore) -> None:
    source = RunSource(
        git_commit="a" * 40,
        git_dirty=True,
        git_diff_hash="b" * 64,
        entry_point="train.py",
        user="alice",
        host="gpu-1",
        python_version="3.11.7",
    )
    run = store.create_run("p", name="baseline", source=source, start_time=12_345)
    fetched = store.get_run(run.id)
    assert fetched.name == "baseline"
    assert fetched.source == source
    assert fetched.start_time == 12_345


def test_duplicate_run_id(store: SqlStore) -> None:
    run = store.create_run("p")
    with pytest.raises(AlreadyExistsError):
        store.create_run("p", run_id=run.id)


def test_bad_run_id(store: SqlStore) -> None:
    with pytest.raises(InvalidInputError) as info:
        store.create_run("p", run_id="not-an-id")
    assert info.value.field == "run_id"


def test_parent_in_same_project(store: SqlStore) -> None:
    parent = store.create_run("p")
    child = store.create_run("p", parent_id=parent.id)
    assert store.get_run(child.id).parent_id == parent.id


def test_parent_in_other_project_is_refused_and_nothing_written(store: SqlStore) -> None:
    parent = store.create_run("p")
    with pytest.raises(InvalidInputError) as info:
        store.create_run("other", parent_id=parent.id, tags={"a": "b"})
    assert info.value.field == "parent_id"
    assert "another project" in str(info.value)
    assert [p.name for p in store.list_projects()] == ["p"]  # the project was not created


def test_unknown_parent_is_refused(store: SqlStore) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        store.create_run("p", parent_id=new_id())


def test_get_missing_run(store: SqlStore) -> None:
    with pytest.raises(NotFoundError) as info:
        store.get_run(new_id())
    assert info.value.run_id is not None


def test_get_runs_in_asked_order_with_data(store: SqlStore) -> None:
    created = [store.create_run("p", name=f"r{i}", tags={"i": str(i)}) for i in range(5)]
    for i, run in enumerate(created):
        store.log_batch(run.id, metrics=[Metric("acc", i / 10, 0, 1)], params=[Param("i", str(i))])
    order = [created[3].id, created[0].id, created[4].id]
    got = store.get_runs(order)
    assert [r.id for r in got] == order
    assert [r.metrics["acc"] for r in got] == [0.3, 0.0, 0.4]
    assert [r.params["i"] for r in got] == ["3", "0", "4"]
    assert [r.tags["i"] for r in got] == ["3", "0", "4"]
    assert store.get_runs([]) == []


def test_get_runs_missing_id(store: SqlStore) -> None:
    run = store.create_run("p")
    missing = new_id()
    with pytest.raises(NotFoundError) as info:
        store.get_runs([run.id, missing])
    assert info.value.run_id == missing


@contextmanager
def recorded(store: SqlStore) -> Iterator[list[str]]:
    """The statements ``store`` sends to the database inside the block (BEGIN excluded)."""
    statements: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            statements.append(statement.lstrip().split(None, 1)[0].upper())

    if store._direct is not None:  # SQLite file: the frequent calls go through sqlite3
        direct = sqlite_direct._Connection
        original = direct.exec_driver_sql

        def traced(self: object, statement: str, parameters: object = None) -> object:
            record(None, None, statement)
            return original(self, statement, parameters)  # type: ignore[arg-type]

        direct.exec_driver_sql = traced  # type: ignore[assignment,method-assign]
    event.listen(store._db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store._db.engine, "before_cursor_execute", record)
        if store._direct is not None:
            direct.exec_driver_sql = original  # type: ignore[method-assign]


def test_get_runs_is_two_queries_whatever_the_number(store: SqlStore) -> None:
    ids = [store.create_run("p", tags={"t": "v"}).id for _ in range(1_000)]
    store.log_batch(ids[0], metrics=[Metric("m", 1.0, 0, 1)], params=[Param("a", "1")])
    with recorded(store) as statements:
        got = store.get_runs(ids)
    assert statements == ["SELECT", "SELECT"]  # runs with params and tags; latest metrics
    assert [r.id for r in got] == ids
    assert (dict(got[0].params), dict(got[0].metrics)) == ({"a": "1"}, {"m": 1.0})
    assert all(dict(r.tags) == {"t": "v"} for r in got)


def test_run_calls_send_few_statements(store: SqlStore) -> None:
    """The hot path of a run: no read-back, no project lookup once the project is known."""
    store.create_run("p")
    with recorded(store) as statements:
        run = store.create_run("p", tags={"a": "1", "b": "2"})
    assert statements == ["INSERT", "INSERT"]  # the run; its tags in one executemany
    with recorded(store) as statements:
        store.end_run(run.id, RunStatus.FINISHED)
    assert statements == ["UPDATE"]


def test_create_run_returns_what_is_stored(store: SqlStore) -> None:
    parent = store.create_run("p")
    for dirty in (True, False, None):
        source = RunSource(git_commit="c" * 40, git_dirty=dirty, user="u", host="h")
        run = store.create_run(
            "p", name="n", tags={"k": "v"}, parent_id=parent.id, source=source, start_time=7
        )
        fetched = store.get_run(run.id)
        assert fetched == run
        assert fetched.source.git_dirty is dirty
        assert type(fetched.status) is RunStatus
        assert type(fetched.lifecycle) is Lifecycle


def test_odd_text_round_trips_through_reads(store: SqlStore) -> None:
    odd = ["", " ", "é ☃ 𝄞", 'quote " and \\ backslash', "tab\tnew\nline\x01\x7f", "{}", "null"]
    run = store.create_run("p", tags={f"t{i}": v for i, v in enumerate(odd)})
    store.log_batch(run.id, params=[Param(f"p{i}", v) for i, v in enumerate(odd)])
    for got in (store.get_run(run.id), store.search_runs().items[0]):
        assert dict(got.tags) == {f"t{i}": v for i, v in enumerate(odd)}
        assert dict(got.params) == {f"p{i}": v for i, v in enumerate(odd)}


def test_metric_values_come_back_bit_for_bit(store: SqlStore) -> None:
    values = [1 / 3, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, -2.5e-310, 1e22, 2.0**53 + 2]
    values += [math.inf, -math.inf, 123456789.12345679, 0.0, -1.0]
    run = store.create_run("p")
    store.log_batch(run.id, metrics=[Metric(f"m{i}", v, 0, 1) for i, v in enumerate(values)])
    for got in (store.get_run(run.id), store.search_runs().items[0]):
        assert [got.metrics[f"m{i}"] for i in range(len(values))] == values
        assert all(type(v) is float for v in got.metrics.values())


def test_failed_create_does_not_remember_the_project(store: SqlStore) -> None:
    parent = store.create_run("p")
    with pytest.raises(InvalidInputError):
        store.create_run("other", parent_id=parent.id)  # rolls back the new project
    run = store.create_run("other")  # must not reuse the id of the rolled-back project
    assert store.get_run(run.id).project == "other"
    assert [p.name for p in store.list_projects()] == ["other", "p"]


# -- end, rename ------------------------------------------------------------------------------
def test_end_run_finished(store: SqlStore) -> None:
    run = store.create_run("p", start_time=1_000, tags={"t": "v"})
    assert store.end_run(run.id, RunStatus.FINISHED, end_time=4_000) is None  # type: ignore[func-returns-value]
    ended = store.get_run(run.id)
    assert ended.status is RunStatus.FINISHED
    assert ended.end_time == 4_000
    assert ended.duration_ms == 3_000
    assert ended == replace(run, status=RunStatus.FINISHED, end_time=4_000)


def test_end_run_failed_keeps_error(store: SqlStore) -> None:
    run = store.create_run("p")
    store.end_run(run.id, RunStatus.FAILED, error="Traceback: boom")
    fetched = store.get_run(run.id)
    assert fetched.status is RunStatus.FAILED
    assert fetched.error == "Traceback: boom"
    assert fetched.end_time is not None


def test_end_run_needs_terminal_status(store: SqlStore) -> None:
    run = store.create_run("p")
    with pytest.raises(InvalidInputError) as info:
        store.end_run(run.id, RunStatus.RUNNING)
    assert info.value.field == "status"


def test_end_run_accepts_status_text_and_keeps_odd_error_text(store: SqlStore) -> None:
    run = store.create_run("p")
    store.end_run(run.id, "KILLED", error="bad\x00byte")  # type: ignore[arg-type]
    ended = store.get_run(run.id)
    assert ended.status is RunStatus.KILLED
    assert ended.error == "bad\\x00byte"
    with pytest.raises(InvalidInputError) as info:
        store.end_run(run.id, "DONE")  # type: ignore[arg-type]
    assert "DONE" in str(info.value)


def test_end_missing_run(store: SqlStore) -> None:
    with pytest.raises(NotFoundError):
        store.end_run(new_id(), RunStatus.FINISHED)


def test_rename(store: SqlStore) -> None:
    run = store.create_run("p")
    store.set_run_name(run.id, "better")
    assert store.get_run(run.id).name == "better"
    with pytest.raises(InvalidInputError):
        store.set_run_name(run.id, "")
    with pytest.raises(NotFoundError):
        store.set_run_name(new_id(), "x")


# -- delete, restore, purge -------------------------------------------------------------------
def test_soft_delete_and_restore(store: SqlStore) -> None:
    keep, drop = store.create_run("p"), store.create_run("p")
    before = now_ms()
    store.delete_runs([drop.id])
    deleted = store.get_run(drop.id)
    assert deleted.lifecycle is Lifecycle.DELETED
    assert deleted.deleted_at is not None
    assert deleted.deleted_at >= before
    assert [r.id for r in store.search_runs().items] == [keep.id]
    assert [r.id for r in store.search_runs(lifecycle="deleted").items] == [drop.id]
    store.restore_runs([drop.id])
    restored = store.get_run(drop.id)
    assert restored.lifecycle is Lifecycle.ACTIVE
    assert restored.deleted_at is None
    assert {r.id for r in store.search_runs().items} == {keep.id, drop.id}


def test_delete_again_keeps_first_time(store: SqlStore) -> None:
    run = store.create_run("p")
    store.delete_runs([run.id])
    first = store.get_run(run.id).deleted_at
    store.delete_runs([run.id])
    assert store.get_run(run.id).deleted_at == first


def test_delete_with_unknown_id_changes_nothing(store: SqlStore) -> None:
    run = store.create_run("p")
    with pytest.raises(NotFoundError):
        store.delete_runs([run.id, new_id()])
    assert store.get_run(run.id).lifecycle is Lifecycle.ACTIVE


def test_deleted_run_refuses_writes_finished_run_accepts_them(store: SqlStore) -> None:
    done, gone = store.create_run("p"), store.create_run("p")
    store.end_run(done.id, RunStatus.FINISHED)
    store.log_batch(done.id, metrics=[Metric("late", 1.0, 0, 1)])
    assert store.get_run(done.id).metrics["late"] == 1.0
    store.delete_runs([gone.id])
    with pytest.raises(ConflictError) as info:
        store.log_batch(gone.id, metrics=[Metric("m", 1.0, 0, 1)])
    assert info.value.run_id == gone.id
    with pytest.raises(ConflictError):
        store.end_run(gone.id, RunStatus.FINISHED)
    with pytest.raises(ConflictError):
        store.set_run_name(gone.id, "x")


def _count(store: SqlStore, table: Table, run_id: str) -> int:
    with store._db.engine.connect() as conn:
        query = select(func.count()).select_from(table).where(table.c.run_id == run_id)
        return int(conn.execute(query).scalar_one())


def test_purge_removes_old_deleted_runs_with_their_data(store: SqlStore) -> None:
    from loopml.entities import ArtifactEntry, Tag

    old, recent, alive = (store.create_run("p") for _ in range(3))
    child = store.create_run("p", parent_id=old.id)
    store.log_batch(
        old.id, metrics=[Metric("m", 1.0, 0, 1)], params=[Param("a", "1")], tags=[Tag("t", "v")]
    )
    store.record_artifacts(old.id, [ArtifactEntry(old.id, "f.txt", "blake3:" + "0" * 64, 1, 1)])
    store.delete_runs([old.id])
    cutoff = now_ms() + 1
    store.delete_runs([recent.id])
    purged = store.purge_runs(deleted_before=cutoff)
    # `recent` may share old's millisecond; what matters is that only deleted runs go
    assert old.id in purged
    assert alive.id not in purged
    assert child.id not in purged
    with pytest.raises(NotFoundError):
        store.get_run(old.id)
    for table in (metrics, latest_metrics, params, tags, run_artifacts):
        assert _count(store, table, old.id) == 0
    assert store.get_run(child.id).parent_id is None
    assert store.get_run(alive.id).lifecycle is Lifecycle.ACTIVE
    assert store.referenced_blobs() == set()


def test_purge_respects_the_cutoff(store: SqlStore) -> None:
    run = store.create_run("p")
    store.delete_runs([run.id])
    deleted_at = store.get_run(run.id).deleted_at
    assert deleted_at is not None
    assert store.purge_runs(deleted_before=deleted_at) == []
    assert store.purge_runs(deleted_before=deleted_at + 1) == [run.id]
    assert store.purge_runs(deleted_before=deleted_at + 1) == []
