"""Open a Store from a tracking URI."""

from __future__ import annotations

from loopml.errors import InvalidInputError
from loopml.store.base import Store

__all__ = ["open_store"]


def open_store(uri: str) -> Store:
    """Open the metadata store at ``uri``, migrating its schema if needed.

    Args:
        uri: ``sqlite:///path/loopml.db`` or ``postgresql+psycopg://user@host/db``.

    Raises:
        InvalidInputError: the URI has a scheme loopml does not know.
        SchemaVersionError: the database was written by a newer loopml.

    Example:
        >>> store = open_store("sqlite:///:memory:")  # doctest: +SKIP
    """
    scheme = uri.split(":", 1)[0].lower()
    if scheme.startswith(("sqlite", "postgresql")):
        from loopml.store.sql.store import SqlStore

        return SqlStore(uri)
    raise InvalidInputError(
        f"unsupported tracking URI {uri!r}",
        field="tracking_uri",
        uri=uri,
        hint="use sqlite:///path/loopml.db or postgresql+psycopg://user@host/db",
    )
