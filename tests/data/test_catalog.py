"""Finding datasets: list, versions newest first, URIs resolved in every form, files from
the store and from the manifest alike, and clear errors."""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path

import pytest

import loopml
from loopml.config import init_home
from loopml.errors import CorruptObjectError, InvalidInputError, NotFoundError
from loopml.tracking.context import get_context

catalog = importlib.import_module("loopml.data.catalog")


@pytest.fixture(autouse=True)
def home() -> Path:
    return init_home()


def write(path: str, data: bytes) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(data)
    then = time.time() - 3600
    os.utime(path, (then, then))


@pytest.fixture
def two_versions() -> None:
    write("raw/a.txt", b"one")
    loopml.data.add("raw", name="churn-raw", message="v1")
    write("raw/a.txt", b"two")
    write("raw/b.txt", b"bee")
    loopml.data.add("raw", name="churn-raw", message="v2")
    write("other/x", b"x")
    loopml.data.add("other", name="other", project="ops")


def test_list_datasets(two_versions: None) -> None:
    found = loopml.data.list_datasets()
    assert [(d.name, d.latest_version, d.version_count) for d in found] == [
        ("churn-raw", 2, 2),
        ("other", 1, 1),
    ]
    assert [d.name for d in loopml.data.list_datasets("ops")] == ["other"]
    assert loopml.data.list_datasets("nobody") == []


def test_versions_newest_first(two_versions: None) -> None:
    assert [(v.version, v.message) for v in loopml.data.versions("churn-raw")] == [
        (2, "v2"),
        (1, "v1"),
    ]
    with pytest.raises(NotFoundError):
        loopml.data.versions("nope")
    with pytest.raises(InvalidInputError):
        loopml.data.versions("bad name!")


@pytest.mark.parametrize(
    ("uri", "number"),
    [
        ("datasets:/churn-raw/1", 1),
        ("datasets:/churn-raw/2", 2),
        ("datasets:/churn-raw@latest", 2),
        ("datasets:/churn-raw", 2),
    ],
)
def test_resolve(two_versions: None, uri: str, number: int) -> None:
    assert loopml.data.resolve(uri).version == number


@pytest.mark.parametrize(
    "uri", ["churn-raw/1", "datasets:/churn-raw/0", "datasets:/churn-raw/x", "datasets:/a@prod"]
)
def test_malformed_uris(uri: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        loopml.data.resolve(uri)
    assert caught.value.field == "uri"


def test_unknown_dataset_or_version(two_versions: None) -> None:
    with pytest.raises(NotFoundError):
        loopml.data.resolve("datasets:/nope/1")
    with pytest.raises(NotFoundError):
        loopml.data.resolve("datasets:/churn-raw/3")


def test_files_from_store_and_manifest_agree(two_versions: None) -> None:
    files = loopml.data.files("datasets:/churn-raw/2")
    assert [(f.path, f.size) for f in files] == [("a.txt", 3), ("b.txt", 3)]
    ctx = get_context()
    version = loopml.data.resolve("datasets:/churn-raw/2")
    assert catalog.manifest_files(ctx, version) == files


def test_damaged_manifest(two_versions: None) -> None:
    ctx = get_context()
    version = loopml.data.resolve("datasets:/churn-raw/1")
    path = ctx.objects.local_path(version.manifest_blob)
    assert path is not None
    os.chmod(path, 0o644)
    path.write_bytes(b"{}")
    with pytest.raises(CorruptObjectError):
        catalog.manifest_files(ctx, version)
