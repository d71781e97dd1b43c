"""Packs: many small blobs in one file, git-packfile style.

Writing 20,000 small files costs 20,000 file creations, and on some disks (a VM's ext4 here)
a creation costs 50 µs to over 1 ms while the bytes themselves cost nothing. So
:meth:`~loopml.objects.ObjectStore.put_files` of many files puts the small ones
(≤ :data:`PACK_MAX_BLOB`) into one *pack* instead of one file each::

    <root>/packs/<id>.pack   the blobs' bytes, back to back
    <root>/packs/<id>.idx    which blob is where: sorted (BLAKE3 digest, offset, size)
                             records, then a BLAKE3 checksum of all of it; <id> is that
                             checksum's hex

Content addressing stays per blob: a packed blob has the same id as a loose one and is read,
verified, listed, pushed and collected by the same :class:`~loopml.objects.ObjectStore`
methods. The index is the commit point: the pack is made durable and moved into place first,
its index last, so a reader never sees an index whose pack is incomplete; a pack file
without an index is invisible and ``gc`` removes it after the grace period. An index that
does not match its checksum (a torn write on a store without atomic writes) is ignored.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import sys
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from blake3 import blake3

if TYPE_CHECKING:
    from loopml.objects._backend import Backend

__all__ = [
    "PACK_DIR",
    "PACK_MAX_BLOB",
    "PACK_MAX_BYTES",
    "PACK_MIN_FILES",
    "PackIndex",
    "PackLoc",
    "PackStat",
    "STALE_TEMP_PACK_S",
    "PackWriter",
    "SealedPack",
    "decode_index",
    "encode_index",
    "is_pack_id",
    "sweep_stale_temp_packs",
]

#: The folder, under the root, that holds packs and their indexes.
PACK_DIR = "packs"
#: Blobs up to this size are packed; larger ones stay loose files (one file costs nothing
#: next to their bytes, and a checkout can link them).
PACK_MAX_BLOB = 64 * 2**10
#: ``put_files`` packs only when it stores at least this many files: a few files are cheaper
#: loose than as a pack plus an index, and stay linkable.
PACK_MIN_FILES = 32
#: A pack is closed and a new one started beyond this many bytes.
PACK_MAX_BYTES = 256 * 2**20
#: Bytes gathered in memory before a write to the pack file (one syscall per this many
#: bytes, not one per blob).
_WRITE_BUFFER = 2**20

_FADVISE = getattr(os, "posix_fadvise", None) if sys.platform.startswith("linux") else None
_MAGIC = b"LMPACK1\n"
_ENTRY = struct.Struct("<32sQQ")
_TRAILER = 32
_ID = re.compile(r"[0-9a-f]{64}")


class PackLoc(NamedTuple):
    """Where a packed blob is: its pack's id, its offset in the pack, its size."""

    pack: str
    offset: int
    size: int


class PackStat(NamedTuple):
    """A pack under ``packs/``: its id, the pack file's size, the modification time that
    ``gc`` ages it by (the index's, which a dedup refreshes), and which files exist."""

    pack: str
    size: int
    mtime: float
    has_pack: bool
    has_index: bool


class SealedPack(NamedTuple):
    """A complete pack in a local temp file, with its encoded index, not yet stored."""

    pack: str
    path: str
    index_bytes: bytes
    entries: dict[str, PackLoc]


def is_pack_id(name: str) -> bool:
    return _ID.fullmatch(name) is not None


def encode_index(entries: dict[str, tuple[int, int]]) -> tuple[str, bytes]:
    """The pack id and the index bytes of ``{blob: (offset, size)}``."""
    body = bytearray(_MAGIC)
    pack = _ENTRY.pack
    for blob in sorted(entries):
        offset, size = entries[blob]
        body += pack(bytes.fromhex(blob), offset, size)
    digest = blake3(body).digest()
    return digest.hex(), bytes(body + digest)


