"""JSON-able values (dict/list/str/int/float/bool/None, nested) as canonical JSON."""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from loopml.pipelines.materializers.base import MISSING, Materializer, derives_from
from loopml.pipelines.refs import ArtifactRef

if TYPE_CHECKING:
    from loopml.tracking.context import TrackingContext

__all__ = ["JsonMaterializer", "canonical_json", "is_jsonable", "plain"]

_SCALARS: tuple[type, ...] = (str, int, float, bool, type(None))
#: Deeper values are not taken as JSON (they would be refused by ``json`` anyway).
MAX_DEPTH = 100


def canonical_json(value: Any) -> bytes:
    """The canonical JSON bytes of ``value``: sorted keys, no spaces, UTF-8, no NaN.

    Example:
        >>> canonical_json({"b": 1, "a": [True, None]})
        b'{"a":[true,null],"b":1}'
    """
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def _numpy_scalar(value: Any) -> bool:
    """A numpy bool, integer or float scalar (``np.int64(3)``, what metrics often are)."""
    return derives_from(type(value), "numpy", "generic") and value.dtype.kind in "biuf"


def plain(value: Any) -> Any:
    """``value`` with numpy scalars turned into Python ones (``np.float32(0.5)`` -> 0.5)."""
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value.item() if _numpy_scalar(value) else value


def is_jsonable(value: Any, depth: int = 0) -> bool:
    """True when ``value`` survives a JSON round trip equal (tuples, non-str keys and
    non-finite floats do not; numpy scalars come back as Python numbers)."""
    if depth > MAX_DEPTH:
        return False
    if _numpy_scalar(value):
        value = value.item()
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, list):
        return all(is_jsonable(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and is_jsonable(item, depth + 1) for key, item in value.items()
        )
    return False


def _is_json_hint(hint: Any) -> bool:
    # Any inside a container: the value is checked when it is stored.
    if hint is Any or hint is None or hint in _SCALARS or hint in (dict, list):
        return True
    if typing.is_typeddict(hint):
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        ok = all(isinstance(arg, _SCALARS) for arg in args)
    elif origin in (typing.Union, types.UnionType, list):
        ok = all(_is_json_hint(arg) for arg in args)
    elif origin in (dict, Mapping):
        ok = len(args) == 2 and args[0] is str and _is_json_hint(args[1])
    else:
        ok = False
    return ok


class JsonMaterializer(Materializer):
    """A JSON-able value as canonical JSON (equal values give the same blob)."""

    name: ClassVar[str] = "json"
    version: ClassVar[int] = 1

    def handles(self, type_hint: Any, value: Any = MISSING) -> bool:
        if value is not MISSING:
            return is_jsonable(value)
        return _is_json_hint(type_hint)

    def save(self, value: Any, ctx: TrackingContext) -> ArtifactRef:
        self.check_value(value)
        return self.blob_ref(value, ctx.objects.put_bytes(canonical_json(plain(value))))

    def load(self, ref: ArtifactRef, ctx: TrackingContext) -> Any:
        self.check_ref(ref)
        return json.loads(ctx.objects.get_bytes(ref.blob))
