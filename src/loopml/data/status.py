"""``loopml.data.status``: what changed in a tracked file or folder since its version.

Reads only the local data cache (:mod:`loopml.data.statcache`) and the files: no metadata
store, no object store, so it starts fast and works offline. A file is *added* or *removed*
by its path alone, *modified* at once when its size differs, and otherwise hashed only if
its stat is not vouched for by the stat cache (or with ``verify``). New hashes go back to the
cache, so the next status does not compute them again.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from loopml.config import find_home
from loopml.data.hashing import hash_files, io_workers
from loopml.data.progress import Meter, ProgressFn
from loopml.data.statcache import DataCache, Entry, TrackedPath, cache_path
from loopml.data.walk import FileStat, stat_path, stat_signature, walk_changed
from loopml.errors import NotFoundError

__all__ = ["StatusReport", "status", "status_of", "statuses"]


@dataclass(frozen=True, slots=True)
class StatusReport:
    """How a tracked file or folder differs from the dataset version it holds.

    Attributes:
        dataset: The dataset's name.
        version: The version number the path was added as (or checked out from).
        added: Files that are new, by relative path.
        removed: Files of the version that are gone.
        modified: Files whose content (or executable bit) changed.
        unchanged_count: Files that are as in the version.
        path: The tracked file or folder (absolute).
    """

    dataset: str
    version: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    unchanged_count: int = 0
    path: str = ""

    @property
    def uri(self) -> str:
        """The version compared with, ``datasets:/<name>/<version>``."""
        return f"datasets:/{self.dataset}/{self.version}"

    @property
    def clean(self) -> bool:
        """True when nothing was added, removed or modified."""
        return not (self.added or self.removed or self.modified)


def status(path: str | os.PathLike[str] = ".", *, verify: bool = False) -> StatusReport:
    """Compare a tracked folder (or file) with the dataset version it was added as.

    Args:
        path: The folder or file given to :func:`loopml.data.add` (or checked out).
        verify: Hash every file instead of trusting the stat cache (catches a change that
            kept the size and restored the modification time).

    Raises:
        NotFoundError: ``path`` is not tracked here (``field="path"``).

    Example:
        >>> import loopml
        >>> report = loopml.data.status("data/raw/")  # doctest: +SKIP
        >>> report.clean, report.modified  # doctest: +SKIP
        (False, ['train.csv'])
    """
    target = os.path.realpath(os.fspath(path))
    with _open_cache(os.fspath(path)) as cache:
        tracked = cache.tracked(target)
        if tracked is None:
            raise _not_tracked(os.fspath(path))
        return status_of(cache, tracked, verify=verify)


def statuses(
    path: str | os.PathLike[str] = ".",
    *,
    verify: bool = False,
    progress: ProgressFn | None = None,
) -> tuple[list[StatusReport], bool]:
    """The status of ``path`` if it is tracked (then True), else of every tracked file and
    folder below it (then False). What ``loopml data status`` shows.

    Raises:
        NotFoundError: nothing at or below ``path`` is tracked.
    """
    target = os.path.realpath(os.fspath(path))
    with _open_cache(os.fspath(path)) as cache:
        tracked = cache.tracked(target)
        roots = [tracked] if tracked is not None else cache.tracked_under(target)
        if not roots:
            raise NotFoundError(
                f"{os.fspath(path)} is not a tracked file or folder, and holds none",
                field="path",
                hint=f"version it first: loopml data add {os.fspath(path)}",
            )
        reports = [status_of(cache, root, verify=verify, progress=progress) for root in roots]
    return reports, tracked is not None


def status_of(
    cache: DataCache,
    tracked: TrackedPath,
    *,
    verify: bool = False,
    progress: ProgressFn | None = None,
) -> StatusReport:
    """The status of one tracked path, through an open cache.

    First pass: each file's stat signature against the stored one (two columns, no hash,
    no per-file object for a match). Only files that do not match, and only if any, go
    through the full comparison with the version's entries.
    """
    started_ns = time.time_ns()
    signatures = {} if verify else cache.signatures(tracked.id)
    changed, same = _scan(tracked, signatures)
    if not changed and len(same) == tracked.files:
        return StatusReport(
            tracked.dataset, tracked.version, unchanged_count=len(same), path=tracked.path
        )
    entries = cache.entries(tracked.id)
    added: list[str] = []
    modified: list[str] = []
    unchanged = len(same)
    to_hash: list[FileStat] = []
    for file in changed:
        entry = entries.get(file.path)
        if entry is None:
            added.append(file.path)
        elif entry.size != file.size or entry.mode != file.mode:
            modified.append(file.path)
        else:
            known = None
            if not verify:
                known = entry.cached_hash(file.dev, file.ino, file.size, file.mtime_ns)
            if known is None:
                to_hash.append(file)
            elif known == entry.blob:
                unchanged += 1
            else:
                modified.append(file.path)
    if to_hash:
        same_after, differ = _hash_and_learn(cache, tracked, entries, to_hash, progress, started_ns)
        unchanged += same_after
        modified += differ
    present = set(same).union(file.path for file in changed)
    removed = [path for path in entries if path not in present]
    return StatusReport(
        tracked.dataset,
        tracked.version,
        added=sorted(added),
        removed=sorted(removed),
        modified=sorted(modified),
        unchanged_count=unchanged,
        path=tracked.path,
    )


def _hash_and_learn(
    cache: DataCache,
    tracked: TrackedPath,
    entries: dict[str, Entry],
    to_hash: list[FileStat],
    progress: ProgressFn | None,
    started_ns: int,
) -> tuple[int, list[str]]:
    """Hash files the stat cache could not vouch for; record what was learned. Returns how
    many are as in the version, and the paths of those that are not."""
    meter = Meter(progress, "hashing", sum(f.size for f in to_hash))
    hashes = hash_files(
        [f.abspath for f in to_hash],
        workers=io_workers([f.size for f in to_hash]),
        on_hashed=meter.advance,
    )
    meter.finish()
    learned: list[Entry] = []
    same = 0
    differ: list[str] = []
    for file, (blob, size) in zip(to_hash, hashes, strict=True):
        entry = entries[file.path]
        if size == file.size:
            learned.append(entry.with_stat(file.dev, file.ino, file.mtime_ns, blob, started_ns))
        if blob == entry.blob and size == file.size:
            same += 1
        else:
            differ.append(file.path)
    cache.update_entries(tracked.id, learned)
    return same, differ


def _scan(tracked: TrackedPath, signatures: dict[str, int]) -> tuple[list[FileStat], list[str]]:
    """The files there now whose signature does not match, and the paths of those that do."""
    target = tracked.path
    if tracked.kind == "file":
        if not os.path.isfile(target):
            return [], []
        file = stat_path(target, os.path.basename(target))
        if signatures.get(file.path) == stat_signature(
            file.dev, file.ino, file.size, file.mtime_ns, file.mode
        ):
            return [], [file.path]
        return [file], []
    if not os.path.isdir(target):
        return [], []
    return walk_changed(target, signatures)


def _open_cache(path: str) -> DataCache:
    """The data cache; none yet means nothing is tracked (and none is created)."""
    location = cache_path(find_home())
    if not location.exists():
        raise _not_tracked(path)
    return DataCache(location)


def _not_tracked(path: str) -> NotFoundError:
    return NotFoundError(
        f"{path} is not a tracked file or folder",
        field="path",
        hint=f"version it first: loopml data add {path}",
    )
