"""loopml.data.checkout / get: byte-identical round trips in every link mode, verified blobs
(a corrupted one is reported and nothing is written), updates in place like git, lineage,
object stores over a folder and S3, and clear errors."""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path

import pytest
from tests.data.trees import make_tree

import loopml
from loopml.config import init_home
from loopml.entities import DatasetVersion, FileEntry
from loopml.errors import ConflictError, CorruptObjectError, InvalidInputError, NotFoundError
from loopml.tracking.context import get_context

checkout_module = importlib.import_module("loopml.data.checkout")


@pytest.fixture(autouse=True)
def home() -> Path:
    return init_home()


def digest(root: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every file under ``root`` (symlinks followed)."""
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


TREE = {"a.csv": b"id,x\n1,2\n", "sub/b.bin": os.urandom(70_000), "sub/deep/c": b"", "d": b"d"}


@pytest.fixture
def version() -> DatasetVersion:
    make_tree(Path("data"), TREE)
    return loopml.data.add("data")


def corrupt_blob(blob: str, data: bytes = b"garbage!") -> None:
    path = get_context().objects.local_path(blob)
    assert path is not None
    os.chmod(path, 0o644)
    path.write_bytes(data)


@pytest.mark.parametrize("link", ["auto", "hardlink", "symlink", "copy"])
def test_round_trip(version: DatasetVersion, link: str) -> None:
    out = loopml.data.checkout(version.uri, "out", link=link)  # type: ignore[arg-type]
    assert out == Path("out").absolute()
    assert digest(out) == digest(Path("data"))
    assert loopml.data.status(out).clean
    assert not [p for p in Path(".").iterdir() if ".loopml-" in p.name]  # no staging left


def test_hardlinks_are_read_only_and_share_the_blob(version: DatasetVersion) -> None:
    out = loopml.data.checkout(version.uri, "out", link="hardlink")
    path = out / "sub" / "b.bin"
    blob = get_context().objects.local_path(
        next(f.blob for f in loopml.data.files(version.uri) if f.path == "sub/b.bin")
    )
    assert blob is not None
    assert path.stat().st_ino == blob.stat().st_ino
    assert path.stat().st_mode & 0o777 == 0o444
    if os.geteuid() != 0:  # root may write anyway
        with pytest.raises(PermissionError):
            path.open("ab")


def test_executables_are_copied_with_their_bit() -> None:
    make_tree(Path("tools"), {"run.sh": b"#!/bin/sh\necho hi\n", "readme": b"r"})
    os.chmod("tools/run.sh", 0o755)
    uri = loopml.data.add("tools").uri
    ctx = get_context()
    result = checkout_module.checkout_version(ctx, loopml.data.resolve(uri), "out", link="hardlink")
    assert result.methods == {"copy": 1, "hardlink": 1}
    assert os.access("out/run.sh", os.X_OK)


def reflinks_work(folder: Path) -> bool:
    import fcntl

    (folder / "src").write_bytes(b"x")
    with (folder / "src").open("rb") as src, (folder / "dst").open("wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), checkout_module.FICLONE, src.fileno())
        except OSError:
            return False
    return True


def test_reflink_is_used_or_refused_clearly(version: DatasetVersion, tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    if reflinks_work(probe):  # btrfs, XFS: copy-on-write clones
        out = loopml.data.checkout(version.uri, "out", link="reflink")
        assert digest(out) == digest(Path("data"))
        return
    with pytest.raises(InvalidInputError) as caught:  # ext4, tmpfs: no reflinks
        loopml.data.checkout(version.uri, "out", link="reflink")
    assert caught.value.field == "link"
    assert "--link auto" in (caught.value.hint or "")
    assert not Path("out").exists()


def test_auto_falls_back_when_reflinks_are_refused(version: DatasetVersion) -> None:
    ctx = get_context()
    result = checkout_module.checkout_version(ctx, version, "out")
    assert set(result.methods) <= {"reflink", "hardlink"}
    assert result.written == 4


@pytest.mark.parametrize("link", ["auto", "copy"])
def test_corrupted_blob_is_reported_and_nothing_is_written(
    version: DatasetVersion, link: str
) -> None:
    blob = next(f.blob for f in loopml.data.files(version.uri) if f.path == "sub/b.bin")
    corrupt_blob(blob, os.urandom(70_000))  # same size, other bytes
    with pytest.raises(CorruptObjectError) as caught:
        loopml.data.checkout(version.uri, "out", link=link)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "sub/b.bin" in message
    assert blob in message
    assert caught.value.uri == f"blake3:{blob}"
    assert not Path("out").exists()
    assert not [p for p in Path(".").iterdir() if ".loopml-" in p.name]


def test_corruption_after_a_verified_checkout_is_still_caught(version: DatasetVersion) -> None:
    loopml.data.checkout(version.uri, "first")  # verifies (and caches) every blob
    blob = next(f.blob for f in loopml.data.files(version.uri) if f.path == "a.csv")
    corrupt_blob(blob, b"id,x\n6,6\n")  # an in-place write: the blob's mtime moves
    with pytest.raises(CorruptObjectError, match=r"a\.csv"):
        loopml.data.checkout(version.uri, "second")
    assert not Path("second").exists()


def test_missing_blob(version: DatasetVersion) -> None:
    blob = next(f.blob for f in loopml.data.files(version.uri) if f.path == "d")
    get_context().objects.delete(blob)
    for link in ("hardlink", "copy"):
        with pytest.raises(NotFoundError) as caught:
            loopml.data.checkout(version.uri, "out", link=link)  # type: ignore[arg-type]
        assert caught.value.uri == f"blake3:{blob}"
        assert "d" in str(caught.value)
        assert not Path("out").exists()


def test_update_in_place_like_git(version: DatasetVersion) -> None:
    (Path("data") / "a.csv").write_bytes(b"id,x\n1,3\n")
    (Path("data") / "d").unlink()
    (Path("data") / "e").write_bytes(b"e")
    v2 = loopml.data.add("data")
    assert v2.version == 2
    ctx = get_context()
    result = checkout_module.checkout_version(ctx, version, "data")  # back to version 1
    assert sorted(result.removed) == ["e"]
    assert result.written == 2  # a.csv and d; the rest were in place
    assert digest(Path("data")) == {k: hashlib.sha256(v).hexdigest() for k, v in TREE.items()}
    assert loopml.data.status("data").uri == version.uri
    assert loopml.data.status("data").clean


def test_local_changes_are_not_overwritten_without_force(version: DatasetVersion) -> None:
    (Path("data") / "a.csv").write_bytes(b"my own edit\n")
    (Path("data") / "untracked.txt").write_bytes(b"mine")
    make_tree(Path("v2src"), {"a.csv": b"other\n"})
    v2 = loopml.data.add("v2src", name="data")
    with pytest.raises(ConflictError) as caught:
        loopml.data.checkout(v2.uri, "data")
    assert "a.csv" in str(caught.value)
    assert "--force" in (caught.value.hint or "")
    assert (Path("data") / "a.csv").read_bytes() == b"my own edit\n"
    result = checkout_module.checkout_version(get_context(), v2, "data", force=True)
    assert (Path("data") / "a.csv").read_bytes() == b"other\n"
    assert "untracked.txt" in result.kept  # loopml never deletes what it does not know
    assert (Path("data") / "untracked.txt").exists()


def test_into_an_untracked_folder_only_identical_files_may_be_there(
    version: DatasetVersion,
) -> None:
    make_tree(Path("out"), {"a.csv": TREE["a.csv"], "notes.txt": b"mine"})
    result = checkout_module.checkout_version(get_context(), version, "out")
    assert result.written == 3
    assert result.kept == ["notes.txt"]
    Path("out2").mkdir()
    (Path("out2") / "a.csv").write_bytes(b"different")
    with pytest.raises(ConflictError):
        loopml.data.checkout(version.uri, "out2")


def test_file_dataset() -> None:
    make_tree(Path("."), {"model.bin": b"weights"})
    uri = loopml.data.add("model.bin").uri
    assert loopml.data.checkout(uri, "copy.bin").read_bytes() == b"weights"
    Path("dir").mkdir()
    assert loopml.data.checkout(uri, "dir") == Path("dir/model.bin").absolute()
    assert Path("dir/model.bin").read_bytes() == b"weights"
    assert loopml.data.status("dir/model.bin").clean


def test_get_materializes_once_in_the_cache(version: DatasetVersion, home: Path) -> None:
    path = loopml.data.get(version.uri)
    assert path == home / "checkouts" / "data" / "1"
    assert digest(path) == digest(Path("data"))
    again = checkout_module.checkout_version(get_context(), version, path, force=True)
    assert again.written == 0
    assert loopml.data.get("datasets:/data@latest") == path


def test_get_inside_a_run_records_an_input(version: DatasetVersion) -> None:
    with loopml.start_run(project="default") as run:
        loopml.data.get(version.uri, "copy")
    edges = get_context().store.lineage_of_runs([run.id])
    assert [(e.direction, e.ref) for e in edges] == [("input", "datasets:/data/1")]


def test_errors(version: DatasetVersion) -> None:
    with pytest.raises(NotFoundError):
        loopml.data.checkout("datasets:/nope/1", "out")
    with pytest.raises(NotFoundError):
        loopml.data.checkout("datasets:/data/7", "out")
    with pytest.raises(InvalidInputError) as caught:
        loopml.data.checkout("data/1", "out")
    assert caught.value.field == "uri"
    with pytest.raises(InvalidInputError) as caught:
        loopml.data.checkout(version.uri, "out", link="fast")  # type: ignore[arg-type]
    assert caught.value.field == "link"
    Path("afile").write_text("x")
    with pytest.raises(InvalidInputError, match="is a file"):
        loopml.data.checkout(version.uri, "afile")
    with pytest.raises(InvalidInputError, match="loopml's own folder"):
        loopml.data.checkout(version.uri, ".loopml/objects")


@pytest.mark.parametrize(
    "path", ["../escape", "/abs", "a/../../b", "a//b", "a\\b", "", "./a", "a/."]
)
def test_unsafe_manifest_paths_are_refused(version: DatasetVersion, path: str) -> None:
    entries = [FileEntry("fine.txt", 1, "0" * 64), FileEntry(path, 1, "0" * 64)]
    with pytest.raises(CorruptObjectError, match="unsafe path"):
        checkout_module._check_paths(entries, version)


def test_remote_object_store_copies(artifact_uri: str, tmp_path: Path) -> None:
    loopml.configure(artifact_uri=artifact_uri)
    make_tree(Path("data"), TREE)
    version = loopml.data.add("data")
    out = loopml.data.checkout(version.uri, "out")
    assert digest(out) == digest(Path("data"))
    if not artifact_uri.startswith("file:"):
        with pytest.raises(InvalidInputError, match="local object store"):
            loopml.data.checkout(version.uri, "other", link="hardlink")
