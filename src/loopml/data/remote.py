"""Copy a dataset's blobs to and from another object store (``push`` / ``pull``).

A remote holds blobs only: the files of each version plus its manifest, schema and profile.
Which versions exist, and what they contain, lives in the tracking store, which the people
sharing a remote share too (a team server or one PostgreSQL). So ``pull`` fetches the blobs
of versions the tracking store already knows.

Only missing blobs are copied: the destination is asked which it has (by hash, in a few
batched calls), and the rest are copied in parallel. Each copy streams from the source's
verified reader into the destination's normal write path, which hashes again: a corrupt
source blob fails the copy and leaves nothing behind. A blob appears at the destination only
once complete, so an interrupted transfer is resumed by running it again; what was copied is
not copied twice.

Many small blobs (a folder of small files) travel in packs: they are read with one read per
source pack (or per loose file), verified, and written into one new pack per chunk at the
destination (see :mod:`loopml.objects._packs`), so a push of 20,000 files writes a few files,
not 20,000. Each chunk is durable before the next starts: an interrupted push keeps the
chunks it finished.

Example:
    >>> loopml.data.push("churn-raw", "s3://team-bucket/loopml")  # doctest: +SKIP
    TransferReport(direction='push', ..., copied=12, present=3, ...)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal

from loopml.data.tables import resolve_version
from loopml.data.uris import check_dataset_name
from loopml.entities import DatasetVersion
from loopml.errors import (
    CorruptObjectError,
    InvalidInputError,
    LoopmlError,
    NotFoundError,
    ObjectStoreError,
)
from loopml.tracking.context import TrackingContext, get_context

if TYPE_CHECKING:
    from loopml.objects import ObjectStore

__all__ = ["TransferReport", "blobs_of", "pull", "push", "transfer_blobs"]

#: Called with the number of bytes just copied (from worker threads).
ProgressCallback = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class TransferReport:
    """What a push or pull did.

    ``blobs`` is how many blobs the versions need, ``present`` how many the destination
    already had, ``copied`` how many were copied now (``present + copied == blobs`` after a
    complete transfer), ``bytes_copied`` their total size.
    """

    direction: Literal["push", "pull"]
    source: str
    destination: str
    versions: list[str] = field(default_factory=list)
    blobs: int = 0
    present: int = 0
    copied: int = 0
    bytes_copied: int = 0


def push(
    name_or_uri: str,
    remote: str,
    *,
    all_versions: bool = False,
    workers: int = 8,
    progress: bool | None = None,
) -> TransferReport:
    """Copy the blobs of a dataset version to the object store at ``remote``.

    Args:
        name_or_uri: A dataset name (its latest version) or a ``datasets:/`` URI.
        remote: The destination store: a folder, ``file:///…``, ``s3://bucket/prefix``.
        all_versions: Every version of the dataset, not only the one named.
        workers: Blobs copied at once.
        progress: Show a progress bar (bytes) on stderr; None: when stderr is a terminal.

    Returns:
        A :class:`TransferReport`.

    Raises:
        InvalidInputError: a malformed name, URI or remote.
        NotFoundError: an unknown dataset or version, or blobs missing from the local store.
        ObjectStoreError: a copy failed (what was copied stays; run again to resume).
        CorruptObjectError: a local blob does not match its hash.

    Example:
        >>> loopml.data.push("churn-raw", "s3://bucket/loopml", all_versions=True)  # doctest: +SKIP
    """
    from loopml.objects import ObjectStore

    ctx = get_context()
    versions = _versions(ctx, name_or_uri, all_versions)
    with ObjectStore(_check_remote(remote)) as destination:
        return _run("push", ctx.objects, destination, ctx, versions, workers, progress)


def pull(
    name_or_uri: str,
    remote: str,
    *,
    all_versions: bool = False,
    workers: int = 8,
    progress: bool | None = None,
) -> TransferReport:
    """Copy the blobs of a dataset version from the object store at ``remote`` into the
    local one. The version must be known to the tracking store (see the module docstring).

    Args and raises as :func:`push`, with source and destination swapped.

    Example:
        >>> loopml.data.pull("churn-raw", "s3://bucket/loopml")  # doctest: +SKIP
    """
    from loopml.objects import ObjectStore

    ctx = get_context()
    versions = _versions(ctx, name_or_uri, all_versions)
    with ObjectStore(_check_remote(remote)) as source:
        return _run("pull", source, ctx.objects, ctx, versions, workers, progress)


def _check_remote(remote: str) -> str:
    if not isinstance(remote, str) or not remote.strip():
        raise InvalidInputError(
            "a remote object store URL is required",
            field="remote",
            hint="e.g. --remote s3://bucket/prefix or --remote /mnt/share/loopml",
        )
    return remote


def _versions(ctx: TrackingContext, name_or_uri: str, all_versions: bool) -> list[DatasetVersion]:
    if isinstance(name_or_uri, str) and name_or_uri.startswith("datasets:"):
        version = resolve_version(ctx, name_or_uri)
        name = version.dataset
    else:
        name = check_dataset_name(name_or_uri)
        version = resolve_version(ctx, f"datasets:/{name}@latest")
    if not all_versions:
        return [version]
    return list(reversed(ctx.store.list_dataset_versions(name)))


def blobs_of(ctx: TrackingContext, versions: Iterable[DatasetVersion]) -> dict[str, int | None]:
    """Every blob the versions need, with its size where the store records it: each file,
    the manifest, and a table's schema and profile."""
    blobs: dict[str, int | None] = {}
    for version in versions:
        for extra in (version.manifest_blob, version.schema_blob, version.profile_blob):
            if extra is not None:
                blobs.setdefault(extra, None)
        for entry in ctx.store.get_dataset_files(version.id):
            blobs[entry.blob] = entry.size
    return blobs


