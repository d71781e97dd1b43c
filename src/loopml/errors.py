"""The one error hierarchy of loopml.

Library code raises these; only the CLI and the servers turn them into messages, exit codes
and HTTP statuses (see :data:`EXIT_CODES` and :data:`HTTP_STATUSES`)::

    LoopmlError (Exception)
    ├── InvalidInputError (ValueError)      bad argument, filter, URI, name      exit 2, HTTP 400
    │   ├── FilterSyntaxError               a search filter that does not parse   exit 2, HTTP 400
    │   └── SignatureError                  predict input breaks the signature    exit 2, HTTP 400
    ├── NotFoundError (LookupError)         unknown run, project, artifact, blob  exit 1, HTTP 404
    ├── AlreadyExistsError                  a name that is taken                  exit 1, HTTP 409
    ├── ConflictError                       a write that contradicts stored state exit 1, HTTP 409
    │   └── ParamConflictError              a param logged again with a new value
    ├── PermissionDeniedError               not allowed                           exit 1, HTTP 403
    ├── UnsafeContentError                  pickle/untrusted types refused        exit 1, HTTP 422
    ├── EnvironmentMismatchError            interpreter differs from the model's  exit 1, HTTP 500
    ├── MissingExtraError (ImportError)     optional dependency not installed     exit 1, HTTP 500
    ├── StoreError                          the metadata store failed             exit 1, HTTP 500
    │   └── SchemaVersionError              database newer than this code         exit 1, HTTP 500
    └── ObjectStoreError (OSError)          the blob store failed                 exit 1, HTTP 500
        └── CorruptObjectError              a blob whose bytes do not match its hash

Every error carries the context that explains it: ``field`` for the offending input,
``uri`` or ``run_id`` where one is involved, and ``hint`` (what to do about it).
"""

from __future__ import annotations

__all__ = [
    "EXIT_CODES",
    "HTTP_STATUSES",
    "AlreadyExistsError",
    "ConflictError",
    "CorruptObjectError",
    "FilterSyntaxError",
    "InvalidInputError",
    "LoopmlError",
    "MissingExtraError",
    "NotFoundError",
    "ObjectStoreError",
    "ParamConflictError",
    "PermissionDeniedError",
    "SchemaVersionError",
    "SignatureError",
    "EnvironmentMismatchError",
    "UnsafeContentError",
    "StoreError",
    "exit_code_for",
    "http_status_for",
]


class LoopmlError(Exception):
    """Base of every error loopml raises on purpose.

    Args:
        message: What went wrong, in one sentence.
        field: The offending input (argument, option, filter token, column), if any.
        uri: The URI involved, if any.
        run_id: The run involved, if any.
        hint: What the user can do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        uri: str | None = None,
        run_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.uri = uri
        self.run_id = run_id
        self.hint = hint

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return text

    def to_dict(self) -> dict[str, str]:
        """The error as a JSON-able mapping (the servers' error body)."""
        body = {"error": type(self).__name__, "message": self.message}
        for key in ("field", "uri", "run_id", "hint"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return body


class InvalidInputError(LoopmlError, ValueError):
    """An argument, option, name, URI or value is not acceptable."""


class FilterSyntaxError(InvalidInputError):
    """A search filter that does not parse; ``position`` is the 0-based offset of the bad token."""

    def __init__(self, message: str, *, position: int, token: str, text: str) -> None:
        pointer = f"\n  {text}\n  {' ' * position}^"
        super().__init__(
            f"{message} at position {position} (near {token!r}){pointer}",
            field="filter",
            hint="see `loopml runs list --help` for the filter grammar",
        )
        self.position = position
        self.token = token
        self.text = text


class SignatureError(InvalidInputError):
    """Input to a model's ``predict`` that does not match its signature.

    ``field`` names the offending column (or tensor input); the message says what was
    expected (dtype, shape) and what was given.
    """


class NotFoundError(LoopmlError, LookupError):
    """A run, project, artifact, blob or version that does not exist."""


class AlreadyExistsError(LoopmlError):
    """Something with that name or id already exists."""


class ConflictError(LoopmlError):
    """A write that contradicts what is already stored."""


class ParamConflictError(ConflictError):
    """A param logged again with a different value (params are immutable once logged)."""


class PermissionDeniedError(LoopmlError):
    """The caller may not do this."""


class UnsafeContentError(LoopmlError):
    """Content that would run code on load (pickle, untrusted skops types) and was refused.

    The hint says how to opt in (``allow_pickle=True`` or trusting the listed types) when
    the source is trusted.
    """


class EnvironmentMismatchError(LoopmlError):
    """The running interpreter does not match the environment a model was saved with."""


class MissingExtraError(LoopmlError, ImportError):
    """An optional dependency is needed; the message says which ``pip install`` brings it."""

    def __init__(self, feature: str, extra: str, package: str) -> None:
        super().__init__(
            f"{feature} needs the optional package {package!r}",
            hint=f"pip install 'loopml[{extra}]'",
        )
        self.extra = extra
        self.package = package


class StoreError(LoopmlError):
    """The metadata store failed (connection, migration, database error)."""


class SchemaVersionError(StoreError):
    """The database was written by a newer loopml than this one."""


class ObjectStoreError(LoopmlError, OSError):
    """The blob store failed to read or write."""


class CorruptObjectError(ObjectStoreError):
    """A blob whose content does not match its BLAKE3 hash."""


#: CLI exit code per error class; the most specific class listed wins.
EXIT_CODES: dict[type[LoopmlError], int] = {
    InvalidInputError: 2,
    LoopmlError: 1,
}

#: HTTP status per error class; the most specific class listed wins.
HTTP_STATUSES: dict[type[LoopmlError], int] = {
    InvalidInputError: 400,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    AlreadyExistsError: 409,
    ConflictError: 409,
    UnsafeContentError: 422,
    LoopmlError: 500,
}


def _lookup(table: dict[type[LoopmlError], int], error: LoopmlError) -> int:
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return table[LoopmlError]


def exit_code_for(error: LoopmlError) -> int:
    """The CLI exit code for ``error`` (2 for usage errors, 1 otherwise)."""
    return _lookup(EXIT_CODES, error)


def http_status_for(error: LoopmlError) -> int:
    """The HTTP status for ``error`` (4xx for the caller's mistakes, 500 otherwise)."""
    return _lookup(HTTP_STATUSES, error)
