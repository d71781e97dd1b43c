"""loopml.data.add: versions of folders and files, dedup, the stat cache at work, the walk
(ignored folders, symlinks), lineage inside a run, and clear errors for bad input."""

from __future__ import annotations

import importlib
import os
import socket
import time
from pathlib import Path

import pytest
from blake3 import blake3
from tests.data.trees import make_tree

import loopml
from loopml.config import init_home
from loopml.data.walk import walk_tree
from loopml.entities import DatasetKind
from loopml.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from loopml.tracking.context import get_context

add_module = importlib.import_module("loopml.data.add")
add_path = add_module.add_path


def b3(data: bytes) -> str:
    return str(blake3(data).hexdigest())


@pytest.fixture(autouse=True)
def home() -> Path:
    """A .loopml folder in the test's own working folder (its store, objects and cache)."""
    return init_home()


TREE = {"a.csv": b"id,x\n1,2\n", "sub/b.bin": os.urandom(5000), "sub/deep/c.txt": b"c"}


def blobs_in_store() -> set[str]:
    return {blob.hex for blob in get_context().objects.iter_blobs()}


def test_add_folder_makes_version_one() -> None:
    make_tree(Path("data"), TREE)
    version = loopml.data.add("data", message="first")
    assert version.uri == "datasets:/data/1"
    assert version.kind is DatasetKind.FOLDER
    assert (version.file_count, version.total_size) == (3, sum(map(len, TREE.values())))
    assert version.message == "first"
    assert version.source_run_id is None
    files = {f.path: f for f in loopml.data.files(version.uri)}
    assert sorted(files) == sorted(TREE)
    assert all(files[p].blob == b3(data) for p, data in TREE.items())
    assert {b3(data) for data in TREE.values()} <= blobs_in_store()


def test_same_content_same_version_and_one_blob() -> None:
    make_tree(Path("data"), {"x.txt": b"same", "y.txt": b"same", "z.txt": b"other"})
    first = add_path("data", "raw")
    assert first.created
    again = add_path("data", "raw")
    assert not again.created
    assert again.version.id == first.version.id
    assert again.hashed_files == 0  # the stat cache vouched for every file
    assert [v.version for v in loopml.data.versions("raw")] == [1]
    # The same content elsewhere (a copy) has the same content id
    make_tree(Path("copy"), {"x.txt": b"same", "y.txt": b"same", "z.txt": b"other"})
    copy = add_path("copy", "raw")
    assert copy.version.id == first.version.id
    data_blobs = blobs_in_store() - {first.version.manifest_blob}
    assert data_blobs == {b3(b"same"), b3(b"other")}  # one blob per distinct content


def test_a_change_makes_version_two_hashing_only_that_file() -> None:
    make_tree(Path("data"), TREE)
    add_path("data")
    (Path("data") / "a.csv").write_bytes(b"id,x\n1,3\n")
    result = add_path("data", message="fix")
    assert (result.version.version, result.created) == (2, True)
    assert result.hashed_files == 1
    assert [v.version for v in loopml.data.versions("data")] == [2, 1]


def test_touching_mtime_rehashes_but_makes_no_new_version() -> None:
    make_tree(Path("data"), TREE)
    add_path("data")
    later = time.time() - 100
    os.utime(Path("data") / "sub" / "b.bin", (later, later))
    result = add_path("data")
    assert result.hashed_files == 1
    assert not result.created
    assert result.version.version == 1


def test_verify_hashes_everything() -> None:
    make_tree(Path("data"), TREE)
    add_path("data")
    assert add_path("data", verify=True).hashed_files == 3


def test_same_size_change_with_mtime_restored_is_caught_by_verify() -> None:
    make_tree(Path("data"), TREE)
    add_path("data")
    path = Path("data") / "a.csv"
    st = path.stat()
    path.write_bytes(b"id,x\n9,9\n")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime
    assert not add_path("data").created  # the stat cache cannot see it (documented)
    result = add_path("data", verify=True)
    assert (result.created, result.version.version) == (True, 2)
    [entry] = [f for f in loopml.data.files(result.version.uri) if f.path == "a.csv"]
    assert entry.blob == b3(b"id,x\n9,9\n")


def test_add_a_single_file() -> None:
    make_tree(Path("."), {"model.bin": b"weights"})
    version = loopml.data.add("model.bin")
    assert version.uri == "datasets:/model.bin/1"
    assert version.kind is DatasetKind.FILE
    [entry] = loopml.data.files(version.uri)
    assert (entry.path, entry.size, entry.blob) == ("model.bin", 7, b3(b"weights"))


def test_modes_keep_only_the_executable_bit() -> None:
    make_tree(Path("data"), {"run.sh": b"#!/bin/sh\n", "notes.txt": b"n"})
    os.chmod("data/run.sh", 0o700)
    os.chmod("data/notes.txt", 0o600)
    modes = {f.path: f.mode for f in loopml.data.files(loopml.data.add("data").uri)}
    assert modes == {"run.sh": 0o755, "notes.txt": 0o644}


def test_inside_a_run_the_version_is_an_output() -> None:
    make_tree(Path("data"), TREE)
    with loopml.start_run(project="churn") as run:
        version = loopml.data.add("data", name="churn-raw")
    assert version.project == "churn"
    assert version.source_run_id == run.id
    edges = get_context().store.lineage_of_runs([run.id])
    assert [(e.direction, e.ref) for e in edges] == [("output", "datasets:/churn-raw/1")]


