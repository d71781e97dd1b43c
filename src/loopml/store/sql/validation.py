"""Checks on what callers hand the store, before anything reaches the database.

Each check raises :class:`~loopml.errors.InvalidInputError` naming the field and the fix, so
a bad key never turns into a driver error (PostgreSQL refuses NUL characters and over-long
values that SQLite would silently accept).
"""

from __future__ import annotations

import math
import re

from loopml.errors import InvalidInputError
from loopml.store.sql.limits import BLOB_MAX, KEY_MAX, NAME_MAX, VALUE_MAX

__all__ = [
    "ARTIFACT_PATH_MAX_BYTES",
    "check_artifact_path",
    "check_blob",
    "check_count",
    "check_key",
    "check_name",
    "check_run_id",
    "check_text",
    "check_timestamp",
]

#: Longest artifact path, in UTF-8 bytes (it is part of a primary key).
ARTIFACT_PATH_MAX_BYTES = 1024
_RUN_ID = re.compile(r"[0-9a-f]{32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(value: object, field: str) -> str:
    """A project or run name: non-empty text, at most :data:`NAME_MAX` characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{field} must be a non-empty string, got {value!r}", field=field)
    if len(value) > NAME_MAX:
        raise InvalidInputError(
            f"{field} is {len(value)} characters long; the limit is {NAME_MAX}",
            field=field,
            hint="use a shorter name",
        )
    if _CONTROL.search(value):
        raise InvalidInputError(
            f"{field} {value!r} contains control characters", field=field, hint="remove them"
        )
    return value


def check_key(key: object, kind: str) -> str:
    """A metric, param or tag key: non-empty, at most :data:`KEY_MAX` characters, printable."""
    if not isinstance(key, str) or not key:
        raise InvalidInputError(f"{kind} key must be a non-empty string, got {key!r}", field=kind)
    if len(key) > KEY_MAX:
        raise InvalidInputError(
            f"{kind} key {key[:40]!r}... is {len(key)} characters long; the limit is {KEY_MAX}",
            field=key,
            hint="use a shorter key",
        )
    if _CONTROL.search(key):
        raise InvalidInputError(
            f"{kind} key {key!r} contains control characters", field=key, hint="remove them"
        )
    return key


def check_text(value: object, *, key: str, kind: str) -> str:
    """A param or tag value: a string of at most :data:`VALUE_MAX` characters, without NUL."""
    if not isinstance(value, str):
        raise InvalidInputError(
            f"{kind} {key!r} must have a string value, got {type(value).__name__}",
            field=key,
            hint="convert the value with str() first",
        )
    if len(value) > VALUE_MAX:
        raise InvalidInputError(
            f"{kind} {key!r} has a value of {len(value)} characters; the limit is {VALUE_MAX}",
            field=key,
            hint="log long text as an artifact instead",
        )
    if "\x00" in value:
        raise InvalidInputError(f"{kind} {key!r} contains a NUL character", field=key)
    return value


def check_timestamp(value: object, field: str) -> int:
    """An integer (milliseconds or step); bools and non-integral floats are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        raise InvalidInputError(f"{field} must be an integer, got {value!r}", field=field)
    return value


def check_count(value: object, field: str) -> int:
    """A count or size: an integer >= 0 (bools and non-integral floats are refused)."""
    count = check_timestamp(value, field)
    if count < 0:
        raise InvalidInputError(f"{field} must be >= 0, got {value!r}", field=field)
    return count


def check_blob(value: object, field: str) -> str:
    """A blob hash or content id: non-empty printable text of at most :data:`BLOB_MAX`."""
    if not isinstance(value, str) or not value or len(value) > BLOB_MAX or _CONTROL.search(value):
        raise InvalidInputError(
            f"{field} must be a hash of 1 to {BLOB_MAX} printable characters, got {value!r}",
            field=field,
        )
    return value


def check_run_id(run_id: object) -> str:
    """A run id given by the caller: 32 lower-case hex characters, as :func:`new_id` makes."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise InvalidInputError(
            f"run id {run_id!r} is not 32 lower-case hex characters",
            field="run_id",
            hint="leave run_id out to get a new id",
        )
    return run_id


def check_artifact_path(path: object, field: str = "path") -> str:
    """A relative artifact path, normalised: no leading '/', no '.' or '..' parts, '/' only."""
    if not isinstance(path, str) or not path.strip("/"):
        raise InvalidInputError(
            f"artifact {field} must be a non-empty path, got {path!r}", field=field
        )
    if path.startswith("/") or "\\" in path or "\x00" in path:
        raise InvalidInputError(
            f"artifact {field} {path!r} must be relative and use '/' separators",
            field=field,
            hint="e.g. 'model/weights.bin'",
        )
    parts = [part for part in path.split("/") if part]
    if any(part in {".", ".."} for part in parts):
        raise InvalidInputError(
            f"artifact {field} {path!r} may not contain '.' or '..' parts", field=field
        )
    clean = "/".join(parts)
    if len(clean.encode()) > ARTIFACT_PATH_MAX_BYTES:
        raise InvalidInputError(
            f"artifact {field} is longer than {ARTIFACT_PATH_MAX_BYTES} bytes", field=field
        )
    return clean
