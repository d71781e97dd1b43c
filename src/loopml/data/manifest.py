"""The manifest of a dataset version: its files, canonically serialized and hashed.

The content id of a version is the BLAKE3 of its canonical manifest, so the same files (same
relative paths, sizes, hashes and modes) always give the same id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from blake3 import blake3

from loopml.entities import DatasetKind, FileEntry
from loopml.errors import CorruptObjectError

__all__ = ["MANIFEST_FORMAT", "canonical_manifest", "content_id_of", "parse_manifest"]

MANIFEST_FORMAT = 1


def canonical_manifest(
    files: Sequence[FileEntry], kind: DatasetKind, extra: Mapping[str, Any] | None = None
) -> bytes:
    """The manifest as canonical JSON bytes (files sorted by path, compact, sorted keys).

    ``extra`` holds kind-specific content that is part of the identity (e.g. a table's
    schema hash); it must be JSON-able.
    """
    body: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "kind": kind.value,
        "files": [[f.path, f.size, f.blob, f.mode] for f in sorted(files, key=lambda f: f.path)],
    }
    if extra:
        body["extra"] = dict(extra)
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def content_id_of(manifest: bytes) -> str:
    """The version's content id: the BLAKE3 hex of its canonical manifest."""
    return blake3(manifest).hexdigest()


def parse_manifest(data: bytes) -> tuple[DatasetKind, list[FileEntry], dict[str, Any]]:
    """Read a manifest written by :func:`canonical_manifest`.

    Raises:
        CorruptObjectError: the bytes are not a manifest.
    """
    try:
        body = json.loads(data)
        kind = DatasetKind(body["kind"])
        files = [FileEntry(p, int(s), b, int(m)) for p, s, b, m in body["files"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptObjectError(f"not a loopml manifest: {exc}") from exc
    return kind, files, dict(body.get("extra", {}))
