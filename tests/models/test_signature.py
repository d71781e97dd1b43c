"""Signatures: inferred from examples, enforced at predict with lossless casts only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.errors import InvalidInputError, SignatureError
from loopml.models.signature import (
    ColumnSpec,
    Signature,
    enforce_signature,
    infer_signature,
)


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": np.array([30, 41, 52], dtype="int64"),
            "income": [1.5, 2.5, 3.0],
            "city": ["a", "b", "c"],
        }
    )


def test_infers_columns_with_dtypes_and_outputs() -> None:
    sig = infer_signature(frame(), np.array([0, 1, 0]))
    assert sig.kind == "columns"
    assert [(c.name, c.dtype) for c in sig.inputs] == [
        ("age", "int64"),
        ("income", "float64"),
        ("city", "string"),
    ]
    assert sig.outputs == (ColumnSpec("output", "int64", (-1,)),)


def test_infers_tensor_with_free_batch_axis() -> None:
    sig = infer_signature(np.zeros((4, 3, 2), dtype="float32"))
    assert sig.kind == "tensor"
    assert sig.inputs == (ColumnSpec("input", "float32", (-1, 3, 2)),)


def test_round_trips_through_dict() -> None:
    sig = infer_signature(frame(), np.array([0.5, 1.0, 0.0]))
    assert Signature.from_dict(sig.to_dict()) == sig


def test_rejects_uninferable_example() -> None:
    with pytest.raises(InvalidInputError) as info:
        infer_signature(object())
    assert info.value.field == "input_example"


def test_reorders_columns_and_drops_extras() -> None:
    sig = infer_signature(frame())
    given = frame()[["city", "income", "age"]].assign(extra=1)
    out = enforce_signature(sig, given)
    assert list(out.columns) == ["age", "income", "city"]


def test_missing_column_names_the_column_and_type() -> None:
    sig = infer_signature(frame())
    with pytest.raises(SignatureError) as info:
        enforce_signature(sig, frame().drop(columns=["income"]))
    assert info.value.field == "income"
    assert "float64" in str(info.value)


def test_lossless_int_to_float_is_cast() -> None:
    sig = infer_signature(frame())
    given = frame().assign(income=[1, 2, 3])
    out = enforce_signature(sig, given)
    assert out["income"].dtype == np.float64
    assert out["income"].tolist() == [1.0, 2.0, 3.0]


def test_integral_float_to_int_is_cast_but_fraction_is_refused() -> None:
    sig = infer_signature(frame())
    ok = enforce_signature(sig, frame().assign(age=[30.0, 41.0, 52.0]))
    assert ok["age"].dtype == np.int64
    with pytest.raises(SignatureError) as info:
        enforce_signature(sig, frame().assign(age=[30.5, 41.0, 52.0]))
    assert info.value.field == "age"
    assert "int64" in str(info.value)


def test_nan_in_int_column_is_refused() -> None:
    sig = infer_signature(frame())
    with pytest.raises(SignatureError, match="NaN"):
        enforce_signature(sig, frame().assign(age=[30.0, np.nan, 52.0]))


def test_text_where_number_expected_is_refused() -> None:
    sig = infer_signature(frame())
    with pytest.raises(SignatureError) as info:
        enforce_signature(sig, frame().assign(income=["x", "y", "z"]))
    assert info.value.field == "income"


def test_number_where_text_expected_is_refused() -> None:
    sig = infer_signature(frame())
    with pytest.raises(SignatureError) as info:
        enforce_signature(sig, frame().assign(city=[1, 2, 3]))
    assert info.value.field == "city"


def test_array_with_matching_width_becomes_a_frame() -> None:
    sig = infer_signature(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    out = enforce_signature(sig, np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert list(out.columns) == ["a", "b"]
    with pytest.raises(SignatureError):
        enforce_signature(sig, np.array([[1.0, 2.0, 3.0]]))


def test_tensor_shape_and_dtype_enforced() -> None:
    sig = infer_signature(np.zeros((2, 3), dtype="float32"))
    out = enforce_signature(sig, np.ones((5, 3), dtype="float64"))
    assert out.dtype == np.float32
    with pytest.raises(SignatureError, match="shape"):
        enforce_signature(sig, np.ones((5, 4), dtype="float32"))
    with pytest.raises(SignatureError, match="float32"):
        enforce_signature(sig, np.full((1, 3), 1e-50, dtype="float64"))
