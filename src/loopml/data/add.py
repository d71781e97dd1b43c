"""``loopml.data.add``: version a local file or folder.

The path is walked once (one ``stat`` per file). A file whose stat matches the stat cache is
not read at all; every other file is read exactly once, hashed while it is copied into the
object store (:meth:`~loopml.objects.ObjectStore.put_files`, one durability barrier for the
whole batch). The manifest then becomes a version through
:func:`~loopml.data.versioning.record_version`, which returns the existing version when the
content is the same, and the local data cache learns the folder, its listing and the stats.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from loopml.data.hashing import io_workers
from loopml.data.progress import Meter, ProgressFn
from loopml.data.statcache import DataCache, Entry, StatRow
from loopml.data.uris import DATASET_NAME, check_dataset_name
from loopml.data.versioning import record_version
from loopml.data.walk import FileStat, stat_path, walk_tree
from loopml.entities import DatasetKind, DatasetVersion, FileEntry
from loopml.errors import InvalidInputError, NotFoundError
from loopml.objects import BlobInfo, ObjectStore
from loopml.tracking.context import TrackingContext, get_context

__all__ = [
    "ADD_LINK_MODES",
    "AddLink",
    "AddResult",
    "add",
    "add_path",
    "check_add_link",
    "resolve_local",
]

#: How ``add`` stores a file: ``copy`` (default: the user's files stay as they are) or
#: ``hardlink`` (the file becomes its read-only blob; nothing is copied).
AddLink = Literal["copy", "hardlink"]
ADD_LINK_MODES: tuple[AddLink, ...] = ("copy", "hardlink")


@dataclass(frozen=True, slots=True)
class AddResult:
    """What an add did: the version, whether it is new, and the work it took."""

    version: DatasetVersion
    created: bool
    path: str
    files: int
    hashed_files: int
    hashed_bytes: int


def add(
    path: str | os.PathLike[str],
    name: str | None = None,
    message: str | None = None,
    *,
    project: str | None = None,
    link: AddLink | None = None,
) -> DatasetVersion:
    """Version a local folder or file as a dataset.

    The same content always gives the same version (adding it again returns the existing
    one). Inside an active run, the run records the version as an output.

    Args:
        path: A folder (every file below it, except ``.loopml``, ``.git`` and ``.dvc``) or
            a file. Symlinks are followed: the version holds the content they point to.
        name: The dataset's name (default: the folder's or file's name).
        message: Why this version exists.
        project: The project (default: the active run's, else the configured one).
        link: ``copy`` copies each new file into the object store (the default, unless
            the ``data_add_link`` setting says otherwise). ``hardlink``
            takes it in as a hardlink instead: nothing is copied and the file is made
            read-only (it *is* the stored blob, as after ``checkout --link hardlink``), so
            ``add`` and a later checkout create no files. Executable files and files on
            another filesystem than the store are copied.

    Returns:
        The version (``version.uri`` is ``datasets:/<name>/<number>``).

    Raises:
        NotFoundError: ``path`` does not exist (``field="path"``).
        InvalidInputError: a bad name, an empty folder, a broken symlink inside.
        AlreadyExistsError: ``name`` is a dataset of another project.

    Example:
        >>> import loopml
        >>> v = loopml.data.add("data/raw/", name="churn-raw")  # doctest: +SKIP
        >>> v.uri  # doctest: +SKIP
        'datasets:/churn-raw/1'
    """
    return add_path(path, name, message, project=project, link=link).version


def add_path(
    path: str | os.PathLike[str],
    name: str | None = None,
    message: str | None = None,
    *,
    project: str | None = None,
    verify: bool = False,
    progress: ProgressFn | None = None,
    workers: int | None = None,
    pack: bool = True,
    link: AddLink | None = None,
) -> AddResult:
    """:func:`add`, reporting what was done; ``verify`` hashes every file (no stat cache);
    ``pack=False`` stores every small file as a blob file of its own (see
    :meth:`~loopml.objects.ObjectStore.put_files`), which a checkout can hardlink."""
    target = resolve_local(path)
    is_dir = os.path.isdir(target)
    name = check_dataset_name(name if name is not None else _default_name(target))
    ctx = get_context()
    mode = check_add_link(link if link is not None else ctx.settings.data_add_link)
    _refuse_home(target, ctx.settings.home)
    objects = ctx.objects  # first: opening the store (below) holds the context's lock
    opening = _open_store_meanwhile(ctx)
    try:
        return _add(
            ctx,
            objects,
            target,
            is_dir,
            name,
            message,
            project,
            verify,
            progress,
            workers,
            pack,
            mode,
        )
    finally:
        opening.join()  # never leave the thread opening a store behind


def _add(
    ctx: TrackingContext,
    objects: ObjectStore,
    target: str,
    is_dir: bool,
    name: str,
    message: str | None,
    project: str | None,
    verify: bool,
    progress: ProgressFn | None,
    workers: int | None,
    pack: bool,
    link: AddLink,
) -> AddResult:
    started_ns = time.time_ns()
    listed = sorted(walk_tree(target)) if is_dir else [stat_path(target, os.path.basename(target))]
    if not listed:
        raise InvalidInputError(
            f"nothing to version: {target} holds no files",
            field="path",
            hint="check the path (.loopml, .git and .dvc folders are skipped)",
        )
    kind = DatasetKind.FOLDER if is_dir else DatasetKind.FILE
    with DataCache.open(ctx.settings.home) as cache:
        tracked = cache.tracked(target)
        previous = cache.entries(tracked.id) if tracked is not None else {}
        blobs = {} if verify else _known_blobs(listed, previous)
        # A blob known from the cache but not part of the tracked version may have been
        # collected since: check those (and protect them from a running gc).
        unlisted = set(blobs.values()) - {entry.blob for entry in previous.values()}
        if unlisted:
            missing = unlisted - objects.exists_many(unlisted, refresh=True)
            blobs = {i: blob for i, blob in blobs.items() if blob not in missing}
        to_store = [i for i in range(len(listed)) if i not in blobs]
        meter = Meter(progress, "storing", sum(listed[i].size for i in to_store))
        written: list[str] = []

        def on_stored(info: BlobInfo, new: bool) -> None:
            meter.advance(info.size)
            if new:
                written.append(info.hex)  # list.append is atomic: safe from the workers

        if workers is None:
            workers = io_workers([listed[i].size for i in to_store])
        stored = objects.put_files(
            [listed[i].abspath for i in to_store],
            workers=workers,
            on_stored=on_stored,
            pack=pack,
            link=link == "hardlink",
        )
        meter.finish()
        _vouch_for_blobs(objects, cache, written, started_ns)
        entries = _entries(listed, blobs, to_store, stored, previous, started_ns)
        version, created = record_version(
            ctx,
            name=name,
            kind=kind,
            files=[FileEntry(e.path, e.size, e.blob, e.mode) for e in entries],
            project=project,
            message=message,
        )
        cache.record(
            target,
            kind=kind.value,
            dataset=version.dataset,
            version=version.version,
            version_id=version.id,
            content_id=version.content_id,
            tracking_uri=ctx.settings.tracking_uri,
            entries=entries,
        )
    hashed = sum(info.size for info in stored)
    return AddResult(version, created, target, len(entries), len(stored), hashed)


def check_add_link(link: str) -> AddLink:
    """``link`` if ``add`` knows it, else InvalidInputError naming the choices (and where
    the default comes from)."""
    for mode in ADD_LINK_MODES:
        if link == mode:
            return mode
    raise InvalidInputError(
        f"unknown link mode {link!r} for add",
        field="link",
        hint=f"use one of {', '.join(ADD_LINK_MODES)} (--link, or the data_add_link setting:"
        " LOOPML_DATA_ADD_LINK or .loopml/config.toml)",
    )


def resolve_local(path: str | os.PathLike[str]) -> str:
    """The real absolute path of an existing local file or folder.

    Raises:
        NotFoundError: nothing is there (``field="path"``).
        InvalidInputError: ``path`` is not a path.
    """
    if not isinstance(path, str | os.PathLike):
        raise InvalidInputError(f"not a path: {path!r}", field="path")
    text = os.fspath(path)
    if not text:
        raise InvalidInputError("the path is empty", field="path")
    real = os.path.realpath(text)
    if not os.path.exists(real):
        raise NotFoundError(f"no such file or folder: {text}", field="path", hint="check the path")
    return real


def _default_name(target: str) -> str:
    name = os.path.basename(target.rstrip(os.sep)) or "root"
    if not DATASET_NAME.match(name):
        raise InvalidInputError(
            f"{name!r} is not a valid dataset name",
            field="name",
            hint="pass --name (letters, digits, '.', '_' and '-')",
        )
    return name


def _refuse_home(target: str, home: Path | None) -> None:
    if home is None:
        return
    home_real = os.path.realpath(home)
    if target == home_real or target.startswith(home_real + os.sep):
        raise InvalidInputError(
            f"{target} is inside loopml's own folder", field="path", hint="add your data instead"
        )


def _known_blobs(listed: list[FileStat], previous: dict[str, Entry]) -> dict[int, str]:
    """Index -> blob for the files whose stat the cache vouches for."""
    known: dict[int, str] = {}
    if not previous:
        return known
    for i, file in enumerate(listed):
        entry = previous.get(file.path)
        if entry is not None:
            blob = entry.cached_hash(file.dev, file.ino, file.size, file.mtime_ns)
            if blob is not None:
                known[i] = blob
    return known


def _entries(
    listed: list[FileStat],
    blobs: dict[int, str],
    stored_at: list[int],
    stored: list[BlobInfo],
    previous: dict[str, Entry],
    started_ns: int,
) -> list[Entry]:
    """The new version's entries, each with the stat its hash is vouched for by."""
    hashed = dict(zip(stored_at, stored, strict=True))
    entries: list[Entry] = []
    for i, file in enumerate(listed):
        info = hashed.get(i)
        if info is None:  # known from the cache: keep its stat entry as it was
            old = previous[file.path]
            entries.append(
                Entry(
                    file.path,
                    file.size,
                    blobs[i],
                    file.mode,
                    file.dev,
                    file.ino,
                    file.mtime_ns,
                    None,
                    old.recorded_ns,
                )
            )
        elif info.size == file.size:
            entries.append(
                Entry(
                    file.path,
                    file.size,
                    info.hex,
                    file.mode,
                    file.dev,
                    file.ino,
                    file.mtime_ns,
                    None,
                    started_ns,
                )
            )
        else:  # it changed while it was read: version what was read, vouch for nothing
            entries.append(Entry(file.path, info.size, info.hex, file.mode))
    return entries


def _vouch_for_blobs(objects: ObjectStore, cache: DataCache, blobs: list[str], now_ns: int) -> None:
    """Record the stat of the blobs this add wrote as verified: their bytes were hashed as
    they were written, so a checkout can link them without reading them again."""
    root = objects.local_root
    if root is None or not blobs:
        return
    packed = objects.packed(blobs)  # no file of their own to link: nothing to vouch for
    if packed:
        blobs = [blob for blob in blobs if blob not in packed]
    paths = objects.local_paths(blobs)
    if paths is None or not blobs:
        return
    rows: list[StatRow] = []
    for blob, path in zip(blobs, paths, strict=True):
        st = os.stat(path)
        rows.append(StatRow(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, blob, now_ns))
    cache.add_verified(cache.objects_scope(str(root)), rows)


def _open_store_meanwhile(ctx: TrackingContext) -> threading.Thread:
    """Open (import, connect, migrate) the metadata store in a thread while files are read;
    the caller joins it.

    An error is not lost: the store is opened again, and the error raised, where it is
    first needed.
    """

    def open_store() -> None:
        # Any error is raised again by the caller's own open; here it would only be noise.
        with contextlib.suppress(Exception):
            _ = ctx.store

    thread = threading.Thread(target=open_store, name="loopml-open-store", daemon=True)
    thread.start()
    return thread
