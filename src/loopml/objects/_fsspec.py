"""The fsspec backend: S3 through s3fs, and anything else fsspec can reach.

A write streams to ``tmp/<random>`` through the filesystem's buffered writer (on S3 a
multipart upload of :data:`WRITE_BLOCK_SIZE` parts, so memory stays bounded), and is then
moved to its final key (on S3 a server-side copy, itself atomic, then a delete of the temp).
Listings are never cached, so another process's writes and deletes are seen at once.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from loopml.errors import InvalidInputError, MissingExtraError, ObjectStoreError
from loopml.objects._backend import TEMP_DIR, BlobStat, RawReader, TempStat, blob_key
from loopml.objects._packs import PACK_DIR, PackStat, SealedPack, is_pack_id

__all__ = ["ENDPOINT_ENV", "FsspecBackend", "open_fsspec_backend"]

#: Environment variable with the S3 endpoint (MinIO, moto, …); else botocore's own settings.
ENDPOINT_ENV = "LOOPML_S3_ENDPOINT_URL"
#: Multipart part size for writes (S3's minimum is 5 MiB) and read-ahead for reads.
WRITE_BLOCK_SIZE = 8 * 2**20
READ_BLOCK_SIZE = 4 * 2**20
#: On dedup, an existing blob older than this is overwritten by the new copy, which refreshes
#: its modification time so that a concurrent ``gc`` keeps it for a full grace period.
REFRESH_AFTER_SECONDS = 600.0

_PREFIX = re.compile(r"[0-9a-f]{2}")
_REST = re.compile(r"[0-9a-f]{62}")
_MANY = 4  # above this many ids, exists_many lists prefixes instead of probing each key


def open_fsspec_backend(url: str, storage_options: Mapping[str, Any] | None) -> FsspecBackend:
    """Open ``url`` through fsspec (lazily imported); S3 goes through s3fs.

    Raises:
        MissingExtraError: ``s3://`` without s3fs installed.
        InvalidInputError: an URL fsspec does not understand, or an S3 URL without a bucket.
    """
    options = dict(storage_options or {})
    protocol = url.split("://", 1)[0].lower()
    if protocol in {"s3", "s3a"}:
        return _open_s3(url, options)
    try:
        from fsspec.core import url_to_fs

        fs, root = url_to_fs(url, **options)
    except ImportError as exc:
        raise InvalidInputError(
            f"no filesystem for {url!r}: {exc}",
            field="root_url",
            uri=url,
            hint="install the fsspec implementation for this protocol",
        ) from exc
    except ValueError as exc:
        raise InvalidInputError(
            f"cannot open object store {url!r}: {exc}", field="root_url", uri=url
        ) from exc
    return FsspecBackend(fs, str(root), url=url, is_s3=False)


def _open_s3(url: str, options: dict[str, Any]) -> FsspecBackend:
    try:
        import s3fs
    except ImportError as exc:
        raise MissingExtraError("S3 object store", "s3", "s3fs") from exc
    root = url.split("://", 1)[1].rstrip("/")
    if not root or root.startswith("/"):
        raise InvalidInputError(
            f"S3 object store URL has no bucket: {url!r}",
            field="root_url",
            uri=url,
            hint="use s3://bucket/prefix",
        )
    endpoint = os.environ.get(ENDPOINT_ENV)
    client_kwargs = dict(options.pop("client_kwargs", None) or {})
    if endpoint and "endpoint_url" not in options and "endpoint_url" not in client_kwargs:
        client_kwargs["endpoint_url"] = endpoint
    if client_kwargs:
        options["client_kwargs"] = client_kwargs
    options.setdefault("use_listings_cache", False)
    # Our own instance, so close() can end its HTTP session without pulling the rug from
    # under another user of fsspec's instance cache.
    options["skip_instance_cache"] = True
    fs = s3fs.S3FileSystem(**options)
    return FsspecBackend(fs, root, url=f"s3://{root}", is_s3=True)


def _mtime(info: Mapping[str, Any]) -> float:
    """Modification time (epoch s) from an fsspec info dict; now when the backend has none."""
    for key in ("LastModified", "mtime", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str) and value:
            try:
                return datetime.fromisoformat(value).timestamp()
            except ValueError:
                continue
    # Unknown age counts as new: gc then keeps the blob rather than guess.
    return time.time()


class _FsspecTemp:
    """A blob being written. Bytes are held back until a full part is ready: a blob that
    ends before that is, on S3, sent with one PUT straight to its final key (a PUT is
    atomic, and the key is known by then), so small files cost no temp copy at all."""

    def __init__(self, backend: FsspecBackend, path: str) -> None:
        self._backend = backend
        self._path = path
        self._pending = bytearray()
        self._file: Any = None

    def write(self, data: memoryview) -> None:
        if self._file is not None:
            self._file.write(data)  # buffered writers copy what they keep
            return
        self._pending += data
        if len(self._pending) >= WRITE_BLOCK_SIZE:
            self._file = self._backend.fs.open(self._path, "wb", block_size=WRITE_BLOCK_SIZE)
            self._file.write(self._pending)
            self._pending = bytearray()

    def commit(self, blob: str, size: int) -> None:
        backend = self._backend
        final = backend.blob_path(blob)
        if self._file is None and not backend.is_s3:
            # Other filesystems promise no atomic PUT: go through the temp key.
            self._file = backend.fs.open(self._path, "wb", block_size=WRITE_BLOCK_SIZE)
            self._file.write(self._pending)
            self._pending = bytearray()
        if self._file is not None:
            file, self._file = self._file, None
            file.close()
        try:
            existing_size, mtime = backend.head(final)
        except FileNotFoundError:
            existing_size, mtime = -1, 0.0
        if existing_size == size and time.time() - mtime < REFRESH_AFTER_SECONDS:
            # Dedup: the same bytes are already there, recently written.
            if not self._pending:
                backend.fs.rm_file(self._path)
            return
        if self._pending or size == 0:
            backend.fs.pipe_file(final, bytes(self._pending))
            self._pending = bytearray()
        elif backend.is_s3:
            backend.fs.cp_file(self._path, final)  # server-side copy; the new key is atomic
            backend.fs.rm_file(self._path)
        else:
            backend.fs.mv(self._path, final)

    def abort(self) -> None:
        self._pending = bytearray()
        file, self._file = self._file, None
        if file is None:
            return  # nothing was sent
        discard = getattr(file, "discard", None)
        if discard is not None and hasattr(file, "forced"):
            # An fsspec buffered writer: drop the buffer and abort any multipart upload
            # instead of flushing it on close.
            discard()
            file.closed = True
        else:
            file.close()
        with contextlib.suppress(FileNotFoundError):
            self._backend.fs.rm_file(self._path)


class _FsspecBatch:
    """A batch over fsspec is a loop: each blob's commit (one PUT, or an upload and a
    server-side copy) is already atomic and durable. Content that fits in one buffer is
    looked up (one HEAD) before it is sent."""

    def __init__(self, backend: FsspecBackend) -> None:
        self._backend = backend
        self._packs: list[SealedPack] = []

    def add_packs(self, packs: list[SealedPack]) -> None:
        """Upload these packs at :meth:`finish`."""
        self._packs.extend(packs)

    def create_temp(self, *, direct: bool = False) -> _FsspecTemp:
        return self._backend.create_temp(direct=direct)

    def has(self, blob: str) -> bool:
        """Stored and recent (one HEAD); an old copy counts as absent, so the new write
        refreshes it for gc, as a commit would."""
        try:
            _, mtime = self._backend.head(self._backend.blob_path(blob))
        except FileNotFoundError:
            return False
        return time.time() - mtime < REFRESH_AFTER_SECONDS

    def finish(self) -> None:
        """Upload the packs (every loose blob's commit was final already)."""
        packs, self._packs = self._packs, []
        for sealed in packs:
            self._backend.store_pack(sealed)

    def abort(self) -> None:
        """Nothing is pending but packs, which were not sent."""
        self._packs = []


class FsspecBackend:
    """Blobs under ``<root>/ab/cdef…`` on an fsspec filesystem, temps under ``<root>/tmp/``."""

    def __init__(self, fs: Any, root: str, *, url: str, is_s3: bool) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url
        self.is_s3 = is_s3
        self._temp_dir = f"{self.root}/{TEMP_DIR}"
        errors: list[type[BaseException]] = [OSError]
        if is_s3:
            # botocore's own errors (no connection, bad credentials) are not OSErrors.
            botocore_exceptions = importlib.import_module("botocore.exceptions")
            errors.append(botocore_exceptions.BotoCoreError)
        self.errors = tuple(errors)

    def blob_path(self, blob: str) -> str:
        return f"{self.root}/{blob_key(blob)}"

    # -- packs -----------------------------------------------------------------------------

    def pack_temp_dir(self) -> str:
        """Packs are built in a local temp folder, then uploaded; what a crashed process
        left there is removed (see :func:`~loopml.objects._packs.sweep_stale_temp_packs`)."""
        import tempfile

        from loopml.objects._packs import sweep_stale_temp_packs

        folder = os.path.join(tempfile.gettempdir(), "loopml-packs")
        os.makedirs(folder, exist_ok=True)
        sweep_stale_temp_packs(folder)
        return folder

    def pack_file(self, pack: str, ext: str) -> str:
        return f"{self.root}/{PACK_DIR}/{pack}.{ext}"

    def store_pack(self, sealed: SealedPack) -> None:
        """Upload the pack, then its index (the commit point). On S3 each upload is atomic;
        elsewhere a torn index fails its checksum and is ignored."""
        self.fs.put_file(sealed.path, self.pack_file(sealed.pack, "pack"))
        self.fs.pipe_file(self.pack_file(sealed.pack, "idx"), sealed.index_bytes)

    def list_packs(self) -> list[PackStat]:
        try:
            listing = self.fs.ls(f"{self.root}/{PACK_DIR}", detail=True)
        except FileNotFoundError:
            return []
        found: dict[str, dict[str, Mapping[str, Any]]] = {}
        for info in listing:
            name = str(info["name"]).rsplit("/", 1)[-1]
            pack, _, ext = name.partition(".")
            if ext in ("pack", "idx") and is_pack_id(pack):
                found.setdefault(pack, {})[ext] = info
        stats = []
        for pack, files in found.items():
            data, index = files.get("pack"), files.get("idx")
            age = index if index is not None else data
            assert age is not None
            size = int(data["size"]) if data is not None else 0
            stats.append(PackStat(pack, size, _mtime(age), data is not None, index is not None))
        return stats

    def read_pack_index(self, pack: str) -> bytes:
        return bytes(self.fs.cat_file(self.pack_file(pack, "idx")))

    def read_range(self, pack: str, offset: int, size: int) -> bytes:
        if size == 0:
            return b""
        return bytes(
            self.fs.cat_file(self.pack_file(pack, "pack"), start=offset, end=offset + size)
        )

    def touch_pack(self, pack: str) -> bool:
        """An object's age cannot be renewed in place: the caller stores the blob again."""
        del pack
        return False

    def delete_pack(self, pack: str) -> None:
        for ext in ("idx", "pack"):
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm_file(self.pack_file(pack, ext))

    def create_temp(self, *, direct: bool = False) -> _FsspecTemp:
        del direct  # a local-disk hint; uploads stream through fsspec's own buffers
        return _FsspecTemp(self, f"{self._temp_dir}/{uuid.uuid4().hex}")

    def begin_batch(self) -> _FsspecBatch:
        return _FsspecBatch(self)

    def local_path(self, blob: str) -> None:
        """Remote blobs have no local file."""
        del blob

    def open_read(self, blob: str) -> tuple[RawReader, int]:
        file = self.fs.open(
            self.blob_path(blob), "rb", block_size=READ_BLOCK_SIZE, cache_type="readahead"
        )
        size = getattr(file, "size", None)
        if size is None:
            size = self.fs.size(self.blob_path(blob))
        return file, int(size)

    def head(self, path: str) -> tuple[int, float]:
        """Size and mtime of the object at ``path``; FileNotFoundError if there is none.

        On S3 one HEAD request (``fs.info`` adds a listing when the key is missing).
        """
        if self.is_s3:
            bucket, _, key = path.partition("/")
            reply = self.fs.call_s3("head_object", self.fs.kwargs, Bucket=bucket, Key=key)
            return int(reply["ContentLength"]), _mtime(reply)
        info = self.fs.info(path)
        if info.get("type") == "directory":
            raise FileNotFoundError(path)
        return int(info["size"]), _mtime(info)

    def stat(self, blob: str) -> BlobStat:
        size, mtime = self.head(self.blob_path(blob))
        return BlobStat(blob, size, mtime)

    def exists(self, blob: str) -> bool:
        try:
            self.stat(blob)
        except FileNotFoundError:
            return False
        return True

    def exists_many(self, blobs: set[str], *, refresh: bool = False) -> set[str]:
        del refresh  # an object's LastModified cannot be renewed without copying it
        if len(blobs) <= _MANY:
            return {blob for blob in blobs if self.exists(blob)}
        by_prefix: dict[str, set[str]] = {}
        for blob in blobs:
            by_prefix.setdefault(blob[:2], set()).add(blob)
        found: set[str] = set()
        for prefix, wanted in by_prefix.items():
            try:
                names = self.fs.ls(f"{self.root}/{prefix}", detail=False)
            except FileNotFoundError:
                continue
            present = {prefix + str(name).rsplit("/", 1)[-1] for name in names}
            found |= wanted & present
        return found

    def iter_blobs(self) -> Iterator[BlobStat]:
        try:
            listing = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return
        start = len(self.root) + 1
        for path, info in listing.items():
            prefix, _, rest = str(path)[start:].partition("/")
            if _PREFIX.fullmatch(prefix) and _REST.fullmatch(rest):
                yield BlobStat(prefix + rest, int(info["size"]), _mtime(info))

    def delete(self, blob: str, *, missing_ok: bool) -> None:
        if not missing_ok:
            self.stat(blob)  # S3 deletes a missing key without complaint
        self.fs.rm_file(self.blob_path(blob))

    def iter_temps(self) -> Iterator[TempStat]:
        try:
            listing = self.fs.find(self._temp_dir, detail=True)
        except FileNotFoundError:
            return
        for path, info in listing.items():
            name = str(path).rsplit("/", 1)[-1]
            yield TempStat(name, int(info["size"]), _mtime(info))

    def delete_temp(self, name: str) -> None:
        if "/" in name or name in {"", ".", ".."}:
            raise ObjectStoreError(f"not a temp file name: {name!r}")
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(f"{self._temp_dir}/{name}")

    def close(self) -> None:
        """End the S3 HTTP session this backend opened (no-op for shared filesystems)."""
        if not self.is_s3:
            return
        creator = getattr(self.fs, "_s3creator", None)
        if creator is None:
            return
        from fsspec.asyn import sync

        # s3fs's own finalizer does the same at garbage collection, with a 0.1 s timeout
        # that can leave the connector to be closed by hand; do it now, and fully.
        sync(self.fs.loop, creator.__aexit__, None, None, None)
        self.fs._s3 = None
        self.fs._s3creator = None
