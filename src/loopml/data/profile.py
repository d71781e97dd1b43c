"""Column profiles of a table: what ``data show`` prints, ``data diff`` compares, and drift
monitoring later uses as its reference.

:func:`profile_table` is a pure function of an Arrow table (no store, no I/O). Per column:

=============== ==========================================================================
every column    ``name``, ``type`` (Arrow), ``kind``, ``count`` (non-null), ``nulls``,
                ``null_fraction``, ``distinct``
numeric         ``min``, ``max``, ``mean``, ``std`` (ddof 1, as pandas), ``quantiles``
                (linear interpolation, as pandas and NumPy), ``histogram`` (20 equal bins
                between min and max: ``edges`` and ``counts``), ``infinite``; ``top_values``
                too when there are at most 20 distinct values
categorical     ``top_values`` (the 20 most frequent, ``[{"value", "count"}]``, ties in order
and boolean     of first appearance, as pandas' ``value_counts``), ``other_count``
datetime        ``min``, ``max`` (ISO 8601 text in the column's unit and time zone)
=============== ==========================================================================

Semantics chosen to match pandas, so numbers agree with ``df.describe()``:

- Floating-point NaN counts as a null (pandas ``isna``); ``nan`` says how many there were.
- Numeric statistics are over the finite values; ``infinite`` counts the others.
- ``distinct`` is exact, not a sketch: one hash pass over the non-null values (pyarrow's
  ``count_distinct``; for categorical and boolean columns the ``value_counts`` that also
  gives the top values), as pandas ``nunique``. The hash table holds each distinct value
  once, so its memory is bounded by the column, which is already in memory (1M distinct
  strings: ~0.3 s). Types Arrow cannot hash (lists, structs) get ``None``.

The result is JSON-safe: no NaN or infinity (they become ``None``), only str/int/float/bool/
None, lists and dicts.

Example:
    >>> import pyarrow as pa
    >>> p = profile_table(pa.table({"x": [1.0, 2.0, None], "c": ["a", "b", "a"]}))
    >>> p["columns"][0]["mean"], p["columns"][0]["nulls"], p["columns"][1]["top_values"][0]
    (1.5, 1, {'value': 'a', 'count': 2})
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

__all__ = [
    "HISTOGRAM_BINS",
    "PROFILE_FORMAT",
    "QUANTILES",
    "TOP_VALUES",
    "column_kind",
    "profile_table",
]

#: Version of the profile's JSON layout.
PROFILE_FORMAT = 1
#: The quantiles of numeric columns.
QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
#: Bins of a numeric column's histogram.
HISTOGRAM_BINS = 20
#: How many of the most frequent values are kept.
TOP_VALUES = 20


def column_kind(arrow_type: pa.DataType) -> str:
    """``numeric``, ``boolean``, ``categorical``, ``datetime`` or ``other`` for an Arrow type.

    Example:
        >>> import pyarrow as pa
        >>> column_kind(pa.int32()), column_kind(pa.dictionary(pa.int8(), pa.string()))
        ('numeric', 'categorical')
    """
    import pyarrow as pa

    types = pa.types
    if types.is_boolean(arrow_type):
        return "boolean"
    if (
        types.is_integer(arrow_type)
        or types.is_floating(arrow_type)
        or types.is_decimal(arrow_type)
    ):
        return "numeric"
    if (
        types.is_string(arrow_type)
        or types.is_large_string(arrow_type)
        or types.is_string_view(arrow_type)
        or types.is_dictionary(arrow_type)
    ):
        return "categorical"
    if types.is_timestamp(arrow_type) or types.is_date(arrow_type) or types.is_time(arrow_type):
        return "datetime"
    return "other"


def profile_table(table: pa.Table) -> dict[str, Any]:
    """Profile every column of ``table`` (see the module docstring for the fields).

    Args:
        table: Any Arrow table; it is not modified.

    Returns:
        ``{"format": 1, "num_rows": n, "columns": [column profile, ...]}`` in column order.
    """
    return {
        "format": PROFILE_FORMAT,
        "num_rows": table.num_rows,
        "columns": [
            profile_column(name, table.column(i), table.num_rows)
            for i, name in enumerate(table.column_names)
        ],
    }


def profile_column(name: str, column: pa.ChunkedArray, num_rows: int) -> dict[str, Any]:
    """The profile of one column (``num_rows`` is the table's length)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column_kind(column.type)
    values = column
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    nan = 0
    if pa.types.is_floating(values.type):
        is_nan = pc.is_nan(values)
        nan = int(pc.sum(is_nan).as_py() or 0)
        if nan:
            values = pc.if_else(is_nan, pa.scalar(None, values.type), values)
    nulls = int(values.null_count)
    out: dict[str, Any] = {
        "name": name,
        "type": str(column.type),
        "kind": kind,
        "count": num_rows - nulls,
        "nulls": nulls,
        "null_fraction": nulls / num_rows if num_rows else 0.0,
        "nan": nan,
        "distinct": None,
    }
    if kind in {"categorical", "boolean"}:
        counted = pc.value_counts(values.drop_null())  # one hash pass: distinct and top
        out["distinct"] = len(counted)
        out.update(_top_values(counted))
        return out
    out["distinct"] = _distinct(values)
    if kind == "numeric":
        out.update(_numeric(values))
        if out["distinct"] is not None and out["distinct"] <= TOP_VALUES:
            out.update(_top_values(pc.value_counts(values.drop_null())))
    elif kind == "datetime":
        out.update(_min_max_text(values))
    return out


def _distinct(values: pa.ChunkedArray) -> int | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return int(pc.count_distinct(values, mode="only_valid").as_py())
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


def _finite(value: float | None) -> float | None:
    """``value`` as a float, or None when it is None, NaN or infinite (JSON has neither)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _numeric(values: pa.ChunkedArray) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    valid = values.drop_null()
    if not pa.types.is_integer(valid.type) or pa.types.is_uint64(valid.type):
        valid = valid.cast(pa.float64())  # floats, decimals, half floats; uint64 as float
    array: npt.NDArray[Any] = valid.to_numpy()
    if array.dtype.kind == "f":
        finite_mask = np.isfinite(array)
        infinite = int(array.size - int(finite_mask.sum()))
        finite = array[finite_mask]
    else:
        infinite, finite = 0, array
    out: dict[str, Any] = {
        "min": None,
        "max": None,
        "mean": None,
        "std": None,
        "quantiles": {str(q): None for q in QUANTILES},
        "histogram": None,
        "infinite": infinite,
    }
    if finite.size == 0:
        return out
    as_float = finite.astype(np.float64, copy=False)
    low, high = finite.min(), finite.max()
    out["min"] = int(low) if finite.dtype.kind in "iu" else _finite(float(low))
    out["max"] = int(high) if finite.dtype.kind in "iu" else _finite(float(high))
    # Values near the float64 limits overflow sums and squares: the statistic becomes
    # infinite, which is stored as None rather than warned about.
    with np.errstate(over="ignore", invalid="ignore"):
        out["mean"] = _finite(float(np.mean(as_float)))
        out["std"] = _finite(float(np.std(as_float, ddof=1))) if finite.size > 1 else None
        quantiles = np.quantile(as_float, QUANTILES, method="linear")
        out["histogram"] = _histogram(as_float)
    out["quantiles"] = {
        str(q): _finite(float(v)) for q, v in zip(QUANTILES, quantiles, strict=True)
    }
    return out


def _histogram(values: npt.NDArray[np.float64]) -> dict[str, list[Any]] | None:
    import numpy as np

    try:
        counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    except ValueError:  # a range too wide for float64 arithmetic (e.g. -1e308 .. 1e308)
        return None
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def _top_values(counted: pa.StructArray) -> dict[str, Any]:
    """The most frequent values from ``pc.value_counts`` output (values in order of first
    appearance)."""
    import numpy as np

    counts = counted.field("counts").to_numpy()
    # Stable: ties keep their order of first appearance, as pandas' value_counts does.
    order = np.argsort(-counts, kind="stable")[:TOP_VALUES]
    found = counted.field("values")
    top = [{"value": _jsonable(found[int(i)].as_py()), "count": int(counts[i])} for i in order]
    return {"top_values": top, "other_count": int(counts.sum()) - sum(t["count"] for t in top)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def _min_max_text(values: pa.ChunkedArray) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.null_count == len(values):
        return {"min": None, "max": None}
    extremes = pc.min_max(values)
    return {
        key: pc.cast(extremes[key], pa.string()).as_py()  # ISO text, no precision lost
        for key in ("min", "max")
    }
