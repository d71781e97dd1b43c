"""The frequent store calls on a SQLite file through the standard ``sqlite3`` module.

Creating runs, logging batches, ending runs, recording artifacts and lineage and reading the
step cache are plain SQL (:mod:`~loopml.store.sql.driver`). On a SQLite file whose schema is
current, :class:`~loopml.store.sql.store.SqlStore` runs them here, so a process that only
tracks (a training script, a fully cached ``loopml pipeline run``) never imports SQLAlchemy,
which alone costs ~140 ms of start-up. Everything else, and every schema migration, still
goes through SQLAlchemy; both see the same file, as two processes would.

The connection is set up exactly as :mod:`~loopml.store.sql.engine` sets up SQLAlchemy's
(WAL, ``synchronous=NORMAL``, foreign keys, a 30 s busy timeout, the store's own ``BEGIN``
so a write takes the lock up front with ``BEGIN IMMEDIATE``), and failures become the same
errors (:mod:`~loopml.store.sql.failures`). One connection serves the process; threads take
turns, and a forked child opens its own.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from loopml.store.sql.driver import DriverConnection, DriverResult
from loopml.store.sql.failures import BUSY_RETRIES, busy_pause, database_error, is_busy_text

__all__ = ["DirectSqlite", "sqlite_file"]

T = TypeVar("T")

_PREFIX = "sqlite:///"
_BEGIN = {"read": "BEGIN", "write": "BEGIN IMMEDIATE"}
_PRAGMAS = (
    "PRAGMA busy_timeout = 30000",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)


def sqlite_file(uri: str) -> str | None:
    """The database file of a plain ``sqlite:///path`` URI; None for anything else (memory,
    query options, other databases)."""
    if not uri.startswith(_PREFIX) or "?" in uri:
        return None
    path = uri[len(_PREFIX) :]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path


class _Dialect:
    name = "sqlite"


class _Result:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def first(self) -> Any:
        return self._cursor.fetchone()

    def all(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    def scalar(self) -> Any:
        row = self._cursor.fetchone()
        return None if row is None else row[0]


class _Connection:
    """A :class:`DriverConnection` over a ``sqlite3`` connection."""

    __slots__ = ("_raw",)
    dialect = _Dialect()

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    def exec_driver_sql(self, statement: str, parameters: Any = None) -> DriverResult:
        if isinstance(parameters, list):
            return _Result(self._raw.executemany(statement, parameters))
        return _Result(self._raw.execute(statement, parameters or ()))


class DirectSqlite:
    """Transactions on one SQLite file over ``sqlite3``, run like
    :meth:`~loopml.store.sql.engine.Database.run`.

    Use :meth:`open`, which returns None where this path does not apply.
    """

    def __init__(self, path: str, uri: str) -> None:
        self.path = path
        self.uri = uri
        self._lock = threading.Lock()
        self._raw: sqlite3.Connection | None = None
        self._pid = 0

    @classmethod
    def open(cls, uri: str) -> DirectSqlite | None:
        """The direct path to the database of ``uri``, when it is an existing SQLite file
        (a new database is created, and migrated, by SQLAlchemy and Alembic)."""
        path = sqlite_file(uri)
        if path is None or not os.path.isfile(path):
            return None
        return cls(path, uri)

    def schema_version(self) -> str | None:
        """The stored schema revision, or None when there is none (or it cannot be read)."""
        sql = "SELECT version_num FROM alembic_version"
        try:
            rows = self.run(lambda c: c.exec_driver_sql(sql).all())
        except Exception:  # noqa: BLE001 - "cannot tell": the full path decides and explains
            return None
        return str(rows[0][0]) if len(rows) == 1 else None

    def run(
        self, work: Callable[[DriverConnection], T], *, mode: Literal["read", "write"] = "read"
    ) -> T:
        """:meth:`Database.run <loopml.store.sql.engine.Database.run>` on this connection:
        one transaction, the same retries of a locked write, the same errors."""
        attempt = 0
        while True:
            try:
                with self._lock:
                    return self._transaction(work, mode)
            except sqlite3.Error as exc:
                if attempt < BUSY_RETRIES and is_busy_text(str(exc)):
                    attempt += 1
                    busy_pause(attempt)
                    continue
                raise database_error(
                    exc,
                    uri=self.uri,
                    sqlite=True,
                    integrity=isinstance(exc, sqlite3.IntegrityError),
                ) from exc

    def _transaction(self, work: Callable[[DriverConnection], T], mode: str) -> T:
        raw = self._connection()
        raw.execute(_BEGIN[mode])
        try:
            result = work(_Connection(raw))
            raw.execute("COMMIT")
        except BaseException:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raise
        return result

    def _connection(self) -> sqlite3.Connection:
        pid = os.getpid()
        if self._raw is None or self._pid != pid:
            # A child after fork leaves the parent's connection alone and opens its own.
            raw = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            for pragma in _PRAGMAS:
                raw.execute(pragma)
            self._raw, self._pid = raw, pid
        return self._raw

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            if self._raw is not None and self._pid == os.getpid():
                self._raw.close()
            self._raw = None
