"""SQL store: datasets and their versions (create, dedup by content, numbering, reads, files,
errors, purge, referenced blobs, concurrent writers)."""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.queues import Queue
from typing import Any

import pytest
from sqlalchemy import event, func, select

from loopml.entities import ArtifactEntry, DatasetKind, DatasetVersion, FileEntry, new_id
from loopml.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from loopml.store.sql.schema import dataset_files, dataset_versions, datasets
from loopml.store.sql.store import SqlStore

FORK = multiprocessing.get_context("fork")


def blob(n: int) -> str:
    return f"{n:064x}"


def files(*ns: int) -> list[FileEntry]:
    return [FileEntry(f"data/part-{n:05d}.csv", 100 + n, blob(n)) for n in ns]


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:
    with SqlStore(store_uri) as opened:
        yield opened


def add(
    store: SqlStore, name: str = "ds", content: int = 1, *, project: str = "p", **extra: Any
) -> tuple[DatasetVersion, bool]:
    """A version of ``name`` whose content (and files) is numbered ``content``."""
    kwargs: dict[str, Any] = {
        "kind": DatasetKind.FOLDER,
        "content_id": f"c{content}",
        "manifest_blob": f"m{content}",
        "files": files(content, content + 1000),
    }
    kwargs.update(extra)
    return store.create_dataset_version(project, name, **kwargs)


def count(store: SqlStore, table: Any) -> int:
    with store._db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@contextmanager
def recorded(store: SqlStore) -> Iterator[list[str]]:
    """The first word of each statement ``store`` sends inside the block (BEGIN excluded)."""
    statements: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith("BEGIN"):
            statements.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(store._db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store._db.engine, "before_cursor_execute", record)


# -- create, dedup, numbering -----------------------------------------------------------------
def test_create_a_version_and_its_dataset(store: SqlStore) -> None:
    version, created = add(store, message="first cut", author="ana")
    assert created
    assert (version.dataset, version.project, version.version) == ("ds", "p", 1)
    assert version.uri == "datasets:/ds/1"
    assert version.kind is DatasetKind.FOLDER
    assert (version.file_count, version.total_size) == (2, 101 + 1101)
    assert (version.message, version.author) == ("first cut", "ana")
    assert len(version.id) == 32
    assert store.get_dataset_version("ds", 1) == version
    dataset = store.get_dataset("ds")
    assert (dataset.name, dataset.project, dataset.latest_version, dataset.version_count) == (
        "ds",
        "p",
        1,
        1,
    )
    assert store.get_project("p").name == "p"


def test_same_content_is_the_same_version_and_writes_nothing(store: SqlStore) -> None:
    first, _ = add(store, content=1)
    add(store, content=2)
    before = [count(store, table) for table in (datasets, dataset_versions, dataset_files)]
    with recorded(store) as statements:
        again, created = add(store, content=1, message="ignored")
    assert not created
    assert again == first
    assert again.message is None
    assert [s for s in statements if s != "SELECT"] in ([], ["COMMIT"])
    after = [count(store, table) for table in (datasets, dataset_versions, dataset_files)]
    assert after == before


def test_versions_count_up_and_latest_is_the_highest(store: SqlStore) -> None:
    made = [add(store, content=n)[0] for n in (1, 2, 3)]
    assert [v.version for v in made] == [1, 2, 3]
    assert [v.version for v in store.list_dataset_versions("ds")] == [3, 2, 1]
    assert store.list_dataset_versions("ds") == made[::-1]
    assert store.get_dataset_version("ds") == made[2]
    assert store.get_dataset_version("ds", 2) == made[1]
    assert made[0].id < made[1].id < made[2].id  # sortable ids
    dataset = store.get_dataset("ds")
    assert (dataset.latest_version, dataset.version_count) == (3, 3)
    again, created = add(store, content=1)  # old content again: still version 1
    assert (again.version, created) == (1, False)
    assert store.get_dataset("ds").version_count == 3


def test_numbering_is_per_dataset(store: SqlStore) -> None:
    assert add(store, "a", 1)[0].version == 1
    assert add(store, "b", 1)[0].version == 1  # the same content in another dataset is new
    assert add(store, "a", 2)[0].version == 2
    assert add(store, "b", 3)[0].version == 2


def test_names_are_unique_across_projects(store: SqlStore) -> None:
    add(store, "shared", 1, project="alpha")
    for content in (1, 2):  # known content or new, the name is taken
        with pytest.raises(AlreadyExistsError) as info:
            add(store, "shared", content, project="beta")
        assert "'alpha'" in str(info.value)
        assert info.value.field == "dataset"
    assert [p.name for p in store.list_projects()] == ["alpha"]
    assert store.get_dataset("shared").version_count == 1


def test_list_datasets_of_a_project_or_all_by_name(store: SqlStore) -> None:
    add(store, "zeta", 1, project="p1")
    add(store, "Alpha", 1, project="p2")
    add(store, "beta", 1, project="p1")
    add(store, "beta", 2, project="p1")
    assert [d.name for d in store.list_datasets()] == ["Alpha", "beta", "zeta"]  # code points
    listed = store.list_datasets("p1")
    assert [(d.name, d.latest_version, d.version_count) for d in listed] == [
        ("beta", 2, 2),
        ("zeta", 1, 1),
    ]
    assert {d.project for d in listed} == {"p1"}
    assert store.list_datasets("nobody") == []


