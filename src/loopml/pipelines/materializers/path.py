"""Local files and folders (``pathlib.Path``) as loopml data versions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from loopml.pipelines.materializers.base import MISSING, Materializer, derives_from, type_name
from loopml.pipelines.refs import ArtifactRef

if TYPE_CHECKING:
    from loopml.tracking.context import TrackingContext

__all__ = ["PathMaterializer", "dataset_name_for"]

_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def dataset_name_for(path: Path) -> str:
    """A valid dataset name made from ``path``'s last part (``my data.csv`` -> ``my-data.csv``).

    Example:
        >>> dataset_name_for(Path("/tmp/my features"))
        'my-features'
    """
    name = _BAD.sub("-", path.name).strip("-._")[:128]
    return name or "step-output"


class PathMaterializer(Materializer):
    """A returned ``pathlib.Path`` (file or folder) becomes a data version
    (:func:`loopml.data.add`, named after the path's last part); loading checks it out
    (:func:`loopml.data.get`) and returns the local path."""

    name: ClassVar[str] = "path"
    version: ClassVar[int] = 1

    def handles(self, type_hint: Any, value: Any = MISSING) -> bool:
        if value is not MISSING:
            return isinstance(value, Path)
        return derives_from(type_hint, "pathlib", "Path")

    def save(self, value: Any, ctx: TrackingContext) -> ArtifactRef:
        self.check_value(value)
        from loopml.data.add import add

        version = add(value, name=dataset_name_for(Path(value).resolve()))
        return ArtifactRef(
            materializer=self.name,
            materializer_version=self.version,
            blob=version.manifest_blob,
            content_hash=version.content_id,
            type_name=type_name(value),
            size=version.total_size,
            uri=version.uri,
        )

    def load(self, ref: ArtifactRef, ctx: TrackingContext) -> Any:
        from loopml.data.checkout import get

        self.check_ref(ref)
        if ref.uri is None:
            from loopml.errors import InvalidInputError

            raise InvalidInputError(
                f"the path output blake3:{ref.blob} has no dataset URI", field="uri"
            )
        return get(ref.uri)
