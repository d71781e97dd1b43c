"""Blob ids: a blob is named by the BLAKE3 hex of its content; its URI is ``blake3:<hex>``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from loopml.errors import InvalidInputError

__all__ = ["BLOB_SCHEME", "BlobInfo", "blob_uri", "check_blob", "parse_blob_uri"]

#: The scheme of a blob URI: ``blake3:<hex>``.
BLOB_SCHEME = "blake3"
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """A stored blob: its BLAKE3 hex and its size in bytes.

    Example:
        >>> info = BlobInfo("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262", 0)
        >>> info.uri
        'blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'
    """

    hex: str
    size: int

    @property
    def uri(self) -> str:
        """The blob's URI, ``blake3:<hex>``."""
        return blob_uri(self.hex)


def blob_uri(blob: str) -> str:
    """The URI ``blake3:<hex>`` of a blob given by hex (or already by URI).

    Raises:
        InvalidInputError: ``blob`` is not 64 lowercase hex characters (``field="blob"``).

    Example:
        >>> blob_uri("af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
        'blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'
    """
    return f"{BLOB_SCHEME}:{check_blob(blob)}"


def parse_blob_uri(uri: str) -> str:
    """The hex of a ``blake3:<hex>`` URI.

    Raises:
        InvalidInputError: not a ``blake3:`` URI with 64 lowercase hex characters.

    Example:
        >>> parse_blob_uri("blake3:" + "0" * 64) == "0" * 64
        True
    """
    scheme, sep, rest = uri.partition(":") if isinstance(uri, str) else ("", "", "")
    if not sep or scheme != BLOB_SCHEME or not _HEX.fullmatch(rest):
        raise InvalidInputError(
            f"not a blob URI: {uri!r}",
            field="blob",
            uri=uri if isinstance(uri, str) else None,
            hint="expected blake3:<64 lowercase hex characters>",
        )
    return rest


def check_blob(blob: str) -> str:
    """The hex of ``blob``, given as hex or as a ``blake3:`` URI; anything else is refused.

    Only ids that pass this check reach a backend, so no user input becomes a path.
    """
    if isinstance(blob, str):
        if _HEX.fullmatch(blob):
            return blob
        if blob.startswith(f"{BLOB_SCHEME}:"):
            return parse_blob_uri(blob)
    raise InvalidInputError(
        f"not a blob id: {blob!r}",
        field="blob",
        hint="expected 64 lowercase hex characters (a BLAKE3 digest) or blake3:<hex>",
    )
