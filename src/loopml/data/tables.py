"""Tables as dataset versions: Parquet, the Arrow schema and a column profile.

A table version holds one file, ``data.parquet``, and two JSON blobs: the schema (field
names, Arrow types, nullability, the pandas metadata) and the profile
(:func:`loopml.data.profile.profile_table`).

The Parquet bytes are deterministic: the same data written by the same pyarrow gives the
same bytes (zstd, one writer configuration, no timestamps in the file), hence the same
content id, so logging an unchanged table again makes no new version. A newer pyarrow may
write other bytes for the same data (its version is in the file footer), and then a new
version is made once.

Example:
    >>> import pandas as pd, loopml
    >>> v = loopml.data.log_table(pd.DataFrame({"x": [1, 2]}), name="demo")   # doctest: +SKIP
    >>> loopml.data.load(v.uri)                                              # doctest: +SKIP
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml.data.profile import profile_table
from loopml.data.uris import check_dataset_name, parse_dataset_uri
from loopml.data.versioning import record_input, record_version
from loopml.entities import DatasetKind, DatasetVersion, FileEntry
from loopml.errors import InvalidInputError, NotFoundError
from loopml.tracking.context import TrackingContext, get_context

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from rich.console import RenderableType

__all__ = [
    "SCHEMA_FORMAT",
    "TABLE_FILE",
    "load",
    "load_json_blob",
    "log_table",
    "profile",
    "resolve_version",
    "schema_of",
    "show_table",
    "table_schema",
]

#: The one file of a table version.
TABLE_FILE = "data.parquet"
#: Version of the schema blob's JSON layout.
SCHEMA_FORMAT = 1
#: How Parquet is written; fixed, so the same data gives the same bytes.
_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "version": "2.6",
    "data_page_version": "1.0",
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 1_000_000,
    "store_schema": True,
}


def resolve_version(ctx: TrackingContext, uri: str) -> DatasetVersion:
    """The version a ``datasets:/`` URI names (``@latest`` resolved to its number).

    Raises:
        InvalidInputError: a malformed URI.
        NotFoundError: no such dataset or version (the store's error: it names the
            latest version and how to list them).
    """
    ref = parse_dataset_uri(uri)
    return ctx.store.get_dataset_version(ref.name, ref.version)


def _require_table(version: DatasetVersion) -> None:
    if version.kind is not DatasetKind.TABLE:
        raise InvalidInputError(
            f"{version.uri} is a {version.kind.value}, not a table",
            field="uri",
            uri=version.uri,
            hint="use loopml.data.get(uri) for files and folders",
        )


def _to_arrow(data: object) -> pa.Table:
    """An Arrow table from a DataFrame, an Arrow table/batch, or anything with
    ``__arrow_c_stream__`` (polars, DuckDB results, …)."""
    import pandas as pd
    import pyarrow as pa

    try:
        if isinstance(data, pd.DataFrame):
            # A RangeIndex is just row numbers: dropped. Any other index is data: kept.
            keep_index = not isinstance(data.index, pd.RangeIndex)
            table = pa.Table.from_pandas(data, preserve_index=keep_index)
        elif isinstance(data, pa.Table):
            table = data
        elif isinstance(data, pa.RecordBatch):
            table = pa.Table.from_batches([data])
        elif hasattr(data, "__arrow_c_stream__"):
            table = pa.table(data)
        else:
            raise InvalidInputError(
                f"log_table takes a pandas DataFrame or an Arrow table, not {type(data).__name__}",
                field="data",
            )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(
            f"cannot convert the table to Arrow: {exc}",
            field="data",
            hint="give object columns one type each, e.g. df[col].astype(str)",
        ) from exc
    names = table.column_names
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidInputError(
            f"duplicate column names: {', '.join(map(repr, duplicates))}",
            field="data",
            hint="rename the columns so that each name is used once",
        )
    return table


def table_schema(table: pa.Table) -> dict[str, Any]:
    """The schema blob's content: fields (name, Arrow type, nullability, field metadata),
    the pandas metadata (if any) and the remaining schema metadata."""
    metadata = dict(table.schema.metadata or {})
    pandas_meta = metadata.pop(b"pandas", None)
    metadata.pop(b"ARROW:schema", None)
    return {
        "format": SCHEMA_FORMAT,
        "fields": [
            {
                "name": f.name,
                "type": str(f.type),
                "nullable": f.nullable,
                **(
                    {"metadata": {_text(k): _text(v) for k, v in f.metadata.items()}}
                    if f.metadata
                    else {}
                ),
            }
            for f in table.schema
        ],
        "pandas": json.loads(pandas_meta) if pandas_meta else None,
        "metadata": {_text(k): _text(v) for k, v in sorted(metadata.items())},
    }


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def log_table(
    data: pd.DataFrame | pa.Table,
    name: str,
    *,
    message: str | None = None,
    project: str | None = None,
) -> DatasetVersion:
    """Version a table: Parquet, its Arrow schema and a profile of every column.

    Inside an active run, the run gets an ``output`` lineage edge to the version. The same
    data logged again returns the existing version.

    Args:
        data: A pandas DataFrame (its index is kept unless it is a RangeIndex), a pyarrow
            Table or RecordBatch, or any object with ``__arrow_c_stream__`` (e.g. polars).
        name: The dataset's name (letters, digits, ``._-``).
        message: A note stored with the version.
        project: The project of a new dataset (default: the active run's, else the
            configured project).

    Returns:
        The version (``.uri`` is ``datasets:/<name>/<n>``).

    Raises:
        InvalidInputError: a bad name, an unsupported object, or data Arrow cannot hold.
        AlreadyExistsError: ``name`` belongs to a dataset of another project.

    Example:
        >>> import pandas as pd, loopml
        >>> v = loopml.data.log_table(pd.DataFrame({"x": [1.5, 2.5]}), name="t")  # doctest: +SKIP
        >>> v.num_rows                                                             # doctest: +SKIP
        2
    """
    import pyarrow.parquet as pq

    check_dataset_name(name)
    table = _to_arrow(data)
    ctx = get_context()
    schema_blob = ctx.objects.put_bytes(_json_bytes(table_schema(table)))
    profile_blob = ctx.objects.put_bytes(_json_bytes(profile_table(table)))
    with tempfile.TemporaryDirectory(prefix="loopml-table-") as folder:
        path = Path(folder, TABLE_FILE)
        pq.write_table(table, path, **_PARQUET_OPTIONS)
        blob = ctx.objects.put_file(path)
    version, _ = record_version(
        ctx,
        name=name,
        kind=DatasetKind.TABLE,
        files=[FileEntry(TABLE_FILE, blob.size, blob.hex)],
        project=project,
        message=message,
        num_rows=table.num_rows,
        schema_blob=schema_blob.hex,
        profile_blob=profile_blob.hex,
        metadata={"format": "parquet", "num_columns": str(table.num_columns)},
        manifest_extra={"table_format": "parquet"},
    )
    return version


def _parquet_entry(ctx: TrackingContext, version: DatasetVersion) -> FileEntry:
    for entry in ctx.store.get_dataset_files(version.id):
        if entry.path == TABLE_FILE:
            return entry
    raise NotFoundError(f"{version.uri} has no {TABLE_FILE}", uri=version.uri)


def load(uri: str, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a table version as a pandas DataFrame (verified against its hash).

    Inside an active run, the run gets an ``input`` lineage edge to the version read (the
    resolved number, so ``@latest`` is recorded as what it was at that moment).

    Args:
        uri: ``datasets:/<name>/<version>`` or ``datasets:/<name>@latest``.
        columns: Read only these columns (default: all).

    Raises:
        InvalidInputError: a malformed URI, a version that is not a table, or an unknown
            column (``field="columns"``).
        NotFoundError: no such dataset or version.
        CorruptObjectError: the stored Parquet does not match its hash.

    Example:
        >>> df = loopml.data.load("datasets:/churn-features@latest")  # doctest: +SKIP
    """
    import pyarrow.parquet as pq

    ctx = get_context()
    version = resolve_version(ctx, uri)
    _require_table(version)
    wanted = None
    if columns is not None:
        if isinstance(columns, str):
            raise InvalidInputError(
                "columns must be a list of names", field="columns", hint=f"columns=[{columns!r}]"
            )
        wanted = list(columns)
        known = [f["name"] for f in schema_of(version, ctx)["fields"]]
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise InvalidInputError(
                f"{version.uri} has no column {', '.join(map(repr, unknown))}",
                field="columns",
                uri=version.uri,
                hint=f"its columns: {', '.join(known)}",
            )
    entry = _parquet_entry(ctx, version)
    with tempfile.TemporaryDirectory(prefix="loopml-table-") as folder:
        path = ctx.objects.get_file(entry.blob, Path(folder, TABLE_FILE))
        table = pq.read_table(path, columns=wanted, memory_map=False)
    frame: pd.DataFrame = table.to_pandas()
    record_input(ctx, version)
    return frame