def test_name_of_another_project_is_refused() -> None:
    make_tree(Path("data"), TREE)
    loopml.data.add("data", name="shared", project="a")
    (Path("data") / "new.txt").write_text("n")
    with pytest.raises(AlreadyExistsError):
        loopml.data.add("data", name="shared", project="b")


def test_missing_path() -> None:
    with pytest.raises(NotFoundError) as caught:
        loopml.data.add("nowhere/")
    assert caught.value.field == "path"
    assert "nowhere" in str(caught.value)


def test_empty_folder() -> None:
    Path("empty/.git").mkdir(parents=True)
    (Path("empty/.git") / "HEAD").write_text("ref")
    with pytest.raises(InvalidInputError, match="no files"):
        loopml.data.add("empty")


def test_bad_names() -> None:
    make_tree(Path("my data"), TREE)
    with pytest.raises(InvalidInputError) as caught:
        loopml.data.add("my data")
    assert caught.value.field == "name"
    assert "--name" in (caught.value.hint or "")
    with pytest.raises(InvalidInputError):
        loopml.data.add("my data", name="../etc")
    assert loopml.data.add("my data", name="my-data").uri == "datasets:/my-data/1"


def test_loopml_folder_itself_is_refused(home: Path) -> None:
    with pytest.raises(InvalidInputError, match="loopml's own folder"):
        loopml.data.add(home / "objects")


# -- the walk ---------------------------------------------------------------------------------


def test_walk_skips_tool_folders() -> None:
    make_tree(
        Path("data"),
        {"keep.txt": b"k", ".git/config": b"g", ".dvc/cache": b"d", "x/.loopml/y": b"l"},
    )
    assert sorted(f.path for f in walk_tree(os.path.realpath("data"))) == ["keep.txt"]


def test_symlinks_store_the_target_content() -> None:
    make_tree(Path("outside"), {"real.txt": b"target bytes", "dir/inner.txt": b"inner"})
    make_tree(Path("data"), {"own.txt": b"own"})
    os.symlink(os.path.realpath("outside/real.txt"), "data/link.txt")
    os.symlink(os.path.realpath("outside/dir"), "data/linked-dir")
    os.symlink(os.path.realpath("data"), "data/loop")  # a cycle: walked once
    files = {f.path: f for f in loopml.data.files(loopml.data.add("data").uri)}
    assert sorted(files) == ["link.txt", "linked-dir/inner.txt", "own.txt"]
    assert files["link.txt"].blob == b3(b"target bytes")


def test_broken_symlink_is_an_error() -> None:
    make_tree(Path("data"), {"own.txt": b"own"})
    os.symlink("does-not-exist", "data/broken")
    with pytest.raises(InvalidInputError, match="broken symlink"):
        loopml.data.add("data")


def test_special_files_are_an_error() -> None:
    make_tree(Path("data"), {"own.txt": b"own"})
    os.mkfifo("data/pipe")
    with pytest.raises(InvalidInputError, match="not a regular file"):
        loopml.data.add("data")
    os.unlink("data/pipe")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind("data/s")
        with pytest.raises(InvalidInputError):
            loopml.data.add("data")
    finally:
        sock.close()


def test_add_by_hardlink_then_edit_by_replacing_the_file() -> None:
    make_tree(Path("data"), TREE)
    first = loopml.data.add("data", link="hardlink")
    objects = get_context().objects
    for entry in loopml.data.files(first.uri):
        assert os.path.samefile(Path("data") / entry.path, objects.local_path(entry.blob))
        assert os.stat(Path("data") / entry.path).st_mode & 0o222 == 0  # read-only now
    assert loopml.data.add("data", link="hardlink") == first  # nothing changed
    # a read-only file is edited by writing a new one in its place (as editors do)
    replacement = Path("data/a.csv.new")
    replacement.write_bytes(b"id,x\n1,3\n")
    replacement.replace("data/a.csv")
    assert not loopml.data.status("data").clean
    second = loopml.data.add("data", link="hardlink")
    assert second.version == 2
    assert objects.get_bytes(loopml.data.files(first.uri)[0].blob) == TREE["a.csv"]


def test_add_refuses_an_unknown_link_mode() -> None:
    make_tree(Path("data"), TREE)
    with pytest.raises(InvalidInputError, match="unknown link mode") as caught:
        loopml.data.add("data", link="reflink")  # type: ignore[arg-type]
    assert caught.value.field == "link"


def test_the_data_add_link_setting_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    make_tree(Path("data"), TREE)
    monkeypatch.setenv("LOOPML_DATA_ADD_LINK", "hardlink")
    version = loopml.data.add("data")
    objects = get_context().objects
    entry = loopml.data.files(version.uri)[0]
    assert os.path.samefile(Path("data") / entry.path, objects.local_path(entry.blob))
    make_tree(Path("other"), {"x.txt": b"copied"})
    loopml.data.add("other", link="copy")  # the argument wins
    assert os.stat("other/x.txt").st_mode & 0o222


def test_a_bad_data_add_link_setting_says_where_it_comes_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_tree(Path("data"), TREE)
    monkeypatch.setenv("LOOPML_DATA_ADD_LINK", "symlink")
    with pytest.raises(InvalidInputError, match="unknown link mode 'symlink'") as caught:
        loopml.data.add("data")
    assert "LOOPML_DATA_ADD_LINK" in str(caught.value.hint)
