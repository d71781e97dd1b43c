"""loopml.data.status: what changed since the tracked version, from the stat cache where it
can be trusted, by hashing where not, with --verify catching a change that kept size and
mtime; and without the metadata store."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.data.trees import make_tree

import loopml
from loopml.config import init_home
from loopml.errors import NotFoundError

status_module = importlib.import_module("loopml.data.status")


@pytest.fixture(autouse=True)
def home() -> Path:
    return init_home()


TREE = {"a.csv": b"1,2\n", "b.csv": b"3,4\n", "sub/c.bin": b"ccc"}


@pytest.fixture
def tracked() -> Path:
    make_tree(Path("data"), TREE)
    loopml.data.add("data")
    return Path("data")


def test_clean_after_add(tracked: Path) -> None:
    report = loopml.data.status(tracked)
    assert report.clean
    assert (report.dataset, report.version, report.uri) == ("data", 1, "datasets:/data/1")
    assert report.unchanged_count == 3
    assert report.path == os.path.realpath(tracked)


def test_added_removed_modified(tracked: Path) -> None:
    (tracked / "a.csv").write_bytes(b"1,2,3\n")  # new size: modified without hashing
    (tracked / "b.csv").write_bytes(b"9,9\n")  # same size: found by hashing
    (tracked / "sub" / "c.bin").unlink()
    (tracked / "new.txt").write_text("n")
    report = loopml.data.status(tracked)
    assert not report.clean
    assert report.modified == ["a.csv", "b.csv"]
    assert report.removed == ["sub/c.bin"]
    assert report.added == ["new.txt"]
    assert report.unchanged_count == 0


def test_mode_change_is_a_modification(tracked: Path) -> None:
    os.chmod(tracked / "a.csv", 0o755)
    assert loopml.data.status(tracked).modified == ["a.csv"]


def test_touch_without_change_is_clean_and_learned(tracked: Path) -> None:
    later = time.time() - 60
    os.utime(tracked / "a.csv", (later, later))
    calls: list[int] = []
    real = status_module.hash_files

    def counting(paths: list[str], **kw: object) -> object:
        calls.append(len(paths))
        return real(paths, **kw)

    status_module.hash_files = counting
    try:
        assert loopml.data.status(tracked).clean
        assert loopml.data.status(tracked).clean
    finally:
        status_module.hash_files = real
    assert calls == [1]  # hashed once, then the stat cache knew it


def test_same_size_change_with_mtime_restored_needs_verify(tracked: Path) -> None:
    path = tracked / "b.csv"
    st = path.stat()
    path.write_bytes(b"X,Y\n")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime
    assert loopml.data.status(tracked).clean  # the stat cache cannot see it: by design
    report = loopml.data.status(tracked, verify=True)
    assert report.modified == ["b.csv"]


def test_racy_file_is_hashed(tracked: Path) -> None:
    # Re-added within the racy window: the cache must not vouch for it afterwards.
    path = tracked / "a.csv"
    path.write_bytes(b"5,6\n")
    loopml.data.add(tracked)
    st = path.stat()
    path.write_bytes(b"7,8\n")  # same size, within the same second
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert loopml.data.status(tracked).modified == ["a.csv"]


def test_removed_folder_reports_everything_removed(tracked: Path) -> None:
    for rel in TREE:
        (tracked / rel).unlink()
    (tracked / "sub").rmdir()
    tracked.rmdir()
    report = loopml.data.status(tracked)
    assert report.removed == sorted(TREE)


def test_file_dataset(tracked: Path) -> None:
    make_tree(Path("."), {"model.bin": b"weights"})
    loopml.data.add("model.bin")
    assert loopml.data.status("model.bin").clean
    Path("model.bin").write_bytes(b"weights2")
    assert loopml.data.status("model.bin").modified == ["model.bin"]


def test_untracked_path(tracked: Path) -> None:
    Path("other").mkdir()
    with pytest.raises(NotFoundError) as caught:
        loopml.data.status("other")
    assert caught.value.field == "path"
    assert "loopml data add" in (caught.value.hint or "")


def test_statuses_of_a_parent_folder(tracked: Path) -> None:
    make_tree(Path("more"), {"x": b"x"})
    loopml.data.add("more")
    reports, single = status_module.statuses(".")
    assert not single
    assert [r.dataset for r in reports] == ["data", "more"]
    reports, single = status_module.statuses(tracked)
    assert single
    Path("empty").mkdir()
    with pytest.raises(NotFoundError, match="holds none"):
        status_module.statuses("empty")


def test_status_needs_no_store(tracked: Path) -> None:
    code = (
        "import sys\n"
        "from loopml.cli.main import main\n"
        "sys.argv = ['loopml', 'data', 'status', 'data', '--json']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = {'sqlalchemy', 'pandas', 'fsspec', 'pyarrow'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert '"clean": true' in done.stdout


def test_nothing_tracked_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    shutil.rmtree(".loopml")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with pytest.raises(NotFoundError):
        loopml.data.status(".")
    assert not (tmp_path / "xdg").exists()
