"""The one small interface every object-store backend implements.

:class:`~loopml.objects.store.ObjectStore` does the hashing, validation and verification;
a backend only moves bytes under a root: a local folder (:mod:`._local`, plain ``os`` calls)
or anything fsspec reaches (:mod:`._fsspec`, S3 through s3fs). Backends take blob ids that
the store has already validated (64 lowercase hex characters), so they never see user paths.

A backend reports a missing blob with :class:`FileNotFoundError`; the store turns it into
:class:`~loopml.errors.NotFoundError`. Other failures are the errors listed in
:attr:`Backend.errors`, which the store wraps into :class:`~loopml.errors.ObjectStoreError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from loopml.objects._packs import PackStat, SealedPack

__all__ = ["Backend", "BlobStat", "RawReader", "TempBlob", "TempStat", "WriteBatch", "blob_key"]

#: The folder, under the root, that holds blobs still being written.
TEMP_DIR = "tmp"


class BlobStat(NamedTuple):
    """One stored blob: its BLAKE3 hex, its size in bytes, its modification time (epoch s)."""

    hex: str
    size: int
    mtime: float


class TempStat(NamedTuple):
    """One temp file under ``tmp/``: its name, size in bytes and modification time (epoch s)."""

    name: str
    size: int
    mtime: float


def blob_key(blob: str) -> str:
    """The relative key of a blob under the root: ``ab/cdef…`` (git's fan-out)."""
    return f"{blob[:2]}/{blob[2:]}"


class RawReader(Protocol):
    """The part of a binary file the verifying reader needs."""

    def readinto(self, buffer: memoryview, /) -> int | None: ...

    def close(self) -> None: ...


class TempBlob(Protocol):
    """A blob being written: bytes go to a temp object, then commit makes it visible."""

    def write(self, data: memoryview) -> None:
        """Append ``data`` (a view of a reused buffer: copy it if you keep it)."""

    def commit(self, blob: str, size: int) -> None:
        """Make the temp object visible as ``blob`` (atomic; dedups against an existing one)."""

    def abort(self) -> None:
        """Remove the temp object; safe to call after a failed write or commit."""


class WriteBatch(Protocol):
    """Many blobs written together and made durable at once (see ``ObjectStore.put_files``).

    Temps come from :meth:`create_temp`; their ``commit`` only queues them. :meth:`finish`
    makes every queued blob durable and visible with one barrier; :meth:`abort` drops them.
    Thread-safe: workers create, write and commit temps concurrently.
    """

    def create_temp(self, *, direct: bool = False) -> TempBlob: ...

    def add_packs(self, packs: list[SealedPack]) -> None:
        """Store these sealed packs at :meth:`finish` (pack first, index last)."""

    def has(self, blob: str) -> bool:
        """Whether ``blob`` is stored or queued already (then it need not be written). A
        stored one has its modification time refreshed, which protects it from ``gc``."""

    def finish(self) -> None: ...

    def abort(self) -> None: ...


class Backend(Protocol):
    """Byte mover under one root. See the module docstring for the error contract."""

    url: str
    errors: tuple[type[BaseException], ...]

    def create_temp(self, *, direct: bool = False) -> TempBlob:
        """A new temp blob; ``direct`` hints that a large blob follows, written from
        page-aligned buffers (the local backend then bypasses the page cache)."""

    def begin_batch(self) -> WriteBatch: ...

    def local_path(self, blob: str) -> str | None:
        """The blob's file on this machine (None for remote stores)."""

    def open_read(self, blob: str) -> tuple[RawReader, int]:
        """The blob opened for reading and its size."""

    def stat(self, blob: str) -> BlobStat: ...

    def exists(self, blob: str) -> bool: ...

    def exists_many(self, blobs: set[str], *, refresh: bool = False) -> set[str]:
        """The stored ones among ``blobs``; ``refresh`` renews their modification time where
        the backend can (a local folder), so ``gc`` keeps them for a grace period."""

    def iter_blobs(self) -> Iterator[BlobStat]: ...

    def delete(self, blob: str, *, missing_ok: bool) -> None: ...

    def iter_temps(self) -> Iterator[TempStat]: ...

    def delete_temp(self, name: str) -> None: ...

    # Packs (see loopml.objects._packs): many small blobs in one file.

    def pack_temp_dir(self) -> str:
        """A local folder where packs are built before they are stored."""

    def list_packs(self) -> list[PackStat]: ...

    def read_pack_index(self, pack: str) -> bytes: ...

    def read_range(self, pack: str, offset: int, size: int) -> bytes:
        """``size`` bytes of a pack from ``offset`` (fewer if the pack is truncated)."""

    def touch_pack(self, pack: str) -> bool:
        """Renew the pack's modification time (gc grace); False where impossible."""

    def delete_pack(self, pack: str) -> None:
        """Delete a pack's index, then the pack (missing files are fine)."""

    def close(self) -> None: ...
