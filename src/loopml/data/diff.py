"""What changed between two dataset versions.

For any two versions: files added, removed and modified (with their sizes). For two tables,
from their stored schemas and profiles (no data is read): columns added and removed, type
changes, the row-count change and, per column present in both, the shift of its statistics:
mean, std, null rate, distinct count, and for numeric columns the population stability index
(PSI) of B against A over A's histogram bins.

PSI here: B's histogram is spread over A's 20 bins assuming values are uniform inside each
of B's bins (A's first and last bins are open-ended, so B's mass outside A's range lands
there); then ``PSI = sum((b - a) * ln(b / a))`` with both shares floored at 1e-4. Rules of
thumb: < 0.1 stable, 0.1-0.25 a moderate shift, > 0.25 a major shift.

Example:
    >>> d = loopml.data.diff("datasets:/churn/1", "datasets:/churn/2")  # doctest: +SKIP
    >>> d.table.rows_delta, [c.name for c in d.table.columns_added]     # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from loopml.data.tables import profile_of, resolve_version, schema_of
from loopml.entities import DatasetKind, DatasetVersion, FileEntry
from loopml.tracking.context import get_context

__all__ = [
    "PSI_FLOOR",
    "ColumnShift",
    "ColumnType",
    "DatasetDiff",
    "FileChange",
    "TableDiff",
    "TypeChange",
    "diff",
    "diff_tables",
    "psi",
]

#: The smallest share a bin counts with in PSI (an empty bin would make it infinite).
PSI_FLOOR = 1e-4


@dataclass(frozen=True, slots=True)
class FileChange:
    """A file added (``size_a`` None), removed (``size_b`` None) or modified."""

    path: str
    size_a: int | None
    size_b: int | None
    blob_a: str | None = None
    blob_b: str | None = None


@dataclass(frozen=True, slots=True)
class ColumnType:
    """A column added or removed, with its Arrow type."""

    name: str
    type: str


@dataclass(frozen=True, slots=True)
class TypeChange:
    """A column whose Arrow type (or nullability) changed."""

    name: str
    type_a: str
    type_b: str
    nullable_a: bool = True
    nullable_b: bool = True


@dataclass(frozen=True, slots=True)
class ColumnShift:
    """How one column's statistics moved from A to B (None where a side has no value)."""

    name: str
    kind: str
    mean_a: float | None = None
    mean_b: float | None = None
    std_a: float | None = None
    std_b: float | None = None
    null_rate_a: float | None = None
    null_rate_b: float | None = None
    distinct_a: int | None = None
    distinct_b: int | None = None
    psi: float | None = None

    @property
    def mean_delta(self) -> float | None:
        """``mean_b - mean_a``."""
        return _delta(self.mean_a, self.mean_b)

    @property
    def std_delta(self) -> float | None:
        """``std_b - std_a``."""
        return _delta(self.std_a, self.std_b)

    @property
    def null_rate_delta(self) -> float | None:
        """``null_rate_b - null_rate_a``."""
        return _delta(self.null_rate_a, self.null_rate_b)

    @property
    def distinct_delta(self) -> int | None:
        """``distinct_b - distinct_a``."""
        if self.distinct_a is None or self.distinct_b is None:
            return None
        return self.distinct_b - self.distinct_a

    @property
    def changed(self) -> bool:
        """Whether any statistic differs."""
        pairs = (
            (self.mean_a, self.mean_b),
            (self.std_a, self.std_b),
            (self.null_rate_a, self.null_rate_b),
            (self.distinct_a, self.distinct_b),
        )
        return any(a != b for a, b in pairs) or bool(self.psi)

    def to_dict(self) -> dict[str, Any]:
        """The shift as JSON-able values, deltas included."""
        return {
            **asdict(self),
            "mean_delta": self.mean_delta,
            "std_delta": self.std_delta,
            "null_rate_delta": self.null_rate_delta,
            "distinct_delta": self.distinct_delta,
        }


@dataclass(frozen=True, slots=True)
class TableDiff:
    """Schema and statistics changes between two table versions."""

    rows_a: int
    rows_b: int
    columns_added: list[ColumnType] = field(default_factory=list)
    columns_removed: list[ColumnType] = field(default_factory=list)
    type_changes: list[TypeChange] = field(default_factory=list)
    column_shifts: list[ColumnShift] = field(default_factory=list)

    @property
    def rows_delta(self) -> int:
        """``rows_b - rows_a``."""
        return self.rows_b - self.rows_a

    @property
    def schema_changed(self) -> bool:
        """Whether columns were added, removed or changed type."""
        return bool(self.columns_added or self.columns_removed or self.type_changes)

    def to_dict(self) -> dict[str, Any]:
        """The table diff as JSON-able values."""
        return {
            "rows_a": self.rows_a,
            "rows_b": self.rows_b,
            "rows_delta": self.rows_delta,
            "schema_changed": self.schema_changed,
            "columns_added": [asdict(c) for c in self.columns_added],
            "columns_removed": [asdict(c) for c in self.columns_removed],
            "type_changes": [asdict(c) for c in self.type_changes],
            "column_shifts": [c.to_dict() for c in self.column_shifts],
        }


