"""The content-addressed object store: BLAKE3 keys, atomic writes, verify on read, dedup.

Layout under the root (a local folder, ``s3://bucket/prefix``, or any fsspec URL)::

    <root>/ab/cdef…     a blob: its BLAKE3 hex is ``abcdef…`` (64 characters, split 2 + 62)
    <root>/tmp/<random> a blob being written; moved into place only once complete

A blob's id is its hex; its URI is ``blake3:<hex>``. Every method that takes a blob accepts
either form. Content is read once on the way in (:meth:`ObjectStore._ingest` hashes while it
copies) and hashed again on the way out, so corruption is reported, never returned.
"""

from __future__ import annotations

import io
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Self, cast
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from blake3 import blake3

from loopml.errors import InvalidInputError, LoopmlError, NotFoundError, ObjectStoreError
from loopml.objects._backend import Backend, BlobStat, TempStat
from loopml.objects._verify import VerifyingReader

if TYPE_CHECKING:
    from loopml.objects._backend import TempBlob

__all__ = [
    "BLOB_SCHEME",
    "BlobInfo",
    "BlobStat",
    "ObjectStore",
    "blob_uri",
    "open_object_store",
    "parse_blob_uri",
]

#: The scheme of a blob URI: ``blake3:<hex>``.
BLOB_SCHEME = "blake3"
#: Bytes read, hashed and written per step. Large enough that syscalls and Python overhead
#: vanish, small enough that memory stays flat for any file size.
CHUNK_SIZE = 4 * 2**20
_READ_BUFFER = 256 * 2**10
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


class ObjectStore:
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

            self._backend = LocalBackend(local)
        else:
            from loopml.objects._fsspec import open_fsspec_backend

            self._backend = open_fsspec_backend(root_url, storage_options)
        self._closed = False

    @property
    def url(self) -> str:
        """The store's root URL (``file:///…`` for a local folder)."""
        return self._backend.url

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
        try:
            source = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"no such file: {os.fspath(path)!s}", field="path", hint="check the path"
            ) from exc
        except IsADirectoryError as exc:
            raise InvalidInputError(
                f"{os.fspath(path)!s} is a folder, not a file", field="path"
            ) from exc
        except OSError as exc:
            raise InvalidInputError(
                f"cannot open {os.fspath(path)!s}: {exc}", field="path"
            ) from exc
        with source:
            try:
                return self._ingest(source)
            except LoopmlError:
                raise
            except OSError as exc:  # the store's own failures are LoopmlErrors already
                raise ObjectStoreError(
                    f"cannot read {os.fspath(path)!s}: {exc}", field="path"
                ) from exc

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
        return self._ingest(io.BytesIO(data))

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
        return self._ingest(fileobj)

    def _ingest(self, source: IO[bytes]) -> BlobInfo:
        """The one write path: read each chunk once, hash it and write it to a temp object.

        The temp object becomes the blob only after the last byte is written (an atomic
        rename locally, a completed upload plus a server-side copy on S3); on any error,
        including one raised by ``source``, the temp is removed and nothing is visible.
        """
        read = _chunk_reader(source)
        hasher = _new_hasher()
        buffer = memoryview(bytearray(CHUNK_SIZE))
        size = 0
        with self._io("write a blob to"):
            temp: TempBlob = self._backend.create_temp()
        try:
            while count := read(buffer):
                chunk = buffer[:count]
                hasher.update(chunk)
                with self._io("write a blob to"):
                    temp.write(chunk)
                size += count
            blob = str(hasher.hexdigest())
            with self._io(f"store blake3:{blob} in"):
                temp.commit(blob, size)
        except BaseException as exc:
            try:
                temp.abort()
            except self._backend.errors as cleanup:
                exc.add_note(f"the temp file could not be removed ({cleanup}); gc removes it")
            raise
        return BlobInfo(blob, size)

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
            with self._lookup(hex_):
                raw, _ = self._backend.open_read(hex_)
            return cast(BinaryIO, raw)
        return io.BufferedReader(self._open_verified(blob), buffer_size=_READ_BUFFER)

    def _open_verified(self, blob: str) -> VerifyingReader:
        hex_ = check_blob(blob)
        with self._lookup(hex_):
            raw, size = self._backend.open_read(hex_)
        return VerifyingReader(raw, blob=hex_, size=size, errors=self._backend.errors)

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
            return self._backend.exists(hex_)

    def exists_many(self, blobs: Iterable[str]) -> set[str]:
        """The hexes among ``blobs`` that are stored, in few round trips.

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
            return self._backend.exists_many(wanted)

    def stat(self, blob: str) -> BlobStat:
        """The blob's ``(hex, size, mtime)``; raises NotFoundError if it is not stored."""
        hex_ = check_blob(blob)
        with self._lookup(hex_):
            return self._backend.stat(hex_)

    def size(self, blob: str) -> int:
        """The blob's size in bytes; raises NotFoundError if it is not stored."""
        return self.stat(blob).size

    def iter_blobs(self) -> Iterator[BlobStat]:
        """Every stored blob as ``(hex, size, mtime_seconds)``, in no particular order.

        Temp files and stray files that are not blobs are skipped.
        """
        with self._io("list"):
            yield from self._backend.iter_blobs()

    def delete(self, blob: str, *, missing_ok: bool = False) -> None:
        """Delete a blob. Only garbage collection should need this.

        Raises:
            NotFoundError: no such blob (unless ``missing_ok``).
        """
        hex_ = check_blob(blob)
        with self._lookup(hex_):
            self._backend.delete(hex_, missing_ok=missing_ok)

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