def _run(
    direction: Literal["push", "pull"],
    source: ObjectStore,
    destination: ObjectStore,
    ctx: TrackingContext,
    versions: list[DatasetVersion],
    workers: int,
    progress: bool | None,
) -> TransferReport:
    if workers < 1:
        raise InvalidInputError("workers must be at least 1", field="workers")
    needed = blobs_of(ctx, versions)
    present = destination.exists_many(needed)
    missing = {blob: size for blob, size in needed.items() if blob not in present}
    if missing:
        absent = set(missing) - source.exists_many(missing)
        if absent:
            where = "the local object store" if direction == "push" else source.url
            raise NotFoundError(
                f"{len(absent)} of the {len(missing)} blobs to {direction} are not in {where} "
                f"(e.g. blake3:{min(absent)})",
                uri=f"blake3:{min(absent)}",
                hint=(
                    "pull them first from the remote they were pushed to"
                    if direction == "push"
                    else "push them to this remote from a machine that has them"
                ),
            )
        for blob, size in missing.items():
            if size is None:
                missing[blob] = source.size(blob)
    sizes = {blob: int(size or 0) for blob, size in missing.items()}
    with _progress_bar(direction, sum(sizes.values()), progress) as advance:
        copied, copied_bytes = transfer_blobs(source, destination, sizes, workers, advance)
    return TransferReport(
        direction=direction,
        source=source.url,
        destination=destination.url,
        versions=[v.uri for v in versions],
        blobs=len(needed),
        present=len(present),
        copied=copied,
        bytes_copied=copied_bytes,
    )


def transfer_blobs(
    source: ObjectStore,
    destination: ObjectStore,
    blobs: Mapping[str, int],
    workers: int = 8,
    on_bytes: ProgressCallback | None = None,
) -> tuple[int, int]:
    """Copy ``blobs`` (hex → size) from ``source`` to ``destination`` in parallel.

    On the first failure no further copy starts; copies in flight finish, and the error is
    raised saying how many blobs were copied (they stay: running again resumes).

    Returns:
        How many blobs and bytes were copied.
    """
    from loopml.objects._packs import PACK_MAX_BLOB, PACK_MIN_FILES

    small = sorted(blob for blob, size in blobs.items() if size <= PACK_MAX_BLOB)
    if len(small) < PACK_MIN_FILES:
        return _transfer_each(source, destination, blobs, workers, on_bytes)
    done, done_bytes = _transfer_packed(source, destination, small, blobs, on_bytes)
    rest = {blob: size for blob, size in blobs.items() if size > PACK_MAX_BLOB}
    try:
        more, more_bytes = _transfer_each(source, destination, rest, workers, on_bytes)
    except LoopmlError as exc:
        exc.add_note(f"{done} small blobs were copied before (they stay)")
        raise
    return done + more, done_bytes + more_bytes


