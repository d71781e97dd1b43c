"""Datasets and their versions: record a version (deduplicated by content), read, list.

Recording a version is one write transaction (:func:`create_version`):

1. One query finds the dataset, its project, its highest version and the version that
   already holds this content, if any. Same content: that version is returned and nothing
   is written.
2. A new dataset is inserted with ``ON CONFLICT (name) DO NOTHING``: of two processes that
   create it at once, one inserts it and both use it.
3. On PostgreSQL the dataset row is locked (``SELECT ... FOR UPDATE``) and the query runs
   again, so writers of one dataset take turns and each sees what the one before committed
   (under READ COMMITTED every statement reads the latest commits). On SQLite the
   transaction began with ``BEGIN IMMEDIATE`` and already holds the only write lock.
4. The version row goes in at highest + 1 with ``ON CONFLICT DO NOTHING``; should a row be in
   the way all the same, the query runs again and the insert is retried (a concurrent writer
   of the same content makes this call return that writer's version).
5. The files go in with one ``executemany`` of plain tuples through the driver (on
   PostgreSQL one ``INSERT ... SELECT FROM unnest(arrays)``), in blob order: the version's
   rows append to the table and to its primary key, but land all over the ``blob`` index;
   in blob order each page of that index is visited once.

Files are read back the same way, as driver tuples, in path order by code point (``COLLATE
"C"`` on PostgreSQL, whose default collation may order text by locale; SQLite compares
bytes), which is the order of Python's ``sorted``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from operator import itemgetter
from types import MappingProxyType
from typing import Any, cast

from loopml.entities import Dataset, DatasetKind, DatasetVersion, FileEntry, new_id, now_ms
from loopml.errors import AlreadyExistsError, ConflictError, InvalidInputError, NotFoundError
from loopml.store.sql import validation
from loopml.store.sql.driver import DriverConnection, driver_sql, fetch_tuples
from loopml.store.sql.limits import BLOB_MAX
from loopml.store.sql.projects import ensure_project_id
from loopml.store.sql.runs import require_run

__all__ = [
    "DATASET_PATH_MAX_BYTES",
    "NewVersion",
    "create_version",
    "get_dataset",
    "get_dataset_files",
    "get_dataset_version",
    "list_dataset_versions",
    "list_datasets",
    "prepare_version",
]

#: Longest file path inside a dataset version, in UTF-8 bytes (it is part of a primary key).
DATASET_PATH_MAX_BYTES = 1024
#: Largest file mode kept (the 16 bits of ``st_mode``: file type and permissions).
_MODE_MAX = 0o177777
#: How often the version insert is retried when a concurrent writer took the number.
_VERSION_ATTEMPTS = 5

_KINDS = {kind.value: kind for kind in DatasetKind}
#: A relative POSIX path: '/'-separated parts, none empty, '.' or '..', no '\\' or NUL.
_PART = r"(?!\.\.?(?:/|\Z))[^/\\\x00]+"
_FILE_PATH = re.compile(rf"{_PART}(?:/{_PART})*")
_NO_METADATA: Mapping[str, str] = MappingProxyType({})

#: (version_id, path, size, blob, mode): a row of ``dataset_files``.
_FileRow = tuple[str, str, int, str, int]

#: The columns of a version in the order :func:`_to_version` reads them (aliases ``d``
#: datasets, ``p`` projects, ``v`` dataset_versions).
_VERSION_COLUMNS = (
    "v.id, d.name, p.name, v.version, v.kind, v.content_id, v.manifest_blob, v.file_count,"
    " v.total_size, v.created_at, v.message, v.author, v.source_run_id, v.num_rows,"
    " v.schema_blob, v.profile_blob, v.metadata"
)
_DATASET_FROM = "FROM datasets d JOIN projects p ON p.id = d.project_id"
_HIGHEST = "(SELECT MAX(version) FROM dataset_versions WHERE dataset_id = d.id)"
#: The dataset ``name``, its project, highest version, and its version with ``content_id``.
_FIND_CONTENT = (
    f"SELECT d.id, p.name, {_HIGHEST}, {_VERSION_COLUMNS} {_DATASET_FROM}"
    " LEFT JOIN dataset_versions v ON v.dataset_id = d.id AND v.content_id = ?"
    " WHERE d.name = ?"
)
_LOCK_DATASET = "SELECT id FROM datasets WHERE name = ? FOR UPDATE"
_INSERT_DATASET = (
    "INSERT INTO datasets (id, project_id, name, created_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (name) DO NOTHING"
)
_INSERT_VERSION = (
    "INSERT INTO dataset_versions (id, dataset_id, version, kind, content_id, manifest_blob,"
    " file_count, total_size, created_at, message, author, source_run_id, num_rows,"
    " schema_blob, profile_blob, metadata)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_INSERT_FILES = (
    "INSERT INTO dataset_files (version_id, path, size, blob, mode) VALUES (?, ?, ?, ?, ?)"
)
#: PostgreSQL: all files in one statement, a column per array (an ``executemany`` costs a
#: round trip's worth of work per row even when pipelined).
_INSERT_FILES_PG = (
    "INSERT INTO dataset_files (version_id, path, size, blob, mode)"
    " SELECT ?, * FROM unnest(CAST(? AS text[]), CAST(? AS bigint[]), CAST(? AS text[]),"
    " CAST(? AS integer[]))"
)
_VERSION_EXISTS = "SELECT 1 FROM dataset_versions WHERE id = ?"
#: The dataset ``name`` with its highest version, and its version number ``?``.
_FIND_VERSION = (
    f"SELECT {_HIGHEST}, {_VERSION_COLUMNS} {_DATASET_FROM}"
    " LEFT JOIN dataset_versions v ON v.dataset_id = d.id AND v.version = ?"
    " WHERE d.name = ?"
)
#: The dataset ``name`` with its highest version, and that version.
_FIND_LATEST = (
    f"SELECT {_HIGHEST}, {_VERSION_COLUMNS} {_DATASET_FROM}"
    f" LEFT JOIN dataset_versions v ON v.dataset_id = d.id AND v.version = {_HIGHEST}"
    " WHERE d.name = ?"
)
#: The dataset ``name`` and all its versions, newest first (one row with NULLs if none).
_ALL_VERSIONS = (
    f"SELECT {_VERSION_COLUMNS} {_DATASET_FROM}"
    " LEFT JOIN dataset_versions v ON v.dataset_id = d.id"
    " WHERE d.name = ? ORDER BY v.version DESC"
)
_DATASETS = (
    "SELECT d.id, d.name, p.name, d.created_at, d.description, MAX(v.version), COUNT(v.id)"
    f" {_DATASET_FROM} LEFT JOIN dataset_versions v ON v.dataset_id = d.id"
)
_DATASETS_GROUP = " GROUP BY d.id, d.name, p.name, d.created_at, d.description"


@cache
def _files_sql(dialect: str) -> str:
    """The files of version ``?`` as (path, size, blob, mode), by path in code point order."""
    collate = ' COLLATE "C"' if dialect == "postgresql" else ""
    return (
        "SELECT path, size, blob, mode FROM dataset_files WHERE version_id = ?"  # noqa: S608 - constants
        f" ORDER BY path{collate}"
    )


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A checked dataset version, ready to insert once its number is known."""

    id: str
    project: str
    name: str
    kind: DatasetKind
    content_id: str
    manifest_blob: str
    files: list[_FileRow]
    total_size: int
    message: str | None
    author: str | None
    source_run_id: str | None
    num_rows: int | None
    schema_blob: str | None
    profile_blob: str | None
    metadata_json: str

    def row(self, dataset_id: str, number: int, created_at: int) -> tuple[Any, ...]:
        """The values of :data:`_INSERT_VERSION`."""
        return (self.id, dataset_id, number, self.kind.value, self.content_id,
                self.manifest_blob, len(self.files), self.total_size, created_at,
                self.message, self.author, self.source_run_id, self.num_rows,
                self.schema_blob, self.profile_blob, self.metadata_json)  # fmt: skip

    def entity(self, project: str, number: int, created_at: int) -> DatasetVersion:
        """The version as recorded under ``number``."""
        return _to_version((self.id, self.name, project, *self.row("", number, created_at)[2:]))


