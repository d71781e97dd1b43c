"""SQL store schema: fresh create equals the migrations, version checks, engine settings."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection

from loopml.entities import DatasetKind, FileEntry, LineageEdge, Metric, Param
from loopml.errors import InvalidInputError, SchemaVersionError, StoreError
from loopml.store import open_store
from loopml.store.sql.migrate import KNOWN_REVISIONS, SCHEMA_HEAD, migrations_config
from loopml.store.sql.schema import metadata
from loopml.store.sql.store import SqlStore


@pytest.fixture
def empty_uri(store_uri: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database on the same backend as ``store_uri``."""
    if store_uri.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    import psycopg

    base = store_uri.split("?", 1)[0]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    dsn = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{base}?options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _version(uri: str) -> list[str]:
    engine = create_engine(uri)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


def _snapshot(conn: Connection) -> dict[str, Any]:
    """Everything about the schema that matters: columns, keys, indexes (with expressions)."""
    insp = inspect(conn)
    shape: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLite cannot reflect expression indexes; see below
        for table in sorted(insp.get_table_names()):
            shape[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)
                ],
                "pk": insp.get_pk_constraint(table),
                "fks": sorted(map(repr, insp.get_foreign_keys(table))),
                "indexes": sorted(map(repr, insp.get_indexes(table))),
                "unique": sorted(map(repr, insp.get_unique_constraints(table))),
            }
    if conn.dialect.name == "sqlite":
        rows = conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        )
        shape["index_sql"] = sorted((name, " ".join(sql.split())) for name, sql in rows)
        shape["without_rowid"] = _clustered(conn)
    return shape


def _compare(conn: Connection) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "skipping expression-based index" on SQLite
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


def test_schema_head_is_alembic_head() -> None:
    from alembic.script import ScriptDirectory

    engine = create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            script = ScriptDirectory.from_config(migrations_config(conn))
            assert script.get_current_head() == SCHEMA_HEAD
            history = [rev.revision for rev in script.walk_revisions("base", "heads")]
            assert tuple(reversed(history)) == KNOWN_REVISIONS
    finally:
        engine.dispose()


def test_create_all_equals_running_the_migrations(store_uri: str, empty_uri: str) -> None:
    from alembic import command

    SqlStore(store_uri).close()  # fast path: create_all + stamp
    migrated = create_engine(empty_uri)
    created = create_engine(store_uri)
    try:
        with migrated.begin() as conn:
            command.upgrade(migrations_config(conn), "head")
        with migrated.connect() as a, created.connect() as b:
            assert _compare(a) == []
            assert _compare(b) == []
            snap_a, snap_b = _snapshot(a), _snapshot(b)
    finally:
        migrated.dispose()
        created.dispose()
    assert set(snap_a) >= {"runs", "metrics", "latest_metrics", "alembic_version"}
    assert snap_a == snap_b
    assert _version(empty_uri) == _version(store_uri) == [SCHEMA_HEAD]


def test_store_opens_a_database_migrated_by_alembic(empty_uri: str) -> None:
    from alembic import command

    engine = create_engine(empty_uri)
    try:
        with engine.begin() as conn:
            command.upgrade(migrations_config(conn), "head")
    finally:
        engine.dispose()
    with SqlStore(empty_uri) as store:
        run = store.create_run("p")
        assert store.get_run(run.id).project == "p"


def _at_revision(uri: str, revision: str) -> None:
    """Bring the (empty or older) database ``uri`` to ``revision`` with Alembic alone."""
    from alembic import command

    engine = create_engine(uri)
    try:
        with engine.begin() as conn:
            command.upgrade(migrations_config(conn), revision)
    finally:
        engine.dispose()