def _transfer_each(
    source: ObjectStore,
    destination: ObjectStore,
    blobs: Mapping[str, int],
    workers: int,
    on_bytes: ProgressCallback | None,
) -> tuple[int, int]:
    """Blob by blob: through ``put_files`` between local folders, else streamed."""
    both_local = source.local_path(_ANY_BLOB) is not None and (
        destination.local_path(_ANY_BLOB) is not None
    )
    if blobs and both_local:
        return _transfer_local_files(source, destination, blobs, workers, on_bytes)
    done = 0
    done_bytes = 0
    lock = threading.Lock()
    failed = threading.Event()

    def copy(blob: str) -> None:
        nonlocal done, done_bytes
        if failed.is_set():  # a copy failed: start no more (queued tasks end here)
            return
        try:
            _copy_one(source, destination, blob, on_bytes)
        except BaseException:
            failed.set()
            raise
        with lock:
            done += 1
            done_bytes += blobs[blob]

    # Largest first: the long copies start early and the pool drains evenly.
    order = sorted(blobs, key=lambda b: (-blobs[b], b))
    pool = ThreadPoolExecutor(max_workers=min(workers, max(len(order), 1)))
    futures: list[Future[None]] = []
    try:
        futures = [pool.submit(copy, blob) for blob in order]
        wait(futures, return_when=FIRST_EXCEPTION)
    except BaseException:  # Ctrl-C: start nothing new, let copies in flight end cleanly
        failed.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True, cancel_futures=True)
    errors = [f.exception() for f in futures if f.done() and not f.cancelled() and f.exception()]
    if errors:
        first = errors[0]
        assert first is not None
        cls = CorruptObjectError if isinstance(first, CorruptObjectError) else ObjectStoreError
        message = first.message if isinstance(first, LoopmlError) else str(first)
        raise cls(
            f"copying to {destination.url} stopped after {done} of {len(order)} blobs: {message}",
            uri=getattr(first, "uri", None),
            hint="run the same command again to copy the rest (nothing is copied twice)"
            if cls is ObjectStoreError
            else "the source blob is damaged; restore it (e.g. pull it from another store)",
        ) from first
    return done, done_bytes


class _CountingReader:
    """A read-only stream that reports how many bytes passed through it."""

    def __init__(self, raw: IO[bytes], on_bytes: ProgressCallback) -> None:
        self._raw = raw
        self._on_bytes = on_bytes

    def readinto(self, view: Any) -> int:
        count = self._raw.readinto(view)  # type: ignore[attr-defined]
        if count:
            self._on_bytes(int(count))
        return int(count or 0)

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self._on_bytes(len(data))
        return data


_ANY_BLOB = "0" * 64

#: Blobs per ``put_files`` call: each call ends with one durability barrier, so an interrupted
#: transfer keeps everything up to the last finished chunk.
_CHUNK = 2000
#: Small blobs per pack written by a transfer, and their bytes at most (they are held in
#: memory between reading and writing).
_PACK_CHUNK = 10_000
_PACK_CHUNK_BYTES = 64 * 2**20


def _transfer_packed(
    source: ObjectStore,
    destination: ObjectStore,
    small: list[str],
    sizes: Mapping[str, int],
    on_bytes: ProgressCallback | None,
) -> tuple[int, int]:
    """Copy small blobs in chunks: read verified (one read per source pack), written into
    one pack per chunk at the destination, hashed again on the way in."""
    total = len(sizes)
    copied = copied_bytes = 0
    chunk: list[str] = []
    chunk_bytes = 0

    def flush() -> None:
        nonlocal copied, copied_bytes
        stopped = f"transfer stopped after {copied} of {total} blobs"
        try:
            contents = source.read_many(chunk)
            stored = destination.put_files(
                [],
                contents=contents,
                workers=1,
                on_stored=None if on_bytes is None else (lambda info, _new: on_bytes(info.size)),
            )
        except CorruptObjectError as exc:
            raise CorruptObjectError(
                f"{stopped}: {exc.message} (in {source.url})",
                uri=exc.uri,
                hint="restore the blob from another copy (pull it again) and run again",
            ) from exc
        except (OSError, LoopmlError) as exc:
            raise ObjectStoreError(
                f"{stopped}: {exc}",
                hint="run the same command again: what was copied is not copied twice",
            ) from exc
        for blob, info in zip(chunk, stored, strict=True):
            if info.hex != blob:  # read_many verified it: only a changing source gets here
                raise CorruptObjectError(
                    f"{stopped}: blake3:{blob} read from {source.url} hashed differently",
                    uri=f"blake3:{blob}",
                )
        copied += len(chunk)
        copied_bytes += sum(info.size for info in stored)

    for blob in small:
        chunk.append(blob)
        chunk_bytes += sizes[blob]
        if len(chunk) >= _PACK_CHUNK or chunk_bytes >= _PACK_CHUNK_BYTES:
            flush()
            chunk, chunk_bytes = [], 0
    if chunk:
        flush()
    return copied, copied_bytes


