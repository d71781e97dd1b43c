"""The model registry in the SQL store: versions, aliases, tags, descriptions, audit, gc."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

from loopml.entities import AuditEvent, ModelVersion
from loopml.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from loopml.store.sql.store import SqlStore

SPAWN = multiprocessing.get_context("spawn")
WORKERS, PER_WORKER = 4, 5


@pytest.fixture
def store(store_uri: str) -> Any:
    with SqlStore(store_uri) as opened:
        yield opened


def _register(store: SqlStore, name: str = "churn", blob: str = "pkg", **kw: Any) -> ModelVersion:
    kw.setdefault("file_blobs", [f"{blob}-file"])
    kw.setdefault("flavor", "sklearn")
    kw.setdefault("source", f"/tmp/{blob}")
    return store.create_model_version(name, package_blob=blob, **kw)


def _trail(events: list[AuditEvent]) -> list[tuple[Any, ...]]:
    return [(e.action, e.version, e.key, e.old, e.new, e.actor) for e in events]


# -- create, list, get ------------------------------------------------------------------------
def test_create_list_and_get(store: SqlStore) -> None:
    run = store.create_run("proj", name="train")
    first = _register(
        store,
        blob="p1",
        source=f"runs:/{run.id}/model",
        run_id=run.id,
        artifact_path="model",
        description="first cut",
        tags={"team": "ml"},
        actor="alice",
        project="proj",
    )
    assert (first.name, first.version, first.uri) == ("churn", 1, "models:/churn/1")
    assert (first.run_id, first.artifact_path, first.source) == (
        run.id,
        "model",
        f"runs:/{run.id}/model",
    )
    assert (first.flavor, first.created_by, first.project) == ("sklearn", "alice", "proj")
    assert (first.description, dict(first.tags), first.aliases) == ("first cut", {"team": "ml"}, ())
    assert store.get_model_version("churn", 1) == first

    second = _register(store, blob="p2")
    assert (second.version, second.project) == (2, "proj")  # inherits the model's project
    _register(store, "alpha", blob="a1")

    assert [m.name for m in store.list_registered_models()] == ["alpha", "churn"]
    model = store.get_registered_model("churn")
    assert (model.name, model.project, model.latest_version) == ("churn", "proj", 2)
    assert model.created_at <= model.updated_at
    assert (dict(model.aliases), dict(model.tags), model.description) == ({}, {}, None)
    assert [v.version for v in store.list_model_versions("churn")] == [1, 2]
    assert store.get_model_version_by_alias("churn", "latest").package_blob == "p2"


def test_a_model_without_a_project(store: SqlStore) -> None:
    version = _register(store, "local-model")
    assert version.project is None
    assert store.get_registered_model("local-model").project is None


def test_model_names_are_unique_across_projects(store: SqlStore) -> None:
    _register(store, project="a")
    with pytest.raises(AlreadyExistsError) as info:
        _register(store, project="b")
    assert info.value.field == "name"
    assert [v.version for v in store.list_model_versions("churn")] == [1]


def test_a_deleted_model_may_come_back_in_another_project(store: SqlStore) -> None:
    _register(store, project="a")
    store.delete_registered_model("churn")
    again = _register(store, project="b")
    assert (again.version, again.project) == (2, "b")
    assert store.get_registered_model("churn").project == "b"
    assert [e.action for e in store.list_model_audit("churn")].count("create_model") == 2


def test_unknown_run_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFoundError) as info:
        _register(store, run_id="f" * 32)
    assert info.value.field == "run_id"
    with pytest.raises(NotFoundError):
        store.get_registered_model("churn")  # nothing of the failed call was written


# -- version numbers --------------------------------------------------------------------------
def test_versions_count_up_and_are_never_reused(store: SqlStore) -> None:
    for i in range(3):
        assert _register(store, blob=f"p{i}").version == i + 1
    store.delete_model_version("churn", 3)
    assert store.get_registered_model("churn").latest_version == 2
    assert store.get_model_version_by_alias("churn", "latest").version == 2
    assert _register(store, blob="again").version == 4
    store.delete_registered_model("churn")
    revived = _register(store, blob="revived")
    assert revived.version == 5  # a deleted model's numbers are not handed out again
    assert [v.version for v in store.list_model_versions("churn")] == [5]


def _register_many(uri: str, worker: int, barrier: Any, results: Any) -> None:
    """A spawned process: wait for the others, then register PER_WORKER versions."""
    try:
        barrier.wait(timeout=120)
        with SqlStore(uri) as store:
            numbers = [
                _register(store, "shared", blob=f"w{worker}-{i}", actor=f"w{worker}").version
                for i in range(PER_WORKER)
            ]
        results.put(("ok", numbers))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put(("error", repr(exc)))


def test_processes_registering_at_once_get_distinct_consecutive_versions(
    store_uri: str,
) -> None:
    SqlStore(store_uri).close()  # the schema exists before the race on the model row
    barrier, results = SPAWN.Barrier(WORKERS), SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_register_many, args=(store_uri, w, barrier, results))
        for w in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=240) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert [detail for kind, detail in outcomes if kind == "error"] == []
    got = [numbers for _, numbers in outcomes]
    numbers = sorted(n for worker in got for n in worker)
    assert numbers == list(range(1, WORKERS * PER_WORKER + 1))
    assert all(worker == sorted(worker) for worker in got)
    with SqlStore(store_uri) as store:
        versions = store.list_model_versions("shared")
        assert [v.version for v in versions] == numbers
        assert {v.package_blob for v in versions} == {
            f"w{w}-{i}" for w in range(WORKERS) for i in range(PER_WORKER)
        }
        actions = [e.action for e in store.list_model_audit("shared")]
        assert actions.count("create_model") == 1
        assert actions.count("create_version") == WORKERS * PER_WORKER


# -- aliases ----------------------------------------------------------------------------------
def test_alias_set_move_and_delete_are_audited(store: SqlStore) -> None:
    for i in range(3):
        _register(store, blob=f"p{i}")
    store.set_model_alias("churn", "champion", 1, actor="alice")
    assert store.get_model_version_by_alias("churn", "champion").version == 1
    store.set_model_alias("churn", "champion", 3, actor="bob")  # a move
    store.set_model_alias("churn", "champion", 3, actor="bob")  # where it is: no change
    store.set_model_alias("churn", "staging", 2)
    assert dict(store.get_registered_model("churn").aliases) == {"champion": 3, "staging": 2}
    assert store.get_model_version("churn", 3).aliases == ("champion",)
    assert store.get_model_version("churn", 1).aliases == ()
    store.delete_model_alias("churn", "staging", actor="carol")
    assert dict(store.get_registered_model("churn").aliases) == {"champion": 3}
    with pytest.raises(NotFoundError) as info:
        store.get_model_version_by_alias("churn", "staging")
    assert (info.value.field, info.value.uri) == ("alias", "models:/churn@staging")

    trail = [t for t in _trail(store.list_model_audit("churn")) if "alias" in t[0]]
    assert trail == [
        ("set_alias", 1, "champion", None, "1", "alice"),
        ("set_alias", 3, "champion", "1", "3", "bob"),
        ("set_alias", 2, "staging", None, "2", None),
        ("delete_alias", 2, "staging", "2", None, "carol"),
    ]
    assert [e.action for e in store.list_model_audit("churn", version=2)] == [
        "create_version",
        "set_alias",
        "delete_alias",
    ]


def test_alias_needs_a_live_version(store: SqlStore) -> None:
    _register(store)
    with pytest.raises(NotFoundError) as info:
        store.set_model_alias("churn", "champion", 7)
    assert (info.value.field, info.value.uri) == ("version", "models:/churn/7")
    with pytest.raises(NotFoundError):
        store.delete_model_alias("churn", "champion")
    assert dict(store.get_registered_model("churn").aliases) == {}


# -- tags and descriptions --------------------------------------------------------------------
def test_tags_on_model_and_version(store: SqlStore) -> None:
    _register(store, blob="p1")
    _register(store, blob="p2", tags={"stage": "new"})
    store.set_model_tag("churn", "team", "ml", actor="alice")
    store.set_model_tag("churn", "team", "ds", actor="bob")
    store.set_model_tag("churn", "stage", "checked", version=2)
    store.set_model_tag("churn", "note", "old", version=1)
    assert dict(store.get_registered_model("churn").tags) == {"team": "ds"}
    assert dict(store.get_model_version("churn", 2).tags) == {"stage": "checked"}
    assert dict(store.get_model_version("churn", 1).tags) == {"note": "old"}
    store.delete_model_tag("churn", "note", version=1, actor="carol")
    store.delete_model_tag("churn", "team")
    assert dict(store.get_registered_model("churn").tags) == {}
    assert dict(store.get_model_version("churn", 1).tags) == {}
    with pytest.raises(NotFoundError):
        store.delete_model_tag("churn", "team")
    with pytest.raises(NotFoundError):
        store.set_model_tag("churn", "k", "v", version=9)

    trail = [t for t in _trail(store.list_model_audit("churn")) if "tag" in t[0]]
    assert trail == [
        ("set_tag", 2, "stage", None, "new", None),
        ("set_tag", None, "team", None, "ml", "alice"),
        ("set_tag", None, "team", "ml", "ds", "bob"),
        ("set_tag", 2, "stage", "new", "checked", None),
        ("set_tag", 1, "note", None, "old", None),
        ("delete_tag", 1, "note", "old", None, "carol"),
        ("delete_tag", None, "team", "ds", None, None),
    ]


def test_descriptions_on_model_and_version(store: SqlStore) -> None:
    _register(store)
    store.set_model_description("churn", "predicts churn", actor="alice")
    store.set_model_description("churn", "v1 notes", version=1)
    store.set_model_description("churn", "better notes", version=1)
    assert store.get_registered_model("churn").description == "predicts churn"
    assert store.get_model_version("churn", 1).description == "better notes"
    store.set_model_description("churn", "")  # clears
    assert store.get_registered_model("churn").description is None
    trail = [t for t in _trail(store.list_model_audit("churn")) if t[0] == "set_description"]
    assert trail == [
        ("set_description", None, None, None, "predicts churn", "alice"),
        ("set_description", 1, None, None, "v1 notes", None),
        ("set_description", 1, None, "v1 notes", "better notes", None),
        ("set_description", None, None, "predicts churn", None, None),
    ]


# -- deleting ---------------------------------------------------------------------------------
def test_delete_version_drops_its_aliases(store: SqlStore) -> None:
    _register(store, blob="p1")
    _register(store, blob="p2", tags={"k": "v"})
    store.set_model_alias("churn", "champion", 2)
    store.set_model_alias("churn", "shadow", 2)
    store.set_model_alias("churn", "staging", 1)
    store.delete_model_version("churn", 2, actor="alice")
    assert dict(store.get_registered_model("churn").aliases) == {"staging": 1}
    assert [v.version for v in store.list_model_versions("churn")] == [1]
    with pytest.raises(NotFoundError, match="deleted") as info:
        store.get_model_version("churn", 2)
    assert info.value.field == "version"
    with pytest.raises(NotFoundError):
        store.delete_model_version("churn", 2)
    assert _trail(store.list_model_audit("churn", version=2))[-3:] == [
        ("delete_alias", 2, "champion", "2", None, "alice"),
        ("delete_alias", 2, "shadow", "2", None, "alice"),
        ("delete_version", 2, None, None, None, "alice"),
    ]


def test_delete_model_keeps_its_audit(store: SqlStore) -> None:
    _register(store)
    store.set_model_alias("churn", "champion", 1)
    store.delete_registered_model("churn", actor="alice")
    assert store.list_registered_models() == []
    with pytest.raises(NotFoundError, match="deleted"):
        store.get_registered_model("churn")
    with pytest.raises(NotFoundError):
        store.list_model_versions("churn")
    with pytest.raises(NotFoundError):
        store.delete_registered_model("churn")
    assert [e.action for e in store.list_model_audit("churn")] == [
        "create_model",
        "create_version",
        "set_alias",
        "delete_model",
    ]
    assert store.list_model_audit("churn")[-1].actor == "alice"


# -- garbage collection -----------------------------------------------------------------------
def test_referenced_blobs_cover_live_model_versions(store: SqlStore) -> None:
    _register(store, blob="m1", file_blobs=["f1", "shared"])
    _register(store, blob="m2", file_blobs=["f2", "shared"])
    _register(store, "other", blob="m3", file_blobs=["f3"])
    assert store.referenced_blobs() >= {"m1", "m2", "m3", "f1", "f2", "f3", "shared"}
    store.delete_model_version("churn", 1)
    assert "m1" not in store.referenced_blobs()
    assert "f1" not in store.referenced_blobs()
    assert store.referenced_blobs() >= {"m2", "f2", "shared"}
    store.delete_registered_model("other")
    assert store.referenced_blobs() == {"m2", "f2", "shared"}


# -- bad input and unknowns -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "-lead", ".x", "a b", "a/b", "x" * 129, "é", None, 3])
def test_bad_model_names(store: SqlStore, name: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        _register(store, name)
    assert info.value.field == "name"
    assert info.value.hint
    with pytest.raises(InvalidInputError):
        store.get_registered_model(name)


@pytest.mark.parametrize("alias", ["", "Champion", "1st", "a b", "x" * 65, "latest", "a.b"])
def test_bad_aliases(store: SqlStore, alias: str) -> None:
    _register(store)
    with pytest.raises(InvalidInputError) as info:
        store.set_model_alias("churn", alias, 1)
    assert info.value.field == "alias"
    assert info.value.hint
    if alias == "latest":
        assert "reserved" in str(info.value)


@pytest.mark.parametrize("version", [0, -1, True, "1", 1.5])
def test_bad_version_numbers(store: SqlStore, version: Any) -> None:
    _register(store)
    with pytest.raises(InvalidInputError) as info:
        store.get_model_version("churn", version)
    assert info.value.field == "version"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("package_blob", {"blob": ""}),
        ("file_blobs", {"file_blobs": "abc"}),
        ("flavor", {"flavor": ""}),
        ("source", {"source": " "}),
        ("run_id", {"run_id": "nope"}),
        ("artifact_path", {"artifact_path": "../up"}),
        ("description", {"description": "a\x00b"}),
        ("actor", {"actor": ""}),
    ],
)
def test_bad_version_arguments(store: SqlStore, field: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError) as info:
        _register(store, **kwargs)
    assert info.value.field == field


def test_unknown_things_are_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFoundError) as info:
        store.get_registered_model("ghost")
    assert (info.value.field, info.value.uri) == ("name", "models:/ghost")
    for call in (
        lambda: store.list_model_versions("ghost"),
        lambda: store.get_model_version("ghost", 1),
        lambda: store.get_model_version_by_alias("ghost", "latest"),
        lambda: store.set_model_alias("ghost", "champion", 1),
        lambda: store.set_model_tag("ghost", "k", "v"),
        lambda: store.set_model_description("ghost", "text"),
        lambda: store.delete_model_version("ghost", 1),
        lambda: store.delete_registered_model("ghost"),
        lambda: store.list_model_audit("ghost"),
    ):
        with pytest.raises(NotFoundError):
            call()
    _register(store)
    with pytest.raises(NotFoundError) as info:
        store.get_model_version("churn", 2)
    assert (info.value.field, info.value.uri) == ("version", "models:/churn/2")
    with pytest.raises(NotFoundError) as info:
        store.get_model_version_by_alias("churn", "champion")
    assert info.value.field == "alias"
