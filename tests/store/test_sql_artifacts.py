"""SQL store: run artifact maps (record, list by folder prefix, referenced blobs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopml.entities import ArtifactEntry, new_id
from loopml.errors import ConflictError, InvalidInputError, NotFoundError
from loopml.store.sql.store import SqlStore


def blob(n: int) -> str:
    return f"blake3:{n:064x}"


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:
    with SqlStore(store_uri) as opened:
        yield opened


@pytest.fixture
def run_id(store: SqlStore) -> str:
    return store.create_run("p").id


def paths(entries: list[ArtifactEntry]) -> list[str]:
    return [e.path for e in entries]


def test_record_and_list(store: SqlStore, run_id: str) -> None:
    entries = [
        ArtifactEntry(run_id, "model/weights.bin", blob(1), 1_000, 5),
        ArtifactEntry(run_id, "metrics.json", blob(2), 20, 6),
    ]
    store.record_artifacts(run_id, entries)
    assert store.list_artifacts(run_id) == sorted(entries, key=lambda e: e.path)


def test_recording_a_path_again_points_at_the_new_blob(store: SqlStore, run_id: str) -> None:
    store.record_artifacts(run_id, [ArtifactEntry(run_id, "a.txt", blob(1), 1, 1)])
    store.record_artifacts(run_id, [ArtifactEntry(run_id, "a.txt", blob(2), 2, 2)])
    assert store.list_artifacts(run_id) == [ArtifactEntry(run_id, "a.txt", blob(2), 2, 2)]
    assert store.referenced_blobs() == {blob(2)}


def test_prefix_is_a_folder(store: SqlStore, run_id: str) -> None:
    names = ["a/b", "a/b/x", "a/b/y/z", "a/bc", "a/bc/x", "A/b/x", "a_b/x", "axb/x", "a"]
    store.record_artifacts(
        run_id, [ArtifactEntry(run_id, name, blob(i), i, i) for i, name in enumerate(names)]
    )
    assert paths(store.list_artifacts(run_id, "a/b")) == ["a/b", "a/b/x", "a/b/y/z"]
    assert paths(store.list_artifacts(run_id, "a/b/")) == ["a/b", "a/b/x", "a/b/y/z"]
    assert paths(store.list_artifacts(run_id, "A/b")) == ["A/b/x"]  # case-sensitive
    assert paths(store.list_artifacts(run_id, "a_b")) == ["a_b/x"]  # no LIKE wildcards
    assert paths(store.list_artifacts(run_id, "a/b/y")) == ["a/b/y/z"]
    assert paths(store.list_artifacts(run_id, "missing")) == []
    assert len(store.list_artifacts(run_id, "")) == len(names)


def test_paths_are_normalised(store: SqlStore, run_id: str) -> None:
    store.record_artifacts(run_id, [ArtifactEntry(run_id, "dir//file.txt/", blob(1), 1, 1)])
    assert paths(store.list_artifacts(run_id)) == ["dir/file.txt"]


@pytest.mark.parametrize("path", ["", "/abs/path", "../escape", "a/../b", "a/./b", "win\\path"])
def test_bad_paths(store: SqlStore, run_id: str, path: str) -> None:
    with pytest.raises(InvalidInputError):
        store.record_artifacts(run_id, [ArtifactEntry(run_id, path, blob(1), 1, 1)])
    assert store.list_artifacts(run_id) == []


def test_entry_of_another_run_is_refused(store: SqlStore, run_id: str) -> None:
    other = store.create_run("p").id
    with pytest.raises(InvalidInputError) as info:
        store.record_artifacts(run_id, [ArtifactEntry(other, "a", blob(1), 1, 1)])
    assert info.value.field == "run_id"


def test_referenced_blobs_across_runs(store: SqlStore, run_id: str) -> None:
    other = store.create_run("p").id
    store.record_artifacts(run_id, [ArtifactEntry(run_id, "a", blob(1), 1, 1)])
    store.record_artifacts(
        other,
        [ArtifactEntry(other, "a", blob(1), 1, 1), ArtifactEntry(other, "b", blob(3), 1, 1)],
    )
    assert store.referenced_blobs() == {blob(1), blob(3)}


def test_unknown_and_deleted_runs(store: SqlStore, run_id: str) -> None:
    with pytest.raises(NotFoundError):
        store.list_artifacts(new_id())
    missing = new_id()
    with pytest.raises(NotFoundError):
        store.record_artifacts(missing, [ArtifactEntry(missing, "a", blob(1), 1, 1)])
    store.delete_runs([run_id])
    with pytest.raises(ConflictError):
        store.record_artifacts(run_id, [ArtifactEntry(run_id, "a", blob(1), 1, 1)])
