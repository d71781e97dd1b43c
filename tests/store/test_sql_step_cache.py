"""The pipeline step cache in the SQL store: put, get, list, delete, and what gc keeps."""

from __future__ import annotations

from typing import Any

import pytest

from loopml.entities.steps import ArtifactRef, StepCacheEntry
from loopml.errors import InvalidInputError
from loopml.store.sql.store import SqlStore


@pytest.fixture
def store(store_uri: str) -> Any:
    with SqlStore(store_uri) as opened:
        yield opened


def _ref(blob: str, **kw: Any) -> ArtifactRef:
    kw.setdefault("materializer", "json")
    kw.setdefault("materializer_version", 1)
    kw.setdefault("content_hash", blob)
    kw.setdefault("type_name", "builtins.dict")
    kw.setdefault("size", 10)
    return ArtifactRef(blob=blob, **kw)


def _entry(
    key: str, *, pipeline: str = "churn", step: str = "train", at: int = 1, **kw: Any
) -> StepCacheEntry:
    kw.setdefault("outputs", {"out": _ref(f"blob-{key}")})
    kw.setdefault("run_id", "r" * 32)
    return StepCacheEntry(key=key, step=step, pipeline=pipeline, created_at=at, **kw)


def test_put_then_get_round_trips(store: SqlStore) -> None:
    model = _ref(
        "manifest", materializer="model", content_hash="files-hash", blobs=("f1", "f2"), size=99
    )
    data = _ref("dsmanifest", materializer="path", uri="datasets:/raw/1")
    entry = _entry("k1", outputs={"model": model, "data": data}, project="proj")
    store.put_step_cache(entry)
    got = store.get_step_cache("k1")
    assert got == entry
    assert got is not None and got.outputs["model"].blobs == ("f1", "f2")
    assert got.outputs["data"].uri == "datasets:/raw/1"
    assert got.project == "proj"
    assert store.get_step_cache("nope") is None


def test_put_is_idempotent_on_the_key(store: SqlStore) -> None:
    first = _entry("k1", at=1)
    store.put_step_cache(first)
    store.put_step_cache(_entry("k1", at=2, outputs={"other": _ref("x")}))
    store.put_step_cache(first)
    assert store.get_step_cache("k1") == first
    assert len(store.list_step_cache()) == 1
    assert store.referenced_blobs() == {"blob-k1"}


def test_list_filters_by_pipeline_and_step_newest_first(store: SqlStore) -> None:
    store.put_step_cache(_entry("a", pipeline="p1", step="load", at=1))
    store.put_step_cache(_entry("b", pipeline="p1", step="train", at=3))
    store.put_step_cache(_entry("c", pipeline="p2", step="train", at=2))
    assert [e.key for e in store.list_step_cache()] == ["b", "c", "a"]
    assert [e.key for e in store.list_step_cache(pipeline="p1")] == ["b", "a"]
    assert [e.key for e in store.list_step_cache(step="train")] == ["b", "c"]
    assert [e.key for e in store.list_step_cache(pipeline="p2", step="load")] == []
    assert [e.key for e in store.list_step_cache(pipeline="p1", step="load")] == ["a"]


def test_delete_by_keys_by_pipeline_and_all(store: SqlStore) -> None:
    for key, pipeline in [("a", "p1"), ("b", "p1"), ("c", "p2"), ("d", "p2"), ("e", "p3")]:
        store.put_step_cache(_entry(key, pipeline=pipeline))
    assert store.delete_step_cache(["a", "missing", "a"]) == 1
    assert store.get_step_cache("a") is None
    assert store.delete_step_cache(["b", "c"], pipeline="p2") == 1  # only c is in p2
    assert {e.key for e in store.list_step_cache()} == {"b", "d", "e"}
    assert store.delete_step_cache(pipeline="p2") == 1
    assert store.delete_step_cache([]) == 0
    assert {e.key for e in store.list_step_cache()} == {"b", "e"}
    assert store.delete_step_cache() == 2
    assert store.list_step_cache() == []
    assert store.referenced_blobs() == set()


def test_delete_many_keys_in_chunks(store: SqlStore) -> None:
    keys = [f"k{i:04d}" for i in range(1203)]
    for key in keys[:5]:
        store.put_step_cache(_entry(key))
    assert store.delete_step_cache(keys) == 5


def test_referenced_blobs_cover_every_cached_output(store: SqlStore) -> None:
    run = store.create_run("proj")
    store.put_step_cache(
        _entry(
            "k1",
            run_id=run.id,
            outputs={
                "m": _ref("manifest", materializer="model", blobs=("f1", "f2")),
                "j": _ref("json-blob"),
            },
        )
    )
    store.put_step_cache(_entry("k2", outputs={"j": _ref("json-blob")}))
    assert store.referenced_blobs() >= {"manifest", "f1", "f2", "json-blob"}
    store.delete_step_cache(["k1"])
    blobs = store.referenced_blobs()
    assert "json-blob" in blobs  # k2 still holds it
    assert not {"manifest", "f1", "f2"} & blobs


def test_an_entry_outlives_its_purged_run(store: SqlStore) -> None:
    run = store.create_run("proj")
    store.put_step_cache(_entry("k1", run_id=run.id))
    store.delete_runs([run.id])
    store.purge_runs(deleted_before=2**62)
    got = store.get_step_cache("k1")
    assert got is not None and got.run_id == run.id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"key": ""}, "key"),
        ({"key": "x" * 129}, "key"),
        ({"step": ""}, "step"),
        ({"pipeline": ""}, "pipeline"),
        ({"run_id": ""}, "run_id"),
        ({"created_at": -1}, "created_at"),
        ({"outputs": {"o": "not a ref"}}, "outputs"),
    ],
)
def test_bad_entries_are_refused(store: SqlStore, changes: dict[str, Any], field: str) -> None:
    body: dict[str, Any] = {
        "key": "k",
        "step": "s",
        "pipeline": "p",
        "run_id": "r",
        "created_at": 1,
        "outputs": {},
    }
    body.update(changes)
    with pytest.raises(InvalidInputError) as info:
        store.put_step_cache(StepCacheEntry(**body))
    assert info.value.field == field
    with pytest.raises(InvalidInputError):
        store.get_step_cache("")
    with pytest.raises(InvalidInputError):
        store.delete_step_cache([""])


def test_entry_dict_round_trip() -> None:
    entry = _entry("k", outputs={"m": _ref("b", blobs=("c",), uri="datasets:/x/1")}, project="p")
    assert StepCacheEntry.from_dict(entry.to_dict()) == entry
    assert ArtifactRef.from_dict(_ref("b").to_dict()) == _ref("b")


def test_a_0004_database_upgrades_to_the_step_cache_and_back(store_uri: str) -> None:
    """0005 adds the step cache to a database in use; its downgrade drops the tables."""
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from loopml.store.sql.migrate import migrations_config

    tables = {"step_cache", "step_cache_blobs"}
    engine = create_engine(store_uri)
    try:
        with engine.begin() as conn:
            command.upgrade(migrations_config(conn), "0004")
        with engine.connect() as conn:
            assert not tables & set(inspect(conn).get_table_names())
        with SqlStore(store_uri) as store:  # upgrades to the head
            run = store.create_run("proj")
            store.put_step_cache(_entry("k1", run_id=run.id, project="proj"))
            assert store.referenced_blobs() == {"blob-k1"}
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0004")
        with engine.connect() as conn:
            assert not tables & set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    with SqlStore(store_uri) as store:  # upgrades again, the run survived
        assert store.list_step_cache() == []
        assert store.get_run(run.id).project == "proj"
