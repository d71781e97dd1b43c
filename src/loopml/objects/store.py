"""The content-addressed object store: BLAKE3 keys, atomic writes, verify on read, dedup.

Layout under the root (a local folder, ``s3://bucket/prefix``, or any fsspec URL)::

    <root>/ab/cdef…     a blob: its BLAKE3 hex is ``abcdef…`` (64 characters, split 2 + 62)
    <root>/packs/<id>.pack, <id>.idx
                        many small blobs stored together by :meth:`ObjectStore.put_files`
                        (see :mod:`loopml.objects._packs`); read like loose ones
    <root>/tmp/<random> a blob being written; moved into place only once complete

A blob's id is its hex; its URI is ``blake3:<hex>``. Every method that takes a blob accepts
either form. Content is read once on the way in (:meth:`ObjectStore._ingest` hashes while it
copies) and hashed again on the way out, so corruption is reported, never returned.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Self, cast
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from blake3 import blake3

from loopml.errors import InvalidInputError, LoopmlError, NotFoundError, ObjectStoreError
from loopml.objects._backend import Backend, BlobStat
from loopml.objects._packs import (
    PACK_MAX_BLOB,
    PACK_MIN_FILES,
    PackIndex,
    PackWriter,
)
from loopml.objects._pipeline import ChunkWriter, InlineWriter, PipelinedWriter
from loopml.objects._store_internals import StoreInternals
from loopml.objects._verify import VerifyingReader
from loopml.objects.blobs import BLOB_SCHEME, BlobInfo, blob_uri, check_blob, parse_blob_uri

if TYPE_CHECKING:
    from loopml.objects._adopt import Adopter
    from loopml.objects._backend import TempBlob, WriteBatch

__all__ = [
    "BLOB_SCHEME",
    "BlobInfo",
    "BlobStat",
    "ObjectStore",
    "blob_uri",
    "open_object_store",
    "parse_blob_uri",
]

#: Bytes read, hashed and written per step. Large enough that syscalls and Python overhead
#: vanish, small enough that memory stays flat for any file size.
CHUNK_SIZE = 4 * 2**20
#: Files at least this large are written by a thread of their own while the next chunk is
#: read and hashed (see :mod:`loopml.objects._pipeline`).
PIPELINE_MIN_SIZE = 64 * 2**20
#: Default threads of :meth:`ObjectStore.put_files`. Locally, many small files gain nothing
#: from more (the kernel serializes file creation per folder; 20,000 files of 4 KiB took
#: 1.6 s in one thread, 1.9 s in two, 2.7 s in four on a 2-core VM), large ones do; pass
#: ``workers`` when the sizes are known. Uploads are bound by round trips.
LOCAL_WORKERS = 2
REMOTE_WORKERS = 8
_READ_BUFFER = 256 * 2**10


def _local_root(url: str) -> str | None:
    """The folder of a local root URL (plain path or ``file://``), None for other URLs."""
    if url.startswith("file:"):
        parts = urlsplit(url)
        if parts.netloc not in {"", "localhost"}:
            raise InvalidInputError(
                f"file URL with a remote host: {url!r}",
                field="root_url",
                uri=url,
                hint="use file:///absolute/path",
            )
        return url2pathname(unquote(parts.path))
    if "://" in url:
        return None
    return os.path.expanduser(url)


class ObjectStore(StoreInternals):
    """Content-addressed blobs under one root: a local folder, S3, or any fsspec URL.

    Args:
        root_url: ``file:///abs/.loopml/objects``, a plain path, ``s3://bucket/prefix``, or
            another fsspec URL. S3 needs ``loopml[s3]``; its endpoint comes from
            ``LOOPML_S3_ENDPOINT_URL``, else from botocore's own settings (``AWS_ENDPOINT_URL``).
        storage_options: Passed to the fsspec filesystem (ignored for a local folder).

    Raises:
        InvalidInputError: an empty or malformed ``root_url`` (``field="root_url"``).
        MissingExtraError: ``s3://`` without s3fs installed.

    Example:
        >>> import tempfile
        >>> with ObjectStore(tempfile.mkdtemp()) as store:
        ...     info = store.put_bytes(b"hello")
        ...     store.get_bytes(info.hex)
        b'hello'
    """

    def __init__(self, root_url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        if not isinstance(root_url, str) or not root_url.strip():
            raise InvalidInputError(
                "the object store needs a root URL", field="root_url", hint="e.g. s3://bucket/p"
            )
        local = _local_root(root_url)
        self._backend: Backend
        if local is not None:
            from loopml.objects._local import LocalBackend

            backend = LocalBackend(local)
            self._backend = backend
            self._local_root: str | None = backend.root
        else:
            self._local_root = None
            from loopml.objects._fsspec import open_fsspec_backend

            self._backend = open_fsspec_backend(root_url, storage_options)
        self._packs = PackIndex(self._backend)
        self._closed = False

    @property
    def url(self) -> str:
        """The store's root URL (``file:///…`` for a local folder)."""
        return self._backend.url

    @property
    def local_root(self) -> Path | None:
        """The store's folder when it is on this machine, else None."""
        return None if self._local_root is None else Path(self._local_root)

    def __repr__(self) -> str:
        return f"ObjectStore({self.url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release network sessions (S3). Idempotent; a local store holds nothing open."""
        if not self._closed:
            self._closed = True
            self._backend.close()

    # -- writing ---------------------------------------------------------------------------

    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo:
        """Store the content of a local file.

        Args:
            path: The file to store.

        Returns:
            The blob's hex and size.

        Raises:
            NotFoundError: ``path`` does not exist (``field="path"``).
            InvalidInputError: ``path`` is a folder.
            ObjectStoreError: the store could not be written.

        Example:
            >>> import tempfile, pathlib
            >>> src = pathlib.Path(tempfile.mkdtemp(), "model.bin")
            >>> _ = src.write_bytes(b"weights")
            >>> ObjectStore(tempfile.mkdtemp()).put_file(src).size
            7
        """
        return self._ingest_file(os.fspath(path), batch=None, buffer=None)[0]

    def put_files(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        workers: int | None = None,
        on_stored: Callable[[BlobInfo, bool], None] | None = None,
        contents: Sequence[bytes] = (),
        pack: bool = True,
        link: bool = False,
    ) -> list[BlobInfo]:
        """Store many local files; one durability barrier for all of them.

        Each file goes through the same read-once, hash-while-copying path as
        :meth:`put_file`, in ``workers`` threads. A file whose content is already stored
        (or appears twice) is not written again. Locally, the new blobs are made durable
        together (``syncfs``, then the renames, then ``syncfs`` again) instead of with one
        fsync each; other stores commit each blob as :meth:`put_file` does. Either all the
        files are stored or, on an error, the call raises and no new blob becomes visible
        (locally; elsewhere those committed before the error stay, unreferenced).

        With at least :data:`~loopml.objects._packs.PACK_MIN_FILES` files, those of at most
        :data:`~loopml.objects._packs.PACK_MAX_BLOB` bytes go into one pack (one file and its
        index, stored behind the same barrier) instead of a file each; they are read,
        verified and listed like any blob.

        Args:
            paths: The files to store.
            workers: Threads to use (default: 2 locally, 8 for remote stores).
            contents: In-memory contents to store too, after ``paths`` (for copies between
                stores); their blobs follow the files' in the result.
            pack: Pack small blobs (as described above); False writes a file per blob.
            link: In a local store, take each file in by hardlink instead of copying it:
                the file becomes its blob and is made read-only (see
                :mod:`~loopml.objects._adopt`). Files that cannot be linked (executable,
                on another filesystem) are copied; so is everything in other stores.
            on_stored: Called with each file's blob as soon as it is hashed, and whether
                this call wrote it (False: the content was stored already), from the worker
                threads (it must be thread-safe); for progress reports. A blob reported
                written is durable and visible once the call returns.

        Returns:
            The blobs, in the order of ``paths``.

        Raises:
            NotFoundError: a path does not exist (``field="path"``).
            InvalidInputError: a path is a folder.
            ObjectStoreError: the store could not be written, or a file not read.

        Example:
            >>> import tempfile, pathlib
            >>> folder = pathlib.Path(tempfile.mkdtemp())
            >>> for name in "abc":
            ...     _ = (folder / name).write_text(name * 3)
            >>> store = ObjectStore(tempfile.mkdtemp())
            >>> [info.size for info in store.put_files(sorted(folder.iterdir()))]
            [3, 3, 3]
        """
        from loopml.objects._batch import ingest_files

        names = [os.fspath(path) for path in paths]
        if not names and not contents:
            return []
        if workers is None:
            workers = LOCAL_WORKERS if self._local_root is not None else REMOTE_WORKERS
        packer: PackWriter | None = None
        with self._io("write blobs to"):
            batch = self._backend.begin_batch()
            if pack and len(names) + len(contents) >= PACK_MIN_FILES:
                self._packs.refresh()  # dedup against packs written by others since
                packer = PackWriter(self._backend.pack_temp_dir())
        adopter = self._adopter(batch) if link else None

        def ingest(name: str, buffer: memoryview) -> tuple[BlobInfo, bool]:
            if adopter is not None:
                try:  # not self._io(): a context manager per file costs more than the link
                    adopted = adopter.adopt(name)
                except OSError as exc:
                    raise ObjectStoreError(
                        f"cannot link {name} into {self.url}: {exc}", uri=self.url, field="path"
                    ) from exc
                if adopted is not None:
                    return adopted
            return self._ingest_file(name, batch=batch, buffer=buffer, packer=packer)

        try:
            infos = ingest_files(ingest, names, workers=workers, on_stored=on_stored)
            buffer = _new_buffer() if contents else None
            for data in contents:
                info, new = self._ingest_bytes(data, batch=batch, buffer=buffer, packer=packer)
                infos.append(info)
                if on_stored is not None:
                    on_stored(info, new)
            with self._io("make blobs durable in"):
                sealed = packer.seal() if packer is not None else []
                batch.add_packs(sealed)
                batch.finish()
            self._packs.add_sealed(sealed)
        except BaseException as exc:
            try:
                batch.abort()
            except self._backend.errors as cleanup:
                exc.add_note(f"temp files could not be removed ({cleanup}); gc removes them")
            if adopter is not None:
                adopter.give_back()
            if packer is not None:
                try:
                    packer.discard()
                except OSError as cleanup:
                    exc.add_note(f"temp packs could not be removed ({cleanup}); gc removes them")
            raise
        if packer is not None:
            packer.discard()  # stored locally by rename (nothing left) or uploaded
        return infos

    def _adopter(self, batch: WriteBatch) -> Adopter | None:
        """What takes files into ``batch`` by hardlink; None where the store is not local."""
        from loopml.objects._local import LocalBatch

        if not isinstance(batch, LocalBatch):
            return None
        return batch.adopter(lambda blob: self._has_packed(blob) or batch.has(blob))

    def _ingest_file(
        self,
        path: str,
        *,
        batch: WriteBatch | None,
        buffer: memoryview | None,
        packer: PackWriter | None = None,
    ) -> tuple[BlobInfo, bool]:
        try:
            source = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"no such file: {path}", field="path", hint="check the path"
            ) from exc
        except IsADirectoryError as exc:
            raise InvalidInputError(f"{path} is a folder, not a file", field="path") from exc
        except OSError as exc:
            raise InvalidInputError(f"cannot open {path}: {exc}", field="path") from exc
        with source:
            try:
                size = os.fstat(source.fileno()).st_size
                return self._ingest(
                    source, batch=batch, buffer=buffer, size_hint=size, packer=packer
                )
            except LoopmlError:
                raise
            except OSError as exc:  # the store's own failures are LoopmlErrors already
                raise ObjectStoreError(f"cannot read {path}: {exc}", field="path") from exc

    def _ingest_bytes(
        self,
        data: bytes,
        *,
        batch: WriteBatch,
        buffer: memoryview | None,
        packer: PackWriter | None,
    ) -> tuple[BlobInfo, bool]:
        """:meth:`_ingest` of content already in memory, without copying a small one."""
        if len(data) < CHUNK_SIZE:
            blob = str(_new_hasher().update(data).hexdigest())
            with self._io(f"store blake3:{blob} in"):
                done = self._store_small(blob, memoryview(data), batch, packer)
            if done is not None:
                return BlobInfo(blob, len(data)), done
        return self._ingest(io.BytesIO(data), batch=batch, buffer=buffer, packer=packer)

    def put_bytes(self, data: bytes | bytearray | memoryview) -> BlobInfo:
        """Store ``data``.

        Example:
            >>> import tempfile
            >>> ObjectStore(tempfile.mkdtemp()).put_bytes(b"").uri
            'blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidInputError(
                f"put_bytes takes bytes, not {type(data).__name__}", field="data"
            )
        return self._ingest(io.BytesIO(data))[0]

    def put_stream(self, fileobj: IO[bytes]) -> BlobInfo:
        """Store everything readable from a binary file object (it is not closed).

        The stream is read in chunks of :data:`CHUNK_SIZE`, so memory stays flat. If reading
        it fails midway, the error propagates and nothing is stored.

        Raises:
            InvalidInputError: ``fileobj`` is opened in text mode (``field="fileobj"``).

        Example:
            >>> import io, tempfile
            >>> ObjectStore(tempfile.mkdtemp()).put_stream(io.BytesIO(b"abc")).size
            3
        """
        return self._ingest(fileobj)[0]

    def _ingest(
        self,
        source: IO[bytes],
        *,
        batch: WriteBatch | None = None,
        buffer: memoryview | None = None,
        size_hint: int | None = None,
        packer: PackWriter | None = None,
    ) -> tuple[BlobInfo, bool]:
        """The one write path: read each chunk once, hash it and write it to a temp object.

        The temp object becomes the blob only after the last byte is written (an atomic
        rename locally, a completed upload plus a server-side copy on S3); on any error,
        including one raised by ``source``, the temp is removed and nothing is visible.

        Content that fits in one buffer is hashed before a byte is written, so inside a
        ``batch`` a blob that is already stored is not written again. A ``size_hint`` of at
        least :data:`PIPELINE_MIN_SIZE` selects the pipelined writer. ``buffer`` is reused
        between calls by :meth:`put_files`' workers. With a ``packer`` (and a ``batch``),
        content of at most :data:`PACK_MAX_BLOB` bytes is appended to a pack instead.

        Returns:
            The blob, and whether this call wrote it (False: the batch had it already).
        """
        read = _chunk_reader(source)
        hasher = _new_hasher()
        writer: ChunkWriter
        if size_hint is not None and size_hint >= PIPELINE_MIN_SIZE:
            writer = PipelinedWriter(CHUNK_SIZE)
        else:
            writer = InlineWriter(buffer if buffer is not None else _new_buffer())
        temp: TempBlob | None = None
        blob: str | None = None
        # What a backend error interrupted, for its message; "" while the source is read
        # (its errors propagate as they are). A variable, not a context manager per call:
        # this runs per file, 20,000 times for a folder of small files.
        doing = "write a blob to"
        try:
            view = writer.buffer()
            doing = ""
            size = count = _fill(read, view)
            hasher.update(view[:count])
            if count < len(view):  # the end is in this buffer: the hash is known already
                blob = str(hasher.hexdigest())
                if batch is not None:
                    doing = f"store blake3:{blob} in"
                    done = self._store_small(blob, view[:count], batch, packer)
                    if done is not None:
                        return BlobInfo(blob, size), done
            doing = "write a blob to"
            temp = (batch or self._backend).create_temp(direct=writer.direct)
            writer.start(temp)
            writer.write(view[:count])
            while blob is None:
                view = writer.buffer()
                doing = ""
                count = read(view)
                doing = "write a blob to"
                if not count:
                    blob = str(hasher.hexdigest())
                    break
                hasher.update(view[:count])
                writer.write(view[:count])
                size += count
            writer.finish()
            doing = f"store blake3:{blob} in"
            temp.commit(blob, size)
        except BaseException as exc:
            writer.close()
            if temp is not None:
                try:
                    temp.abort()
                except self._backend.errors as cleanup:
                    exc.add_note(f"the temp file could not be removed ({cleanup}); gc removes it")
            if doing and isinstance(exc, self._backend.errors) and not isinstance(exc, LoopmlError):
                raise ObjectStoreError(f"cannot {doing} {self.url}: {exc}", uri=self.url) from exc
            raise
        return BlobInfo(blob, size), True

    def _store_small(
        self, blob: str, data: memoryview, batch: WriteBatch, packer: PackWriter | None
    ) -> bool | None:
        """Inside a batch, content whose hash is known before a byte is written: True if it
        went into the pack, False if it is stored already, None if it is to be written."""
        if (packer is not None and packer.has(blob)) or self._has_packed(blob):
            return False
        if batch.has(blob):
            return False
        if packer is not None and len(data) <= PACK_MAX_BLOB:
            return packer.add(blob, data)
        return None

    def _has_packed(self, blob: str) -> bool:
        """Whether ``blob`` is in a known pack that a concurrent ``gc`` will keep: its age is
        renewed (locally), or it is recent (elsewhere; an old one is stored again)."""
        loc = self._packs.cached(blob)
        return loc is not None and self._pack_kept(loc, True)

    # -- reading ---------------------------------------------------------------------------

    def open(self, blob: str, *, verify: bool = True) -> BinaryIO:
        """Open a blob for reading; its hash is checked as it is read.

        Reading to the end raises :class:`~loopml.errors.CorruptObjectError` (before the
        last chunk is returned) if the bytes do not match the id. With ``verify=False`` the
        backend's own (seekable, unchecked) file is returned, for random access.

        Raises:
            InvalidInputError: a malformed id.
            NotFoundError: no such blob (``uri="blake3:…"``).

        Example:
            >>> import tempfile
            >>> store = ObjectStore(tempfile.mkdtemp())
            >>> info = store.put_bytes(b"data")
            >>> with store.open(info.hex) as f:
            ...     f.read()
            b'data'
        """
        if not verify:
            hex_ = check_blob(blob)
            raw, _ = self._open_raw(hex_)
            return cast(BinaryIO, raw)
        return io.BufferedReader(self._open_verified(blob), buffer_size=_READ_BUFFER)

    def _open_verified(self, blob: str) -> VerifyingReader:
        hex_ = check_blob(blob)
        raw, size = self._open_raw(hex_)
        return VerifyingReader(raw, blob=hex_, size=size, errors=self._backend.errors)

    def _open_raw(self, hex_: str) -> tuple[Any, int]:
        """The one place a blob is found: a known pack, else a loose file, else a pack that
        another process wrote since the packs were listed. Returns a reader and the size
        the blob must have (a packed blob is read whole: it is small)."""
        loc = self._packs.cached(hex_)
        if loc is not None:
            data = self._read_packed(hex_, loc)
            if data is not None:
                return io.BytesIO(data), loc.size
        try:
            with self._lookup(hex_):
                return self._backend.open_read(hex_)
        except NotFoundError:
            with self._lookup(hex_):
                loc = self._packs.locate(hex_)
                data = None if loc is None else self._read_packed(hex_, loc)
            if loc is None or data is None:
                raise
            return io.BytesIO(data), loc.size

    def get_bytes(self, blob: str) -> bytes:
        """A blob's content, verified.

        Raises:
            NotFoundError: no such blob.
            CorruptObjectError: the stored bytes do not match the id.
        """
        with self._open_verified(blob) as reader:
            return reader.readall()

    def get_file(self, blob: str, dest: str | os.PathLike[str]) -> Path:
        """Copy a blob to a local file, verified; a corrupt blob never appears at ``dest``.

        The bytes go to a temp file beside ``dest`` that replaces ``dest`` (atomically) only
        after the hash matched. Missing parent folders are created. ``dest`` is not fsynced:
        it is a copy that can be fetched again, and checkouts of many files stay fast.

        Returns:
            ``dest`` as a :class:`~pathlib.Path`.

        Raises:
            NotFoundError: no such blob.
            CorruptObjectError: the stored bytes do not match the id (``dest`` untouched).
            InvalidInputError: ``dest`` is a folder (``field="dest"``).
        """
        target = Path(dest)
        if target.is_dir():
            raise InvalidInputError(f"{target} is a folder, not a file", field="dest")
        with self._open_verified(blob) as reader:
            temp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(temp, "xb") as out:  # buffered: write() writes everything
                    buffer = memoryview(bytearray(CHUNK_SIZE))
                    while count := reader.readinto(buffer):
                        out.write(buffer[:count])
                os.replace(temp, target)
            except BaseException as exc:
                _remove_partial(temp, exc)
                if isinstance(exc, OSError) and not isinstance(exc, LoopmlError):
                    raise ObjectStoreError(
                        f"cannot write {reader.uri} to {target}: {exc}",
                        field="dest",
                        uri=reader.uri,
                    ) from exc
                raise
        return target

    # -- inspecting and deleting -----------------------------------------------------------

    def exists(self, blob: str) -> bool:
        """Whether the blob is stored (raises InvalidInputError for a malformed id)."""
        hex_ = check_blob(blob)
        with self._io(f"look up blake3:{hex_} in"):
            return self._backend.exists(hex_) or self._packs.locate(hex_) is not None

    def exists_many(self, blobs: Iterable[str], *, refresh: bool = False) -> set[str]:
        """The hexes among ``blobs`` that are stored, in few round trips.

        With ``refresh``, a local store also renews the modification time of those it has,
        so that a ``gc`` running now keeps them for a grace period (use it before recording
        a reference to content that is not written again).

        Example:
            >>> import tempfile
            >>> store = ObjectStore(tempfile.mkdtemp())
            >>> present = store.put_bytes(b"x").hex
            >>> store.exists_many([present, "0" * 64]) == {present}
            True
        """
        wanted = {check_blob(blob) for blob in blobs}
        if not wanted:
            return set()
        with self._io("look up blobs in"):
            # Known packs first (no I/O per blob), then loose files, then packs written by
            # another process since they were listed.
            located = self._packs.locate_many(wanted, refresh=False)
            found = {hex_ for hex_, loc in located.items() if self._pack_kept(loc, refresh)}
            rest = wanted - found
            if rest:
                found |= self._backend.exists_many(rest, refresh=refresh)
                rest -= found
            if rest:
                located = self._packs.locate_many(rest)
                found |= {hex_ for hex_, loc in located.items() if self._pack_kept(loc, refresh)}
            return found

    def local_path(self, blob: str) -> Path | None:
        """The file holding ``blob`` when the store is a local folder, else None.

        For linking (hardlink, reflink) a verified blob into a checkout; the file is
        read-only and must never be written. Whether it exists is not checked.

        Raises:
            InvalidInputError: a malformed id.
        """
        path = self._backend.local_path(check_blob(blob))
        return None if path is None else Path(path)

    def local_paths(self, blobs: Sequence[str]) -> list[str] | None:
        """:meth:`local_path` of many blobs, as strings (None for a remote store): for a
        checkout of thousands of files, where a Path per file is measurable.

        Raises:
            InvalidInputError: a malformed id.
        """
        if self._local_root is None:
            return None
        backend_path = self._backend.local_path
        return [str(backend_path(check_blob(blob))) for blob in blobs]

    def stat(self, blob: str) -> BlobStat:
        """The blob's ``(hex, size, mtime)``; raises NotFoundError if it is not stored."""
        hex_ = check_blob(blob)
        try:
            with self._lookup(hex_):
                return self._backend.stat(hex_)
        except NotFoundError:
            with self._io(f"look up blake3:{hex_} in"):
                loc = self._packs.locate(hex_)
            if loc is None:
                raise
            return BlobStat(hex_, loc.size, self._packs.mtime(loc.pack))

    def size(self, blob: str) -> int:
        """The blob's size in bytes; raises NotFoundError if it is not stored."""
        return self.stat(blob).size

    def iter_blobs(self) -> Iterator[BlobStat]:
        """Every stored blob as ``(hex, size, mtime_seconds)``, in no particular order:
        loose ones, then packed ones (a packed blob's mtime is its pack's).

        Temp files and stray files that are not blobs are skipped.
        """
        seen: set[str] = set()
        with self._io("list"):
            for stat in self._backend.iter_blobs():
                seen.add(stat.hex)
                yield stat
            self._packs.refresh()
            for pack in self._iter_packs():
                for hex_, loc in (pack.blobs or {}).items():
                    if hex_ not in seen:
                        seen.add(hex_)
                        yield BlobStat(hex_, loc.size, pack.stat.mtime)

    def delete(self, blob: str, *, missing_ok: bool = False) -> None:
        """Delete a blob. Only garbage collection should need this.

        Raises:
            NotFoundError: no such blob (unless ``missing_ok``).
        """
        hex_ = check_blob(blob)
        try:
            with self._lookup(hex_):
                self._backend.delete(hex_, missing_ok=missing_ok)
        except NotFoundError:
            with self._io(f"look up blake3:{hex_} in"):
                loc = self._packs.locate(hex_)
            if loc is None:
                raise
            raise ObjectStoreError(
                f"blake3:{hex_} is in pack {loc.pack} of {self.url}, which is deleted whole",
                uri=f"{BLOB_SCHEME}:{hex_}",
                hint="run `loopml gc`: it deletes a pack once none of its blobs is used",
            ) from None


def open_object_store(url: str, storage_options: Mapping[str, Any] | None = None) -> ObjectStore:
    """Open the object store at ``url`` (same as ``ObjectStore(url, storage_options)``).

    Example:
        >>> import tempfile
        >>> open_object_store(tempfile.mkdtemp()).url.startswith("file://")
        True
    """
    return ObjectStore(url, storage_options)


def _remove_partial(path: Path, error: BaseException) -> None:
    """Remove a half-written file after ``error``; a failure to do so is noted on ``error``."""
    try:
        path.unlink()
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as cleanup:
        error.add_note(f"the partial file {path} could not be removed: {cleanup}")


def _new_buffer() -> memoryview:
    return memoryview(bytearray(CHUNK_SIZE))


def _fill(read: Callable[[memoryview], int], view: memoryview) -> int:
    """Read into ``view`` until it is full or the source ends; the bytes read."""
    count = read(view)
    while count and count < len(view):
        more = read(view[count:])
        if not more:
            break
        count += more
    return count


def _new_hasher() -> Any:
    # One thread: the copy is bound by memory bandwidth, not by hashing. Measured on 2 cores
    # (50 MB, 4 MiB chunks), max_threads=blake3.AUTO was 3-5% slower, and up to 20% slower
    # with 16 MiB chunks when the other core was busy.
    return blake3()


def _chunk_reader(source: IO[bytes]) -> Callable[[memoryview], int]:
    """A ``read(view) -> int`` over ``source``, using ``readinto`` when it has one."""
    readinto = getattr(source, "readinto", None)
    if readinto is not None:

        def read_into(view: memoryview) -> int:
            count = readinto(view)
            if count is None:
                raise InvalidInputError(
                    "the source stream is non-blocking and had no data", field="fileobj"
                )
            return int(count)

        return read_into

    def read_copy(view: memoryview) -> int:
        data = source.read(len(view))
        if isinstance(data, str):
            raise InvalidInputError(
                "the source stream is in text mode", field="fileobj", hint="open it with 'rb'"
            )
        if data is None:
            raise InvalidInputError(
                "the source stream is non-blocking and had no data", field="fileobj"
            )
        view[: len(data)] = data
        return len(data)

    return read_copy
