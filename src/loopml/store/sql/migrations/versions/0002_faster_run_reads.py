"""Faster run reads: run data clustered by run on SQLite, a covering index of runs by id.

SQLite: ``params``, ``tags`` and ``latest_metrics`` become ``WITHOUT ROWID`` tables. A rowid
table keeps its ``(run_id, key)`` primary key as a separate index, so reading a run's values
costs an index probe plus a table lookup per value; clustered on the primary key, a run's
values are one range of one B-tree, and the ``(key, value)`` indexes, which then carry the
primary key, answer search filters alone. SQLite cannot alter this in place: each table is
renamed, created anew, filled, and the old one dropped (inside the migration's exclusive
transaction). Nothing references these tables, so the rename touches no other table.
PostgreSQL has no such option; its tables do not change.

Both: ``runs (id, project_id, lifecycle, start_time)``, what a search filter checks of each
candidate run it finds by id, answered from the index alone.

Revision ID: 0002
Revises: 0001
Create Date: 2024-11-28
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

#: The tables rebuilt, with their columns as revision 0001 made them.
_COLUMNS: dict[str, list[tuple[str, sa.types.TypeEngine[Any], bool]]] = {
    "params": [("value", sa.Text(), False)],
    "tags": [("value", sa.Text(), False)],
    "latest_metrics": [
        ("value", sa.Double(), True),
        ("step", sa.BigInteger(), False),
        ("timestamp", sa.BigInteger(), False),
    ],
}
_INDEXED: dict[str, list[str | sa.TextClause]] = {
    "params": ["key", sa.text("substr(value, 1, 200)")],
    "tags": ["key", sa.text("substr(value, 1, 200)")],
    "latest_metrics": ["key", "value"],
}


def _create(table: str, *, with_rowid: bool) -> None:
    op.create_table(
        table,
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        *(sa.Column(name, type_, nullable=null) for name, type_, null in _COLUMNS[table]),
        sa.PrimaryKeyConstraint("run_id", "key", name=f"pk_{table}"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=f"fk_{table}_run_id_runs", ondelete="CASCADE"
        ),
        sqlite_with_rowid=with_rowid,
    )
    op.create_index(f"ix_{table}_key_value", table, _INDEXED[table])


def _rebuild(table: str, *, with_rowid: bool) -> None:
    old = f"_old_{table}"
    op.rename_table(table, old)  # its index and autoindex follow it, and go with it
    op.drop_index(f"ix_{table}_key_value", table_name=old)
    _create(table, with_rowid=with_rowid)
    names = ", ".join(f'"{name}"' for name in ["run_id", "key", *(c[0] for c in _COLUMNS[table])])
    op.execute(f'INSERT INTO "{table}" ({names}) SELECT {names} FROM "{old}"')  # noqa: S608 - our own names
    op.drop_table(old)


_RUNS_BY_ID = "ix_runs_id_project_id_lifecycle_start_time"


def upgrade() -> None:
    op.create_index(_RUNS_BY_ID, "runs", ["id", "project_id", "lifecycle", "start_time"])
    if op.get_bind().dialect.name == "sqlite":
        for table in _COLUMNS:
            _rebuild(table, with_rowid=False)


def downgrade() -> None:
    op.drop_index(_RUNS_BY_ID, table_name="runs")
    if op.get_bind().dialect.name == "sqlite":
        for table in _COLUMNS:
            _rebuild(table, with_rowid=True)
