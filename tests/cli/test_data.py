"""``loopml data add|list|versions|show|status|checkout``: text and JSON output, exit codes
(0 ok, 1 error, 2 usage), and the commands of data_extra registered in the same group."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from loopml.config import init_home

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def home() -> Path:
    return init_home()


def make_tree(root: Path, files: dict[str, bytes]) -> None:
    then = time.time() - 3600
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (then, then))


TREE = {"a.csv": b"id,x\n1,2\n", "sub/b.bin": os.urandom(3000)}


@pytest.fixture
def added(invoke: Invoke) -> Path:
    make_tree(Path("data"), TREE)
    invoke("data", "add", "data", "--name", "raw", "-m", "first")
    return Path("data")


@pytest.mark.parametrize(
    "command", [[], ["add"], ["list"], ["versions"], ["show"], ["status"], ["checkout"]]
)
def test_help(invoke: Invoke, command: list[str]) -> None:
    out = invoke("data", *command, "--help").stdout
    assert "Usage" in out
    if command:
        assert "--json" in out


def test_group_lists_every_command(invoke: Invoke) -> None:
    out = invoke("data", "--help").stdout
    for name in ("add", "list", "versions", "show", "status", "checkout", "diff", "push", "pull"):
        assert name in out


def test_add_text_and_json(invoke: Invoke, as_json: Callable[..., Any]) -> None:
    make_tree(Path("data"), TREE)
    out = invoke("data", "add", "data").stdout
    assert "datasets:/data/1" in out
    assert "2 files" in out
    again = invoke("data", "add", "data").stdout
    assert "No change" in again
    body = as_json("data", "add", "data", "--message", "same")
    assert body["uri"] == "datasets:/data/1"
    assert body["created"] is False
    assert body["hashed_files"] == 0
    assert body["version"]["file_count"] == 2


def test_list_versions_show(invoke: Invoke, as_json: Callable[..., Any], added: Path) -> None:
    assert "raw" in invoke("data", "list").stdout
    assert [d["name"] for d in as_json("data", "list")] == ["raw"]
    out = invoke("data", "versions", "raw").stdout
    assert "first" in out
    assert [v["version"] for v in as_json("data", "versions", "raw")] == [1]
    shown = invoke("data", "show", "datasets:/raw@latest").stdout
    assert "sub/b.bin" in shown
    assert "content id" in shown
    body = as_json("data", "show", "datasets:/raw/1")
    assert body["version"]["dataset"] == "raw"
    assert [f["path"] for f in body["files"]] == ["a.csv", "sub/b.bin"]
    limited = invoke("data", "show", "datasets:/raw/1", "--limit", "1").stdout
    assert "1 more files" in limited


def test_show_a_table(invoke: Invoke) -> None:
    pytest.importorskip("pyarrow")
    import pandas as pd

    import loopml

    loopml.data.log_table(pd.DataFrame({"age": [30, 40], "city": ["Oslo", "Lyon"]}), name="t")
    out = invoke("data", "show", "datasets:/t/1").stdout
    assert "schema" in out
    assert "city" in out


def test_status_text_and_json(invoke: Invoke, as_json: Callable[..., Any], added: Path) -> None:
    out = invoke("data", "status", "data").stdout
    assert "no changes since datasets:/raw/1" in out
    assert as_json("data", "status", "data")["clean"] is True
    (added / "a.csv").write_bytes(b"changed!!\n")
    (added / "new.txt").write_text("n")
    out = invoke("data", "status", "data").stdout
    assert "modified: a.csv" in out
    assert "added: new.txt" in out
    assert "1 modified, 1 added, 0 removed" in out
    body = as_json("data", "status", "data")
    assert (body["clean"], body["modified"], body["added"]) == (False, ["a.csv"], ["new.txt"])
    many = as_json("data", "status", ".")  # a folder holding tracked folders: a list
    assert [r["dataset"] for r in many] == ["raw"]


def test_checkout(invoke: Invoke, as_json: Callable[..., Any], added: Path) -> None:
    out = invoke("data", "checkout", "datasets:/raw/1", "--to", "out").stdout
    assert "Checked out datasets:/raw/1" in out
    for rel, data in TREE.items():
        assert (Path("out") / rel).read_bytes() == data
    body = as_json("data", "checkout", "datasets:/raw@latest", "--to", "copy", "--link", "copy")
    assert body["methods"] == {"copy": 2}
    assert body["written"] == 2
    again = as_json("data", "checkout", "datasets:/raw@latest", "--to", "copy")
    assert again["written"] == 0
    digest = hashlib.sha256((Path("copy") / "a.csv").read_bytes()).hexdigest()
    assert digest == hashlib.sha256(TREE["a.csv"]).hexdigest()


def test_errors_and_exit_codes(invoke: Invoke, added: Path) -> None:
    missing = invoke("data", "add", "nowhere", code=1)
    assert "error:" in missing.stderr
    assert "nowhere" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert "hint:" in invoke("data", "status", "nowhere-tracked", code=1).stderr
    assert "not a dataset URI" in invoke("data", "show", "raw/1", code=2).stderr
    invoke("data", "checkout", "datasets:/nope/1", "--to", "x", code=1)
    invoke("data", "checkout", "datasets:/raw/9", "--to", "x", code=1)
    invoke("data", "checkout", "datasets:/raw/1", "--to", "x", "--link", "fast", code=2)
    invoke("data", "checkout", "datasets:/raw/1", code=2)  # --to is required
    invoke("data", "versions", "nope", code=1)
    invoke("data", "add", "data", "--name", "bad name", code=2)
    (added / "a.csv").write_bytes(b"local edit")
    make_tree(Path("v2"), {"a.csv": b"v2"})
    invoke("data", "add", "v2", "--name", "raw")
    conflict = invoke("data", "checkout", "datasets:/raw/2", "--to", "data", code=1)
    assert "--force" in conflict.stderr
    invoke("data", "checkout", "datasets:/raw/2", "--to", "data", "--force")
    assert (added / "a.csv").read_bytes() == b"v2"


def test_status_output_reads_as_clean_or_changed(invoke: Invoke, added: Path) -> None:
    """The wording a script (or the benchmark's parser) relies on."""
    clean = invoke("data", "status", "data").stdout.lower()
    assert "no changes" in clean
    for word in ("modified", "added", "removed", "deleted"):
        assert word not in clean
    json.loads(invoke("data", "status", "data", "--json").stdout)


def test_progress_bar_only_after_a_second_on_a_terminal() -> None:
    import importlib

    cli_data = importlib.import_module("loopml.cli.data")
    bar = cli_data._DelayedBar()
    bar._enabled = True  # as on a terminal
    bar("storing", 1, 10)
    assert bar._progress is None  # too early: fast work shows nothing
    bar._start -= 2
    bar("storing", 5, 10)
    bar("storing", 10, 10)
    assert bar._progress is not None
    bar.stop()
    assert bar._progress is None
    piped = cli_data._DelayedBar()
    piped._enabled = False
    piped._start -= 2
    piped("storing", 5, 10)
    assert piped._progress is None


def test_status_main_fast_path(added: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib

    cli_data = importlib.import_module("loopml.cli.data")
    assert cli_data.status_main(["data"]) == 0
    assert "no changes since datasets:/raw/1" in capsys.readouterr().out
    assert cli_data.status_main(["data", "--json", "--verify"]) == 0
    assert json.loads(capsys.readouterr().out)["clean"] is True
    assert cli_data.status_main([]) == 0  # "." holds the tracked folder: a report for each
    assert "datasets:/raw/1" in capsys.readouterr().out
    assert cli_data.status_main(["elsewhere"]) == 1
    assert "hint:" in capsys.readouterr().err
    for argv in (["--help"], ["-h"], ["a", "b"], ["--verbose"], ["--", "data"]):
        assert cli_data.status_main(argv) is None  # Typer's turn: help, usage errors


@pytest.mark.parametrize("flag", ["--pack", "--no-pack"])
def test_add_packs_many_small_files_unless_told_not_to(
    invoke: Invoke, as_json: Callable[..., Any], flag: str
) -> None:
    files = {f"f{i:02d}.txt": f"line {i}\n".encode() for i in range(40)}
    make_tree(Path("many"), files)
    invoke("data", "add", "many", flag)
    packs = list(Path(".loopml/objects/packs").glob("*.idx"))
    assert len(packs) == (1 if flag == "--pack" else 0)
    out = as_json("data", "checkout", "datasets:/many/1", "--to", "back")
    assert out["files"] == 40
    for name, data in files.items():
        assert (Path("back") / name).read_bytes() == data


def test_add_by_hardlink_then_checkout_creates_no_file(
    invoke: Invoke, as_json: Callable[..., Any]
) -> None:
    files = {f"d{i % 2}/f{i:02d}.txt": f"line {i}\n".encode() for i in range(40)}
    make_tree(Path("many"), files)
    inodes = {name: os.stat(Path("many") / name).st_ino for name in files}
    invoke("data", "add", "many", "--link", "hardlink")
    assert not list(Path(".loopml/objects/packs").glob("*.idx"))  # linked, not packed
    assert all(os.stat(Path("many") / n).st_mode & 0o777 == 0o444 for n in files)
    assert as_json("data", "status", "many")["clean"]
    shutil.rmtree("many")
    out = as_json("data", "checkout", "datasets:/many/1", "--to", "many")
    assert out["methods"] == {"hardlink": 40}
    for name, data in files.items():  # the very inodes that were added
        assert (Path("many") / name).read_bytes() == data
        assert os.stat(Path("many") / name).st_ino == inodes[name]


def test_add_refuses_an_unknown_link_mode(invoke: Invoke) -> None:
    make_tree(Path("d"), {"a.txt": b"a"})
    result = invoke("data", "add", "d", "--link", "symlink", code=2)
    assert "unknown link mode 'symlink'" in result.stderr
    assert "copy, hardlink" in result.stderr