def _transfer_local_files(
    source: ObjectStore,
    destination: ObjectStore,
    blobs: Mapping[str, int],
    workers: int,
    on_bytes: ProgressCallback | None,
) -> tuple[int, int]:
    """Copy blobs out of a local folder store with ``put_files``: hashed while copied (so a
    corrupt source blob is caught) and made durable once per chunk instead of once per blob."""
    order = sorted(blobs)
    copied = copied_bytes = 0
    for start in range(0, len(order), _CHUNK):
        chunk = order[start : start + _CHUNK]
        packed = source.packed(chunk)
        if packed:  # no file of their own: their (verified) bytes go in after the files
            chunk = [blob for blob in chunk if blob not in packed] + sorted(packed)
        paths = [str(source.local_path(blob)) for blob in chunk[: len(chunk) - len(packed)]]
        try:
            contents = source.read_many(chunk[len(chunk) - len(packed) :]) if packed else []
            stored = destination.put_files(
                paths,
                workers=workers,
                on_stored=None if on_bytes is None else (lambda info, _new: on_bytes(info.size)),
                contents=contents,
            )
        except CorruptObjectError as exc:
            raise CorruptObjectError(
                f"transfer stopped after {copied} of {len(order)} blobs: {exc.message} "
                f"(in {source.url})",
                uri=exc.uri,
                hint="restore the blob from another copy (pull it again) and run again",
            ) from exc
        except (OSError, LoopmlError) as exc:
            raise ObjectStoreError(
                f"transfer stopped after {copied} of {len(order)} blobs: {exc}",
                hint="run the same command again: what was copied is not copied twice",
            ) from exc
        for blob, info in zip(chunk, stored, strict=True):
            if info.hex != blob:
                raise CorruptObjectError(
                    f"transfer stopped after {copied} of {len(order)} blobs: blake3:{blob} in "
                    f"{source.url} is corrupt (its bytes hash to blake3:{info.hex})",
                    uri=f"blake3:{blob}",
                    hint="restore the blob from another copy (pull it again) and run again",
                )
        copied += len(chunk)
        copied_bytes += sum(info.size for info in stored)
    return copied, copied_bytes


def _copy_one(
    source: ObjectStore, destination: ObjectStore, blob: str, on_bytes: ProgressCallback | None
) -> None:
    with source.open(blob) as reader:  # verified as it is read
        stream: Any = reader if on_bytes is None else _CountingReader(reader, on_bytes)
        info = destination.put_stream(stream)
    if info.hex != blob:  # cannot happen unless the source changed the bytes under us
        destination_note = f"got blake3:{info.hex} at {destination.url}"
        raise CorruptObjectError(
            f"blake3:{blob} read from {source.url} hashed differently ({destination_note})",
            uri=f"blake3:{blob}",
        )


class _progress_bar:  # noqa: N801 - used like a function, as contextlib's helpers are
    """A Rich progress bar in bytes on stderr (or nothing); yields an ``advance(n)``."""

    def __init__(self, direction: str, total: int, show: bool | None) -> None:
        self._direction = direction
        self._total = total
        self._show = sys.stderr.isatty() if show is None else show
        self._progress: Any = None

    def __enter__(self) -> ProgressCallback | None:
        if not self._show or self._total == 0:
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        task = progress.add_task(self._direction, total=self._total)
        lock = threading.Lock()

        def advance(count: int) -> None:
            with lock:
                progress.advance(task, count)

        progress.start()
        self._progress = progress
        return advance

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
