"""load(): every URI form, the verified cache, and clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml.errors import CorruptObjectError, InvalidInputError, NotFoundError, SignatureError


@pytest.fixture
def registered(
    tracking: str, logreg: Any, cancer: tuple[pd.DataFrame, pd.Series]
) -> loopml.models.ModelInfo:
    X, _ = cancer
    with loopml.start_run(project="churn"):
        return loopml.models.log_model(logreg, input_example=X[:5], registered_name="churn")


def test_every_uri_form_loads_the_same_model(
    registered: loopml.models.ModelInfo, logreg: Any, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = cancer
    loopml.models.set_alias("churn", "champion", 1)
    expected = logreg.predict(X)
    for uri in (
        "models:/churn/1",
        "models:/churn@champion",
        "models:/churn@latest",
        "models:/churn",
        registered.uri,
    ):
        model = loopml.models.load(uri)
        np.testing.assert_array_equal(model.predict(X), expected)
    by_alias = loopml.models.load("models:/churn@champion")
    assert by_alias.model_version is not None
    assert by_alias.model_version.version == 1


def test_signature_is_enforced_through_load(
    registered: loopml.models.ModelInfo, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = cancer
    model = loopml.models.load("models:/churn/1")
    with pytest.raises(SignatureError) as info:
        model.predict(X.drop(columns=["mean area"]))
    assert info.value.field == "mean area"
    example = model.input_example()
    assert list(example.columns) == list(X.columns)
    assert len(example) == 5


def test_cached_package_is_reused_and_complete(
    registered: loopml.models.ModelInfo,
) -> None:
    first = loopml.models.load("models:/churn/1")
    second = loopml.models.load("models:/churn/1")
    assert first.path == second.path
    assert sorted(p.name for p in first.path.iterdir()) == [
        "input_example.json",
        "loopml-model.yaml",
        "model.skops",
    ]
    assert not [p for p in first.path.parent.iterdir() if p.name.startswith(".partial-")]


def test_corrupted_blob_is_detected_not_loaded(
    registered: loopml.models.ModelInfo, tmp_path: Path
) -> None:
    info = registered.manifest.files["model.skops"]
    blob = tmp_path / "objects" / info.blake3[:2] / info.blake3[2:]
    assert blob.is_file(), "the local object layout changed; update this test"
    blob.chmod(0o644)
    blob.write_bytes(b"not the model")
    with pytest.raises(CorruptObjectError):
        loopml.models.load("models:/churn/1")


def test_edited_local_package_is_detected(local_tracking: str, logreg: Any, tmp_path: Path) -> None:
    loopml.models.save_model(logreg, tmp_path / "pkg")
    with (tmp_path / "pkg" / "model.skops").open("ab") as handle:
        handle.write(b"x")
    with pytest.raises(CorruptObjectError, match=r"model\.skops"):
        loopml.models.load(str(tmp_path / "pkg"))


@pytest.mark.parametrize(
    ("uri", "error"),
    [
        ("models:/", InvalidInputError),
        ("models:/churn/x", InvalidInputError),
        ("models:/churn/9", NotFoundError),
        ("models:/churn@nobody", NotFoundError),
        ("models:/unknown/1", NotFoundError),
        ("runs:/0123", InvalidInputError),
        ("runs:/0123456789abcdef0123456789abcdef/model", NotFoundError),
        ("s3://bucket/model", InvalidInputError),
        ("no/such/folder", NotFoundError),
        ("", InvalidInputError),
    ],
)
def test_bad_uris_give_clear_errors(
    registered: loopml.models.ModelInfo, uri: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        loopml.models.load(uri)
    assert str(info.value)


def test_folder_without_manifest_is_refused(local_tracking: str, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="not a loopml model package"):
        loopml.models.load(str(tmp_path / "empty"))


def test_manifest_of_reads_without_loading(registered: loopml.models.ModelInfo) -> None:
    manifest = loopml.models.manifest_of("models:/churn/1")
    assert manifest.flavor == "sklearn"
    assert manifest.run_id == registered.run_id
