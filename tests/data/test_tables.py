"""log_table / load / profile: Parquet that round-trips, deterministic content ids, lineage,
and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

import loopml
from loopml.data import tables
from loopml.data.profile import profile_table
from loopml.data.tables import TABLE_FILE, schema_of, show_table
from loopml.data.versioning import record_version
from loopml.entities import DatasetKind, FileEntry
from loopml.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from loopml.tracking.context import get_context


@pytest.fixture(autouse=True)
def tracking(tmp_path: Path) -> None:
    loopml.configure(
        tracking_uri=f"sqlite:///{tmp_path / 'loopml.db'}", artifact_uri=str(tmp_path / "objects")
    )


def _frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.normal(50_000, 12_000, n),
            "city": rng.choice(["Lyon", "Oslo", "Kyiv"], n),
            "churned": rng.random(n) < 0.2,
            "signup": pd.date_range("2023-01-01", periods=n, freq="D", tz="UTC"),
            "plan": pd.Categorical(rng.choice(["free", "pro"], n)),
        }
    )


def test_log_and_load_round_trip() -> None:
    df = _frame()
    version = loopml.data.log_table(df, name="churn-features", message="first cut")
    assert version.uri == "datasets:/churn-features/1"
    assert version.kind is DatasetKind.TABLE
    assert version.num_rows == len(df)
    assert version.message == "first cut"
    assert version.file_count == 1
    loaded = loopml.data.load("datasets:/churn-features@latest")
    pd.testing.assert_frame_equal(loaded, df)
    assert isinstance(loaded["plan"].dtype, pd.CategoricalDtype)


def test_same_data_same_version_even_rechunked() -> None:
    table = pa.Table.from_pandas(_frame(), preserve_index=False)
    first = loopml.data.log_table(table, name="t")
    rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=17))
    again = loopml.data.log_table(rechunked, name="t")
    assert again.id == first.id
    assert again.content_id == first.content_id
    changed = loopml.data.log_table(table.slice(1), name="t")
    assert changed.version == 2


def test_parquet_is_zstd_with_the_arrow_schema() -> None:
    version = loopml.data.log_table(_frame(), name="t")
    ctx = get_context()
    (entry,) = ctx.store.get_dataset_files(version.id)
    assert entry.path == TABLE_FILE
    path = ctx.objects.get_file(entry.blob, Path("copy.parquet"))
    meta = pq.ParquetFile(path).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert meta.num_rows == version.num_rows


def test_range_index_dropped_other_index_kept() -> None:
    df = _frame(10)
    sliced = df.iloc[3:]  # RangeIndex(3, 10): just row numbers
    loaded = loopml.data.load(loopml.data.log_table(sliced, name="sliced").uri)
    assert isinstance(loaded.index, pd.RangeIndex)
    assert loaded.index.start == 0
    assert "__index_level_0__" not in [f["name"] for f in _fields("sliced")]
    keyed = df.set_index("city")
    loaded = loopml.data.load(loopml.data.log_table(keyed, name="keyed").uri)
    pd.testing.assert_frame_equal(loaded, keyed)


def _fields(name: str) -> list[dict[str, object]]:
    version = get_context().store.get_dataset_version(name)
    fields: list[dict[str, object]] = schema_of(version)["fields"]
    return fields


def test_schema_blob_records_types_nullability_and_pandas_metadata() -> None:
    schema = pa.schema([pa.field("id", pa.int32(), nullable=False), pa.field("v", pa.float32())])
    table = pa.table({"id": [1, 2], "v": [0.5, None]}, schema=schema)
    version = loopml.data.log_table(table, name="arrow")
    stored = schema_of(version)
    assert stored["fields"] == [
        {"name": "id", "type": "int32", "nullable": False},
        {"name": "v", "type": "float", "nullable": True},
    ]
    assert stored["pandas"] is None
    from_pandas = schema_of(loopml.data.log_table(_frame(5), name="pd"))
    assert from_pandas["pandas"]["columns"][0]["name"] == "age"


def test_profile_is_stored_and_matches_the_data() -> None:
    df = _frame()
    loopml.data.log_table(df, name="t")
    stored = tables.profile("datasets:/t/1")
    assert stored == json.loads(
        json.dumps(profile_table(pa.Table.from_pandas(df, preserve_index=False)))
    )
    income = next(c for c in stored["columns"] if c["name"] == "income")
    assert income["mean"] == pytest.approx(df["income"].mean())


def test_load_columns() -> None:
    loopml.data.log_table(_frame(), name="t")
    loaded = loopml.data.load("datasets:/t/1", columns=["city", "age"])
    assert list(loaded.columns) == ["city", "age"]
    with pytest.raises(InvalidInputError, match="no column 'nope'") as info:
        loopml.data.load("datasets:/t/1", columns=["age", "nope"])
    assert info.value.field == "columns"
    assert "age" in (info.value.hint or "")
    with pytest.raises(InvalidInputError, match="list of names"):
        loopml.data.load("datasets:/t/1", columns="age")  # type: ignore[arg-type]


def test_lineage_edges_from_log_and_load() -> None:
    loopml.data.log_table(_frame(), name="raw")
    with loopml.start_run(project="churn", name="prep") as run:
        loopml.data.load("datasets:/raw@latest")
        out = loopml.data.log_table(_frame(50), name="features")
    edges = get_context().store.lineage_of_runs([run.id])
    assert {(e.direction, e.ref) for e in edges} == {
        ("input", "datasets:/raw/1"),
        ("output", "datasets:/features/1"),
    }
    assert out.source_run_id == run.id
    assert out.project == "churn"


def test_show_table_renders_schema_and_profile() -> None:
    version = loopml.data.log_table(_frame(), name="t")
    console = Console(record=True, width=200)
    console.print(show_table(version))
    text = console.export_text()
    for expected in ("schema (6 columns)", "profile (200 rows)", "income", "double", "Lyon"):
        assert expected in text


def test_unknown_dataset_and_version() -> None:
    with pytest.raises(NotFoundError, match="'ghost' does not exist"):
        loopml.data.load("datasets:/ghost@latest")
    loopml.data.log_table(_frame(), name="t")
    with pytest.raises(NotFoundError, match="no version 7") as info:
        tables.profile("datasets:/t/7")
    assert info.value.hint


@pytest.mark.parametrize(
    "uri", ["t", "datasets:/t/zero", "datasets:/t/0", "datasets:/t@champion", "datasets:/"]
)
def test_malformed_uri(uri: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        loopml.data.load(uri)
    assert info.value.field == "uri"


def test_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="not list") as info:
        loopml.data.log_table([1, 2, 3], name="t")  # type: ignore[arg-type]
    assert info.value.field == "data"
    with pytest.raises(InvalidInputError, match="invalid dataset name"):
        loopml.data.log_table(_frame(), name="../escape")
    with pytest.raises(InvalidInputError, match="cannot convert"):
        loopml.data.log_table(pd.DataFrame({"mixed": [1, "a", 2.5]}), name="t")
    duplicated = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    with pytest.raises(InvalidInputError, match="duplicate column names: 'a'"):
        loopml.data.log_table(duplicated, name="t")
    assert get_context().store.list_datasets() == []


def test_files_dataset_is_not_a_table() -> None:
    ctx = get_context()
    blob = ctx.objects.put_bytes(b"a,b\n1,2\n")
    version, _ = record_version(
        ctx,
        name="raw-files",
        kind=DatasetKind.FILE,
        files=[FileEntry("x.csv", blob.size, blob.hex)],
    )
    with pytest.raises(InvalidInputError, match="is a file, not a table"):
        loopml.data.load(version.uri)
    with pytest.raises(InvalidInputError, match="not a table"):
        tables.profile(version.uri)


def test_name_taken_by_another_project() -> None:
    loopml.data.log_table(_frame(5), name="shared", project="a")
    with pytest.raises(AlreadyExistsError):
        loopml.data.log_table(_frame(6), name="shared", project="b")


def test_record_batch_and_arrow_stream_inputs() -> None:
    batch = pa.record_batch({"x": [1, 2, 3]})
    assert loopml.data.log_table(batch, name="b").num_rows == 3

    class Stream:  # anything speaking the Arrow PyCapsule stream protocol (polars, duckdb)
        def __arrow_c_stream__(self, requested_schema: object = None) -> object:
            return pa.table({"y": [1.0]}).__arrow_c_stream__(requested_schema)

    assert loopml.data.log_table(Stream(), name="s").num_rows == 1  # type: ignore[arg-type]


def test_public_functions_survive_importing_their_modules() -> None:
    import importlib

    for name in ("profile", "diff", "lineage"):
        importlib.import_module(f"loopml.data.{name}")
    assert callable(loopml.data.profile)
    assert callable(loopml.data.diff)
    assert callable(loopml.data.lineage)
