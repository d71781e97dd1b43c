"""Putting one verified blob at one path: reflink, hardlink, symlink or copy.

Every method checks the blob against its hash before a byte of it can be seen at the
destination: a copy hashes while it copies and removes its output on a mismatch; the link
methods hash the blob file first (unless the stat cache vouches for it, see
:class:`BlobVerifier`). A corrupt blob raises :class:`~loopml.errors.CorruptObjectError`
naming the file and the blob, and nothing is left at the destination.

The link methods share the blob's bytes: a reflink is copy-on-write (safe to edit), a
hardlink is the blob itself (read-only, so an edit cannot change the store; an editor that
saves by writing a new file and renaming it breaks the link, which is safe too), a symlink
points into the store. Files with the executable bit are copied in the hardlink and symlink
modes, because the blob's own mode (0o444) cannot carry it. Small blobs stored in a pack
(see :mod:`loopml.objects._packs`) have no file of their own: they are copied, in any mode,
after their bytes are read and verified.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable, Sequence
from typing import IO, Literal, NamedTuple

from blake3 import blake3

from loopml.data.hashing import hash_file
from loopml.data.statcache import StatRow
from loopml.errors import CorruptObjectError, InvalidInputError, NotFoundError
from loopml.objects import ObjectStore

__all__ = [
    "FICLONE",
    "LINK_MODES",
    "BlobVerifier",
    "LinkMode",
    "Materializer",
    "Method",
    "Placed",
]

LinkMode = Literal["auto", "reflink", "hardlink", "symlink", "copy"]
Method = Literal["reflink", "hardlink", "symlink", "copy"]
LINK_MODES: tuple[LinkMode, ...] = ("auto", "reflink", "hardlink", "symlink", "copy")
#: ``ioctl(dest_fd, FICLONE, src_fd)``: share the source's extents (btrfs, XFS, bcachefs…).
FICLONE = 0x40049409
_COPY_CHUNK = 4 * 2**20
_NO_REFLINK = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS}
_NO_HARDLINK = {errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EACCES}
_CORRUPT_HINT = (
    "the stored bytes were damaged: add or pull the data again to store a good copy, "
    "then check it out"
)


class Placed(NamedTuple):
    """A file put in place: how, and the stat that now vouches for its content."""

    method: Method
    row: StatRow


def corrupt(path: str, blob: str, actual: str | None) -> CorruptObjectError:
    """The error for a file whose blob does not match its hash."""
    found = f"its content hashes to {actual}" if actual else "it is truncated"
    return CorruptObjectError(
        f"blob blake3:{blob} of {path} is corrupt: {found}; {path} was not written",
        uri=f"blake3:{blob}",
        field=path,
        hint=_CORRUPT_HINT,
    )


class BlobVerifier:
    """Checks local blob files against their hashes, trusting the stat cache where it can.

    ``verified`` holds the :func:`~loopml.data.statcache.blob_signature` of blob files known
    to be intact; blobs hashed here are added to :attr:`new_rows` for the caller to record.
    There is no racy-file rule for blobs: they are written once, through the
    hash-while-copying path, and are read-only, so their bytes never change legitimately (a
    change that keeps size and mtime, as disk rot would, is caught only by ``--verify`` or a
    copy).
    """

    def __init__(self, verified: set[int], *, now_ns: int) -> None:
        self._verified = verified
        self._now_ns = now_ns
        self._lock = threading.Lock()
        self.new_rows: list[StatRow] = []

    def verified_stat(self, blob_path: str, blob: str, rel: str) -> os.stat_result:
        """The stat of a blob file whose content is ``blob`` (hashed unless cached).

        Raises:
            CorruptObjectError: it is not (naming ``rel`` and the blob).
        """
        st = os.stat(blob_path)
        # blob_signature(), inlined: this runs once per file of a checkout.
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, int(blob[:16], 16))
        if hash(key) in self._verified:
            return st
        actual, _ = hash_file(blob_path)
        if actual != blob:
            raise corrupt(rel, blob, actual)
        row = StatRow(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, blob, self._now_ns)
        with self._lock:
            self.new_rows.append(row)
        return st


class Materializer:
    """Places blobs at paths with the best method ``mode`` allows, falling back in ``auto``.

    Thread-safe. In ``auto``, a method the filesystem refuses (no reflinks, no hardlinks
    across devices) is dropped for the rest of the checkout.
    """

    def __init__(
        self,
        objects: ObjectStore,
        mode: LinkMode,
        verifier: BlobVerifier,
        *,
        started_ns: int,
    ) -> None:
        self._objects = objects
        self._mode = mode
        self._verifier = verifier
        self._started_ns = started_ns
        self._local_store = objects.local_root is not None
        self._reflink_ok = mode in ("auto", "reflink")
        self._hardlink_ok = mode in ("auto", "hardlink")

    def place(
        self, blob: str, size: int, mode: int, dest: str, rel: str, source: str | None
    ) -> Placed:
        """Put ``blob`` (of ``size`` bytes, file mode ``mode``) at the new path ``dest``;
        ``source`` is the blob's local file (None for a remote store or a packed blob)."""
        if source is None:
            if self._local_store:
                return self._copy_packed(blob, size, mode, dest, rel)
            return self._copy_remote(blob, size, mode, dest, rel)
        try:
            return self._place_local(blob, size, mode, dest, rel, source)
        except FileNotFoundError as exc:
            if exc.filename != source:
                raise
            raise NotFoundError(
                f"blob blake3:{blob} of {rel} is missing from {self._objects.url}",
                uri=f"blake3:{blob}",
                field=rel,
                hint="pull the dataset from the remote that has it (loopml data pull)",
            ) from exc

    def _place_local(
        self, blob: str, size: int, mode: int, dest: str, rel: str, source: str
    ) -> Placed:
        executable = mode & 0o111
        if self._mode == "copy":
            return self._copy_local(source, blob, size, mode, dest, rel)
        st = self._verifier.verified_stat(source, blob, rel)
        if st.st_size != size:
            raise corrupt(rel, blob, None)
        if self._reflink_ok:
            placed = self._reflink(source, blob, mode, dest)
            if placed is not None:
                return placed
        if self._mode == "symlink" and not executable:
            os.symlink(source, dest)
            return _placed("symlink", st, blob, self._started_ns)
        if self._hardlink_ok and not executable:
            try:
                os.link(source, dest)
                return _placed("hardlink", st, blob, self._started_ns)
            except OSError as exc:
                if self._mode == "hardlink" and exc.errno != errno.EMLINK:
                    raise _unsupported("hardlink", dest, exc) from exc
                if exc.errno != errno.EMLINK and exc.errno in _NO_HARDLINK:
                    self._hardlink_ok = False
        return self._copy_local(source, blob, size, mode, dest, rel)

    def _reflink(self, source: str, blob: str, mode: int, dest: str) -> Placed | None:
        import fcntl

        out = _create(dest, mode)
        try:
            with open(source, "rb") as src:
                fcntl.ioctl(out, FICLONE, src.fileno())
            new = os.fstat(out)
        except OSError as exc:
            os.close(out)
            os.unlink(dest)
            if exc.errno not in _NO_REFLINK or self._mode == "reflink":
                raise _unsupported("reflink", dest, exc) from exc
            self._reflink_ok = False
            return None
        os.close(out)
        # A new inode with the blob's (verified) bytes, written just now: racy until later.
        return _placed("reflink", new, blob, self._started_ns)

    def sources(self, blobs: Sequence[str]) -> list[str | None] | None:
        """The local files of ``blobs`` (None when the store is remote; None for a blob
        held in a pack)."""
        paths = self._objects.local_paths(blobs)
        if paths is None:
            return None
        packed = self._objects.packed(blobs)
        if not packed:
            return list(paths)
        return [None if blob in packed else path for blob, path in zip(blobs, paths, strict=True)]

    def read_packed(self, keys: Sequence[int], blobs: Sequence[str]) -> dict[int, bytes]:
        """The verified bytes of packed ``blobs`` by ``keys``, read with one read per pack.

        Where that fails (a blob missing or damaged), nothing is returned for them: each is
        then placed one by one, which names the file and the cause.
        """
        try:
            return dict(zip(keys, self._objects.read_many(blobs), strict=True))
        except (NotFoundError, CorruptObjectError):
            return {}

    def write_verified(self, blob: str, data: bytes, mode: int, dest: str) -> Placed:
        """A new file at ``dest`` holding ``data``, the verified bytes of ``blob``."""

        def write(out: int) -> None:
            _write_all(out, memoryview(data))

        return _placed("copy", _new_file(dest, mode, write), blob, self._started_ns)

    def _copy_packed(self, blob: str, size: int, mode: int, dest: str, rel: str) -> Placed:
        """A packed blob: read (it is small), hashed, and written only if it matches."""
        try:
            with self._objects.open(blob, verify=False) as src:
                data = src.read()
        except NotFoundError as exc:
            raise NotFoundError(
                f"blob blake3:{blob} of {rel} is missing from {self._objects.url}",
                uri=f"blake3:{blob}",
                field=rel,
                hint="pull the dataset from the remote that has it (loopml data pull)",
            ) from exc
        actual = str(blake3(data).hexdigest())
        if actual != blob or len(data) != size:
            raise corrupt(rel, blob, actual if len(data) == size else None)
        return self.write_verified(blob, data, mode, dest)

    def _copy_local(
        self, source: str, blob: str, size: int, mode: int, dest: str, rel: str
    ) -> Placed:
        with open(source, "rb", buffering=0) as src:
            return self._copy_stream(src, blob, size, mode, dest, rel)

    def _copy_remote(self, blob: str, size: int, mode: int, dest: str, rel: str) -> Placed:
        if self._mode not in ("auto", "copy"):
            raise InvalidInputError(
                f"--link {self._mode} needs a local object store; {self._objects.url} is not",
                field="link",
                hint="use --link copy (or auto)",
            )
        with self._objects.open(blob, verify=False) as src:
            return self._copy_stream(src, blob, size, mode, dest, rel)

    def _copy_stream(
        self, src: IO[bytes], blob: str, size: int, mode: int, dest: str, rel: str
    ) -> Placed:
        """Copy while hashing; a mismatch removes ``dest`` and raises."""

        def write(out: int) -> None:
            hasher = blake3()
            total = 0
            read: Callable[[int], bytes] = src.read
            while chunk := read(min(_COPY_CHUNK, max(size - total, 0) + 1)):
                hasher.update(chunk)
                _write_all(out, memoryview(chunk))
                total += len(chunk)
            actual = str(hasher.hexdigest())
            if actual != blob or total != size:
                raise corrupt(rel, blob, actual if total == size else None)

        return _placed("copy", _new_file(dest, mode, write), blob, self._started_ns)


def _new_file(path: str, mode: int, write: Callable[[int], None]) -> os.stat_result:
    """Create ``path``, ``write(fd)`` into it; its stat. On any error it is removed."""
    out = _create(path, mode)
    try:
        write(out)
        new = os.fstat(out)
    except BaseException:
        os.close(out)
        os.unlink(path)
        raise
    os.close(out)
    return new


def _write_all(out: int, view: memoryview) -> None:
    while view:
        view = view[os.write(out, view) :]


def _create(path: str, mode: int) -> int:
    """A new file for writing; executable for everyone the umask allows if ``mode`` is."""
    perms = 0o777 if mode & 0o111 else 0o666
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), perms)


def _placed(method: Method, st: os.stat_result, blob: str, recorded_ns: int) -> Placed:
    # tuple.__new__: NamedTuples built without their Python-level __new__ (per file).
    row = _new(StatRow, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, blob, recorded_ns))
    return _new(Placed, (method, row))


_new = tuple.__new__


def _unsupported(method: str, dest: str, exc: OSError) -> InvalidInputError:
    return InvalidInputError(
        f"cannot {method} into {os.path.dirname(dest)}: {exc.strerror}",
        field="link",
        hint="use --link auto to fall back to what the filesystem supports",
    )
