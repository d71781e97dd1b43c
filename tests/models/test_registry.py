"""The registry through the Python API: register, aliases, tags, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import loopml
from loopml.errors import InvalidInputError, NotFoundError


def test_register_from_run_artifact_and_from_folder(
    tracking: str, logreg: Any, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, _ = cancer
    with loopml.start_run(project="p") as run:
        info = loopml.models.log_model(logreg, input_example=X[:3])
    v1 = loopml.models.register_model(info.uri, "churn", description="first")
    assert (v1.version, v1.run_id, v1.artifact_path) == (1, run.id, "model")
    assert v1.package_blob == info.package_blob
    loopml.models.save_model(logreg, tmp_path / "pkg")
    v2 = loopml.models.register_model(str(tmp_path / "pkg"), "churn")
    assert v2.version == 2
    assert v2.source == str((tmp_path / "pkg").resolve())
    # the folder's files are now in the object store: it loads after the folder is gone
    import shutil

    shutil.rmtree(tmp_path / "pkg")
    model = loopml.models.load("models:/churn/2")
    assert model.flavor == "sklearn"


def test_aliases_move_and_are_audited(tracking: str, logreg: Any) -> None:
    for _ in range(2):
        loopml.models.log_model(logreg, registered_name="churn")
    loopml.models.set_alias("churn", "champion", 1)
    loopml.models.set_alias("churn", "champion", 2)
    assert loopml.models.resolve("models:/churn@champion").version == 2
    assert loopml.models.get_model("churn").aliases == {"champion": 2}
    moves = [e for e in loopml.models.history("churn") if e.action == "set_alias"]
    assert [(e.old, e.new) for e in moves] == [(None, "1"), ("1", "2")]
    assert all(e.actor for e in moves)
    loopml.models.delete_alias("churn", "champion")
    with pytest.raises(NotFoundError):
        loopml.models.resolve("models:/churn@champion")


def test_actor_comes_from_loopml_user(
    tracking: str, logreg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPML_USER", "ci-bot")
    loopml.models.log_model(logreg, registered_name="churn")
    loopml.models.set_tag("churn", "team", "risk")
    assert {e.actor for e in loopml.models.history("churn")} == {"ci-bot"}
    assert loopml.models.get_model("churn").tags == {"team": "risk"}


def test_bad_input_names_the_field(tracking: str, logreg: Any) -> None:
    loopml.models.log_model(logreg, registered_name="churn")
    with pytest.raises(InvalidInputError) as info:
        loopml.models.set_alias("churn", "Not An Alias", 1)
    assert info.value.field == "alias"
    with pytest.raises(NotFoundError):
        loopml.models.set_alias("churn", "champion", 7)
    with pytest.raises(InvalidInputError):
        loopml.models.register_model("models:/churn/1", "bad name")


def test_register_refuses_a_manifest_naming_files_outside_its_folder(
    tracking: str, logreg: Any, tmp_path: Path
) -> None:
    from loopml.models.package import FileInfo, ModelManifest

    secret = tmp_path / "secret.txt"
    secret.write_text("not part of any model")
    folder = tmp_path / "pkg"
    loopml.models.save_model(logreg, folder)
    manifest = ModelManifest.read(folder)
    files = {**manifest.files, "../secret.txt": FileInfo("0" * 64, 21)}
    manifest.with_(files=files).write(folder)
    with pytest.raises(InvalidInputError) as info:
        loopml.models.register_model(str(folder), "churn")
    assert info.value.field == "files"
