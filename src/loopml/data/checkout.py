"""``loopml.data.checkout`` and ``loopml.data.get``: a dataset version as local files.

Files are first placed in a staging folder next to the destination, every blob verified on
the way (:mod:`loopml.data.materialize`); only when all of them are there does the staging
folder become the destination (one rename), or, for a folder that already exists, do the
files that differ move into it (one rename each). A corrupt blob therefore leaves the
destination as it was.

Updating an existing folder works like ``git checkout``: files already as in the version
are kept, files of the previously checked-out (or added) version that are unchanged are
replaced or removed, and a file with local changes, or one loopml does not know, is never
overwritten unless ``force`` is given. The destination is then tracked: ``status`` compares
it with the version it now holds.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loopml.data.catalog import manifest_files, resolve_in
from loopml.data.hashing import hash_files, io_workers
from loopml.data.materialize import (
    FICLONE,
    LINK_MODES,
    BlobVerifier,
    LinkMode,
    Materializer,
    Placed,
)
from loopml.data.progress import Meter, ProgressFn
from loopml.data.statcache import DataCache, Entry, StatRow, TrackedPath, local_folder
from loopml.data.versioning import record_input
from loopml.data.walk import FileStat, stat_path, walk_tree
from loopml.entities import DatasetKind, DatasetVersion, FileEntry
from loopml.errors import ConflictError, CorruptObjectError, InvalidInputError, ObjectStoreError
from loopml.objects import ObjectStore
from loopml.tracking.context import TrackingContext, get_context

__all__ = ["FICLONE", "CheckoutResult", "check_link", "checkout", "checkout_version", "get"]


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    """What a checkout did.

    Attributes:
        version: The version checked out.
        path: The folder (or, for a file dataset, the file) that now holds it.
        files: Files in the version.
        written: Files placed (the others were already there, identical).
        methods: How many files each method placed (``hardlink``, ``copy``…).
        removed: Files of the previous version that were removed.
        kept: Files in the folder that are not in the version, left alone.
    """

    version: DatasetVersion
    path: Path
    files: int
    written: int
    methods: dict[str, int] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def checkout(uri: str, to: str | os.PathLike[str], *, link: LinkMode = "auto") -> Path:
    """Materialize a dataset version at ``to``, every blob verified.

    Args:
        uri: ``datasets:/<name>/<version>`` or ``datasets:/<name>@latest``.
        to: The folder to fill (created if needed). For a file dataset, the file to write,
            or an existing folder to put it in.
        link: ``auto`` (reflink where the filesystem can, else hardlink, else copy),
            ``reflink``, ``hardlink`` (read-only files sharing the store's bytes),
            ``symlink`` or ``copy``.

    Returns:
        The folder, or the file for a file dataset.

    Raises:
        InvalidInputError: a malformed URI or link mode; a link mode the filesystem refuses.
        NotFoundError: no such dataset or version, or a blob missing from the store.
        CorruptObjectError: a blob whose bytes do not match its hash (nothing is written).
        ConflictError: ``to`` holds files with local changes that the version would replace.

    Example:
        >>> import loopml
        >>> loopml.data.checkout("datasets:/churn-raw/3", "data/raw")  # doctest: +SKIP
        PosixPath('data/raw')
    """
    ctx = get_context()
    version = resolve_in(ctx, uri)
    result = checkout_version(ctx, version, to, link=link)
    record_input(ctx, version)
    return result.path


def get(uri: str, dest: str | os.PathLike[str] | None = None, *, link: LinkMode = "auto") -> Path:
    """A dataset version as a local working copy; inside a run, recorded as its input.

    Args:
        uri: ``datasets:/<name>/<version>`` or ``datasets:/<name>@latest``.
        dest: Where to put it (default: ``.loopml/checkouts/<name>/<version>``, reused by
            later calls and restored if its files were changed).
        link: As for :func:`checkout`.

    Returns:
        The folder, or the file for a file dataset.

    Example:
        >>> import loopml
        >>> path = loopml.data.get("datasets:/churn-raw/3")  # doctest: +SKIP
    """
    ctx = get_context()
    version = resolve_in(ctx, uri)
    managed = dest is None
    if dest is None:
        dest = local_folder(ctx.settings.home) / "checkouts" / version.dataset
        dest = dest / str(version.version)
    # The default folder is loopml's own: changes made there are undone without asking.
    result = checkout_version(ctx, version, dest, link=link, force=managed)
    record_input(ctx, version)
    return result.path


def check_link(link: str) -> LinkMode:
    """``link`` if it is a link mode, else InvalidInputError naming the choices."""
    for mode in LINK_MODES:
        if link == mode:
            return mode
    raise InvalidInputError(
        f"unknown link mode {link!r}", field="link", hint=f"use one of {', '.join(LINK_MODES)}"
    )


def checkout_version(
    ctx: TrackingContext,
    version: DatasetVersion,
    to: str | os.PathLike[str],
    *,
    link: LinkMode = "auto",
    force: bool = False,
    verify: bool = False,
    progress: ProgressFn | None = None,
    workers: int | None = None,
) -> CheckoutResult:
    """:func:`checkout` of a resolved version, reporting what was done.

    ``force`` overwrites files with local changes; ``verify`` hashes every blob even if the
    stat cache vouches for it; ``workers`` threads place files (default: see
    :func:`~loopml.data.hashing.io_workers`).
    """
    mode = check_link(link)
    started_ns = time.time_ns()
    entries = manifest_files(ctx, version)
    _check_paths(entries, version)
    plan = _Plan.make(version, entries, os.path.abspath(os.fspath(to)))
    _refuse_home(plan.target, ctx.settings.home)
    with DataCache.open(ctx.settings.home) as cache:
        tracked = cache.tracked(os.path.realpath(plan.target))
        plan.compare(cache, tracked, force=force, started_ns=started_ns)
        objects_root = ctx.objects.local_root
        scope = None if objects_root is None else cache.objects_scope(str(objects_root))
        verifier = BlobVerifier(
            set() if scope is None or verify else cache.verified_blobs(scope), now_ns=started_ns
        )
        placer = Materializer(ctx.objects, mode, verifier, started_ns=started_ns)
        meter = Meter(progress, "checking out", sum(e.size for e in plan.to_write))
        if workers is None:
            workers = _workers(ctx.objects, plan.to_write)
        placed = plan.apply(placer, meter, workers)
        meter.finish()
        if scope is not None:
            cache.add_verified(scope, verifier.new_rows)
        cache.record(
            os.path.realpath(plan.target),
            kind=plan.kind,
            dataset=version.dataset,
            version=version.version,
            version_id=version.id,
            content_id=version.content_id,
            tracking_uri=ctx.settings.tracking_uri,
            entries=plan.tracked_entries(placed),
        )
    methods: dict[str, int] = {}
    for item in placed:
        methods[item.method] = methods.get(item.method, 0) + 1
    return CheckoutResult(
        version,
        Path(plan.target),
        len(entries),
        len(placed),
        methods,
        removed=plan.removed,
        kept=plan.extra,
    )


def _workers(objects: ObjectStore, entries: Sequence[FileEntry]) -> int:
    """Threads to place ``entries`` with: :func:`io_workers`, but two where most blobs are
    packed (each is then a file creation with bytes already in memory, and the kernel's
    share of that work overlaps across threads: 20,000 packed files of 4 KiB took 2.1-4.2 s
    in two threads against 3.9-5.9 s in one on a 2-core VM)."""
    workers = io_workers([entry.size for entry in entries])
    if workers == 1 and len(entries) >= 2 and (os.cpu_count() or 1) >= 2:
        packed = objects.packed(entry.blob for entry in entries)
        if 2 * len(packed) >= len(entries):
            return 2
    return workers


def _refuse_home(target: str, home: Path | None) -> None:
    """Refuse to write inside loopml's own folder, except under its ``checkouts/``."""
    if home is None:
        return
    real = os.path.realpath(target)
    own = os.path.realpath(home)
    inside = real == own or real.startswith(own + os.sep)
    if inside and not real.startswith(os.path.join(own, "checkouts") + os.sep):
        raise InvalidInputError(
            f"{target} is inside loopml's own folder {home}",
            field="to",
            hint="check out somewhere else, or use loopml.data.get() for a cached copy",
        )


#: A manifest path that could escape the destination or is not a plain relative path: one
#: per line, matched against all paths joined (one regex pass for 20,000 files).
_UNSAFE_PATH = re.compile(r"^$|^/|/$|//|\\|\x00|(?:^|/)\.{1,2}(?:/|$)", re.MULTILINE)


def _check_paths(entries: Sequence[FileEntry], version: DatasetVersion) -> None:
    """Refuse a manifest whose paths could escape the destination."""
    if not entries:
        return
    joined = "\n".join(entry.path for entry in entries)
    bad = _UNSAFE_PATH.search(joined)
    if bad is None:
        return
    start = joined.rfind("\n", 0, bad.start()) + 1
    end = joined.find("\n", bad.start())
    line = joined[start : end if end >= 0 else len(joined)]
    raise CorruptObjectError(
        f"the manifest of {version.uri} has an unsafe path {line!r}; nothing was written",
        uri=version.uri,
    )


class _Plan:
    """Where each file of the version goes, and which ones must be written."""

    def __init__(self, version: DatasetVersion, entries: list[FileEntry], target: str) -> None:
        self.version = version
        self.entries = entries
        self.target = target
        self.kind = "file" if version.kind is DatasetKind.FILE else "folder"
        # Files go under ``root``: the target folder, or the folder of the target file.
        self.root = target if self.kind == "folder" else os.path.dirname(target)
        self.fresh = True
        self.to_write: list[FileEntry] = entries
        self.kept: dict[str, StatRow] = {}
        self.removed: list[str] = []
        self.extra: list[str] = []

    @classmethod
    def make(cls, version: DatasetVersion, entries: list[FileEntry], target: str) -> _Plan:
        if version.kind is DatasetKind.FILE:
            if len(entries) != 1:
                raise CorruptObjectError(
                    f"{version.uri} is a file dataset with {len(entries)} files", uri=version.uri
                )
            if os.path.isdir(target):
                target = os.path.join(target, entries[0].path)
            if os.path.isdir(target):
                raise InvalidInputError(f"{target} is a folder", field="to")
        elif os.path.exists(target) and not os.path.isdir(target):
            raise InvalidInputError(
                f"{target} is a file; {version.uri} is a folder",
                field="to",
                hint="give a folder (it is created if needed)",
            )
        return cls(version, entries, target)

    def tracked_entries(self, placed: list[Placed]) -> list[Entry]:
        """The entries the destination is tracked with: each file of the version and the
        stat that vouches for it (the placed or kept file's)."""
        pairs: Iterable[tuple[FileEntry, StatRow | None]]
        if len(placed) == len(self.entries):  # a fresh checkout: every file was placed
            pairs = zip(self.entries, (item.row for item in placed), strict=True)
        else:
            stats = dict(self.kept)
            for entry, item in zip(self.to_write, placed, strict=True):
                stats[self.rel(entry)] = item.row
            pairs = zip(self.entries, (stats.get(self.rel(e)) for e in self.entries), strict=True)
        new = _new_entry
        folder = self.kind == "folder"
        out: list[Entry] = []
        for entry, row in pairs:
            rel = entry.path if folder else self.rel(entry)
            if row is None or row.size != entry.size:
                out.append(Entry(rel, entry.size, entry.blob, entry.mode))
            else:  # the stat vouches for the version's blob (placed or kept as it is)
                fields = (rel, entry.size, entry.blob, entry.mode, row.dev, row.ino, row.mtime_ns)
                out.append(new(Entry, (*fields, None, row.recorded_ns)))
        return out

    def rel(self, entry: FileEntry) -> str:
        """The path of ``entry`` under :attr:`root` (a file dataset may be renamed)."""
        return entry.path if self.kind == "folder" else os.path.basename(self.target)

    def compare(
        self, cache: DataCache, tracked: TrackedPath | None, *, force: bool, started_ns: int
    ) -> None:
        """Decide what to write, keep and remove, given what the destination holds now."""
        current = self._current()
        if not current:
            return
        self.fresh = False
        listing = cache.entries(tracked.id) if tracked is not None else {}
        wanted = {self.rel(e): e for e in self.entries}
        hashes = _hashes(current, listing, lambda rel: rel in wanted or rel in listing)
        conflicts: list[str] = []
        to_write: list[FileEntry] = []
        for wanted_entry in self.entries:
            rel = self.rel(wanted_entry)
            file = current.get(rel)
            if file is None:
                to_write.append(wanted_entry)
            elif hashes.get(rel) == wanted_entry.blob and file.mode == wanted_entry.mode:
                self.kept[rel] = StatRow(
                    file.dev, file.ino, file.size, file.mtime_ns, wanted_entry.blob, started_ns
                )
            else:
                if not force and not _unchanged(rel, hashes, listing):
                    conflicts.append(rel)
                to_write.append(wanted_entry)
        for rel in current:
            if rel in wanted:
                continue
            if _unchanged(rel, hashes, listing) or (force and rel in listing):
                self.removed.append(rel)
            else:
                self.extra.append(rel)
        if conflicts:
            shown = ", ".join(conflicts[:5]) + (" …" if len(conflicts) > 5 else "")
            raise ConflictError(
                f"{len(conflicts)} file(s) in {self.root} have changes the checkout would "
                f"overwrite: {shown}",
                field="to",
                hint="add them as a new version first, or pass --force to overwrite them",
            )
        self.to_write = to_write

    def _current(self) -> dict[str, FileStat]:
        if self.kind == "file":
            if not os.path.isfile(self.target):
                return {}
            file = stat_path(self.target, os.path.basename(self.target))
            return {file.path: file}
        if not os.path.isdir(self.target):
            return {}
        return {file.path: file for file in walk_tree(self.target)}

    def apply(self, placer: Materializer, meter: Meter, workers: int) -> list[Placed]:
        """Place the files to write in a staging folder, then move them into place."""
        anchor = os.path.dirname(self.target) if self.kind == "folder" else self.root
        os.makedirs(anchor, exist_ok=True)
        staging = os.path.join(anchor, f".{os.path.basename(self.target)}.loopml-{_token()}")
        try:
            os.mkdir(staging)
            try:
                placed = self._stage(staging, placer, meter, workers)
                self._move(staging)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        except OSError as exc:
            if isinstance(exc, ObjectStoreError):
                raise
            raise ObjectStoreError(
                f"cannot check out {self.version.uri} into {self.target}: {exc}", field="to"
            ) from exc
        return placed

    def _stage(
        self, staging: str, placer: Materializer, meter: Meter, workers: int
    ) -> list[Placed]:
        rels = [self.rel(entry) for entry in self.to_write]
        folders = sorted({rel.rpartition("/")[0] for rel in rels} - {""})
        for folder in folders:
            os.makedirs(os.path.join(staging, folder), exist_ok=True)
        entries = self.to_write
        sources = placer.sources([entry.blob for entry in entries])
        base = staging + os.sep
        contents: dict[int, bytes] = {}  # verified bytes of packed blobs, by entry index

        def place(index: int) -> Placed:
            entry = entries[index]
            rel = rels[index]
            data = contents.pop(index, None)
            if data is not None and len(data) == entry.size:
                done = placer.write_verified(entry.blob, data, entry.mode, base + rel)
            else:
                source = None if sources is None else sources[index]
                done = placer.place(entry.blob, entry.size, entry.mode, base + rel, rel, source)
            meter.advance(entry.size)
            return done

        placed: list[Placed | None] = [None] * len(entries)
        for group in _groups(entries, sources):
            if sources is not None and sources[group[0]] is None:
                # Packed blobs: read a pack span at a time (verified), then only writes.
                contents.update(placer.read_packed(group, [entries[i].blob for i in group]))
            done = _run_all(group.__getitem__, place, len(group), workers)
            for index, item in zip(group, done, strict=True):
                placed[index] = item
        return [item for item in placed if item is not None]

    def _move(self, staging: str) -> None:
        if self.fresh and self.kind == "folder":
            if os.path.isdir(self.target):
                os.rmdir(self.target)  # empty: it held nothing to lose
            os.rename(staging, self.target)
            return
        for entry in self.to_write:
            rel = self.rel(entry)
            final = os.path.join(self.root, rel)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(os.path.join(staging, rel), final)
        for rel in self.removed:
            os.unlink(os.path.join(self.root, rel))
        _remove_empty_folders(self.root, self.removed)


def _hashes(
    current: dict[str, FileStat],
    listing: dict[str, Entry],
    matters: Callable[[str], bool],
) -> dict[str, str]:
    """``path -> blob`` of the current files: from the stat cache, else hashed (only the
    files that ``matters``)."""
    hashes: dict[str, str] = {}
    unknown: list[FileStat] = []
    for file in current.values():
        entry = listing.get(file.path)
        known = None
        if entry is not None:
            known = entry.cached_hash(file.dev, file.ino, file.size, file.mtime_ns)
        if known is not None:
            hashes[file.path] = known
        elif matters(file.path):
            unknown.append(file)
    found = hash_files(
        [file.abspath for file in unknown], workers=io_workers([file.size for file in unknown])
    )
    for file, (blob, _) in zip(unknown, found, strict=True):
        hashes[file.path] = blob
    return hashes


def _unchanged(rel: str, hashes: dict[str, str], listing: dict[str, Entry]) -> bool:
    """Whether ``rel`` is as the tracked version has it (safe to replace or remove)."""
    listed = listing.get(rel)
    return listed is not None and hashes.get(rel) == listed.blob


#: Packed bytes read ahead of writing them, at most (checkout memory stays bounded).
_READ_AHEAD_BYTES = 32 * 2**20


def _groups(entries: Sequence[FileEntry], sources: Sequence[str | None] | None) -> list[list[int]]:
    """Entry indexes in the groups :meth:`_Plan._stage` places them in: packed blobs of a
    local store (no source file) in runs of at most :data:`_READ_AHEAD_BYTES`, then the rest."""
    if sources is None:
        return [list(range(len(entries)))] if entries else []
    groups: list[list[int]] = []
    run: list[int] = []
    run_bytes = 0
    rest: list[int] = []
    for index, source in enumerate(sources):
        if source is not None:
            rest.append(index)
            continue
        run.append(index)
        run_bytes += entries[index].size
        if run_bytes >= _READ_AHEAD_BYTES:
            groups.append(run)
            run, run_bytes = [], 0
    return [group for group in (*groups, run, rest) if group]


def _remove_empty_folders(root: str, removed: Sequence[str]) -> None:
    for folder in sorted({os.path.dirname(rel) for rel in removed} - {""}, reverse=True):
        path = os.path.join(root, folder)
        while path != root:
            try:
                os.rmdir(path)
            except OSError:
                break
            path = os.path.dirname(path)


#: Builds a NamedTuple without its Python-level ``__new__`` (once per file).
_new_entry = tuple.__new__


def _token() -> str:
    return uuid.uuid4().hex[:12]


def _run_all(
    pick: Callable[[int], int], work: Callable[[int], Placed], count: int, workers: int
) -> list[Placed]:
    """``work(pick(i))`` for ``i`` in ``range(count)``, in order, in up to ``workers``
    threads; the first error stops the others and is raised."""
    results: list[Placed | None] = [None] * count
    indexes = iter(range(count))  # next() on a range iterator is atomic
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for index in indexes:
                if errors:
                    return
                results[index] = work(pick(index))
        except BaseException as exc:  # noqa: BLE001 - re-raised by the calling thread
            errors.append(exc)

    threads = max(1, min(workers, count))
    if threads == 1:
        run()
    else:
        pool = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    if errors:
        raise errors[0]
    return [item for item in results if item is not None]
