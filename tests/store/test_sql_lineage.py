"""SQL store: lineage edges (idempotent recording, reads by run and by ref, errors, purge)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopml.entities import LineageEdge, new_id
from loopml.errors import ConflictError, InvalidInputError, NotFoundError
from loopml.store.sql.store import SqlStore


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:
    with SqlStore(store_uri) as opened:
        yield opened


def edge(
    run_id: str, direction: str, ref: str, at: int = 1, project: str | None = None
) -> LineageEdge:
    return LineageEdge(run_id, direction, ref, at, project)


def test_edges_read_back_by_run_and_by_ref(store: SqlStore) -> None:
    prep = store.create_run("etl").id
    train = store.create_run("ml").id
    store.add_lineage(
        [
            edge(prep, "input", "datasets:/raw/1", 10),
            edge(prep, "output", "datasets:/clean/1", 20, "etl"),
            edge(train, "input", "datasets:/clean/1", 30),
            edge(train, "output", "models:/churn/1", 40),
        ]
    )
    assert store.lineage_of_runs([prep]) == [
        edge(prep, "input", "datasets:/raw/1", 10, "etl"),
        edge(prep, "output", "datasets:/clean/1", 20, "etl"),
    ]
    assert store.lineage_of_refs(["datasets:/clean/1"]) == [
        edge(prep, "output", "datasets:/clean/1", 20, "etl"),
        edge(train, "input", "datasets:/clean/1", 30, "ml"),
    ]
    both = store.lineage_of_runs([train, prep, train])
    assert [e.created_at for e in both] == [10, 20, 30, 40]  # oldest first, each once
    assert store.lineage_of_refs(["models:/churn/1", "datasets:/raw/1"]) == [
        edge(prep, "input", "datasets:/raw/1", 10, "etl"),
        edge(train, "output", "models:/churn/1", 40, "ml"),
    ]
    assert store.lineage_of_refs(["datasets:/clean/2"]) == []
    assert store.lineage_of_runs([new_id()]) == []
    assert store.lineage_of_runs([]) == store.lineage_of_refs([]) == []


def test_recording_an_edge_again_is_a_no_op(store: SqlStore) -> None:
    run = store.create_run("p").id
    first = edge(run, "input", "datasets:/ds/1", 5)
    store.add_lineage([first, first])  # twice in one batch
    store.add_lineage([edge(run, "input", "datasets:/ds/1", 99)])  # again, later
    store.add_lineage([])
    assert store.lineage_of_runs([run]) == [edge(run, "input", "datasets:/ds/1", 5, "p")]
    store.add_lineage([edge(run, "output", "datasets:/ds/1", 6)])  # the other direction
    assert [e.direction for e in store.lineage_of_refs(["datasets:/ds/1"])] == ["input", "output"]


def test_an_unknown_run_is_not_found_and_nothing_is_written(store: SqlStore) -> None:
    run = store.create_run("p").id
    missing = new_id()
    with pytest.raises(NotFoundError) as info:
        store.add_lineage([edge(run, "input", "datasets:/a/1"), edge(missing, "input", "x")])
    assert info.value.run_id == missing
    assert store.lineage_of_runs([run]) == []


def test_a_deleted_run_takes_no_edges(store: SqlStore) -> None:
    run = store.create_run("p").id
    store.delete_runs([run])
    with pytest.raises(ConflictError):
        store.add_lineage([edge(run, "input", "datasets:/a/1")])


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"ref": ""}, "ref"),
        ({"ref": "x\x00"}, "ref"),
        ({"ref": "datasets:/" + "a" * 1100}, "ref"),
        ({"created_at": "soon"}, "created_at"),
        ({"project": "other"}, "project"),
    ],
)
def test_bad_edges_are_refused(store: SqlStore, bad: dict[str, object], field: str) -> None:
    run = store.create_run("p").id
    fields: dict[str, object] = {
        "run_id": run,
        "direction": "input",
        "ref": "datasets:/a/1",
        "created_at": 1,
        "project": "p",
    }
    fields.update(bad)
    with pytest.raises(InvalidInputError) as info:
        store.add_lineage([LineageEdge(**fields)])  # type: ignore[arg-type]
    assert info.value.field == field
    assert store.lineage_of_runs([run]) == []


def test_large_lists_bind_as_one_value(store: SqlStore) -> None:
    runs = [store.create_run("p").id for _ in range(3)]
    store.add_lineage(
        [edge(run, "input", f"datasets:/d/{i}", i) for run in runs for i in range(1, 1_001)]
    )
    asked_runs = [new_id() for _ in range(5_000)] + runs
    assert len(store.lineage_of_runs(asked_runs)) == 3_000
    refs = [f"datasets:/d/{i}" for i in range(1, 5_001)]
    assert len(store.lineage_of_refs(refs)) == 3_000


def test_purging_a_run_removes_its_edges(store: SqlStore) -> None:
    gone = store.create_run("p").id
    kept = store.create_run("p").id
    store.add_lineage([edge(gone, "output", "datasets:/a/1"), edge(kept, "input", "datasets:/a/1")])
    store.delete_runs([gone])
    store.purge_runs(deleted_before=2**62)
    assert store.lineage_of_refs(["datasets:/a/1"]) == [
        edge(kept, "input", "datasets:/a/1", 1, "p")
    ]
