"""Helpers shared by the data tests (imported as ``tests.data.trees``)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def make_tree(root: Path, files: dict[str, bytes], *, age_s: float = 3600) -> Path:
    """Write ``files`` under ``root`` with mtimes ``age_s`` in the past (not racy)."""
    then = time.time() - age_s
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (then, then))
    return root