@dataclass(frozen=True, slots=True)
class DatasetDiff:
    """The difference between dataset versions A and B."""

    uri_a: str
    uri_b: str
    kind_a: DatasetKind
    kind_b: DatasetKind
    added: list[FileChange] = field(default_factory=list)
    removed: list[FileChange] = field(default_factory=list)
    modified: list[FileChange] = field(default_factory=list)
    unchanged: int = 0
    table: TableDiff | None = None

    @property
    def identical(self) -> bool:
        """Whether A and B hold the same files (same paths, hashes and modes)."""
        return not (self.added or self.removed or self.modified) and self.kind_a == self.kind_b

    @property
    def size_delta(self) -> int:
        """Total size of B minus total size of A, in bytes."""
        plus = sum(c.size_b or 0 for c in (*self.added, *self.modified))
        minus = sum(c.size_a or 0 for c in (*self.removed, *self.modified))
        return plus - minus

    def to_dict(self) -> dict[str, Any]:
        """The diff as JSON-able values (what ``loopml data diff --json`` prints)."""
        return {
            "a": self.uri_a,
            "b": self.uri_b,
            "kind_a": self.kind_a.value,
            "kind_b": self.kind_b.value,
            "identical": self.identical,
            "files": {
                "added": [asdict(c) for c in self.added],
                "removed": [asdict(c) for c in self.removed],
                "modified": [asdict(c) for c in self.modified],
                "unchanged": self.unchanged,
                "size_delta": self.size_delta,
            },
            "table": self.table.to_dict() if self.table is not None else None,
        }


def diff(uri_a: str, uri_b: str) -> DatasetDiff:
    """Compare two dataset versions (of the same dataset or not).

    Args:
        uri_a: The reference, e.g. ``datasets:/churn/1``.
        uri_b: The version compared with it, e.g. ``datasets:/churn@latest``.

    Raises:
        InvalidInputError: a malformed URI.
        NotFoundError: an unknown dataset or version.

    Example:
        >>> d = loopml.data.diff("datasets:/churn/1", "datasets:/churn/2")  # doctest: +SKIP
        >>> d.to_dict()["files"]["modified"]                                # doctest: +SKIP
    """
    ctx = get_context()
    a = resolve_version(ctx, uri_a)
    b = resolve_version(ctx, uri_b)
    same = a.id == b.id
    files_a = ctx.store.get_dataset_files(a.id)
    files_b = files_a if same else ctx.store.get_dataset_files(b.id)
    added, removed, modified, unchanged = _diff_files(files_a, files_b)
    table = None
    if a.kind is DatasetKind.TABLE and b.kind is DatasetKind.TABLE:
        table = _diff_table_versions(a, b)
    return DatasetDiff(
        uri_a=a.uri,
        uri_b=b.uri,
        kind_a=a.kind,
        kind_b=b.kind,
        added=added,
        removed=removed,
        modified=modified,
        unchanged=unchanged,
        table=table,
    )


def _diff_files(
    files_a: Sequence[FileEntry], files_b: Sequence[FileEntry]
) -> tuple[list[FileChange], list[FileChange], list[FileChange], int]:
    by_a = {f.path: f for f in files_a}
    by_b = {f.path: f for f in files_b}
    added = [
        FileChange(p, None, f.size, None, f.blob) for p, f in sorted(by_b.items()) if p not in by_a
    ]
    removed = [
        FileChange(p, f.size, None, f.blob, None) for p, f in sorted(by_a.items()) if p not in by_b
    ]
    modified: list[FileChange] = []
    unchanged = 0
    for path in sorted(by_a.keys() & by_b.keys()):
        fa, fb = by_a[path], by_b[path]
        if (fa.blob, fa.mode) == (fb.blob, fb.mode):
            unchanged += 1
        else:
            modified.append(FileChange(path, fa.size, fb.size, fa.blob, fb.blob))
    return added, removed, modified, unchanged


def _diff_table_versions(a: DatasetVersion, b: DatasetVersion) -> TableDiff:
    ctx = get_context()
    return diff_tables(schema_of(a, ctx), schema_of(b, ctx), profile_of(a, ctx), profile_of(b, ctx))


