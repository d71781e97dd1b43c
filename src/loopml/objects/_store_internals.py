"""What :class:`~loopml.objects.store.ObjectStore` shares with garbage collection: reading
packs, listing loose blobs, packs and temp files, deleting them, and turning backend failures
into loopml errors. A base class of ``ObjectStore``; nothing else uses it."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

from loopml.errors import LoopmlError, NotFoundError, ObjectStoreError
from loopml.objects._backend import Backend, BlobStat, TempStat
from loopml.objects._packs import PackIndex, PackLoc, PackStat
from loopml.objects.blobs import BLOB_SCHEME, check_blob

__all__ = ["StoreInternals"]

#: Where a pack's age cannot be renewed (S3), a blob found in a pack older than this is
#: stored again rather than trusted to survive a concurrent ``gc`` (as for loose blobs).
_PACK_REFRESH_SECONDS = 600.0


class _Pack(NamedTuple):
    """A pack as gc sees it: its files, and its blobs (None if its index is unreadable)."""

    stat: PackStat
    blobs: dict[str, PackLoc] | None


class StoreInternals:
    """Pack reads, listings for gc, and error mapping, over ``_backend`` and ``_packs``."""

    _backend: Backend
    _packs: PackIndex

    if TYPE_CHECKING:

        @property
        def url(self) -> str: ...

        def get_bytes(self, blob: str) -> bytes: ...

    def _read_packed(self, hex_: str, loc: PackLoc) -> bytes | None:
        """The bytes at ``loc`` (unverified; possibly short if the pack is damaged), or None
        if the pack is gone (deleted by gc) and no other pack has the blob."""
        for _ in range(2):
            try:
                with self._io(f"read blake3:{hex_} from"):
                    return self._backend.read_range(loc.pack, loc.offset, loc.size)
            except ObjectStoreError as exc:
                if not isinstance(exc.__cause__, FileNotFoundError):
                    raise
            self._packs.forget(loc.pack)
            found = self._packs.locate(hex_)
            if found is None:
                return None
            loc = found
        return None

    def packed(self, blobs: Iterable[str]) -> set[str]:
        """The hexes among ``blobs`` that are held in packs (they have no file of their own
        to link: :meth:`local_path` names a file that need not exist).

        Raises:
            InvalidInputError: a malformed id.
        """
        wanted = [check_blob(blob) for blob in blobs]
        with self._io("list packs in"):
            return set(self._packs.locate_many(wanted, refresh=False))

    def read_many(self, blobs: Sequence[str]) -> list[bytes]:
        """The contents of ``blobs``, in order, each verified; packed ones are read with one
        read per pack. For copying many small blobs between stores.

        Raises:
            NotFoundError: a blob is not stored.
            CorruptObjectError: a blob's bytes do not match its id (naming it).
        """
        from loopml.objects._verify import check_bytes

        hexes = [check_blob(blob) for blob in blobs]
        with self._io("list packs in"):
            located = self._packs.locate_many(hexes)
        out: dict[str, bytes] = {}
        by_pack: dict[str, list[tuple[str, PackLoc]]] = {}
        for hex_, loc in located.items():
            by_pack.setdefault(loc.pack, []).append((hex_, loc))
        for pack, items in by_pack.items():
            start = min(loc.offset for _, loc in items)
            end = max(loc.offset + loc.size for _, loc in items)
            try:
                with self._io(f"read pack {pack} from"):
                    span = self._backend.read_range(pack, start, end - start)
            except ObjectStoreError as exc:
                if not isinstance(exc.__cause__, FileNotFoundError):
                    raise
                continue  # deleted since: read one by one below
            for hex_, loc in items:
                data = span[loc.offset - start : loc.offset - start + loc.size]
                out[hex_] = check_bytes(hex_, data, loc.size)
        return [out[hex_] if hex_ in out else self.get_bytes(hex_) for hex_ in hexes]

    def _pack_kept(self, loc: PackLoc, refresh: bool) -> bool:
        """Whether a blob at ``loc`` counts as stored: always when not asked to ``refresh``;
        else if its pack's age was renewed or, where it cannot be, the pack is recent."""
        if not refresh or self._packs.protect(loc.pack):
            return True
        return time.time() - self._packs.mtime(loc.pack) < _PACK_REFRESH_SECONDS

    def _iter_loose(self) -> Iterator[BlobStat]:
        """Loose blobs only (for gc, which deletes packs whole)."""
        with self._io("list"):
            yield from self._backend.iter_blobs()

    def _iter_packs(self) -> list[_Pack]:
        """Every pack file set under ``packs/`` with its blobs (None: no readable index)."""
        from loopml.objects._packs import decode_index

        packs: list[_Pack] = []
        with self._io("list packs in"):
            for stat in self._backend.list_packs():
                blobs = None
                if stat.has_index:
                    blobs = self._packs.entries(stat.pack)
                    if blobs is None:
                        try:
                            blobs = decode_index(
                                stat.pack, self._backend.read_pack_index(stat.pack)
                            )
                        except (ValueError, FileNotFoundError):
                            blobs = None
                packs.append(_Pack(stat, blobs))
        return packs

    def _pack_stat(self, pack: str) -> PackStat | None:
        with self._io("list packs in"):
            for stat in self._backend.list_packs():
                if stat.pack == pack:
                    return stat
        return None

    def _delete_pack(self, pack: str) -> None:
        with self._io(f"delete pack {pack} from"):
            self._backend.delete_pack(pack)
        self._packs.forget(pack)

    def _iter_temps(self) -> Iterator[TempStat]:
        """Temp files under ``tmp/`` (for gc)."""
        with self._io("list temp files in"):
            yield from self._backend.iter_temps()

    def _delete_temp(self, name: str) -> None:
        with self._io("delete a temp file in"):
            self._backend.delete_temp(name)

    # -- error mapping ---------------------------------------------------------------------

    @contextmanager
    def _io(self, action: str) -> Iterator[None]:
        """Backend failures become ObjectStoreError naming the store."""
        try:
            yield
        except LoopmlError:
            raise
        except self._backend.errors as exc:
            raise ObjectStoreError(f"cannot {action} {self.url}: {exc}", uri=self.url) from exc

    @contextmanager
    def _lookup(self, blob: str) -> Iterator[None]:
        """Like :meth:`_io`, and a missing blob becomes NotFoundError with its URI."""
        uri = f"{BLOB_SCHEME}:{blob}"
        try:
            yield
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"no blob {uri} in {self.url}",
                uri=uri,
                hint="push or log the artifact that refers to it again",
            ) from exc
        except LoopmlError:
            raise
        except self._backend.errors as exc:
            raise ObjectStoreError(f"cannot read {uri} from {self.url}: {exc}", uri=uri) from exc
