"""Run artifacts: files, folders, generated files; verified downloads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

import loopml
from loopml.errors import InvalidInputError, NotFoundError


def test_file_and_folder_round_trip_byte_identical(tracking: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.bin").write_bytes(os.urandom(100_000))
    (src / "sub" / "b.txt").write_text("hello")
    single = tmp_path / "model.bin"
    single.write_bytes(os.urandom(5000))
    with loopml.start_run(project="a") as run:
        loopml.log_artifact(single, artifact_path="model")
        loopml.log_artifacts(src, artifact_path="data")
    paths = [e.path for e in loopml.list_artifacts(run.id)]
    assert paths == ["data/a.bin", "data/sub/b.txt", "model/model.bin"]
    out = loopml.download_artifacts(run.id, "data", dest=tmp_path / "out")
    assert out == tmp_path / "out" / "data"
    assert (out / "a.bin").read_bytes() == (src / "a.bin").read_bytes()
    assert (out / "sub" / "b.txt").read_text() == "hello"
    one = loopml.download_artifacts(run.id, "model/model.bin", dest=tmp_path / "one")
    assert one.read_bytes() == single.read_bytes()


def test_generated_files(tracking: str, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with loopml.start_run(project="a") as run:
        loopml.log_text("hi", "notes/readme.txt")
        loopml.log_dict({"classes": ["a", "b"]}, "labels.json")
        loopml.log_dict({"k": 1}, "config.yaml")
        loopml.log_figure(fig, "plots/curve.png")
    plt.close(fig)
    out = loopml.download_artifacts(run.id, dest=tmp_path / "all")
    assert (out / "notes" / "readme.txt").read_text() == "hi"
    assert json.loads((out / "labels.json").read_text()) == {"classes": ["a", "b"]}
    assert yaml.safe_load((out / "config.yaml").read_text()) == {"k": 1}
    assert (out / "plots" / "curve.png").read_bytes().startswith(b"\x89PNG")


def test_same_content_is_stored_once(tracking: str, tmp_path: Path) -> None:
    data = tmp_path / "same.bin"
    data.write_bytes(b"x" * 10_000)
    with loopml.start_run(project="a") as r1:
        loopml.log_artifact(data)
    with loopml.start_run(project="a") as r2:
        loopml.log_artifact(data)
    assert loopml.list_artifacts(r1.id)[0].blob == loopml.list_artifacts(r2.id)[0].blob
    root = tmp_path / "objects"
    blobs = [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "tmp"]
    assert len(blobs) == 1


def test_bad_artifact_inputs(tracking: str, tmp_path: Path) -> None:
    with loopml.start_run(project="a") as run:
        with pytest.raises(InvalidInputError, match="not a file"):
            loopml.log_artifact(tmp_path / "missing.bin")
        with pytest.raises(InvalidInputError, match="inside the run"):
            loopml.log_text("x", "../escape.txt")
    with pytest.raises(NotFoundError, match="no artifact"):
        loopml.download_artifacts(run.id, "nothing", dest=tmp_path)
