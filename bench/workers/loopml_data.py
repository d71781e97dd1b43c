"""loopml side of the data-versioning benchmark; runs with the project's python.

Whole ``loopml`` CLI processes in a fresh folder after ``loopml init`` (the embedded
default: ``.loopml/`` with SQLite and a local object store). ``LOOPML_*`` variables of the
calling shell are removed so that nothing points the CLI elsewhere.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data_driver import BIG, FILES, main

LOOPML = str(Path(sys.executable).parent / "loopml")
DATASET = {"files": "files", "big": "big"}

_ZERO_COUNTS = re.compile(
    r"\b(?:0|no)\s+(?:files?\s+)?(?:modified|changed|added|deleted|removed|changes?)\b"
)
_CHANGED = re.compile(r"\b(modified|changed|added|deleted|removed)\b")
# git-style "M path/to/file" lines
_CHANGE_LINE = re.compile(r"^\s*[MAD+~]\s+\S*[/.]\S*", re.MULTILINE)
_CLEAN = ("no change", "unchanged", "up to date", "up-to-date", "clean", "in sync", "nothing")


def parse_status_text(returncode: int, stdout: str, stderr: str) -> str:
    """``clean``, ``changed``, ``error`` or ``unknown`` from ``loopml data status`` output."""
    if returncode not in (0, 1):
        return "error"
    with_json = _from_json(stdout)
    if with_json is not None:
        return with_json
    text = (stdout + "\n" + stderr).lower()
    if _CHANGED.search(_ZERO_COUNTS.sub(" ", text)) or _CHANGE_LINE.search(text):
        return "changed"
    if any(word in text for word in _CLEAN):
        return "clean"
    return "unknown"


def _from_json(stdout: str) -> str | None:
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ("changed", "dirty", "modified"):
        if isinstance(data.get(key), bool):
            return "changed" if data[key] else "clean"
    for key in ("clean", "unchanged", "up_to_date"):
        if isinstance(data.get(key), bool):
            return "clean" if data[key] else "changed"
    lists = [data.get(k) for k in ("modified", "added", "deleted", "removed", "changes")]
    if any(isinstance(v, list) for v in lists):
        return "changed" if any(isinstance(v, list) and v for v in lists) else "clean"
    return None


class LoopmlAdapter:
    name = "loopml"

    def __init__(self) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}

    def versions(self) -> dict[str, str]:
        return {"loopml": importlib.metadata.version("loopml")}

    def init(self, ws: Path) -> list[list[str]]:
        return [[LOOPML, "init"]]

    def after_init(self, ws: Path) -> dict[str, Any]:
        return {}

    def add_big(self) -> list[str]:
        return [LOOPML, "data", "add", BIG, "--name", DATASET["big"]]

    def add_files(self) -> list[str]:
        return [LOOPML, "data", "add", FILES, "--name", DATASET["files"]]

    def status_files(self) -> list[str]:
        return [LOOPML, "data", "status", DATASET["files"]]

    def parse_status(self, proc: subprocess.CompletedProcess[str]) -> str:
        return parse_status_text(proc.returncode, proc.stdout, proc.stderr)

    def remote_forms(self, remote: Path) -> list[str]:
        return [str(remote), remote.as_uri()]

    def remote_setup(self, remote: str) -> list[list[str]]:
        return []

    def push(self, dataset: str, remote: str) -> list[str]:
        return [LOOPML, "data", "push", DATASET[dataset], "--remote", remote]

    def checkout_files(self) -> list[str]:
        uri = f"datasets:/{DATASET['files']}@latest"
        return [LOOPML, "data", "checkout", uri, "--to", FILES]

    def checkout_files_copy(self) -> list[str] | None:
        return [*self.checkout_files(), "--link", "copy"]

    def store_dir(self, ws: Path) -> Path:
        return ws / ".loopml"

    def init_hardlink(self, ws: Path) -> list[list[str]]:
        return [[LOOPML, "init"]]

    def add_files_hardlink(self) -> list[str]:
        return [*self.add_files(), "--link", "hardlink"]

    def extras(self, workdir: Path, src: Path, big_sha256: str) -> dict[str, Any]:
        return {}


if __name__ == "__main__":
    main(LoopmlAdapter())
