"""DVC side of the data-versioning benchmark; runs with the bench venv's python.

Whole ``dvc`` CLI processes in a fresh ``git init`` + ``dvc init`` folder, DVC's defaults
(``cache.type`` unset, i.e. ``reflink,copy``), analytics and the update check off, the
site cache inside the work folder. Status and push are scoped to the folder's ``.dvc``
file, the same scope as ``loopml data status files`` / ``loopml data push files``.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import progress, rmtree_force, time_command
from _data_driver import BIG, FILES, main, sha256_file

DVC = str(Path(sys.executable).parent / "dvc")


class DvcAdapter:
    name = "dvc"

    def __init__(self) -> None:
        self.env = {**os.environ, "DVC_NO_ANALYTICS": "1"}

    def versions(self) -> dict[str, str]:
        return {"dvc": importlib.metadata.version("dvc")}

    def _setup(self, ws: Path) -> list[list[str]]:
        return [
            [DVC, "config", "core.analytics", "false"],
            [DVC, "config", "core.check_update", "false"],
            [DVC, "config", "core.autostage", "false"],
            [DVC, "config", "core.site_cache_dir", str(ws.parent / "dvc-site-cache")],
        ]

    def init(self, ws: Path) -> list[list[str]]:
        return [["git", "init", "-q"], [DVC, "init", "-q"]]

    def after_init(self, ws: Path) -> dict[str, Any]:
        for cmd in self._setup(ws):
            time_command(cmd, cwd=ws, env=self.env)
        _, proc = time_command([DVC, "config", "--list"], cwd=ws, env=self.env)
        _, cache_type = time_command([DVC, "config", "cache.type"], cwd=ws, env=self.env)
        return {
            "dvc_config": proc.stdout.strip().splitlines(),
            "dvc_cache_type": cache_type.stdout.strip() or "default (reflink,copy)",
        }

    def add_big(self) -> list[str]:
        return [DVC, "add", BIG]

    def add_files(self) -> list[str]:
        return [DVC, "add", FILES]

    def status_files(self) -> list[str]:
        return [DVC, "status", f"{FILES}.dvc"]

    def parse_status(self, proc: subprocess.CompletedProcess[str]) -> str:
        text = proc.stdout + proc.stderr
        if proc.returncode != 0:
            return "error"
        if "up to date" in text:
            return "clean"
        if "modified" in text or "changed" in text:
            return "changed"
        return "unknown"

    def remote_forms(self, remote: Path) -> list[str]:
        return [str(remote)]

    def remote_setup(self, remote: str) -> list[list[str]]:
        return [[DVC, "remote", "add", "--force", "-d", "local", remote]]

    def push(self, dataset: str, remote: str) -> list[str]:
        target = {"files": FILES, "big": BIG}[dataset]
        return [DVC, "push", f"{target}.dvc"]  # to the default remote set up above

    def checkout_files(self) -> list[str]:
        return [DVC, "checkout", f"{FILES}.dvc"]

    def checkout_files_copy(self) -> list[str] | None:
        return None  # the default cache.type already copies on this file system

    def store_dir(self, ws: Path) -> Path:
        return ws / ".dvc" / "cache"

    def init_hardlink(self, ws: Path) -> list[list[str]]:
        return [*self.init(ws), *self._setup(ws), [DVC, "config", "cache.type", "hardlink"]]

    def add_files_hardlink(self) -> list[str]:
        return self.add_files()

    def extras(self, workdir: Path, src: Path, big_sha256: str) -> dict[str, Any]:
        """``dvc add`` of the big file with ``cache.type hardlink``, in its own fresh folder."""
        import shutil

        progress(f"extra: dvc add {BIG} with cache.type hardlink")
        ws = workdir / "ws-hardlink"
        ws.mkdir()
        shutil.copyfile(src / BIG, ws / BIG)
        os.sync()
        for cmd in [*self.init(ws), *self._setup(ws)]:
            time_command(cmd, cwd=ws, env=self.env)
        time_command([DVC, "config", "cache.type", "hardlink"], cwd=ws, env=self.env)
        seconds, _ = time_command([DVC, "add", BIG], cwd=ws, env=self.env)
        intact = sha256_file(ws / BIG) == big_sha256
        linked = (ws / BIG).stat().st_nlink > 1
        rmtree_force(ws)
        return {
            "add_big_hardlink_s": seconds,
            "add_big_hardlink_ok": intact and linked,
            "add_big_hardlink_detail": f"workspace file intact: {intact}, hardlinked: {linked}",
        }


if __name__ == "__main__":
    main(DvcAdapter())