# -- round trips ------------------------------------------------------------------------------
def test_files_round_trip_in_code_point_order(store: SqlStore) -> None:
    names = ["b.txt", "B.txt", "a/b", "a_b", "a-b", "a.b/c", "é.txt", "z", "Z/y", "ünï/cödé"]
    entries = [
        FileEntry(name, size, blob(i), mode)
        for i, (name, size, mode) in enumerate(
            zip(
                names,
                [0, 1, 5 * 2**40, 7, 8, 9, 10, 11, 12, 13],
                [0o644, 0o755, 0o100644, 0o600, 0, 0o644, 0o644, 0o644, 0o644, 0o777],
                strict=True,
            )
        )
    ]
    version, _ = store.create_dataset_version(
        "p", "ds", kind=DatasetKind.FOLDER, content_id="c", manifest_blob="m", files=entries
    )
    got = store.get_dataset_files(version.id)
    assert got == sorted(entries, key=lambda f: f.path)
    assert version.total_size == sum(f.size for f in entries)
    assert version.file_count == len(entries)


def test_a_version_without_files(store: SqlStore) -> None:
    version, _ = store.create_dataset_version(
        "p", "empty", kind=DatasetKind.FOLDER, content_id="c", manifest_blob="m", files=[]
    )
    assert (version.file_count, version.total_size) == (0, 0)
    assert store.get_dataset_files(version.id) == []


def test_table_fields_and_metadata_round_trip(store: SqlStore) -> None:
    run = store.create_run("p")
    meta = {"source": "s3://bucket/raw", "ünïcode": "ß ✓", "empty": ""}
    version, _ = store.create_dataset_version(
        "p",
        "table",
        kind=DatasetKind.TABLE,
        content_id="c" * 64,
        manifest_blob="m" * 64,
        files=[FileEntry("data.parquet", 2**33, blob(1))],
        message="multi\nline",
        author="bob",
        source_run_id=run.id,
        num_rows=3_000_000_000,
        schema_blob=blob(2),
        profile_blob=blob(3),
        metadata=meta,
    )
    stored = store.get_dataset_version("table")
    assert stored == version
    assert dict(stored.metadata) == meta
    assert stored.kind is DatasetKind.TABLE
    assert (stored.num_rows, stored.schema_blob, stored.profile_blob) == (
        3_000_000_000,
        blob(2),
        blob(3),
    )
    assert stored.source_run_id == run.id
    assert dict(store.get_dataset_version("table").metadata) == meta
    with pytest.raises(TypeError):
        stored.metadata["x"] = "y"  # type: ignore[index]
    plain, _ = add(store, "plain")
    assert dict(store.get_dataset_version("plain").metadata) == {} == dict(plain.metadata)


def test_twenty_thousand_files(store: SqlStore) -> None:
    """The size the data benchmark adds: written with one executemany, read as driver tuples."""
    many = [
        FileEntry(f"d{i % 50:02d}/f{i:06d}.bin", 4096, f"{i * 7919:064x}") for i in range(20_000)
    ]
    start = time.perf_counter()
    version, _ = store.create_dataset_version(
        "p", "big", kind=DatasetKind.FOLDER, content_id="c", manifest_blob="m", files=many
    )
    created = time.perf_counter() - start
    start = time.perf_counter()
    got = store.get_dataset_files(version.id)
    read = time.perf_counter() - start
    print(f"20,000 files: create {created * 1000:.0f} ms, read {read * 1000:.0f} ms")
    assert got == sorted(many, key=lambda f: f.path)
    assert created < 5 and read < 5  # a generous guard; the budget is checked in bench/


