"""Content-addressed blob store: BLAKE3 keys, atomic writes, verify on read, dedup, gc.

Example:
    >>> import tempfile
    >>> from loopml.objects import open_object_store
    >>> store = open_object_store(tempfile.mkdtemp())
    >>> info = store.put_bytes(b"weights")
    >>> store.get_bytes(info.uri)
    b'weights'
"""

from __future__ import annotations

from loopml.objects.blobs import BLOB_SCHEME, BlobInfo, blob_uri, parse_blob_uri
from loopml.objects.gc import GcReport, collect_garbage
from loopml.objects.store import BlobStat, ObjectStore, open_object_store

__all__ = [
    "ObjectStore",
    "open_object_store",
    "BlobInfo",
    "BlobStat",
    "BLOB_SCHEME",
    "blob_uri",
    "parse_blob_uri",
    "GcReport",
    "collect_garbage",
]