def load_json_blob(ctx: TrackingContext, blob: str | None, what: str, uri: str) -> Any:
    """A JSON blob of a version (its schema or profile), verified."""
    if blob is None:
        raise NotFoundError(f"{uri} has no {what}", uri=uri)
    return json.loads(ctx.objects.get_bytes(blob))


def schema_of(version: DatasetVersion, ctx: TrackingContext | None = None) -> dict[str, Any]:
    """The stored schema of a table version (see :func:`table_schema`)."""
    ctx = ctx or get_context()
    _require_table(version)
    value: dict[str, Any] = load_json_blob(ctx, version.schema_blob, "schema", version.uri)
    return value


def profile(uri: str) -> dict[str, Any]:
    """The stored column profile of a table version (no data is read).

    Raises:
        InvalidInputError: a malformed URI, or a version that is not a table.
        NotFoundError: no such dataset or version.

    Example:
        >>> p = loopml.data.profile("datasets:/churn-features@latest")  # doctest: +SKIP
        >>> p["columns"][0]["mean"]                                      # doctest: +SKIP
    """
    ctx = get_context()
    version = resolve_version(ctx, uri)
    return profile_of(version, ctx)


def profile_of(version: DatasetVersion, ctx: TrackingContext | None = None) -> dict[str, Any]:
    """The stored profile of a table version."""
    ctx = ctx or get_context()
    _require_table(version)
    value: dict[str, Any] = load_json_blob(ctx, version.profile_blob, "profile", version.uri)
    return value


