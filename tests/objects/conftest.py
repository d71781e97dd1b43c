"""Object-store fixtures: one store per test, over a local folder and S3 (moto).

``backdoor`` reaches past the store's API to do what only an attacker, a crash or time
would: overwrite a blob's bytes, leave a temp file behind, age a file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from loopml.objects import ObjectStore


@pytest.fixture
def store(artifact_uri: str) -> Iterator[ObjectStore]:
    """A fresh, empty object store (closed after the test)."""
    with ObjectStore(artifact_uri) as opened:
        yield opened


@dataclass
class Backdoor:
    """Direct access to the bytes under a store's root, bypassing its checks."""

    store: ObjectStore

    @property
    def is_local(self) -> bool:
        return self.store.url.startswith("file://")

    @property
    def _backend(self) -> Any:
        return self.store._backend

    def blob_path(self, blob: str) -> str:
        if self.is_local:
            return str(self._backend.blob_path(blob)[1])
        return str(self._backend.blob_path(blob))

    def overwrite(self, blob: str, data: bytes) -> None:
        """Replace a stored blob's bytes (what disk rot or a stray writer would do)."""
        path = self.blob_path(blob)
        if self.is_local:
            os.chmod(path, 0o644)
            with open(path, "wb") as file:
                file.write(data)
        else:
            self._backend.fs.pipe_file(path, data)

    def add_temp(self, name: str, data: bytes) -> None:
        """Leave a temp file behind, as a writer that crashed would."""
        if self.is_local:
            folder = os.path.join(self._backend.root, "tmp")
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, name), "wb") as file:
                file.write(data)
        else:
            self._backend.fs.pipe_file(f"{self._backend.root}/tmp/{name}", data)

    def temps(self) -> list[str]:
        return sorted(temp.name for temp in self.store._iter_temps())

    def make_old(self, blob_or_temp: str, seconds: float = 7200) -> None:
        """Set a local file's mtime back; S3 cannot, so its tests use :attr:`old_grace`."""
        if not self.is_local:
            return
        if os.sep in blob_or_temp:
            path = blob_or_temp
        elif len(blob_or_temp) == 64:
            path = self.blob_path(blob_or_temp)
        else:
            path = os.path.join(self._backend.root, "tmp", blob_or_temp)
        then = time.time() - seconds
        os.utime(path, (then, then))

    @property
    def old_grace(self) -> float:
        """A grace period under which what :meth:`make_old` aged counts as old.

        Locally one hour (files were set two hours back); on S3, where LastModified cannot be
        changed, a negative grace makes everything count as old.
        """
        return 3600.0 if self.is_local else -5.0


@pytest.fixture
def backdoor(store: ObjectStore) -> Backdoor:
    return Backdoor(store)
