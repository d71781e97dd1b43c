"""SQL store: log_batch (metrics, params, tags), latest metrics, history, tag removal."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from loopml.entities import Metric, Param, Tag, new_id
from loopml.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ParamConflictError,
)
from loopml.store.sql.store import SqlStore


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:
    with SqlStore(store_uri) as opened:
        yield opened


@pytest.fixture
def run_id(store: SqlStore) -> str:
    return store.create_run("p").id


def test_batch_round_trip(store: SqlStore, run_id: str) -> None:
    store.log_batch(
        run_id,
        metrics=[Metric("acc", 0.5, 0, 10), Metric("acc", 0.7, 1, 20), Metric("loss", 2.0, 0, 10)],
        params=[Param("lr", "0.01"), Param("depth", "6")],
        tags=[Tag("team", "risk")],
    )
    run = store.get_run(run_id)
    assert dict(run.metrics) == {"acc": 0.7, "loss": 2.0}
    assert dict(run.params) == {"lr": "0.01", "depth": "6"}
    assert dict(run.tags) == {"team": "risk"}
    assert store.get_metric_history(run_id, "acc") == [
        Metric("acc", 0.5, 0, 10),
        Metric("acc", 0.7, 1, 20),
    ]


def test_latest_metric_is_highest_step_whatever_the_order(store: SqlStore, run_id: str) -> None:
    store.log_batch(run_id, metrics=[Metric("m", 5.0, 5, 100)])
    store.log_batch(run_id, metrics=[Metric("m", 3.0, 3, 200)])  # older step, newer time
    assert store.get_run(run_id).metrics["m"] == 5.0
    store.log_batch(run_id, metrics=[Metric("m", 9.0, 9, 50), Metric("m", 7.0, 7, 300)])
    assert store.get_run(run_id).metrics["m"] == 9.0
    assert [p.step for p in store.get_metric_history(run_id, "m")] == [3, 5, 7, 9]


def test_latest_metric_same_step_newest_timestamp(store: SqlStore, run_id: str) -> None:
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 0, 200)])
    store.log_batch(run_id, metrics=[Metric("m", 2.0, 0, 100)])
    assert store.get_run(run_id).metrics["m"] == 1.0
    store.log_batch(run_id, metrics=[Metric("m", 3.0, 0, 300)])
    assert store.get_run(run_id).metrics["m"] == 3.0
    store.log_batch(run_id, metrics=[Metric("m", 4.0, 0, 300)])  # exact tie: the later write
    assert store.get_run(run_id).metrics["m"] == 4.0


def test_nan_and_infinities_round_trip(store: SqlStore, run_id: str) -> None:
    store.log_batch(
        run_id,
        metrics=[
            Metric("nan", math.nan, 0, 1),
            Metric("pinf", math.inf, 0, 1),
            Metric("ninf", -math.inf, 0, 1),
            Metric("mixed", 1.0, 0, 1),
            Metric("mixed", math.nan, 1, 2),
            Metric("mixed", -math.inf, 2, 3),
        ],
    )
    run = store.get_run(run_id)
    assert math.isnan(run.metrics["nan"])
    assert run.metrics["pinf"] == math.inf
    assert run.metrics["ninf"] == -math.inf
    assert run.metrics["mixed"] == -math.inf
    values = [m.value for m in store.get_metric_history(run_id, "mixed")]
    assert values[0] == 1.0
    assert math.isnan(values[1])
    assert values[2] == -math.inf
    assert math.isnan(store.get_metric_history(run_id, "nan")[0].value)


def test_history_by_step_then_timestamp(store: SqlStore, run_id: str) -> None:
    points = [Metric("m", float(i), step, ts) for i, (step, ts) in enumerate(
        [(2, 5), (0, 9), (1, 1), (0, 3), (2, 1)]
    )]  # fmt: skip
    store.log_batch(run_id, metrics=points)
    history = store.get_metric_history(run_id, "m")
    assert [(m.step, m.timestamp) for m in history] == [(0, 3), (0, 9), (1, 1), (2, 1), (2, 5)]
    assert store.get_metric_history(run_id, "unknown") == []


def test_large_batch(store: SqlStore, run_id: str) -> None:
    points = [Metric(f"k{i % 7}", float(i), i, 1_000 + i) for i in range(5_000)]
    store.log_batch(run_id, metrics=points)
    history = store.get_metric_history(run_id, "k3")
    assert [m.value for m in history] == [float(i) for i in range(5_000) if i % 7 == 3]
    assert store.get_run(run_id).metrics["k3"] == float(max(i for i in range(5_000) if i % 7 == 3))


# -- params -----------------------------------------------------------------------------------
def test_param_conflict_writes_nothing_of_the_batch(store: SqlStore, run_id: str) -> None:
    store.log_batch(run_id, params=[Param("lr", "0.01")])
    with pytest.raises(ParamConflictError) as info:
        store.log_batch(
            run_id,
            metrics=[Metric("acc", 0.9, 0, 1)],
            params=[Param("new", "x"), Param("lr", "0.02")],
            tags=[Tag("t", "v")],
        )
    error = info.value
    assert error.field == "lr"
    assert error.run_id == run_id
    assert "0.01" in str(error)
    assert "0.02" in str(error)
    assert isinstance(error, ConflictError)
    run = store.get_run(run_id)
    assert dict(run.params) == {"lr": "0.01"}
    assert dict(run.metrics) == {}
    assert dict(run.tags) == {}
    assert store.get_metric_history(run_id, "acc") == []


def test_same_param_value_again_is_a_no_op(store: SqlStore, run_id: str) -> None:
    store.log_batch(run_id, params=[Param("lr", "0.01")])
    store.log_batch(run_id, params=[Param("lr", "0.01"), Param("lr", "0.01"), Param("b", "2")])
    assert dict(store.get_run(run_id).params) == {"lr": "0.01", "b": "2"}


def test_conflicting_param_inside_one_batch(store: SqlStore, run_id: str) -> None:
    with pytest.raises(ParamConflictError) as info:
        store.log_batch(
            run_id, metrics=[Metric("m", 1.0, 0, 1)], params=[Param("a", "1"), Param("a", "2")]
        )
    assert info.value.field == "a"
    assert dict(store.get_run(run_id).params) == {}
    assert store.get_metric_history(run_id, "m") == []


def test_long_param_value_round_trips(store: SqlStore, run_id: str) -> None:
    value = "é" * 8_000  # longer than any B-tree entry PostgreSQL accepts, in bytes
    store.log_batch(run_id, params=[Param("config", value)])
    assert store.get_run(run_id).params["config"] == value
    with pytest.raises(InvalidInputError):
        store.log_batch(run_id, params=[Param("huge", "x" * 8_001)])


# -- tags -------------------------------------------------------------------------------------
def test_tags_upsert_and_delete(store: SqlStore) -> None:
    run = store.create_run("p", tags={"stage": "dev"})
    store.log_batch(run.id, tags=[Tag("stage", "prod"), Tag("owner", "a"), Tag("owner", "b")])
    assert dict(store.get_run(run.id).tags) == {"stage": "prod", "owner": "b"}
    store.delete_tag(run.id, "stage")
    assert dict(store.get_run(run.id).tags) == {"owner": "b"}
    with pytest.raises(NotFoundError) as info:
        store.delete_tag(run.id, "stage")
    assert info.value.field == "stage"


# -- errors -----------------------------------------------------------------------------------
def test_unknown_run(store: SqlStore) -> None:
    missing = new_id()
    with pytest.raises(NotFoundError) as info:
        store.log_batch(missing, metrics=[Metric("m", 1.0, 0, 1)])
    assert info.value.run_id == missing
    with pytest.raises(NotFoundError):
        store.log_batch(missing)
    with pytest.raises(NotFoundError):
        store.get_metric_history(missing, "m")
    with pytest.raises(NotFoundError):
        store.delete_tag(missing, "t")


def test_deleted_run_refuses_batches(store: SqlStore, run_id: str) -> None:
    store.delete_runs([run_id])
    with pytest.raises(ConflictError):
        store.log_batch(run_id, params=[Param("a", "1")])
    with pytest.raises(ConflictError):
        store.delete_tag(run_id, "t")
    store.restore_runs([run_id])
    store.log_batch(run_id, params=[Param("a", "1")])
    assert store.get_run(run_id).params["a"] == "1"


@pytest.mark.parametrize(
    ("batch", "field"),
    [
        ({"metrics": [Metric("m", "high", 0, 1)]}, "m"),  # type: ignore[arg-type]
        ({"metrics": [Metric("m", 1.0, "x", 1)]}, "m"),  # type: ignore[arg-type]
        ({"metrics": [Metric("", 1.0, 0, 1)]}, "metric"),
        ({"metrics": [Metric("k" * 251, 1.0, 0, 1)]}, "k" * 251),
        ({"params": [Param("p", 3)]}, "p"),  # type: ignore[arg-type]
        ({"params": [Param("p", "a\x00b")]}, "p"),
        ({"tags": [Tag("bad\nkey", "v")]}, "bad\nkey"),
    ],
)
def test_bad_input_is_refused_before_writing(
    store: SqlStore, run_id: str, batch: dict[str, list[object]], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        store.log_batch(run_id, **batch)  # type: ignore[arg-type]
    assert info.value.field == field
    run = store.get_run(run_id)
    assert (dict(run.metrics), dict(run.params), dict(run.tags)) == ({}, {}, {})
