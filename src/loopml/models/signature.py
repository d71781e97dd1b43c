"""Model signatures: what a model takes and returns, inferred from an example, enforced at
``predict``.

Two kinds:

- ``columns``: a table (DataFrame); each input is a named column with a dtype. At predict time
  columns are matched by name, put in the signature's order, extra columns are dropped, and
  a column of another dtype is cast only when the cast is lossless (int → float when every
  value survives the round trip, float → int when every value is integral, ...).
- ``tensor``: one array with a dtype and a shape whose first axis (the batch) is free.

Anything else raises :class:`~loopml.errors.SignatureError` naming the column and the type
it expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from loopml.errors import InvalidInputError, SignatureError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["ColumnSpec", "Signature", "enforce_signature", "infer_signature"]

SignatureKind = Literal["columns", "tensor"]

#: dtype names we write; anything object-like that holds text is "string".
_STRING = "string"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One input or output: a column (``name``) or a tensor (``shape``, -1 = any size)."""

    name: str
    dtype: str
    shape: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-able form."""
        body: dict[str, Any] = {"name": self.name, "dtype": self.dtype}
        if self.shape is not None:
            body["shape"] = list(self.shape)
        return body

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> ColumnSpec:
        """Inverse of :meth:`to_dict`."""
        shape = body.get("shape")
        return cls(str(body["name"]), str(body["dtype"]), tuple(shape) if shape else None)


@dataclass(frozen=True, slots=True)
class Signature:
    """Inputs and outputs of a model."""

    kind: SignatureKind
    inputs: tuple[ColumnSpec, ...]
    outputs: tuple[ColumnSpec, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-able form."""
        return {
            "kind": self.kind,
            "inputs": [c.to_dict() for c in self.inputs],
            "outputs": [c.to_dict() for c in self.outputs],
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Signature:
        """Inverse of :meth:`to_dict`."""
        kind = body.get("kind")
        if kind not in ("columns", "tensor"):
            raise InvalidInputError(f"unknown signature kind {kind!r}", field="signature.kind")
        return cls(
            kind,
            tuple(ColumnSpec.from_dict(c) for c in body.get("inputs", ())),
            tuple(ColumnSpec.from_dict(c) for c in body.get("outputs", ())),
        )

    @property
    def input_names(self) -> list[str]:
        """The input column names, in order."""
        return [c.name for c in self.inputs]


def infer_signature(input_example: Any, output_example: Any = None) -> Signature:
    """The signature of a model from an example of its input (and, optionally, output).

    A DataFrame (or a mapping of column → values) gives a ``columns`` signature; a numpy
    array (or anything array-like, e.g. a torch tensor via ``.numpy()``) a ``tensor`` one.

    Raises:
        InvalidInputError: the example is neither (``field="input_example"``).
    """
    frame = _as_frame(input_example)
    if frame is not None:
        inputs = tuple(ColumnSpec(str(name), dtype_name(frame[name])) for name in frame.columns)
        return Signature("columns", inputs, _outputs(output_example))
    array = _as_array(input_example)
    if array is None:
        raise InvalidInputError(
            f"cannot infer a signature from a {type(input_example).__name__}",
            field="input_example",
            hint="give a pandas DataFrame, a dict of columns or a numpy array",
        )
    spec = ColumnSpec("input", str(array.dtype), (-1, *array.shape[1:]))
    return Signature("tensor", (spec,), _outputs(output_example))


def _outputs(output_example: Any) -> tuple[ColumnSpec, ...]:
    if output_example is None:
        return ()
    frame = _as_frame(output_example)
    if frame is not None:
        return tuple(ColumnSpec(str(n), dtype_name(frame[n])) for n in frame.columns)
    array = _as_array(output_example)
    if array is None:
        return ()
    return (ColumnSpec("output", str(array.dtype), (-1, *array.shape[1:])),)


def _as_frame(value: Any) -> pd.DataFrame | None:
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, pd.Series):
        return value.to_frame(name=str(value.name) if value.name is not None else "value")
    if isinstance(value, Mapping):
        return pd.DataFrame(dict(value))
    return None


def _as_array(value: Any) -> np.ndarray[Any, Any] | None:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value if value.ndim >= 1 else value.reshape(1)
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        return np.asarray(value.detach().cpu().numpy())
    if isinstance(value, list | tuple):
        try:
            array = np.asarray(value)
        except ValueError:
            return None
        return array if array.dtype != object else None
    return None


def dtype_name(column: pd.Series) -> str:
    """The signature dtype of a column: numpy's name, or ``string`` for text."""
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _STRING
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return _STRING
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime64[ns]"
    return str(dtype)