def diff_tables(
    schema_a: dict[str, Any],
    schema_b: dict[str, Any],
    profile_a: dict[str, Any],
    profile_b: dict[str, Any],
) -> TableDiff:
    """Compare two tables by their schemas and profiles (a pure function).

    Columns keep B's order; shifts are reported for every column present in both.
    """
    fields_a = {f["name"]: f for f in schema_a["fields"]}
    fields_b = {f["name"]: f for f in schema_b["fields"]}
    added = [ColumnType(n, f["type"]) for n, f in fields_b.items() if n not in fields_a]
    removed = [ColumnType(n, f["type"]) for n, f in fields_a.items() if n not in fields_b]
    changes = [
        TypeChange(n, fields_a[n]["type"], f["type"], fields_a[n]["nullable"], f["nullable"])
        for n, f in fields_b.items()
        if n in fields_a
        and (fields_a[n]["type"], fields_a[n]["nullable"]) != (f["type"], f["nullable"])
    ]
    cols_a = {c["name"]: c for c in profile_a["columns"]}
    cols_b = {c["name"]: c for c in profile_b["columns"]}
    shifts = [_shift(cols_a[n], cols_b[n]) for n in cols_b if n in cols_a]
    return TableDiff(
        rows_a=int(profile_a["num_rows"]),
        rows_b=int(profile_b["num_rows"]),
        columns_added=added,
        columns_removed=removed,
        type_changes=changes,
        column_shifts=shifts,
    )


def _shift(a: dict[str, Any], b: dict[str, Any]) -> ColumnShift:
    value = None
    hist_a, hist_b = a.get("histogram"), b.get("histogram")
    if a["kind"] == "numeric" and b["kind"] == "numeric" and hist_a and hist_b:
        value = psi(hist_a["edges"], hist_a["counts"], hist_b["edges"], hist_b["counts"])
    return ColumnShift(
        name=b["name"],
        kind=b["kind"] if a["kind"] == b["kind"] else f"{a['kind']} -> {b['kind']}",
        mean_a=a.get("mean"),
        mean_b=b.get("mean"),
        std_a=a.get("std"),
        std_b=b.get("std"),
        null_rate_a=a.get("null_fraction"),
        null_rate_b=b.get("null_fraction"),
        distinct_a=a.get("distinct"),
        distinct_b=b.get("distinct"),
        psi=value,
    )


def psi(
    edges_a: Sequence[float],
    counts_a: Sequence[int],
    edges_b: Sequence[float],
    counts_b: Sequence[int],
) -> float | None:
    """Population stability index of histogram B against reference histogram A, on A's bins.

    B's counts are spread over A's bins in proportion to the overlap of each of B's bins
    with them (values assumed uniform inside a bin); A's outer bins extend to infinity.
    Returns None when either histogram is empty.

    Example:
        >>> psi([0, 1, 2], [50, 50], [0, 1, 2], [50, 50])
        0.0
        >>> round(psi([0, 1, 2], [50, 50], [0, 1, 2], [90, 10]), 3)
        0.879
    """
    total_a, total_b = sum(counts_a), sum(counts_b)
    if total_a <= 0 or total_b <= 0 or len(edges_a) < 2:
        return None
    moved = _rebin(edges_b, counts_b, edges_a)
    score = 0.0
    for count_a, count_b in zip(counts_a, moved, strict=True):
        share_a = max(count_a / total_a, PSI_FLOOR)
        share_b = max(count_b / total_b, PSI_FLOOR)
        score += (share_b - share_a) * math.log(share_b / share_a)
    return score


def _rebin(edges: Sequence[float], counts: Sequence[int], target: Sequence[float]) -> list[float]:
    """``counts`` over bins ``edges`` spread over the bins ``target`` (outer ones open)."""
    bins = len(target) - 1
    out = [0.0] * bins
    for i, count in enumerate(counts):
        if not count:
            continue
        low, high = float(edges[i]), float(edges[i + 1])
        width = high - low
        if width <= 0:  # a point mass (all values equal): the bin that holds it
            out[_bin_of(low, target)] += count
            continue
        for j in range(bins):
            left = -math.inf if j == 0 else float(target[j])
            right = math.inf if j == bins - 1 else float(target[j + 1])
            overlap = min(high, right) - max(low, left)
            if overlap > 0:
                out[j] += count * overlap / width
    return out


def _bin_of(value: float, target: Sequence[float]) -> int:
    bins = len(target) - 1
    for j in range(bins):
        if value < float(target[j + 1]):
            return j
    return bins - 1


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a
