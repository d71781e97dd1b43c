"""Tracking tests run against SQLite and PostgreSQL through the public API."""

from __future__ import annotations

from pathlib import Path

import pytest

import loopml


@pytest.fixture
def tracking(store_uri: str, tmp_path: Path) -> str:
    """Point loopml at a fresh store (SQLite or PostgreSQL) and a fresh object folder."""
    loopml.configure(tracking_uri=store_uri, artifact_uri=str(tmp_path / "objects"))
    return store_uri
