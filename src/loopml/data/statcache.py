"""The local data cache, ``.loopml/cache/data.db``: what ``status`` needs without the store.

A SQLite file (WAL, opened with the standard library only, so ``loopml data status`` starts
without SQLAlchemy) holding:

- ``roots``: each tracked file or folder (its real absolute path) and the dataset version it
  was last added as or checked out from;
- ``entries``: per tracked root, that version's files (``path -> size, blob, mode``) and,
  beside each, its stat cache entry: the ``(dev, inode, size, mtime_ns)`` the file at that
  path had when it was hashed, and the hash (when it differs from the version's). One row
  per file, read with one query: ``status`` of 20,000 files loads it in ~25 ms, where a
  listing and a separate inode-keyed table took ~65 ms;
- ``verified``: the stat cache of object store folders: for each blob file known to hold
  its hash, the signature of ``(dev, inode, size, mtime_ns, blob)``, so a checkout links a
  blob whose stat is unchanged without hashing it again. Blobs written by ``add`` (hashed as
  they were written) and blobs a checkout hashed are recorded.

The racy-file rule (git's "racily clean" entries): an entry is trusted only if the file's
mtime was at least :data:`RACY_NS` older than the moment it was recorded. A file written in
the same timestamp tick as its hashing could change again without its mtime moving; such a
file is hashed again (and then recorded, trusted from then on). ``--verify`` ignores the
cache altogether.

Everything here can be rebuilt: deleting the file forgets which folders are tracked (add
them again; their content makes no new version) and costs one hashing pass.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from loopml.data.walk import stat_signature
from loopml.errors import StoreError

__all__ = [
    "CACHE_NAME",
    "RACY_NS",
    "DataCache",
    "Entry",
    "blob_signature",
    "StatRow",
    "TrackedPath",
    "cache_path",
    "local_folder",
]

#: The cache file, under the ``.loopml`` folder.
CACHE_NAME = "cache/data.db"
#: A stat entry is trusted only if the file's mtime is this much older than its recording.
RACY_NS = 2_000_000_000
SCHEMA_VERSION = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS roots (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    dataset TEXT,
    version INTEGER,
    version_id TEXT,
    content_id TEXT,
    tracking_uri TEXT,
    files INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    root_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    blob TEXT NOT NULL,
    mode INTEGER NOT NULL,
    dev INTEGER,
    ino INTEGER,
    mtime_ns INTEGER,
    hash TEXT,
    recorded_ns INTEGER,
    sig INTEGER,
    PRIMARY KEY (root_id, path)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verified (
    scope INTEGER NOT NULL,
    sig INTEGER NOT NULL,
    PRIMARY KEY (scope, sig)
) WITHOUT ROWID;
"""
_OBJECTS_KIND = "objects"


class StatRow(NamedTuple):
    """The stat of a file known to hold ``blob``, and when that was established."""

    dev: int
    ino: int
    size: int
    mtime_ns: int
    blob: str
    recorded_ns: int


class Entry(NamedTuple):
    """A file of a tracked root's version, with the stat cache entry of its path.

    ``size``, ``blob`` and ``mode`` are the version's. ``dev``, ``ino`` and ``mtime_ns`` are
    the stat of the file at ``path`` when it was hashed (None: not known), ``hash`` what it
    hashed to (None: the version's ``blob``), ``recorded_ns`` when. A stat is only recorded
    for a file of the version's size.
    """

    path: str
    size: int
    blob: str
    mode: int
    dev: int | None = None
    ino: int | None = None
    mtime_ns: int | None = None
    hash: str | None = None
    recorded_ns: int | None = None

    def cached_hash(self, dev: int, ino: int, size: int, mtime_ns: int) -> str | None:
        """The hash the stat cache vouches for, for a file with this stat; else None."""
        if (
            self.mtime_ns != mtime_ns
            or self.ino != ino
            or self.dev != dev
            or self.size != size
            or self.recorded_ns is None
            or mtime_ns + RACY_NS > self.recorded_ns
        ):
            return None
        return self.blob if self.hash is None else self.hash

    def signature(self) -> int | None:
        """The stat signature (see :func:`~loopml.data.walk.stat_signature`) that alone
        proves the file unchanged: set only when the stat is trusted and hashed to the
        version's blob; None otherwise."""
        if (
            self.dev is None
            or self.ino is None
            or self.mtime_ns is None
            or self.recorded_ns is None
            or self.hash is not None
            or self.mtime_ns + RACY_NS > self.recorded_ns
        ):
            return None
        return stat_signature(self.dev, self.ino, self.size, self.mtime_ns, self.mode)

    def with_stat(self, dev: int, ino: int, mtime_ns: int, hash_: str, recorded_ns: int) -> Entry:
        """This entry with a new stat cache entry (``hash_`` the file's content hash)."""
        return self._replace(
            dev=dev,
            ino=ino,
            mtime_ns=mtime_ns,
            hash=None if hash_ == self.blob else hash_,
            recorded_ns=recorded_ns,
        )