def prepare_version(
    project: str,
    name: str,
    *,
    kind: DatasetKind,
    content_id: str,
    manifest_blob: str,
    files: Sequence[FileEntry],
    message: str | None,
    author: str | None,
    source_run_id: str | None,
    num_rows: int | None,
    schema_blob: str | None,
    profile_blob: str | None,
    metadata: Mapping[str, str] | None,
) -> NewVersion:
    """Check the arguments of ``create_dataset_version`` (and give the version its id).

    Raises:
        InvalidInputError: a bad name, kind, hash, count, text, metadata or file.
    """
    validation.check_name(project, "project")
    validation.check_name(name, "dataset")
    found_kind = _KINDS.get(kind) if isinstance(kind, str) else None
    if found_kind is None:
        raise InvalidInputError(
            f"dataset kind must be one of {', '.join(_KINDS)}, got {kind!r}", field="kind"
        )
    version_id = new_id()
    rows, total = _file_rows(version_id, files)
    return NewVersion(
        id=version_id,
        project=project,
        name=name,
        kind=found_kind,
        content_id=validation.check_blob(content_id, "content_id"),
        manifest_blob=validation.check_blob(manifest_blob, "manifest_blob"),
        files=rows,
        total_size=total,
        message=None if message is None else _check_message(message),
        author=None if author is None else validation.check_name(author, "author"),
        source_run_id=None if source_run_id is None else validation.check_run_id(source_run_id),
        num_rows=None if num_rows is None else validation.check_count(num_rows, "num_rows"),
        schema_blob=None
        if schema_blob is None
        else validation.check_blob(schema_blob, "schema_blob"),
        profile_blob=None
        if profile_blob is None
        else validation.check_blob(profile_blob, "profile_blob"),
        metadata_json=_metadata_json(metadata),
    )


