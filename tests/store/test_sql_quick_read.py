"""The SQLite fast path for models:/ lookups answers exactly as the full store, or not at all."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from loopml.store import open_store
from loopml.store.sql.quick_read import read_model_version, sqlite_file


@pytest.fixture
def registry(sqlite_uri: str) -> str:
    store = open_store(sqlite_uri)
    run = store.create_run("p")
    for n in range(3):
        store.create_model_version(
            "churn",
            package_blob=f"{n:064x}",
            file_blobs=[f"{n:064x}"],
            flavor="sklearn",
            source=f"runs:/{run.id}/model",
            run_id=run.id,
            artifact_path="model",
            actor="ann",
            project="p",
            tags={"n": str(n)},
        )
    store.set_model_alias("churn", "champion", 2, actor="ann")
    store.set_model_alias("churn", "shadow", 2, actor="ann")
    store.set_model_tag("churn", "team", "risk", actor="ann")  # model-level: not on versions
    store.delete_model_version("churn", 3, actor="ann")
    store.close()
    return sqlite_uri


@pytest.mark.parametrize(
    ("version", "alias", "expected"),
    [(1, None, 1), (2, None, 2), (None, "champion", 2), (None, "latest", 2), (None, None, 2)],
)
def test_answers_exactly_as_the_full_store(
    registry: str, version: int | None, alias: str | None, expected: int
) -> None:
    quick = read_model_version(registry, "churn", version=version, alias=alias)
    store = open_store(registry)
    full = store.get_model_version("churn", expected)
    store.close()
    assert quick == full
    assert quick is not None
    assert quick.version == expected


@pytest.mark.parametrize(
    ("name", "version", "alias"),
    [("churn", 3, None), ("churn", 9, None), ("churn", None, "nobody"), ("other", None, None)],
)
def test_says_nothing_when_there_is_nothing(
    registry: str, name: str, version: int | None, alias: str | None
) -> None:
    assert read_model_version(registry, name, version=version, alias=alias) is None


def test_steps_aside_for_other_schemas_and_stores(registry: str, tmp_path: Path) -> None:
    path = sqlite_file(registry)
    assert path is not None
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    assert read_model_version(registry, "churn", version=1) is None
    assert read_model_version(f"sqlite:///{tmp_path / 'missing.db'}", "churn") is None
    assert read_model_version("sqlite:///:memory:", "churn") is None
    assert read_model_version("postgresql+psycopg://x@localhost/db", "churn") is None


def test_does_not_import_sqlalchemy(registry: str) -> None:
    code = (
        "import sys\n"
        "from loopml.store.sql.quick_read import read_model_version\n"
        f"v = read_model_version({registry!r}, 'churn', alias='champion')\n"
        "assert v is not None and v.version == 2\n"
        "assert 'sqlalchemy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
