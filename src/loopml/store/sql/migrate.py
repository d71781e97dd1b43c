"""Bring the database schema to :data:`SCHEMA_HEAD` when the store opens.

Three paths, fastest first:

1. The ``alembic_version`` row already says :data:`SCHEMA_HEAD`: one query, nothing else
   (Alembic is not even imported).
2. The database is empty: under the migration lock, ``metadata.create_all`` and write the
   head into ``alembic_version`` directly (a test proves this equals running every migration).
3. The database is older: ``alembic upgrade head`` under the lock.

The lock is ``BEGIN EXCLUSIVE`` on SQLite and ``pg_advisory_xact_lock`` on PostgreSQL; the
version is read again once the lock is held, because another process may have migrated in
the meantime. A revision this code does not know means a newer loopml wrote the database:
:class:`~loopml.errors.SchemaVersionError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Connection

from loopml.errors import SchemaVersionError, StoreError
from loopml.store.sql.engine import Database
from loopml.store.sql.revisions import KNOWN_REVISIONS, SCHEMA_HEAD
from loopml.store.sql.schema import ALEMBIC_VERSION, metadata

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["KNOWN_REVISIONS", "SCHEMA_HEAD", "ensure_schema", "migrations_config"]


_MISSING = "<no alembic_version table>"


def ensure_schema(db: Database) -> None:
    """Create or upgrade the schema of ``db`` to :data:`SCHEMA_HEAD`.

    Raises:
        SchemaVersionError: the database was written by a newer loopml.
        StoreError: the database cannot be read or migrated.
    """
    found = _fast_version(db)
    if found == SCHEMA_HEAD:
        return
    if found is not None and found != _MISSING:
        _refuse_unknown([found])
    db.run(_migrate_locked, mode="exclusive")


def _fast_version(db: Database) -> str | None:
    """The stored revision in one query; ``_MISSING`` when there is no version table."""
    try:
        with db.engine.connect() as conn:
            try:
                return conn.execute(select(ALEMBIC_VERSION.c.version_num)).scalar()
            except (sa_exc.ProgrammingError, sa_exc.OperationalError) as exc:
                if _is_missing_table(exc):
                    return _MISSING
                raise
    except sa_exc.SQLAlchemyError as exc:
        raise db.error(exc) from exc


def _is_missing_table(exc: sa_exc.DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "no such table" in text or ("alembic_version" in text and "does not exist" in text)


def _migrate_locked(conn: Connection) -> None:
    found = _versions(conn)
    if found == [SCHEMA_HEAD]:
        return  # another process finished while we waited for the lock
    if found is None or not found:
        _create_fresh(conn)
        return
    _refuse_unknown(found)
    _alembic_upgrade(conn)


def _refuse_unknown(found: list[str]) -> None:
    if len(found) == 1 and found[0] in KNOWN_REVISIONS:
        return
    raise SchemaVersionError(
        f"the database is at schema revision {', '.join(found)}, which this loopml does not"
        f" know (it knows up to {SCHEMA_HEAD}): a newer loopml wrote it",
        hint="upgrade loopml: pip install -U loopml",
    )


def _versions(conn: Connection) -> list[str] | None:
    if not inspect(conn).has_table(ALEMBIC_VERSION.name):
        return None
    return list(conn.execute(select(ALEMBIC_VERSION.c.version_num)).scalars())


def _create_fresh(conn: Connection) -> None:
    existing = set(inspect(conn).get_table_names()) & set(metadata.tables)
    if existing:
        raise StoreError(
            f"the database has loopml tables ({', '.join(sorted(existing))}) but no schema"
            " revision, so loopml cannot tell how to migrate it",
            hint="point loopml at a new database, or stamp this one with its revision",
        )
    metadata.create_all(conn)
    ALEMBIC_VERSION.create(conn, checkfirst=True)
    conn.execute(insert(ALEMBIC_VERSION).values(version_num=SCHEMA_HEAD))


def migrations_config(conn: Connection) -> Config:
    """An Alembic ``Config`` for the migrations shipped in this package, bound to ``conn``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "loopml.store.sql:migrations")
    config.attributes["connection"] = conn
    return config


def _alembic_upgrade(conn: Connection) -> None:
    from alembic import command

    command.upgrade(migrations_config(conn), "head")
