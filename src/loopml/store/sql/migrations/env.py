"""Alembic environment of the SQL store.

The store runs migrations itself (:mod:`loopml.store.sql.migrate`) and passes its open
connection, already holding the migration lock, in ``config.attributes["connection"]``.
For writing a new revision by hand, ``sqlalchemy.url`` in the Alembic config works too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from loopml.store.sql.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    """Run the pending migrations on the store's connection (or ``sqlalchemy.url``)."""
    if context.is_offline_mode():
        raise RuntimeError("loopml migrations run online only (the store applies them on open)")
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("pass a connection in config.attributes or set sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


run_migrations()
