"""The loopml error for a database failure, whichever driver reported it.

SQLAlchemy's :class:`~loopml.store.sql.engine.Database` and the ``sqlite3`` path of
:class:`~loopml.store.sql.sqlite_direct.DirectSqlite` both say the same thing for the same
failure: a broken constraint is a :class:`~loopml.errors.ConflictError`, anything else a
:class:`~loopml.errors.StoreError` with the URI (password masked) and a hint.
"""

from __future__ import annotations

import random
import time

from loopml.errors import ConflictError, LoopmlError, StoreError

__all__ = [
    "BUSY_RETRIES",
    "PG_HINT",
    "SQLITE_HINT",
    "busy_pause",
    "database_error",
    "is_busy_text",
]

#: How often a SQLite write that found the database locked is tried again.
BUSY_RETRIES = 3
SQLITE_HINT = "check that the folder exists and is writable and that the file is a database"
PG_HINT = (
    "check that the PostgreSQL server is running and that host, port, user and database are right"
)
_BUSY_WORDS = ("database is locked", "database is busy", "database table is locked")


def busy_pause(attempt: int) -> None:
    """Sleep before try ``attempt`` (1, 2, …) of a write that found SQLite locked: an
    exponential backoff with jitter, so competing writers do not retry in step."""
    time.sleep(0.05 * 2**attempt * (0.5 + random.random()))  # noqa: S311 - not crypto


def is_busy_text(text: str) -> bool:
    """True when a SQLite error text reports a lock not taken within the busy timeout."""
    lowered = text.lower()
    return any(word in lowered for word in _BUSY_WORDS)


def database_error(
    orig: BaseException,
    *,
    uri: str,
    sqlite: bool,
    integrity: bool,
    password: str | None = None,
) -> LoopmlError:
    """The loopml error for the driver's exception ``orig`` on the database at ``uri``."""
    text = str(orig).strip()
    detail = text.splitlines()[0] if text else type(orig).__name__
    if password:
        detail = detail.replace(password, "***")
    if integrity:
        return ConflictError(
            f"the write contradicts stored data: {detail}",
            uri=uri,
            hint="the record may have been written concurrently; read it again",
        )
    hint = SQLITE_HINT if sqlite else PG_HINT
    if sqlite and is_busy_text(text):
        hint = "another process held the database lock for too long; retry later"
    return StoreError(f"database error on {uri}: {detail}", uri=uri, hint=hint)
