"""Pipelines tests: a fresh store per test, and the executor matrix (inline, process, ray).

Ray cases are marked slow and share one local Ray per session (2 CPUs, no dashboard).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import loopml


@pytest.fixture
def tracking(sqlite_uri: str, tmp_path: Path) -> str:
    """Point loopml at a fresh SQLite store and a fresh object folder."""
    loopml.configure(tracking_uri=sqlite_uri, artifact_uri=str(tmp_path / "objects"))
    return sqlite_uri


@pytest.fixture
def any_store(store_uri: str, tmp_path: Path) -> str:
    """Point loopml at a fresh store on each backend (SQLite, PostgreSQL)."""
    loopml.configure(tracking_uri=store_uri, artifact_uri=str(tmp_path / "objects"))
    return store_uri


@pytest.fixture(scope="session")
def local_ray() -> Iterator[Any]:
    """One local Ray for the session (started on first use)."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(
    params=["inline", "process", pytest.param("ray", marks=pytest.mark.slow)],
)
def executor(request: pytest.FixtureRequest) -> str:
    """An executor name; "ray" starts the session's local Ray first."""
    name: str = request.param
    if name == "ray":
        request.getfixturevalue("local_ray")
    return name
