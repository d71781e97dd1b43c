"""Column profiles agree with pandas on the same data, and are always JSON-safe."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopml.data.profile import HISTOGRAM_BINS, QUANTILES, TOP_VALUES, column_kind, profile_table


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 5000
    x = rng.normal(10.0, 3.0, n)
    x[rng.random(n) < 0.07] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "i": rng.integers(-50, 500, n),
            "small": rng.integers(0, 4, n),
            "city": rng.choice(
                [f"c{k}" for k in range(40)], n, p=np.arange(1, 41) / np.arange(1, 41).sum()
            ),
            "flag": rng.random(n) < 0.3,
            "when": pd.date_range("2024-01-01", periods=n, freq="37min"),
            "tier": pd.Categorical(rng.choice(["gold", "silver", "bronze"], n, p=[0.2, 0.3, 0.5])),
        }
    )


def _columns(profile: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in profile["columns"]}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def profiled(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    profile = profile_table(pa.Table.from_pandas(frame, preserve_index=False))
    assert profile["num_rows"] == len(frame)
    json.dumps(profile, allow_nan=False)  # JSON-safe as stored
    return _columns(profile)


@pytest.mark.parametrize("name", ["x", "i", "small"])
def test_numeric_statistics_match_pandas(
    frame: pd.DataFrame, profiled: dict[str, dict[str, Any]], name: str
) -> None:
    col, series = profiled[name], frame[name]
    described = series.describe()
    assert col["kind"] == "numeric"
    assert col["count"] == described["count"]
    assert col["nulls"] == series.isna().sum()
    assert col["null_fraction"] == pytest.approx(series.isna().mean())
    assert col["distinct"] == series.nunique()
    assert col["mean"] == pytest.approx(described["mean"], rel=1e-12)
    assert col["std"] == pytest.approx(described["std"], rel=1e-12)
    assert col["min"] == described["min"]
    assert col["max"] == described["max"]
    for q in QUANTILES:  # pandas' default interpolation is linear, as ours
        assert col["quantiles"][str(q)] == pytest.approx(series.quantile(q), rel=1e-12)
    counts, edges = np.histogram(series.dropna(), bins=HISTOGRAM_BINS)
    assert col["histogram"]["counts"] == counts.tolist()
    assert col["histogram"]["edges"] == pytest.approx(edges.tolist())
    assert sum(col["histogram"]["counts"]) == col["count"]


def test_integer_extremes_stay_integers(profiled: dict[str, dict[str, Any]]) -> None:
    assert isinstance(profiled["i"]["min"], int)
    assert isinstance(profiled["i"]["max"], int)


def test_low_cardinality_numeric_gets_top_values(
    frame: pd.DataFrame, profiled: dict[str, dict[str, Any]]
) -> None:
    top = {t["value"]: t["count"] for t in profiled["small"]["top_values"]}
    assert top == frame["small"].value_counts().to_dict()
    assert "top_values" not in profiled["i"]  # 550 distinct values: a histogram is enough


@pytest.mark.parametrize("name", ["city", "flag", "tier"])
def test_top_values_match_value_counts(
    frame: pd.DataFrame, profiled: dict[str, dict[str, Any]], name: str
) -> None:
    col, series = profiled[name], frame[name]
    expected = series.value_counts().head(TOP_VALUES)
    assert [(t["value"], t["count"]) for t in col["top_values"]] == [
        (k.item() if hasattr(k, "item") else k, v) for k, v in expected.items()
    ]
    assert col["other_count"] == series.count() - expected.sum()
    assert col["distinct"] == series.nunique()
    assert col["nulls"] == 0


def test_kinds_and_types(profiled: dict[str, dict[str, Any]]) -> None:
    kinds = {name: c["kind"] for name, c in profiled.items()}
    assert kinds == {
        "x": "numeric",
        "i": "numeric",
        "small": "numeric",
        "city": "categorical",
        "flag": "boolean",
        "when": "datetime",
        "tier": "categorical",
    }
    assert profiled["tier"]["type"].startswith("dictionary<")
    assert profiled["x"]["type"] == "double"


def test_datetime_min_max(frame: pd.DataFrame, profiled: dict[str, dict[str, Any]]) -> None:
    col = profiled["when"]
    assert pd.Timestamp(col["min"]) == frame["when"].min()
    assert pd.Timestamp(col["max"]) == frame["when"].max()


def test_nan_in_arrow_counts_as_null_like_pandas() -> None:
    values = [1.0, float("nan"), None, 3.0, float("nan")]
    col = profile_table(pa.table({"v": pa.array(values, pa.float64())}))["columns"][0]
    series = pd.Series(values, dtype="float64")
    assert (col["nulls"], col["nan"], col["count"]) == (3, 2, 2)
    assert col["nulls"] == series.isna().sum()
    assert col["distinct"] == series.nunique() == 2
    assert col["mean"] == series.mean() == 2.0


def test_infinities_are_counted_and_never_serialized() -> None:
    table = pa.table({"v": [1.0, math.inf, -math.inf, 2.0]})
    col = profile_table(table)["columns"][0]
    assert col["infinite"] == 2
    assert (col["min"], col["max"], col["mean"]) == (1.0, 2.0, 1.5)
    json.dumps(col, allow_nan=False)


def test_edge_cases_empty_constant_single_all_null() -> None:
    table = pa.table(
        {
            "empty": pa.array([], pa.float64()),
        }
    )
    col = profile_table(table)["columns"][0]
    assert (col["count"], col["mean"], col["histogram"], col["null_fraction"]) == (0, None, None, 0)
    table = pa.table(
        {
            "constant": [5, 5, 5],
            "single": [1.5, None, None],
            "nothing": pa.array([None, None, None], pa.string()),
            "nulltype": pa.array([None, None, None]),
        }
    )
    cols = _columns(profile_table(table))
    assert cols["constant"]["std"] == 0.0
    assert cols["constant"]["distinct"] == 1
    assert sum(cols["constant"]["histogram"]["counts"]) == 3
    assert cols["single"]["std"] is None  # pandas: NaN for one value
    assert cols["single"]["mean"] == 1.5
    assert cols["nothing"]["top_values"] == []
    assert cols["nothing"]["nulls"] == 3
    assert cols["nulltype"]["kind"] == "other"
    json.dumps(cols, allow_nan=False)


def test_unhashable_types_have_no_distinct_count() -> None:
    table = pa.table({"lists": [[1, 2], [3], None]})
    col = profile_table(table)["columns"][0]
    assert (col["kind"], col["distinct"], col["nulls"]) == ("other", None, 1)


def test_column_kind_of_arrow_types() -> None:
    assert column_kind(pa.decimal128(10, 2)) == "numeric"
    assert column_kind(pa.large_string()) == "categorical"
    assert column_kind(pa.date32()) == "datetime"
    assert column_kind(pa.binary()) == "other"


def test_decimal_columns_profile_as_floats() -> None:
    from decimal import Decimal

    table = pa.table({"d": pa.array([Decimal("1.25"), Decimal("2.75")], pa.decimal128(5, 2))})
    col = profile_table(table)["columns"][0]
    assert (col["min"], col["max"], col["mean"]) == (1.25, 2.75, 2.0)


def test_profile_is_deterministic(frame: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=333))
    assert json.dumps(profile_table(table)) == json.dumps(profile_table(rechunked))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64)),
        max_size=50,
    )
)
def test_any_float_column_profiles_to_strict_json(values: list[float | None]) -> None:
    profile = profile_table(pa.table({"v": pa.array(values, pa.float64())}))
    col = profile["columns"][0]
    json.dumps(profile, allow_nan=False)
    assert col["count"] + col["nulls"] == len(values)
    if col["histogram"] is not None:
        assert sum(col["histogram"]["counts"]) == col["count"] - col["infinite"]