def show_table(version: DatasetVersion) -> RenderableType:
    """A Rich view of a table version: its schema and its column profile."""
    from rich.console import Group
    from rich.table import Table

    ctx = get_context()
    schema = schema_of(version, ctx)
    prof = profile_of(version, ctx)
    fields = Table(title=f"schema ({len(schema['fields'])} columns)", title_justify="left")
    for column in ("column", "type", "nullable"):
        fields.add_column(column, header_style="bold")
    for f in schema["fields"]:
        fields.add_row(f["name"], f["type"], "yes" if f["nullable"] else "no")
    stats = Table(
        title=f"profile ({prof['num_rows']} rows)", title_justify="left", header_style="bold"
    )
    for column in ("column", "kind", "nulls", "distinct", "min", "mean", "std", "max", "top"):
        stats.add_column(column, overflow="fold")
    for c in prof["columns"]:
        stats.add_row(
            c["name"],
            c["kind"],
            f"{c['nulls']} ({c['null_fraction']:.1%})",
            _cell(c.get("distinct")),
            _cell(c.get("min")),
            _cell(c.get("mean")),
            _cell(c.get("std")),
            _cell(c.get("max")),
            ", ".join(f"{_cell(t['value'])} ({t['count']})" for t in c.get("top_values", [])[:3]),
        )
    return Group(fields, stats)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