# -- errors -----------------------------------------------------------------------------------
def test_not_found_errors_name_the_dataset_and_the_command(store: SqlStore) -> None:
    add(store, "ds", 1)
    add(store, "ds", 2)
    for call in (
        lambda: store.get_dataset("nope"),
        lambda: store.get_dataset_version("nope"),
        lambda: store.get_dataset_version("nope", 1),
        lambda: store.list_dataset_versions("nope"),
    ):
        with pytest.raises(NotFoundError) as info:
            call()
        assert "'nope'" in str(info.value)
        assert "loopml data list" in str(info.value)
    with pytest.raises(NotFoundError) as info:
        store.get_dataset_version("ds", 7)
    assert "'ds'" in str(info.value)
    assert "version 7" in str(info.value)
    assert "latest is 2" in str(info.value)
    assert "loopml data versions ds" in str(info.value)
    assert info.value.uri == "datasets:/ds/7"
    with pytest.raises(NotFoundError):
        store.get_dataset_files(new_id())
    with pytest.raises(InvalidInputError):
        store.get_dataset_version("ds", "2")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "zip"}, "kind"),
        ({"content_id": ""}, "content_id"),
        ({"manifest_blob": "x" * 129}, "manifest_blob"),
        ({"num_rows": -1}, "num_rows"),
        ({"metadata": {"k": 1}}, "k"),
        ({"message": "nul\x00"}, "message"),
        ({"files": [FileEntry("/abs", 1, blob(1))]}, "files"),
        ({"files": [FileEntry("a/../b", 1, blob(1))]}, "files"),
        ({"files": [FileEntry("a//b", 1, blob(1))]}, "files"),
        ({"files": [FileEntry("a/", 1, blob(1))]}, "files"),
        ({"files": [FileEntry("./a", 1, blob(1))]}, "files"),
        ({"files": [FileEntry("", 1, blob(1))]}, "files"),
        ({"files": [FileEntry("win\\path", 1, blob(1))]}, "files"),
        ({"files": [FileEntry("a" * 1025, 1, blob(1))]}, "files"),
        ({"files": [FileEntry("a", 1, blob(1)), FileEntry("a", 2, blob(2))]}, "files"),
        ({"files": [FileEntry("a", -1, blob(1))]}, "size of 'a'"),
        ({"files": [FileEntry("a", True, blob(1))]}, "size of 'a'"),  # type: ignore[arg-type]
        ({"files": [FileEntry("a", 1, "")]}, "blob of 'a'"),
        ({"files": [FileEntry("a", 1, blob(1), 0o1000000)]}, "mode of 'a'"),
    ],
)
def test_bad_input_is_refused_before_writing(
    store: SqlStore, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        add(store, **change)
    assert info.value.field == field
    assert store.list_datasets() == []


def test_an_unknown_source_run_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFoundError):
        add(store, source_run_id=new_id())
    assert store.list_datasets() == []
    add(store, content=1)
    with pytest.raises(NotFoundError):
        add(store, content=2, source_run_id=new_id())
    assert store.get_dataset("ds").version_count == 1


# -- purge, referenced blobs ------------------------------------------------------------------
def test_a_version_outlives_its_purged_source_run(store: SqlStore) -> None:
    run = store.create_run("p")
    version, _ = add(store, source_run_id=run.id)
    store.delete_runs([run.id])
    assert store.purge_runs(deleted_before=2**62) == [run.id]
    kept = store.get_dataset_version("ds", 1)
    assert kept.source_run_id is None
    assert kept.id == version.id
    assert store.get_dataset_files(version.id) == files(1, 1001)


def test_referenced_blobs_include_dataset_blobs(store: SqlStore) -> None:
    run = store.create_run("p")
    store.record_artifacts(run.id, [ArtifactEntry(run.id, "model.bin", "artifact", 1, 1)])
    add(store, "folder", 1)  # files blob(1), blob(1001); manifest m1
    add(store, "table", 2, schema_blob="schema", profile_blob="profile")
    add(store, "again", 1)  # the same blobs again: listed once
    assert store.referenced_blobs() == {
        "artifact",
        blob(1),
        blob(1001),
        blob(2),
        blob(1002),
        "m1",
        "m2",
        "schema",
        "profile",
    }


# -- concurrency ------------------------------------------------------------------------------
def _guarded(queue: Queue[Any], work: Callable[[], Any]) -> None:
    try:
        queue.put(("ok", work()))
    except BaseException:
        queue.put(("error", traceback.format_exc()))


def _run_processes(targets: list[Callable[[], Any]], timeout: float = 120) -> list[Any]:
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


def _add_versions(uri: str, barrier: Any, contents: list[int]) -> list[tuple[int, bool]]:
    barrier.wait()
    with SqlStore(uri) as store:
        return [(v.version, new) for v, new in (add(store, "race", c) for c in contents)]


def test_four_processes_get_distinct_gapless_numbers(store_uri: str) -> None:
    """Four processes add different content to one (not yet existing) dataset at once."""
    SqlStore(store_uri).close()  # the schema exists; the dataset does not
    barrier = FORK.Barrier(4)
    results = _run_processes(
        [
            lambda i=i: _add_versions(store_uri, barrier, [i * 10 + j for j in range(3)])
            for i in range(4)
        ]  # type: ignore[misc]
    )
    numbers = sorted(number for result in results for number, created in result if created)
    assert numbers == list(range(1, 13))
    with SqlStore(store_uri) as store:
        versions = store.list_dataset_versions("race")
        assert [v.version for v in versions] == list(range(12, 0, -1))
        assert len({v.content_id for v in versions}) == 12
        assert all(len(store.get_dataset_files(v.id)) == 2 for v in versions)


def test_four_processes_adding_the_same_content_make_one_version(store_uri: str) -> None:
    SqlStore(store_uri).close()
    barrier = FORK.Barrier(4)
    results = _run_processes(
        [lambda: _add_versions(store_uri, barrier, [7]) for _ in range(4)]  # type: ignore[misc]
    )
    outcomes = [pair for result in results for pair in result]
    assert sorted(outcomes) == [(1, False), (1, False), (1, False), (1, True)]
    with SqlStore(store_uri) as store:
        assert store.get_dataset("race").version_count == 1