@dataclass(frozen=True, slots=True)
class TrackedPath:
    """A tracked file or folder and the dataset version it holds."""

    id: int
    path: str
    kind: str
    dataset: str
    version: int
    version_id: str
    content_id: str
    tracking_uri: str
    files: int

    @property
    def uri(self) -> str:
        """``datasets:/<name>/<version>``."""
        return f"datasets:/{self.dataset}/{self.version}"


def local_folder(home: Path | None) -> Path:
    """The folder for local data state: the ``.loopml`` folder, or ``~/.cache/loopml`` (or
    ``$XDG_CACHE_HOME/loopml``) when none is in use (every store remote)."""
    if home is not None:
        return home
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "loopml"


def blob_signature(dev: int, ino: int, size: int, mtime_ns: int, blob: str) -> int:
    """One integer standing for "the file with this stat holds ``blob``" (64 bits of the
    blob's hex make it an int: the hash of a string is randomized per process)."""
    return hash((dev, ino, size, mtime_ns, int(blob[:16], 16)))


def cache_path(home: Path | None) -> Path:
    """Where the cache lives: ``<home>/cache/data.db`` (see :func:`local_folder`)."""
    return local_folder(home) / CACHE_NAME


class DataCache:
    """One connection to the cache file. Not thread-safe: use it from one thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            self._setup()
        except (sqlite3.Error, OSError) as exc:
            raise _error(path, exc) from exc

    @classmethod
    def open(cls, home: Path | None) -> DataCache:
        """The cache of the ``.loopml`` folder ``home`` (see :func:`cache_path`)."""
        return cls(cache_path(home))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DataCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _setup(self) -> None:
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer loopml",
                hint="upgrade loopml, or delete the file (it is a cache)",
            )
        db.execute("PRAGMA journal_mode=WAL")
        with self._write():
            if version:  # an older layout: it is a cache, start again
                for table in ("roots", "listing", "entries", "stats", "verified"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the write lock from its start."""
        db = self._db
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _error(self.path, exc) from exc

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _error(self.path, exc) from exc

    # -- tracked paths -------------------------------------------------------------------
    def tracked(self, path: str) -> TrackedPath | None:
        """The tracked file or folder at the real absolute ``path``, if any."""
        rows = self._read(f"{_ROOT_SELECT} WHERE path = ? AND kind != ?", (path, _OBJECTS_KIND))
        return _root(rows[0]) if rows else None

    def tracked_under(self, folder: str) -> list[TrackedPath]:
        """Tracked files and folders at or below ``folder``, by path."""
        prefix = folder.rstrip(os.sep) + os.sep
        rows = self._read(
            f"{_ROOT_SELECT} WHERE kind != ? AND (path = ? OR substr(path, 1, ?) = ?) "
            "ORDER BY path",
            (_OBJECTS_KIND, folder, len(prefix), prefix),
        )
        return [_root(row) for row in rows]

    def entries(self, root_id: int) -> dict[str, Entry]:
        """The tracked version's files with their stat cache entries, by path."""
        rows = self._read(
            "SELECT path, size, blob, mode, dev, ino, mtime_ns, hash, recorded_ns"
            " FROM entries WHERE root_id = ?",
            (root_id,),
        )
        make = _new_entry
        return {row[0]: make(Entry, row) for row in rows}

    def signatures(self, root_id: int) -> dict[str, int]:
        """``path -> stat signature`` of the entries whose stat alone proves them unchanged
        (what ``status`` reads first: two small columns)."""
        rows = self._read(
            "SELECT path, sig FROM entries WHERE root_id = ? AND sig IS NOT NULL", (root_id,)
        )
        return dict(rows)

    def update_entries(self, root_id: int, entries: Iterable[Entry]) -> None:
        """Write the stat cache part of ``entries`` (from a status that hashed them)."""
        rows = [
            (e.dev, e.ino, e.mtime_ns, e.hash, e.recorded_ns, e.signature(), root_id, e.path)
            for e in entries
        ]
        if not rows:
            return
        with self._write() as db:
            db.executemany(
                "UPDATE entries SET dev = ?, ino = ?, mtime_ns = ?, hash = ?, recorded_ns = ?,"
                " sig = ? WHERE root_id = ? AND path = ?",
                rows,
            )

    def objects_scope(self, objects_root: str) -> int:
        """The stat-cache scope of an object store folder (created on first use)."""
        rows = self._read("SELECT id FROM roots WHERE path = ?", (objects_root,))
        if rows:
            return int(rows[0][0])
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO roots (path, kind, updated_at) VALUES (?, ?, ?)",
                (objects_root, _OBJECTS_KIND, time.time_ns() // 1_000_000),
            )
            return int(
                db.execute("SELECT id FROM roots WHERE path = ?", (objects_root,)).fetchone()[0]
            )

    # -- the stat cache ------------------------------------------------------------------
    def verified_blobs(self, scope: int) -> set[int]:
        """The :func:`blob_signature` of every blob file of ``scope`` known to be intact."""
        rows = self._read("SELECT sig FROM verified WHERE scope = ?", (scope,))
        return {row[0] for row in rows}

    def add_verified(self, scope: int, rows: Iterable[StatRow]) -> None:
        """Record blob files (their stat and blob) as known to hold their hash."""
        sigs = [(scope, blob_signature(*row[:5])) for row in rows]
        if sigs:
            with self._write() as db:
                db.executemany("INSERT OR IGNORE INTO verified (scope, sig) VALUES (?, ?)", sigs)

    # -- recording a version -------------------------------------------------------------
    def record(
        self,
        path: str,
        *,
        kind: str,
        dataset: str,
        version: int,
        version_id: str,
        content_id: str,
        tracking_uri: str,
        entries: Sequence[Entry],
    ) -> TrackedPath:
        """Track ``path`` as holding a version with ``entries``, in one transaction."""
        now = time.time_ns() // 1_000_000
        with self._write() as db:
            root_id = int(
                db.execute(
                    "INSERT INTO roots (path, kind, dataset, version, version_id, content_id,"
                    " tracking_uri, files, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (path) DO UPDATE SET kind = excluded.kind,"
                    " dataset = excluded.dataset, version = excluded.version,"
                    " version_id = excluded.version_id, content_id = excluded.content_id,"
                    " tracking_uri = excluded.tracking_uri, files = excluded.files,"
                    " updated_at = excluded.updated_at RETURNING id",
                    (
                        path,
                        kind,
                        dataset,
                        version,
                        version_id,
                        content_id,
                        tracking_uri,
                        len(entries),
                        now,
                    ),
                ).fetchone()[0]
            )
            db.execute("DELETE FROM entries WHERE root_id = ?", (root_id,))
            db.executemany(
                "INSERT INTO entries (root_id, path, size, blob, mode, dev, ino, mtime_ns, hash,"
                " recorded_ns, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(root_id, *entry, _signature(entry)) for entry in entries],
            )
        return TrackedPath(
            root_id,
            path,
            kind,
            dataset,
            version,
            version_id,
            content_id,
            tracking_uri,
            len(entries),
        )

    def forget(self, path: str) -> None:
        """Stop tracking ``path`` (its entries go too)."""
        with self._write() as db:
            row = db.execute("SELECT id FROM roots WHERE path = ?", (path,)).fetchone()
            if row is not None:
                db.execute("DELETE FROM entries WHERE root_id = ?", (row[0],))
                db.execute("DELETE FROM verified WHERE scope = ?", (row[0],))
                db.execute("DELETE FROM roots WHERE id = ?", (row[0],))


#: Builds a NamedTuple from a row without a Python-level call per row.
_new_entry = tuple.__new__


def _signature(entry: Entry) -> int | None:
    """:meth:`Entry.signature`, unrolled (it runs once per file of a recorded version)."""
    _, size, _, mode, dev, ino, mtime_ns, hash_, recorded_ns = entry
    if (
        dev is None
        or ino is None
        or mtime_ns is None
        or recorded_ns is None
        or hash_ is not None
        or mtime_ns + RACY_NS > recorded_ns
    ):
        return None
    return hash((dev, ino, size, mtime_ns, mode))


_ROOT_SELECT = (
    "SELECT id, path, kind, dataset, version, version_id, content_id, tracking_uri, files"
    " FROM roots"
)


def _root(row: Any) -> TrackedPath:
    return TrackedPath(*row)


def _error(path: Path, exc: BaseException) -> StoreError:
    return StoreError(
        f"the data cache {path} failed: {exc}",
        hint="it only caches hashes and tracked folders: delete it if it is damaged",
    )