def enforce_signature(signature: Signature, data: Any) -> Any:
    """``data`` made to fit ``signature``: a DataFrame with the signature's columns in order
    (for ``columns``) or an array of the right dtype and shape (for ``tensor``).

    Raises:
        SignatureError: a column is missing, or has a type that cannot be cast losslessly.
    """
    if signature.kind == "tensor":
        return _enforce_tensor(signature.inputs[0], data)
    return _enforce_columns(signature.inputs, data)


def _enforce_columns(inputs: Sequence[ColumnSpec], data: Any) -> pd.DataFrame:
    import pandas as pd

    expected = [c.name for c in inputs]
    frame = _as_frame(data)
    if frame is None:
        array = _as_array(data)
        if array is None or array.ndim != 2 or array.shape[1] != len(inputs):
            raise SignatureError(
                f"the model takes a table with columns {expected}, "
                f"got a {type(data).__name__}"
                + (f" of shape {array.shape}" if array is not None else ""),
                field="input",
                hint="pass a pandas DataFrame with those columns",
            )
        frame = pd.DataFrame(array, columns=expected)
    missing = [name for name in expected if name not in frame.columns]
    if missing:
        spec = next(c for c in inputs if c.name == missing[0])
        raise SignatureError(
            f"missing column {missing[0]!r} (expected {spec.dtype})"
            + (f"; {len(missing) - 1} more missing: {missing[1:]}" if len(missing) > 1 else ""),
            field=missing[0],
            hint=f"the model takes the columns {expected}",
        )
    casts = {
        spec.name: cast
        for spec in inputs
        if (cast := _cast_column(frame[spec.name], spec)) is not None
    }
    if not casts and list(frame.columns) == expected:
        return frame  # already right: hand it over untouched (same memory layout, same bits)
    out = frame[expected]
    if casts:
        out = out.assign(**casts)
    return out


def _cast_column(column: pd.Series, spec: ColumnSpec) -> pd.Series | None:
    """The column cast to the signature's dtype; None when it already has it."""
    import numpy as np
    import pandas as pd

    have = dtype_name(column)
    if have == spec.dtype:
        return None
    if spec.dtype == _STRING:
        if column.map(lambda v: v is None or isinstance(v, str)).all():
            return None
        raise _type_error(spec, have, "values that are not text")
    if have == _STRING or spec.dtype.startswith("datetime") or have.startswith("datetime"):
        raise _type_error(spec, have, "no lossless cast")
    target = np.dtype(spec.dtype)
    values = column.to_numpy()
    is_float = np.issubdtype(values.dtype, np.floating)
    if target.kind in "iub" and is_float and bool(np.isnan(values).any()):
        raise _type_error(spec, have, "missing values (NaN) in an integer column")
    with np.errstate(all="ignore"):
        cast = values.astype(target)
        back = cast.astype(values.dtype)
    same = (back == values) | (pd.isna(values) & pd.isna(back))
    if not bool(np.all(same)):
        bad = values[~same][0]
        raise _type_error(spec, have, f"value {bad!r} would change")
    return pd.Series(cast, index=column.index, name=column.name)


def _type_error(spec: ColumnSpec, have: str, why: str) -> SignatureError:
    return SignatureError(
        f"column {spec.name!r} expects {spec.dtype}, got {have} ({why})",
        field=spec.name,
        hint=f"cast the column to {spec.dtype} before predict",
    )


def _enforce_tensor(spec: ColumnSpec, data: Any) -> np.ndarray[Any, Any]:
    import numpy as np

    array = _as_array(data)
    if array is None:
        frame = _as_frame(data)
        if frame is None:
            raise SignatureError(
                f"the model takes an array of {spec.dtype}, got a {type(data).__name__}",
                field=spec.name,
                hint="pass a numpy array",
            )
        array = frame.to_numpy()
    shape = spec.shape or ()
    if shape and (
        array.ndim != len(shape)
        or any(want not in (-1, got) for want, got in zip(shape, array.shape, strict=False))
    ):
        raise SignatureError(
            f"input {spec.name!r} expects shape {tuple(shape)} (-1 = any), got {array.shape}",
            field=spec.name,
            hint="reshape the input",
        )
    target = np.dtype(spec.dtype)
    if array.dtype == target:
        return array
    with np.errstate(all="ignore"):
        cast = array.astype(target)
        same = cast.astype(array.dtype) == array
    if array.dtype.kind == "f":
        same |= np.isnan(array)
    if not bool(np.all(same)):
        raise SignatureError(
            f"input {spec.name!r} expects {spec.dtype}, got {array.dtype} "
            "(values would change in the cast)",
            field=spec.name,
            hint=f"cast the array to {spec.dtype}",
        )
    return cast
