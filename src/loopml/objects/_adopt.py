"""Files taken into a local object store by hardlink instead of copied (``put_files(link=True)``).

The file *becomes* the blob: a second name for the same inode, under ``tmp/`` first, then
renamed to the blob's path behind the batch's durability barrier, like any new blob. Nothing
is copied and no file is created, which on a busy disk is most of the cost of storing many
small files. The inode is made read-only (``0o444``) *before* it is hashed, so the bytes
hashed are the bytes stored: a later write needs a handle opened before, and a write by
root (who ignores the mode) is caught when the blob is next read or checked out, as for a
hardlinked checkout. The user's file is read-only from then on, as after
``checkout --link hardlink``.

A file is not adopted (the caller copies it instead) when it is executable (a blob is
``0o444``), a symlink or not a regular file, has other names already (a hardlink: making
it read-only would change it there too), or cannot be linked (another filesystem, a
filesystem without hardlinks). A file whose content is stored already keeps its own
inode and gets its mode back.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Callable

from blake3 import blake3

from loopml.objects.blobs import BlobInfo

__all__ = ["Adopter"]

#: Errors of ``os.link`` that mean "copy instead" rather than a failure.
_CANNOT_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP, errno.ENOTSUP}
_READ_ONLY = 0o444
#: Files at least this large are hashed over a memory map, by all cores.
_MMAP_HASH_MIN = 8 * 2**20
_READ_SIZE = 2**20


class Adopter:
    """Adopts files into one write batch of a local store; thread-safe.

    Args:
        temp_path: A new, unique path under the store's ``tmp/`` for each call.
        stored: Whether a blob is stored already (or queued in this batch).
        queue: Hands a temp holding a blob to the batch; False if the batch has the blob
            already (the temp is then removed by the batch).
    """

    def __init__(
        self,
        temp_path: Callable[[], str],
        stored: Callable[[str], bool],
        queue: Callable[[str, str], bool],
    ) -> None:
        self._temp_path = temp_path
        self._stored = stored
        self._queue = queue
        self._lock = threading.Lock()
        self._adopted: list[tuple[str, int]] = []  # (path, its mode before) of queued files

    def adopt(self, path: str) -> tuple[BlobInfo, bool] | None:
        """Take ``path`` in as its blob; the blob and whether it is new, or None when the
        file is to be copied instead."""
        try:
            st = os.lstat(path)
        except OSError:
            return None  # the copy reports it, naming the file
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o111 or st.st_nlink != 1:
            # a symlink's target, or a file with other names, lives outside what is added:
            # making it read-only would change it there too
            return None
        mode = stat.S_IMODE(st.st_mode)
        temp = self._temp_path()
        try:
            os.link(path, temp)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(temp), exist_ok=True)
            try:
                os.link(path, temp)
            except OSError as exc:
                if exc.errno in _CANNOT_LINK:
                    return None
                raise
        except OSError as exc:
            if exc.errno in _CANNOT_LINK:
                return None
            raise
        try:
            os.chmod(temp, _READ_ONLY)
        except PermissionError:  # not ours to protect: copy it instead
            _undo(temp, path, mode)
            return None
        try:
            blob, size = _hash(temp, st.st_size)
            new = not self._stored(blob) and self._queue(blob, temp)
        except BaseException:
            _undo(temp, path, mode)
            raise
        if new:
            with self._lock:
                self._adopted.append((path, mode))
        else:  # stored already: the file stays its own, writable again
            if os.path.exists(temp):
                os.unlink(temp)
            os.chmod(path, mode)
        return BlobInfo(blob, size), new

    def give_back(self) -> None:
        """After the batch failed: every adopted file gets its mode back."""
        with self._lock:
            adopted, self._adopted = self._adopted, []
        for path, mode in adopted:
            try:
                os.chmod(path, mode)
            except OSError:
                continue


def _hash(path: str, size: int) -> tuple[str, int]:
    """BLAKE3 of the file at ``path`` and its size, read once."""
    if size >= _MMAP_HASH_MIN:
        hasher = blake3(max_threads=blake3.AUTO)
        hasher.update_mmap(path)
        return str(hasher.hexdigest()), os.stat(path).st_size
    hasher = blake3()
    total = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        want = min(size + 1, _READ_SIZE)  # a small file in one read (short: the end)
        while chunk := os.read(fd, want):
            hasher.update(chunk)
            total += len(chunk)
            if len(chunk) < want:
                break
            want = _READ_SIZE
    finally:
        os.close(fd)
    return str(hasher.hexdigest()), total


def _undo(temp: str, path: str, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)
    with contextlib.suppress(OSError):
        os.chmod(path, mode)
