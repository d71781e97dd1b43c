"""The database connection of the SQL store: engine set-up, transactions, retries, errors.

:class:`Database` is the only way the aggregate modules reach the database. They hand it a
function of a :class:`~sqlalchemy.engine.Connection`; it runs that function inside one
transaction and turns driver failures into :class:`~loopml.errors.StoreError` (or
:class:`~loopml.errors.ConflictError` for a constraint violation), with the URI's password
masked and a hint.

SQLite settings, and why:

- ``journal_mode=WAL``: readers never block the writer and the writer never blocks readers.
- ``synchronous=NORMAL``: in WAL mode a commit is durable across a *process* crash (the
  committed frames are in the WAL file, which the OS holds) and costs no fsync; only an OS
  crash or power loss may roll back the last commits, never corrupt the database. ``FULL``
  would fsync on every commit, which is what makes per-metric commits slow.
- ``foreign_keys=ON``: cascades and references are enforced (SQLite leaves them off).
- ``busy_timeout=30000``: a connection waits up to 30 s for a lock instead of failing at once.
- The driver is put in autocommit mode and the store emits ``BEGIN`` itself, so a *write*
  transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up front, where the
  busy timeout applies. A deferred transaction that upgrades from read to write can instead
  fail at once with ``database is locked`` (SQLite refuses to wait, to avoid a deadlock);
  that is the error 8 concurrent writer processes would otherwise see. A write that still
  meets a busy database is retried a few times.

Fork safety: every engine's pool is dropped (without closing the parent's connections) in a
child after ``os.fork``, so a child process opens its own connections.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from sqlalchemy import Table, create_engine, event, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from loopml.errors import (
    InvalidInputError,
    LoopmlError,
    MissingExtraError,
    StoreError,
)
from loopml.store.sql.driver import driver_sql, text_list
from loopml.store.sql.failures import (
    BUSY_RETRIES,
    SQLITE_HINT,
    busy_pause,
    database_error,
    is_busy_text,
)

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

__all__ = [
    "MIGRATION_LOCK_ID",
    "Database",
    "Mode",
    "dialect_insert",
    "driver_sql",
    "mask_uri",
    "text_list",
]

T = TypeVar("T")

#: ``read``: a plain (deferred) transaction. ``write``: takes the write lock up front.
#: ``exclusive``: the migration lock (``BEGIN EXCLUSIVE`` / a PostgreSQL advisory lock).
Mode = Literal["read", "write", "exclusive"]

#: The key of the PostgreSQL advisory lock that serialises schema migrations ("loopml").
MIGRATION_LOCK_ID = 0x6C6F_6F70_6D6C

_BEGIN = {"read": "BEGIN", "write": "BEGIN IMMEDIATE", "exclusive": "BEGIN EXCLUSIVE"}

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_fork_hook_installed = False


def mask_uri(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (safe to print or log)."""
    try:
        return make_url(uri).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return uri.split("@", 1)[-1] if "@" in uri else uri


def _dispose_after_fork() -> None:
    for engine in list(_engines):
        engine.dispose(close=False)


def _track_for_fork(engine: Engine) -> None:
    global _fork_hook_installed
    if not _fork_hook_installed:
        os.register_at_fork(after_in_child=_dispose_after_fork)
        _fork_hook_installed = True
    _engines.add(engine)


def _parse(uri: str) -> URL:
    try:
        url = make_url(uri)
    except sa_exc.ArgumentError as exc:
        raise InvalidInputError(
            f"not a database URI: {mask_uri(uri)!r}",
            field="tracking_uri",
            uri=mask_uri(uri),
            hint="use sqlite:///path/loopml.db or postgresql+psycopg://user@host/db",
        ) from exc
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise InvalidInputError(
            f"unsupported database {url.get_backend_name()!r} in {mask_uri(uri)!r}",
            field="tracking_uri",
            uri=mask_uri(uri),
            hint="use sqlite:///path/loopml.db or postgresql+psycopg://user@host/db",
        )
    return url


def _sqlite_engine(url: URL) -> tuple[Engine, bool]:
    database = url.database or ""
    memory = database in {"", ":memory:"} or "mode=memory" in str(url)
    if memory:
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver: pysqlite would otherwise emit its own deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = 30000")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("loopml_begin", "read")
        connection.exec_driver_sql(_BEGIN[mode])

    return engine, memory


def _postgres_engine(url: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = 10
    try:
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except ModuleNotFoundError as exc:
        raise MissingExtraError("a PostgreSQL tracking store", "postgres", "psycopg") from exc


class Database:
    """One engine and the transactions run on it.

    Args:
        uri: A SQLAlchemy URI: ``sqlite:///path``, ``sqlite:///:memory:`` or
            ``postgresql+psycopg://user@host/db`` (plain ``postgresql://`` means psycopg too).
    """

    def __init__(self, uri: str) -> None:
        url = _parse(uri)
        self.uri = mask_uri(uri)
        self._password = url.password if isinstance(url.password, str) else None
        self.dialect = url.get_backend_name()
        self._memory_lock: threading.Lock | None = None
        try:
            if self.dialect == "sqlite":
                self.engine, memory = _sqlite_engine(url)
                # One shared connection: transactions from several threads must take turns.
                self._memory_lock = threading.Lock() if memory else None
            else:
                self.engine = _postgres_engine(url)
        except OSError as exc:
            raise StoreError(
                f"cannot create the database folder for {self.uri}: {exc}",
                uri=self.uri,
                hint=SQLITE_HINT,
            ) from exc
        if self._memory_lock is None:
            _track_for_fork(self.engine)

    @property
    def is_sqlite(self) -> bool:
        """True on SQLite, False on PostgreSQL."""
        return self.dialect == "sqlite"

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def run(self, work: Callable[[Connection], T], *, mode: Mode = "read") -> T:
        """Run ``work`` in one transaction: committed if it returns, rolled back if it raises.

        SQLite write transactions that still find the database busy are retried.

        Raises:
            StoreError: the database failed.
            ConflictError: the write broke a constraint.
        """
        attempt = 0
        while True:
            try:
                with self._turn(), self.engine.connect() as conn:
                    conn.execution_options(loopml_begin=mode)
                    with conn.begin():
                        if mode == "exclusive" and not self.is_sqlite:
                            conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_ID)))
                        return work(conn)
            except sa_exc.DBAPIError as exc:
                if attempt < BUSY_RETRIES and self.is_busy(exc):
                    attempt += 1
                    busy_pause(attempt)
                    continue
                raise self.error(exc) from exc
            except sa_exc.SQLAlchemyError as exc:
                raise self.error(exc) from exc

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        if self._memory_lock is None:
            yield
            return
        with self._memory_lock:
            yield

    def is_busy(self, exc: sa_exc.DBAPIError) -> bool:
        """True when SQLite reports a lock it did not get within the busy timeout."""
        return self.is_sqlite and is_busy_text(str(exc.orig))

    def error(self, exc: Exception) -> LoopmlError:
        """The loopml error for a SQLAlchemy/driver failure on this database."""
        orig = getattr(exc, "orig", None) or exc
        return database_error(
            orig,
            uri=self.uri,
            sqlite=self.is_sqlite,
            integrity=isinstance(exc, sa_exc.IntegrityError),
            password=self._password,
        )


def dialect_insert(conn: Connection, table: Table) -> SqliteInsert | PgInsert:
    """An INSERT of the connection's dialect, which offers ``on_conflict_do_*`` (upserts)."""
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    return pg_insert(table)