def _check_message(message: object) -> str:
    if not isinstance(message, str) or "\x00" in message:
        raise InvalidInputError(
            f"message must be text without NUL characters, got {message!r}", field="message"
        )
    return message


def _metadata_json(metadata: Mapping[str, str] | None) -> str:
    if not metadata:
        return "{}"
    clean = {
        validation.check_key(key, "metadata"): validation.check_text(
            value, key=key, kind="metadata"
        )
        for key, value in metadata.items()
    }
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))


def _file_rows(version_id: str, files: Sequence[FileEntry]) -> tuple[list[_FileRow], int]:
    """The rows of ``files`` and their total size; the common case costs a regex per file.

    Raises:
        InvalidInputError: a path that is not relative and canonical (or is given twice), a
            size, blob or mode that is not right.
    """
    rows: list[_FileRow] = []
    total = 0
    match = _FILE_PATH.fullmatch
    for entry in files:
        path, size, blob, mode = entry.path, entry.size, entry.blob, entry.mode
        if (
            type(path) is not str
            or match(path) is None
            or (len(path) > DATASET_PATH_MAX_BYTES // 4 and not _short_enough(path))
        ):
            raise _bad_path(path)
        if type(size) is not int or size < 0:
            size = validation.check_count(size, f"size of {path!r}")
        if type(blob) is not str or not 0 < len(blob) <= BLOB_MAX:
            blob = validation.check_blob(blob, f"blob of {path!r}")
        if type(mode) is not int or not 0 <= mode <= _MODE_MAX:
            mode = _check_mode(mode, path)
        rows.append((version_id, path, size, blob, mode))
        total += size
    rows.sort(key=itemgetter(3))
    if len({row[1] for row in rows}) != len(rows):
        paths = sorted(row[1] for row in rows)
        twice = next(a for a, b in pairwise(paths) if a == b)
        raise InvalidInputError(
            f"dataset file {twice!r} is listed twice", field="files", hint="list each path once"
        )
    return rows, total


def _short_enough(path: str) -> bool:
    return len(path.encode()) <= DATASET_PATH_MAX_BYTES


def _bad_path(path: object) -> InvalidInputError:
    if isinstance(path, str) and _FILE_PATH.fullmatch(path):
        return InvalidInputError(
            f"dataset file path {path[:60]!r}... is longer than {DATASET_PATH_MAX_BYTES} bytes",
            field="files",
        )
    return InvalidInputError(
        f"dataset file path {path!r} must be relative, '/'-separated and canonical (no empty,"
        " '.' or '..' parts, no backslash or NUL)",
        field="files",
        hint="e.g. 'images/cat.png'",
    )


def _check_mode(mode: object, path: str) -> int:
    value = validation.check_count(mode, f"mode of {path!r}")
    if value > _MODE_MAX:
        raise InvalidInputError(
            f"mode of {path!r} must be at most {_MODE_MAX:o} (octal), got {value:o}",
            field=f"mode of {path!r}",
        )
    return value


# -- writing ----------------------------------------------------------------------------------
def create_version(conn: DriverConnection, new: NewVersion) -> tuple[DatasetVersion, bool]:
    """Record ``new`` (and its dataset, if new); the version and whether it is new.

    Raises:
        AlreadyExistsError: the name belongs to a dataset of another project.
        NotFoundError: the source run does not exist.
        ConflictError: the version number stayed taken after several attempts.
    """
    found = _find_content(conn, new)
    if found is not None and found[3] is not None:
        return _to_version(found[3:]), False
    if new.source_run_id is not None:
        require_run(conn, new.source_run_id)
    if found is None:
        row = (new_id(), ensure_project_id(conn, new.project), new.name, now_ms())
        conn.exec_driver_sql(driver_sql(conn, _INSERT_DATASET), row)
    if found is None or conn.dialect.name != "sqlite":
        if conn.dialect.name != "sqlite":
            conn.exec_driver_sql(driver_sql(conn, _LOCK_DATASET), (new.name,))
        found = _find_content(conn, new)
        assert found is not None, "the dataset was inserted or locked above"
    for _ in range(_VERSION_ATTEMPTS):
        if found[3] is not None:  # a concurrent writer recorded the same content
            return _to_version(found[3:]), False
        number, created_at = (found[2] or 0) + 1, now_ms()
        row = new.row(found[0], number, created_at)
        if conn.exec_driver_sql(driver_sql(conn, _INSERT_VERSION), row).rowcount == 1:
            _insert_files(conn, new)
            return new.entity(found[1], number, created_at), True
        found = _find_content(conn, new)
        assert found is not None, "a dataset is never deleted"
    raise ConflictError(
        f"could not assign a version number to dataset {new.name!r}: concurrent writers kept"
        f" taking it ({_VERSION_ATTEMPTS} attempts)",
        field="dataset",
        hint="retry the call",
    )


def _insert_files(conn: DriverConnection, new: NewVersion) -> None:
    if not new.files:
        return
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(driver_sql(conn, _INSERT_FILES), new.files)
        return
    _, paths, sizes, blobs, modes = zip(*new.files, strict=True)
    columns = (new.id, list(paths), list(sizes), list(blobs), list(modes))
    conn.exec_driver_sql(driver_sql(conn, _INSERT_FILES_PG), columns)


def _find_content(conn: DriverConnection, new: NewVersion) -> Sequence[Any] | None:
    """The row of :data:`_FIND_CONTENT` for ``new``; None when there is no such dataset.

    Raises:
        AlreadyExistsError: the dataset belongs to another project.
    """
    sql = driver_sql(conn, _FIND_CONTENT)
    found = conn.exec_driver_sql(sql, (new.content_id, new.name)).first()
    if found is not None and found[1] != new.project:
        raise AlreadyExistsError(
            f"dataset {new.name!r} already exists in project {found[1]!r}; dataset names are"
            " unique across projects",
            field="dataset",
            hint=f"choose another name, or add the version to project {found[1]!r}",
        )
    return cast("Sequence[Any] | None", found)


# -- reading ----------------------------------------------------------------------------------
def _to_version(row: Sequence[Any]) -> DatasetVersion:
    """A :class:`DatasetVersion` from values in the order of :data:`_VERSION_COLUMNS`."""
    (version_id, dataset, project, number, kind, content_id, manifest_blob, file_count,
     total_size, created_at, message, author, source_run_id, num_rows, schema_blob,
     profile_blob, metadata) = row  # fmt: skip
    return DatasetVersion(
        id=version_id,
        dataset=dataset,
        project=project,
        version=number,
        kind=_KINDS[kind],
        content_id=content_id,
        manifest_blob=manifest_blob,
        file_count=file_count,
        total_size=total_size,
        created_at=created_at,
        message=message,
        author=author,
        source_run_id=source_run_id,
        num_rows=num_rows,
        schema_blob=schema_blob,
        profile_blob=profile_blob,
        metadata=_NO_METADATA if metadata == "{}" else MappingProxyType(json.loads(metadata)),
    )


def _no_dataset(name: str) -> NotFoundError:
    return NotFoundError(
        f"dataset {name!r} does not exist",
        field="dataset",
        uri=f"datasets:/{name}",
        hint="list datasets with `loopml data list`",
    )


def _to_dataset(row: Sequence[Any]) -> Dataset:
    return Dataset(
        id=row[0],
        name=row[1],
        project=row[2],
        created_at=row[3],
        description=row[4],
        latest_version=row[5],
        version_count=int(row[6]),
    )


def get_dataset(conn: DriverConnection, name: str) -> Dataset:
    """Dataset ``name`` with its latest version and version count. Raises NotFoundError."""
    sql = driver_sql(conn, f"{_DATASETS} WHERE d.name = ?{_DATASETS_GROUP}")
    row = conn.exec_driver_sql(sql, (name,)).first()
    if row is None:
        raise _no_dataset(name)
    return _to_dataset(row)


def list_datasets(conn: DriverConnection, project: str | None) -> list[Dataset]:
    """The datasets of ``project`` (all when None), by name (code point order)."""
    if project is None:
        rows = conn.exec_driver_sql(driver_sql(conn, _DATASETS + _DATASETS_GROUP)).all()
    else:
        sql = driver_sql(conn, f"{_DATASETS} WHERE p.name = ?{_DATASETS_GROUP}")
        rows = conn.exec_driver_sql(sql, (project,)).all()
    return sorted(map(_to_dataset, rows), key=lambda dataset: dataset.name)


def list_dataset_versions(conn: DriverConnection, name: str) -> list[DatasetVersion]:
    """Every version of dataset ``name``, newest first. Raises NotFoundError."""
    rows = conn.exec_driver_sql(driver_sql(conn, _ALL_VERSIONS), (name,)).all()
    if not rows:
        raise _no_dataset(name)
    return [_to_version(row) for row in rows if row[0] is not None]


def get_dataset_version(conn: DriverConnection, name: str, version: int | None) -> DatasetVersion:
    """Version ``version`` of dataset ``name`` (None: the latest). Raises NotFoundError."""
    if version is None:
        row = conn.exec_driver_sql(driver_sql(conn, _FIND_LATEST), (name,)).first()
    else:
        row = conn.exec_driver_sql(driver_sql(conn, _FIND_VERSION), (version, name)).first()
    if row is None:
        raise _no_dataset(name)
    if row[1] is None:
        wanted = "latest version" if version is None else f"version {version}"
        latest = "it has no versions yet" if row[0] is None else f"its latest is {row[0]}"
        raise NotFoundError(
            f"dataset {name!r} has no {wanted} ({latest})",
            field="version",
            uri=f"datasets:/{name}@latest" if version is None else f"datasets:/{name}/{version}",
            hint=f"list its versions with `loopml data versions {name}`",
        )
    return _to_version(row[1:])


def get_dataset_files(conn: DriverConnection, version_id: str) -> list[FileEntry]:
    """The files of version ``version_id``, by path. Raises NotFoundError."""
    result = conn.exec_driver_sql(driver_sql(conn, _files_sql(conn.dialect.name)), (version_id,))
    rows = fetch_tuples(result)
    if (
        not rows
        and conn.exec_driver_sql(driver_sql(conn, _VERSION_EXISTS), (version_id,)).first() is None
    ):
        raise NotFoundError(
            f"dataset version {version_id!r} does not exist",
            field="version_id",
            hint="find version ids with `loopml data versions NAME`",
        )
    return [FileEntry(path, size, blob, mode) for path, size, blob, mode in rows]
