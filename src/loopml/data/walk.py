"""Listing the files of a folder (or one file) with what the stat cache needs.

One recursive :func:`os.scandir` pass, one ``stat`` per file, no hashing. Folders named in
:data:`IGNORED_DIRS` are skipped. A symlink stands for its target: a linked file is listed
with the target's size and inode (its content is what gets versioned), a linked folder is
walked (each real folder once, so a link cycle ends). A broken link, a socket or a device is
an error rather than a silent gap in the version.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import NamedTuple

from loopml.errors import InvalidInputError, NotFoundError

__all__ = [
    "IGNORED_DIRS",
    "FileStat",
    "file_mode",
    "stat_path",
    "stat_signature",
    "walk_changed",
    "walk_tree",
]

#: Folders never versioned: loopml's own, git's and DVC's.
IGNORED_DIRS = frozenset({".loopml", ".git", ".dvc"})


class FileStat(NamedTuple):
    """A file as listed: relative POSIX path, absolute path, and the stat cache's key."""

    path: str
    abspath: str
    size: int
    mtime_ns: int
    dev: int
    ino: int
    mode: int


def file_mode(st_mode: int) -> int:
    """The mode a manifest records: ``0o755`` if anyone may execute the file, else ``0o644``.

    Only the executable bit is kept (as git does): the rest depends on umasks and on how the
    file was checked out, and must not make the same content a different version.
    """
    return 0o755 if st_mode & 0o111 else 0o644


def stat_path(path: str, rel: str) -> FileStat:
    """One file (following a symlink), listed under the relative path ``rel``.

    Raises:
        NotFoundError: ``path`` does not exist or is a broken link (``field="path"``).
        InvalidInputError: ``path`` is not a regular file.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise NotFoundError(
            f"no such file or folder: {path}", field="path", hint="check the path"
        ) from exc
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInputError(f"{path} is not a regular file", field="path")
    return FileStat(
        rel, path, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino, file_mode(st.st_mode)
    )


def stat_signature(dev: int, ino: int, size: int, mtime_ns: int, mode: int) -> int:
    """One integer standing for a file's stat cache key and its manifest mode.

    ``hash()`` of a tuple of ints: computed in C, deterministic for a given Python (no
    hash randomization for ints), 64 bits. :func:`walk_changed` compares it with the stored
    one instead of five fields, which halves the per-file cost of ``status``. A different
    Python may compute different values; that only makes files hashed again.
    """
    return hash((dev, ino, size, mtime_ns, mode))


def walk_tree(root: str) -> list[FileStat]:
    """Every file under the folder ``root``, in no particular order.

    Raises:
        InvalidInputError: a broken symlink or a special file (socket, device, FIFO) inside
            (``field="path"``), or a folder that cannot be read.
    """
    return _walk(root, None, [])


def walk_changed(root: str, signatures: Mapping[str, int]) -> tuple[list[FileStat], list[str]]:
    """The files under ``root`` whose :func:`stat_signature` differs from ``signatures``
    (by relative path), and the relative paths of those that match.

    Raises:
        InvalidInputError: as :func:`walk_tree`.
    """
    same: list[str] = []
    return _walk(root, signatures, same), same


def _walk(root: str, signatures: Mapping[str, int] | None, same: list[str]) -> list[FileStat]:
    out: list[FileStat] = []
    real = os.stat(root)
    seen = {(real.st_dev, real.st_ino)}
    stack = [(root, "")]
    new = _new_stat
    known = signatures.get if signatures else None
    matched = same.append
    while stack:
        folder, prefix = stack.pop()
        base = folder + os.sep
        try:
            # Listed through a descriptor, so each stat is an fstatat() of a bare name.
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError as exc:
            raise InvalidInputError(f"cannot list {folder}: {exc}", field="path") from exc
        try:
            with os.scandir(fd) as listing:
                for entry in listing:
                    name = entry.name
                    if entry.is_dir(follow_symlinks=False):
                        if name not in IGNORED_DIRS:
                            stack.append((base + name, f"{prefix}{name}/"))
                        continue
                    if entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                    else:
                        st = _other(base + name, entry.is_symlink())
                        if stat.S_ISDIR(st.st_mode):
                            key = (st.st_dev, st.st_ino)
                            if key not in seen and name not in IGNORED_DIRS:
                                seen.add(key)
                                stack.append((base + name, f"{prefix}{name}/"))
                            continue
                    rel = prefix + name
                    mode = 0o755 if st.st_mode & 0o111 else 0o644
                    if known is not None and known(rel) == hash(
                        (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, mode)
                    ):
                        matched(rel)
                        continue
                    fields = (rel, base + name, st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino)
                    out.append(new(FileStat, (*fields, mode)))
        finally:
            os.close(fd)
    return out


#: Builds the NamedTuple without a Python-level call per file (20,000 files: -15 ms).
_new_stat = tuple.__new__


def _other(path: str, is_link: bool) -> os.stat_result:
    """The stat of what a symlink points to (a file or a folder); an error for the rest."""
    if not is_link:
        raise _special(path)
    st = _follow(path)
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise _special(path)
    return st


def _follow(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as exc:
        raise InvalidInputError(
            f"broken symlink: {path} ({exc.strerror})",
            field="path",
            hint="fix or remove the link; a version stores the content a link points to",
        ) from exc


def _special(path: str) -> InvalidInputError:
    return InvalidInputError(
        f"{path} is not a regular file, folder or symlink (a socket, device or FIFO)",
        field="path",
        hint="move it out of the folder; only files can be versioned",
    )
