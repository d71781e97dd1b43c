"""save_model / log_model: what a package holds and where it goes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import loopml
from loopml.errors import InvalidInputError
from loopml.models.package import MANIFEST_NAME, ModelManifest


def test_package_manifest_records_contract_and_environment(
    local_tracking: str, logreg: Any, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, _ = cancer
    loopml.models.save_model(logreg, tmp_path / "pkg", input_example=X[:5])
    body = yaml.safe_load((tmp_path / "pkg" / MANIFEST_NAME).read_text())
    assert body["flavor"] == "sklearn"
    assert body["pickle"] is False
    assert body["signature"]["kind"] == "columns"
    assert len(body["signature"]["inputs"]) == 30
    assert body["signature"]["outputs"][0]["dtype"] == "int64"
    env = body["environment"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert any(r.startswith("scikit-learn==") for r in env["requirements"])
    assert set(body["files"]) == {"model.skops", "input_example.json"}
    example = json.loads((tmp_path / "pkg" / "input_example.json").read_text())
    assert len(example["data"]) == 5


def test_refuses_to_write_over_an_existing_package(
    local_tracking: str, logreg: Any, tmp_path: Path
) -> None:
    loopml.models.save_model(logreg, tmp_path / "pkg")
    with pytest.raises(InvalidInputError) as info:
        loopml.models.save_model(logreg, tmp_path / "pkg")
    assert info.value.field == "path"


def test_unknown_model_type_says_what_to_do(local_tracking: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        loopml.models.save_model(object(), tmp_path / "pkg")
    assert info.value.field == "model"
    assert "PythonModel" in (info.value.hint or "")
    assert not (tmp_path / "pkg").exists()


def test_unknown_flavor_lists_the_known_ones(
    local_tracking: str, logreg: Any, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="sklearn") as info:
        loopml.models.save_model(logreg, tmp_path / "pkg", flavor="keras")
    assert info.value.field == "flavor"


def test_log_model_records_run_lineage_and_registers(
    tracking: str, logreg: Any, cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _y = cancer
    with loopml.start_run(project="churn") as run:
        loopml.log_params({"C": 1.0})
        loopml.log_metric("acc", 0.95)
        info = loopml.models.log_model(logreg, input_example=X[:5], registered_name="churn")
    assert info.uri == f"runs:/{run.id}/model"
    assert info.model_uri == "models:/churn/1"
    assert info.manifest.run_id == run.id
    assert info.manifest.params == {"C": "1.0"}
    assert info.manifest.metrics == {"acc": 0.95}
    paths = {a.path for a in loopml.list_artifacts(run.id)}
    assert {"model/loopml-model.yaml", "model/model.skops"} <= paths
    graph = loopml.data.lineage(f"runs:/{run.id}", depth=1)
    assert "models:/churn/1" in graph.nodes
    loaded = loopml.models.load("models:/churn/1")
    np.testing.assert_array_equal(loaded.predict(X), logreg.predict(X))


def test_log_model_without_a_run_starts_and_ends_one(local_tracking: str, logreg: Any) -> None:
    info = loopml.models.log_model(logreg, registered_name="auto")
    run = loopml.get_run(info.run_id)
    assert run.status == "FINISHED"
    assert loopml.active_run() is None


def test_log_model_rejects_bad_registered_name_before_writing(
    local_tracking: str, logreg: Any
) -> None:
    with loopml.start_run(project="p") as run, pytest.raises(InvalidInputError) as info:
        loopml.models.log_model(logreg, registered_name="bad name!")
    assert info.value.field == "registered_name"
    assert loopml.list_artifacts(run.id) == []


def test_datasets_the_run_read_are_recorded(
    local_tracking: str, logreg: Any, cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = cancer
    loopml.data.log_table(X.assign(target=y), name="train")
    with loopml.start_run(project="p"):
        loopml.data.load("datasets:/train@latest")
        info = loopml.models.log_model(logreg)
    assert info.manifest.datasets == ("datasets:/train/1",)
    stored = loopml.ObjectStore(str(tmp_path / "objects")).get_bytes(info.package_blob)
    assert ModelManifest.from_yaml(stored).datasets == ("datasets:/train/1",)
