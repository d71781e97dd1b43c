"""Anything else, with cloudpickle: only for steps declared ``allow_pickle=True``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from loopml.errors import MissingExtraError
from loopml.pipelines.materializers.base import MISSING, Materializer
from loopml.pipelines.refs import ArtifactRef

if TYPE_CHECKING:
    from loopml.tracking.context import TrackingContext

__all__ = ["PickleMaterializer"]


def _cloudpickle() -> Any:
    try:
        import cloudpickle
    except ImportError as exc:
        raise MissingExtraError(
            "storing step outputs with pickle", "pickle", "cloudpickle"
        ) from exc
    return cloudpickle


class PickleMaterializer(Materializer):
    """Any picklable value, with cloudpickle. Loading runs code from the blob: it is only
    chosen for steps declared ``@step(allow_pickle=True)``."""

    name: ClassVar[str] = "pickle"
    version: ClassVar[int] = 1

    def handles(self, type_hint: Any, value: Any = MISSING) -> bool:
        return True

    def save(self, value: Any, ctx: TrackingContext) -> ArtifactRef:
        data = _cloudpickle().dumps(value)
        return self.blob_ref(value, ctx.objects.put_bytes(data))

    def load(self, ref: ArtifactRef, ctx: TrackingContext) -> Any:
        self.check_ref(ref)
        return _cloudpickle().loads(ctx.objects.get_bytes(ref.blob))
