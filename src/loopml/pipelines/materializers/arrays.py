"""pandas DataFrames as Parquet, numpy arrays as ``.npy`` (never pickled)."""

from __future__ import annotations

import io
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from loopml.errors import InvalidInputError
from loopml.pipelines.materializers.base import MISSING, Materializer, derives_from
from loopml.pipelines.refs import ArtifactRef

if TYPE_CHECKING:
    from loopml.tracking.context import TrackingContext

__all__ = ["DataFrameMaterializer", "NumpyMaterializer"]


class DataFrameMaterializer(Materializer):
    """A pandas DataFrame as one Parquet file (pyarrow), dtypes and index kept."""

    name: ClassVar[str] = "pandas.parquet"
    version: ClassVar[int] = 1

    def handles(self, type_hint: Any, value: Any = MISSING) -> bool:
        if value is not MISSING:
            return derives_from(type(value), "pandas", "DataFrame")
        return derives_from(type_hint, "pandas", "DataFrame")

    def save(self, value: Any, ctx: TrackingContext) -> ArtifactRef:
        self.check_value(value)
        from loopml.pipelines.materializers.base import put_via_file

        def write(path: Path) -> None:
            try:
                value.to_parquet(path, engine="pyarrow")
            except (ValueError, TypeError, NotImplementedError) as exc:  # Arrow's errors too
                raise _unwritable("DataFrame", "Parquet", exc) from exc

        return self.blob_ref(value, put_via_file(ctx, write, ".parquet"))

    def load(self, ref: ArtifactRef, ctx: TrackingContext) -> Any:
        import pandas as pd

        self.check_ref(ref)
        return pd.read_parquet(io.BytesIO(ctx.objects.get_bytes(ref.blob)), engine="pyarrow")


class NumpyMaterializer(Materializer):
    """A numpy array as ``.npy`` with ``allow_pickle=False`` (object arrays are refused)."""

    name: ClassVar[str] = "numpy.npy"
    version: ClassVar[int] = 1

    def handles(self, type_hint: Any, value: Any = MISSING) -> bool:
        if value is not MISSING:
            return derives_from(type(value), "numpy", "ndarray") and not value.dtype.hasobject
        return derives_from(typing.get_origin(type_hint) or type_hint, "numpy", "ndarray")

    def save(self, value: Any, ctx: TrackingContext) -> ArtifactRef:
        self.check_value(value)
        import numpy as np

        from loopml.pipelines.materializers.base import put_via_file

        def write(path: Path) -> None:
            try:
                np.save(path, value, allow_pickle=False)
            except ValueError as exc:
                raise _unwritable("array", ".npy without pickle", exc) from exc

        return self.blob_ref(value, put_via_file(ctx, write, ".npy"))

    def load(self, ref: ArtifactRef, ctx: TrackingContext) -> Any:
        import numpy as np

        self.check_ref(ref)
        return np.load(io.BytesIO(ctx.objects.get_bytes(ref.blob)), allow_pickle=False)


def _unwritable(what: str, fmt: str, exc: BaseException) -> InvalidInputError:
    return InvalidInputError(
        f"the {what} cannot be written as {fmt}: {exc}",
        field="value",
        hint="convert the offending columns/dtype, or use @step(allow_pickle=True)",
    )
