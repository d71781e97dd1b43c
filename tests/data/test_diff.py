"""diff: files added/removed/modified for any kind; schema, rows and column shifts for tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml.data.diff import diff, diff_tables, psi
from loopml.data.tables import log_table
from loopml.data.versioning import record_version
from loopml.entities import DatasetKind, FileEntry
from loopml.errors import InvalidInputError, NotFoundError
from loopml.tracking.context import get_context


@pytest.fixture(autouse=True)
def tracking(tmp_path: Path) -> None:
    loopml.configure(
        tracking_uri=f"sqlite:///{tmp_path / 'loopml.db'}", artifact_uri=str(tmp_path / "objects")
    )


def _frame(n: int, shift: float = 0.0, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "amount": rng.normal(100 + shift, 15, n),
            "segment": rng.choice(["a", "b", "c"], n),
        }
    )


def test_schema_change_rows_and_shifts() -> None:
    before = _frame(1000)
    after = _frame(1200, shift=30.0, seed=2).drop(columns=["segment"])
    after["id"] = after["id"].astype("float64")  # int64 -> double
    after["score"] = 0.5
    after.loc[::4, "amount"] = np.nan
    log_table(before, name="sales")
    log_table(after, name="sales")
    result = diff("datasets:/sales/1", "datasets:/sales@latest")
    assert result.uri_b == "datasets:/sales/2"  # @latest resolved
    assert not result.identical
    assert [(c.path, c.size_a is not None, c.size_b is not None) for c in result.modified] == [
        ("data.parquet", True, True)
    ]
    table = result.table
    assert table is not None
    assert (table.rows_a, table.rows_b, table.rows_delta) == (1000, 1200, 200)
    assert [(c.name, c.type) for c in table.columns_added] == [("score", "double")]
    assert [(c.name, c.type) for c in table.columns_removed] == [("segment", "large_string")]
    assert [(t.name, t.type_a, t.type_b) for t in table.type_changes] == [("id", "int64", "double")]
    shifts = {s.name: s for s in table.column_shifts}
    assert set(shifts) == {"id", "amount"}
    amount = shifts["amount"]
    assert amount.mean_a == pytest.approx(before["amount"].mean())
    assert amount.mean_b == pytest.approx(after["amount"].mean())
    assert amount.mean_delta == pytest.approx(after["amount"].mean() - before["amount"].mean())
    assert amount.null_rate_a == 0.0
    assert amount.null_rate_b == pytest.approx(0.25)
    assert amount.psi is not None and amount.psi > 0.25  # a two-sigma shift is major
    data = result.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["table"]["schema_changed"] is True
    assert data["table"]["column_shifts"][1]["null_rate_delta"] == pytest.approx(0.25)


def test_same_distribution_has_small_psi() -> None:
    log_table(_frame(5000, seed=1), name="t")
    log_table(_frame(5000, seed=2), name="t")
    table = diff("datasets:/t/1", "datasets:/t/2").table
    assert table is not None
    assert not table.schema_changed
    amount = next(s for s in table.column_shifts if s.name == "amount")
    assert amount.psi is not None and amount.psi < 0.02
    segment = next(s for s in table.column_shifts if s.name == "segment")
    assert segment.psi is None  # PSI is for numeric columns
    assert segment.distinct_delta == 0


def test_a_version_against_itself_is_identical() -> None:
    version = log_table(_frame(10), name="t")
    result = diff(version.uri, "datasets:/t@latest")
    assert result.identical
    assert result.unchanged == 1
    assert result.size_delta == 0
    assert result.table is not None and not result.table.schema_changed


def _files_version(name: str, files: dict[str, bytes]) -> str:
    ctx = get_context()
    entries = []
    for path, content in files.items():
        blob = ctx.objects.put_bytes(content)
        entries.append(FileEntry(path, blob.size, blob.hex))
    version, _ = record_version(ctx, name=name, kind=DatasetKind.FOLDER, files=entries)
    return version.uri


def test_folder_files_added_removed_modified() -> None:
    a = _files_version("raw", {"a.csv": b"1", "b.csv": b"22", "keep.txt": b"same"})
    b = _files_version("raw", {"b.csv": b"2222", "c.csv": b"333", "keep.txt": b"same"})
    result = diff(a, b)
    assert [(c.path, c.size_b) for c in result.added] == [("c.csv", 3)]
    assert [(c.path, c.size_a) for c in result.removed] == [("a.csv", 1)]
    assert [(c.path, c.size_a, c.size_b) for c in result.modified] == [("b.csv", 2, 4)]
    assert result.unchanged == 1
    assert result.size_delta == 3 - 1 + (4 - 2)
    assert result.table is None
    files = result.to_dict()["files"]
    assert files["added"][0]["path"] == "c.csv"


def test_table_against_folder_compares_files_only() -> None:
    table = log_table(_frame(5), name="t")
    folder = _files_version("f", {"data.parquet": b"not really"})
    result = diff(table.uri, folder)
    assert result.table is None
    assert result.kind_a is DatasetKind.TABLE and result.kind_b is DatasetKind.FOLDER
    assert not result.identical
    assert [c.path for c in result.modified] == ["data.parquet"]


def test_unknown_and_malformed() -> None:
    log_table(_frame(5), name="t")
    with pytest.raises(NotFoundError, match="no version 9"):
        diff("datasets:/t/1", "datasets:/t/9")
    with pytest.raises(NotFoundError, match="'nope' does not exist"):
        diff("datasets:/nope/1", "datasets:/t/1")
    with pytest.raises(InvalidInputError) as info:
        diff("datasets:/t/1", "t/2")
    assert info.value.field == "uri"


def test_psi_rebins_onto_the_reference_bins() -> None:
    assert psi([0, 1, 2], [50, 50], [0, 1, 2], [50, 50]) == 0.0
    # The same distribution described with finer bins: spread back, no shift.
    assert psi([0, 2, 4], [50, 50], [0, 1, 2, 3, 4], [25, 25, 25, 25]) == pytest.approx(0.0)
    # Mass beyond the reference's range counts in its outer bins.
    assert psi([0, 1, 2], [50, 50], [5, 6, 7], [50, 50]) == pytest.approx(
        psi([0, 1, 2], [50, 50], [0, 1, 2], [0, 100])
    )
    # A constant column (zero-width bins) lands in the bin that holds it.
    assert psi([0, 1, 2], [50, 50], [0.5, 0.5], [100]) == pytest.approx(
        psi([0, 1, 2], [50, 50], [0, 1, 2], [100, 0])
    )
    assert psi([0, 1], [0], [0, 1], [5]) is None


def test_diff_tables_is_pure() -> None:
    schema = {"fields": [{"name": "x", "type": "int64", "nullable": True}]}
    profile = {
        "num_rows": 3,
        "columns": [
            {"name": "x", "kind": "numeric", "mean": 1.0, "std": 1.0, "null_fraction": 0.0}
        ],
    }
    result = diff_tables(schema, schema, profile, profile)
    assert not result.schema_changed
    assert not result.column_shifts[0].changed
