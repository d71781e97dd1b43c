"""Plain SQL for both drivers: the statements the frequent store calls run.

The frequent calls (create a run, log a batch, end it, record artifacts and lineage, look a
step up in the cache) are plain SQL written once, with ``?`` placeholders, and run through
``exec_driver_sql`` with rows of tuples: no statement is built or compiled per call, and an
``executemany`` hands the tuples to the driver untouched.

They take a :class:`DriverConnection`, which two things satisfy: a SQLAlchemy
``Connection`` (SQLite or PostgreSQL) and :class:`~loopml.store.sql.sqlite_direct.DirectSqlite`'s
connection, which runs them on the standard ``sqlite3`` module. The second lets a process
that only tracks runs on a SQLite store never import SQLAlchemy (~140 ms of start-up), and
this module, like every module the frequent calls live in, imports nothing of it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["DriverConnection", "DriverResult", "driver_sql", "fetch_tuples", "text_list"]


class DriverResult(Protocol):
    """The result of :meth:`DriverConnection.exec_driver_sql`."""

    @property
    def rowcount(self) -> int:
        """Rows an INSERT/UPDATE/DELETE changed."""

    def first(self) -> Any:
        """The first row (a tuple), or None."""

    def all(self) -> Sequence[Any]:
        """Every row (tuples)."""

    def scalar(self) -> Any:
        """The first column of the first row, or None."""


class _Dialect(Protocol):
    @property
    def name(self) -> str:
        """``sqlite`` or ``postgresql``."""


class DriverConnection(Protocol):
    """What the plain-SQL store functions need of a connection inside a transaction."""

    @property
    def dialect(self) -> _Dialect:
        """The database kind."""

    def exec_driver_sql(self, statement: str, parameters: Any = None) -> DriverResult:
        """Run ``statement`` (in the driver's paramstyle) with one row of parameters, or
        with each row of a list of them."""


def driver_sql(conn: DriverConnection, sql: str) -> str:
    """``sql``, written with ``?`` placeholders and ``IN_TEXT_LIST(?)``, in the driver's terms.

    ``IN_TEXT_LIST(?)`` takes one parameter made by :func:`text_list` (a JSON array on
    SQLite, an array on PostgreSQL), so a list of any length binds as one value. Identifiers
    that are keywords somewhere (``"key"``, ``"user"``, ``"timestamp"``) must be quoted in
    ``sql``.
    """
    return _translate(sql, conn.dialect.name)


@functools.cache
def _translate(sql: str, dialect: str) -> str:
    if dialect == "sqlite":
        return sql.replace("IN_TEXT_LIST(?)", "IN (SELECT value FROM json_each(?))")
    return sql.replace("%", "%%").replace("IN_TEXT_LIST(?)", "= ANY(?)").replace("?", "%s")


def text_list(conn: DriverConnection, values: Sequence[str]) -> object:
    """The parameter of an ``IN_TEXT_LIST(?)`` of :func:`driver_sql` holding ``values``."""
    if conn.dialect.name == "sqlite":
        return json.dumps(list(values))
    return list(values)


def fetch_tuples(result: DriverResult) -> list[tuple[Any, ...]]:
    """Every row of ``result`` as the driver's own tuples: no SQLAlchemy ``Row`` is built
    per row (it shows when a dataset version has 100,000 files)."""
    cursor = getattr(result, "cursor", None)  # a SQLAlchemy CursorResult
    if cursor is None:
        return list(result.all())
    rows: list[tuple[Any, ...]] = cursor.fetchall()
    result.close()  # type: ignore[attr-defined]
    return rows
