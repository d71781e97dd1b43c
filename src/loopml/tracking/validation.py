"""Checks on what users log: names, values and artifact paths. Fails fast, naming the field."""

from __future__ import annotations

import math
import posixpath
import re
from numbers import Real

from loopml.errors import InvalidInputError

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_PARAM_LENGTH",
    "check_artifact_path",
    "check_key",
    "metric_value",
    "param_text",
]

MAX_KEY_LENGTH = 250
MAX_PARAM_LENGTH = 8000
MAX_TAG_LENGTH = 8000
_KEY = re.compile(r"^[A-Za-z0-9_\-./: ]+$")
_valid_keys: set[str] = set()


def check_key(key: object, kind: str) -> str:
    """Return ``key`` if it is a valid metric/param/tag name, else raise InvalidInputError."""
    if type(key) is str and key in _valid_keys:
        return key
    if not isinstance(key, str) or not key:
        raise InvalidInputError(f"{kind} name must be a non-empty string, got {key!r}", field=kind)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"{kind} name is {len(key)} characters; the limit is {MAX_KEY_LENGTH}", field=key
        )
    if not _KEY.match(key) or key.startswith("/") or ".." in key.split("/"):
        raise InvalidInputError(
            f"{kind} name {key!r} has characters loopml does not allow",
            field=key,
            hint="use letters, digits, spaces and _ - . / :",
        )
    if len(_valid_keys) < 100_000:
        _valid_keys.add(key)
    return key


def metric_value(key: str, value: object) -> float:
    """``value`` as a float (NaN and infinities allowed), or InvalidInputError naming the key."""
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, Real):
        # numpy scalars and 0-d arrays expose __float__ but are not registered as Real
        if (
            not isinstance(value, bool)
            and hasattr(value, "__float__")
            and not isinstance(value, str | bytes)
        ):
            try:
                return float(value)
            except (TypeError, ValueError):
                pass
        raise InvalidInputError(
            f"metric {key!r} must be a number, got {type(value).__name__} {value!r}",
            field=key,
            hint="log numbers as metrics and text as params or tags",
        )
    return float(value)


def param_text(key: str, value: object, *, limit: int = MAX_PARAM_LENGTH) -> str:
    """The text stored for a param or tag value."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, float) and math.isfinite(value) and value == int(value):
        text = repr(value)
    else:
        text = str(value)
    if len(text) > limit:
        raise InvalidInputError(
            f"value of {key!r} is {len(text)} characters; the limit is {limit}",
            field=key,
            hint="log long text as an artifact with log_text()",
        )
    return text


def check_artifact_path(path: str) -> str:
    """Normalize a run-relative artifact path; refuse absolute paths and ``..`` escapes."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidInputError("artifact path must be a non-empty string", field="artifact_path")
    clean = posixpath.normpath(path.replace("\\", "/"))
    if clean.startswith(("/", "../")) or clean in {"..", "."}:
        raise InvalidInputError(
            f"artifact path {path!r} must stay inside the run",
            field="artifact_path",
            hint="use a relative path such as 'plots/roc.png'",
        )
    return clean