def decode_index(pack: str, data: bytes) -> dict[str, PackLoc]:
    """``{blob: PackLoc}`` of an index.

    Raises:
        ValueError: not an index, or not the index of ``pack`` (a checksum mismatch).
    """
    head = len(_MAGIC)
    if (
        len(data) < head + _TRAILER
        or data[:head] != _MAGIC
        or (len(data) - head - _TRAILER) % _ENTRY.size
    ):
        raise ValueError(f"packs/{pack}.idx is not a pack index")
    body = memoryview(data)[: len(data) - _TRAILER]
    trailer = data[len(data) - _TRAILER :]
    if blake3(body).digest() != trailer or trailer.hex() != pack:
        raise ValueError(f"packs/{pack}.idx does not match its checksum")
    return {
        digest.hex(): PackLoc(pack, offset, size)
        for digest, offset, size in _ENTRY.iter_unpack(body[head:])
    }


#: A temp pack of a process that is gone is removed once it is this old (seconds).
STALE_TEMP_PACK_S = 600.0
_TEMP_PACK = re.compile(r"pack-([0-9a-f]+)-[0-9a-f]{16}")


def sweep_stale_temp_packs(folder: str, *, now: float | None = None) -> list[str]:
    """Remove the temp packs in ``folder`` that a crashed process left: named by a process
    that no longer runs and older than :data:`STALE_TEMP_PACK_S`. The names removed.

    A local store's temps are under its own ``tmp/``, which ``gc`` cleans; a remote store
    builds its packs in the machine's temp folder, where nothing else would."""
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return removed
    for entry in entries:
        found = _TEMP_PACK.fullmatch(entry.name)
        if found is None or _running(int(found.group(1), 16)):
            continue
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if now - entry.stat(follow_symlinks=False).st_mtime >= STALE_TEMP_PACK_S:
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class PackWriter:
    """Small blobs appended to local temp pack files by many threads; :meth:`seal` ends them.

    Nothing is fsynced here: the batch that stores the packs makes them durable (one
    ``syncfs`` locally, an upload elsewhere) before their indexes appear.
    """

    def __init__(self, temp_dir: str, *, max_bytes: int = PACK_MAX_BYTES) -> None:
        self._dir = temp_dir
        self._max = max_bytes
        self._lock = threading.Lock()
        self._fd = -1
        self._path = ""
        self._offset = 0
        self._pending = bytearray()
        self._entries: dict[str, tuple[int, int]] = {}
        self._all: set[str] = set()
        self._sealed: list[SealedPack] = []
        self._paths: list[str] = []

    def has(self, blob: str) -> bool:
        return blob in self._all

    def add(self, blob: str, data: memoryview) -> bool:
        """Append ``blob``'s bytes; False if this writer has it already."""
        with self._lock:
            if blob in self._all:
                return False
            if self._fd < 0:
                self._open()
            self._entries[blob] = (self._offset, len(data))
            self._all.add(blob)
            self._offset += len(data)
            self._pending += data
            if len(self._pending) >= _WRITE_BUFFER:
                self._flush()
            if self._offset >= self._max:
                self._seal_current()
        return True

    def _flush(self) -> None:
        start = self._offset - len(self._pending)
        length = len(self._pending)
        while self._pending:  # a regular file takes it all at once; a short write loops
            del self._pending[: os.write(self._fd, self._pending)]
        if _FADVISE is not None and length:
            # Start writing it to disk now (Linux starts writeback of a dirty range on
            # DONTNEED): the fsync that makes the pack durable then waits for the tail only.
            _FADVISE(self._fd, start, length, os.POSIX_FADV_DONTNEED)

    def seal(self) -> list[SealedPack]:
        """Close the pack being written; every complete pack, ready to be stored."""
        with self._lock:
            if self._fd >= 0:
                self._seal_current()
            return list(self._sealed)

    def discard(self) -> None:
        """Remove every temp pack file (after an error, or once stored)."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            paths, self._paths = self._paths, []
            self._sealed = []
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _open(self) -> None:
        os.makedirs(self._dir, exist_ok=True)
        name = f"pack-{os.getpid():x}-{os.urandom(8).hex()}"
        self._path = os.path.join(self._dir, name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        self._fd = os.open(self._path, flags, 0o600)
        self._paths.append(self._path)
        self._offset = 0
        self._pending.clear()
        self._entries = {}

    def _seal_current(self) -> None:
        self._flush()
        if hasattr(os, "fchmod"):
            os.fchmod(self._fd, 0o444)  # read-only, as loose blobs are
        os.close(self._fd)
        self._fd = -1
        pack, index = encode_index(self._entries)
        located = {
            blob: PackLoc(pack, offset, size) for blob, (offset, size) in self._entries.items()
        }
        self._sealed.append(SealedPack(pack, self._path, index, located))


class PackIndex:
    """The blobs of every pack of one store, loaded lazily and refreshed on a miss.

    Thread-safe. Another process's new packs are found by :meth:`refresh` (a listing of
    ``packs/``), which a lookup that misses runs once; packs that ``gc`` deleted are dropped.
    """

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self._loaded = False
        self._by_pack: dict[str, dict[str, PackLoc]] = {}
        self._mtimes: dict[str, float] = {}
        self._blobs: dict[str, PackLoc] = {}
        self._touched: set[str] = set()

    def refresh(self) -> None:
        """List ``packs/``: load new indexes, drop deleted packs."""
        listing = {stat.pack: stat for stat in self._backend.list_packs() if stat.has_index}
        with self._lock:
            new = [pack for pack in listing if pack not in self._by_pack]
        loaded: dict[str, dict[str, PackLoc]] = {}
        for pack in new:
            try:
                loaded[pack] = decode_index(pack, self._backend.read_pack_index(pack))
            except (ValueError, FileNotFoundError):
                continue  # torn or being deleted: its blobs count as absent
        with self._lock:
            gone = [pack for pack in self._by_pack if pack not in listing]
            for pack in gone:
                del self._by_pack[pack]
                self._mtimes.pop(pack, None)
            for pack, entries in loaded.items():
                self._by_pack[pack] = entries
            for pack in self._by_pack:
                if pack in listing:
                    self._mtimes[pack] = listing[pack].mtime
            if gone:
                self._blobs = {}
                for entries in self._by_pack.values():
                    self._blobs.update(entries)
            else:
                for entries in loaded.values():
                    self._blobs.update(entries)
            self._loaded = True

    def add_sealed(self, packs: Iterable[SealedPack]) -> None:
        """Know packs this process has just stored (no listing needed)."""
        now = time.time()
        with self._lock:
            for sealed in packs:
                self._by_pack[sealed.pack] = sealed.entries
                self._mtimes[sealed.pack] = now
                self._blobs.update(sealed.entries)
                self._touched.add(sealed.pack)

    def cached(self, blob: str) -> PackLoc | None:
        """The blob's location if the index is loaded and has it (no I/O)."""
        return self._blobs.get(blob)

    def locate(self, blob: str, *, refresh: bool = True) -> PackLoc | None:
        """The blob's location; on a miss, the listing is refreshed once (if ``refresh``)."""
        if not self._loaded:
            self.refresh()
        loc = self._blobs.get(blob)
        if loc is None and refresh:
            self.refresh()
            loc = self._blobs.get(blob)
        return loc

    def locate_many(self, blobs: Iterable[str], *, refresh: bool = True) -> dict[str, PackLoc]:
        """The packed ones among ``blobs``; one refresh if any is missing."""
        wanted = list(blobs)
        if not self._loaded:
            self.refresh()
        found = {blob: loc for blob in wanted if (loc := self._blobs.get(blob)) is not None}
        if refresh and len(found) < len(wanted):
            self.refresh()
            found = {blob: loc for blob in wanted if (loc := self._blobs.get(blob)) is not None}
        return found

    def mtime(self, pack: str) -> float:
        return self._mtimes.get(pack, 0.0)

    def entries(self, pack: str) -> dict[str, PackLoc] | None:
        return self._by_pack.get(pack)

    def protect(self, pack: str) -> bool:
        """Renew the pack's age so that a running ``gc`` keeps it (once per pack and
        process); False where the backend cannot (the caller then stores the blob again)."""
        if pack in self._touched:
            return True
        if not self._backend.touch_pack(pack):
            return False
        with self._lock:
            self._touched.add(pack)
            self._mtimes[pack] = time.time()
        return True

    def forget(self, pack: str) -> None:
        """Drop a pack that was deleted or found missing."""
        with self._lock:
            if self._by_pack.pop(pack, None) is None:
                return
            self._mtimes.pop(pack, None)
            self._touched.discard(pack)
            self._blobs = {}
            for entries in self._by_pack.values():
                self._blobs.update(entries)
