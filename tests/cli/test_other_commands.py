"""`loopml init`, `projects list`, `artifacts list|get`, `gc`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import Result

from loopml.tracking import get_context

Invoke = Callable[..., Result]


def test_init_creates_home_and_store(
    tmp_path: Path, as_json: Callable[..., Any], invoke: Invoke
) -> None:
    target = tmp_path / "proj"
    target.mkdir()
    data = as_json("init", str(target))
    assert data["created"] is True
    assert (target / ".loopml" / "loopml.db").exists()
    assert (target / ".loopml" / "objects").is_dir()
    assert "Already initialized" in invoke("init", str(target)).stdout


def test_projects_list(seeded: dict[str, str], as_json: Callable[..., Any]) -> None:
    projects = {p["name"]: p["run_count"] for p in as_json("projects", "list")}
    assert projects == {"churn": 3, "ops": 1}


def test_artifacts_list_and_get(
    seeded: dict[str, str], as_json: Callable[..., Any], invoke: Invoke, tmp_path: Path
) -> None:
    entries = as_json("artifacts", "list", seeded["d6"])
    assert [e["path"] for e in entries] == ["cfg.json", "notes/readme.txt"]
    assert [e["path"] for e in as_json("artifacts", "list", seeded["d6"], "notes")] == [
        "notes/readme.txt"
    ]
    invoke("artifacts", "get", seeded["d6"], "notes", "--dest", str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "notes" / "readme.txt").read_text() == "hello"
    invoke("artifacts", "get", seeded["d6"], "nope", "--dest", str(tmp_path), code=1)
    invoke("artifacts", "list", seeded["d6"], "../x", code=2)


def test_gc_deletes_only_old_unreferenced_blobs(
    seeded: dict[str, str], as_json: Callable[..., Any]
) -> None:
    objects = get_context().objects
    orphan = objects.put_bytes(b"nobody points at me")
    fresh = objects.put_bytes(b"just written, not yet recorded")
    old = time.time() - 7200
    for blob in (orphan.hex,):
        path = next(p for p in Path(".loopml/objects").rglob(blob[2:]))
        os.utime(path, (old, old))
    dry = as_json("gc", "--dry-run")
    assert dry["deleted_blobs"] == [orphan.hex] and objects.exists(orphan.hex)
    done = as_json("gc")
    assert done["deleted_blobs"] == [orphan.hex]
    assert not objects.exists(orphan.hex) and objects.exists(fresh.hex)
    assert len(as_json("artifacts", "list", seeded["d6"])) == 2


def test_gc_purges_deleted_runs_and_their_blobs(
    seeded: dict[str, str], invoke: Invoke, as_json: Callable[..., Any]
) -> None:
    invoke("runs", "delete", seeded["d6"])
    result = as_json("gc", "--purge-deleted", "0s", "--grace", "0s")
    assert result["purged_runs"] == [seeded["d6"]]
    assert len(result["deleted_blobs"]) == 2
    invoke("runs", "show", seeded["d6"], code=1)


def test_gc_bad_duration(invoke: Invoke) -> None:
    result = invoke("gc", "--grace", "soon", code=2)
    assert "90s, 15m, 1h or 7d" in result.stderr