def test_older_database_is_upgraded_by_alembic_under_the_lock(
    empty_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at 0001 with data: the store runs Alembic through the locked path (not
    refusing, not re-creating) and every row survives the upgrade."""
    from loopml.store.sql import migrate

    _at_revision(empty_uri, "0001")
    engine = create_engine(empty_uri)
    try:
        with engine.begin() as conn:
            for sql in _ROWS_AT_0001:
                conn.execute(text(sql))
    finally:
        engine.dispose()
    upgraded: list[str] = []
    real = migrate._alembic_upgrade

    def spy(conn: Connection) -> None:
        upgraded.append(conn.dialect.name)
        real(conn)

    monkeypatch.setattr(migrate, "_alembic_upgrade", spy)
    with SqlStore(empty_uri) as store:
        run = store.get_run("a" * 32)
        assert (dict(run.params), dict(run.tags)) == ({"lr": "0.1"}, {"team": "ml"})
        assert dict(run.metrics) == {"acc": 0.5}
        store.log_batch(run.id, params=[Param("depth", "6")])
        assert store.get_run(run.id).params["depth"] == "6"
    assert len(upgraded) == 1
    assert _version(empty_uri) == [SCHEMA_HEAD]


_ROWS_AT_0001 = [
    "INSERT INTO projects (id, name, created_at) VALUES ('" + "p" * 32 + "', 'p', 1)",
    "INSERT INTO runs (id, project_id, name, status, start_time, lifecycle)"
    " VALUES ('" + "a" * 32 + "', '" + "p" * 32 + "', 'r', 'RUNNING', 1, 'active')",
    'INSERT INTO params (run_id, "key", value) VALUES (\'' + "a" * 32 + "', 'lr', '0.1')",
    'INSERT INTO tags (run_id, "key", value) VALUES (\'' + "a" * 32 + "', 'team', 'ml')",
    'INSERT INTO latest_metrics (run_id, "key", value, step, "timestamp")'
    " VALUES ('" + "a" * 32 + "', 'acc', 0.5, 0, 1)",
]


def test_a_0002_database_with_data_upgrades_to_datasets_and_lineage(
    empty_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0003 adds the dataset and lineage tables to a database in use: its runs survive,
    the new tables work at once, and the downgrade drops them again."""
    from alembic import command

    from loopml.store.sql import migrate

    _at_revision(empty_uri, "0002")
    engine = create_engine(empty_uri)
    try:
        with engine.begin() as conn:
            for sql in _ROWS_AT_0001:
                conn.execute(text(sql))
    finally:
        engine.dispose()
    upgraded: list[str] = []
    real = migrate._alembic_upgrade

    def spy(conn: Connection) -> None:
        upgraded.append(conn.dialect.name)
        real(conn)

    monkeypatch.setattr(migrate, "_alembic_upgrade", spy)
    run_id = "a" * 32
    with SqlStore(empty_uri) as store:
        assert dict(store.get_run(run_id).params) == {"lr": "0.1"}
        version, created = store.create_dataset_version(
            "p",
            "ds",
            kind=DatasetKind.FOLDER,
            content_id="c",
            manifest_blob="m",
            files=[FileEntry("a.csv", 3, "b")],
            source_run_id=run_id,
        )
        assert (version.version, created, version.source_run_id) == (1, True, run_id)
        store.add_lineage([LineageEdge(run_id, "output", version.uri, 1)])
        assert [e.project for e in store.lineage_of_refs([version.uri])] == ["p"]
        assert store.referenced_blobs() == {"b", "m"}
    assert len(upgraded) == 1
    assert _version(empty_uri) == [SCHEMA_HEAD]
    engine = create_engine(empty_uri)
    try:
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0002")
        with engine.connect() as conn:
            assert not {"datasets", "lineage_edges"} & set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    with SqlStore(empty_uri) as store:  # upgrades again
        assert store.list_datasets() == []
        assert store.get_run(run_id).tags["team"] == "ml"


_REGISTRY_TABLES = {
    "registered_models",
    "model_versions",
    "model_version_blobs",
    "model_aliases",
    "model_tags",
    "model_audit",
}


def test_a_0003_database_with_data_upgrades_to_the_model_registry(
    empty_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0004 adds the registry tables to a database in use: its runs survive, the registry
    works at once (versions, aliases, gc), and the downgrade drops the tables again."""
    from alembic import command

    from loopml.store.sql import migrate

    _at_revision(empty_uri, "0003")
    engine = create_engine(empty_uri)
    try:
        with engine.begin() as conn:
            for sql in _ROWS_AT_0001:
                conn.execute(text(sql))
    finally:
        engine.dispose()
    upgraded: list[str] = []
    real = migrate._alembic_upgrade

    def spy(conn: Connection) -> None:
        upgraded.append(conn.dialect.name)
        real(conn)

    monkeypatch.setattr(migrate, "_alembic_upgrade", spy)
    run_id = "a" * 32
    with SqlStore(empty_uri) as store:
        assert dict(store.get_run(run_id).params) == {"lr": "0.1"}
        version = store.create_model_version(
            "churn",
            package_blob="pkg",
            file_blobs=["f"],
            flavor="sklearn",
            source=f"runs:/{run_id}/model",
            run_id=run_id,
            project="p",
        )
        store.set_model_alias("churn", "champion", version.version)
        assert store.get_model_version_by_alias("churn", "champion").run_id == run_id
        assert store.referenced_blobs() == {"pkg", "f"}
    assert len(upgraded) == 1
    assert _version(empty_uri) == [SCHEMA_HEAD]
    engine = create_engine(empty_uri)
    try:
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0003")
        with engine.connect() as conn:
            assert not _REGISTRY_TABLES & set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    with SqlStore(empty_uri) as store:  # upgrades again
        assert store.list_registered_models() == []
        assert store.get_run(run_id).tags["team"] == "ml"


def test_sqlite_run_data_tables_are_clustered_and_the_migration_reverts(sqlite_uri: str) -> None:
    """0002 makes params, tags and latest metrics WITHOUT ROWID on SQLite; its downgrade
    restores 0001's tables with their rows."""
    from alembic import command

    with SqlStore(sqlite_uri) as store:
        run = store.create_run("p", tags={"t": "v"})
        store.log_batch(run.id, metrics=[Metric("m", 2.0, 0, 1)], params=[Param("a", "1")])
    engine = create_engine(sqlite_uri)
    try:
        with engine.connect() as conn:
            assert _clustered(conn) == ["latest_metrics", "lineage_edges", "params", "tags"]
        with engine.begin() as conn:
            command.downgrade(migrations_config(conn), "0001")
        with engine.connect() as conn:
            assert _clustered(conn) == []
            assert conn.execute(text("SELECT value FROM params")).scalar_one() == "1"
    finally:
        engine.dispose()
    with SqlStore(sqlite_uri) as store:  # upgrades again
        got = store.get_run(run.id)
        assert (dict(got.params), dict(got.tags), dict(got.metrics)) == (
            {"a": "1"},
            {"t": "v"},
            {"m": 2.0},
        )


def _clustered(conn: Connection) -> list[str]:
    rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    return sorted(name for name, sql in rows if sql.rstrip().upper().endswith("WITHOUT ROWID"))


def test_newer_database_is_refused(store_uri: str) -> None:
    with SqlStore(store_uri) as store:
        store.create_run("p")
    engine = create_engine(store_uri)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    with pytest.raises(SchemaVersionError) as info:
        SqlStore(store_uri)
    assert "newer loopml" in str(info.value)
    assert "pip install -U loopml" in str(info.value)
    assert "9999" in str(info.value)


def test_tables_without_a_version_are_refused(store_uri: str) -> None:
    engine = create_engine(store_uri)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE runs (id VARCHAR(32) PRIMARY KEY)"))
    finally:
        engine.dispose()
    with pytest.raises(StoreError, match="no schema"):
        SqlStore(store_uri)


def test_reopening_keeps_data_and_version(store_uri: str) -> None:
    with SqlStore(store_uri) as store:
        run = store.create_run("p", name="kept")
    with SqlStore(store_uri) as store:
        assert store.get_run(run.id).name == "kept"
    assert _version(store_uri) == [SCHEMA_HEAD]


def test_open_store_factory_and_memory_uri() -> None:
    store = open_store("sqlite:///:memory:")
    try:
        assert isinstance(store, SqlStore)
        run = store.create_run("p")
        assert store.get_run(run.id).id == run.id
    finally:
        store.close()


def test_sqlite_settings(sqlite_uri: str) -> None:
    with SqlStore(sqlite_uri) as store, store._db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_sqlite_creates_the_parent_folder(tmp_path: Path) -> None:
    with SqlStore(f"sqlite:///{tmp_path / 'a' / 'b' / 'loopml.db'}") as store:
        store.create_run("p")
    assert (tmp_path / "a" / "b" / "loopml.db").exists()


def test_connection_error_masks_the_password() -> None:
    with pytest.raises(StoreError) as info:
        SqlStore("postgresql+psycopg://alice:s3cret@127.0.0.1:1/db?connect_timeout=2")
    assert "s3cret" not in str(info.value)
    assert "s3cret" not in repr(info.value.to_dict())
    assert info.value.uri is not None
    assert "***" in info.value.uri
    assert info.value.hint


def test_unusable_sqlite_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError):
        SqlStore(f"sqlite:///{blocker / 'loopml.db'}")


def test_unsupported_uri() -> None:
    with pytest.raises(InvalidInputError) as info:
        SqlStore("mysql://root@localhost/db")
    assert info.value.field == "tracking_uri"


def test_fresh_open_is_fast_and_does_not_import_alembic(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "from loopml.store.sql.store import SqlStore\n"
        "SqlStore(sys.argv[1]).close()\n"
        "print(f'{(time.perf_counter() - t) * 1000:.0f}', 'alembic' in sys.modules)\n"
    )
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    for label in ("fresh", "existing"):
        out = subprocess.run(
            [sys.executable, "-c", code, uri], capture_output=True, text=True, env=env, check=True
        ).stdout.split()
        print(f"{label} store open incl. imports: {out[0]} ms")
        assert out[1] == "False", f"{label} open imported alembic"
