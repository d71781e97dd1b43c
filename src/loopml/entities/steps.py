"""Records of the pipeline step cache: stored step outputs and cache entries.

They live in :mod:`loopml.entities` (not in :mod:`loopml.pipelines`) because the metadata
store, a lower layer, persists them; :mod:`loopml.pipelines.refs` re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["ArtifactRef", "StepCacheEntry"]


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """A step output stored in the object store (workers write it, the driver records it).

    ``blob`` is the BLAKE3 hex of the stored bytes (the single file, or the manifest of a
    model package); ``content_hash`` is what cache keys use (equal to ``blob`` for
    single-file materializers, the data version's content hash for paths). ``uri`` is set
    when the output is also addressable by a URI (``datasets:/...``). ``blobs`` lists the
    other blobs the output needs besides ``blob`` (the files of a model package), so that
    garbage collection keeps them while the output is cached.

    Example:
        >>> ref = ArtifactRef("json", 1, "ab" * 32, "ab" * 32, "builtins.dict", 2)
        >>> ArtifactRef.from_dict(ref.to_dict()) == ref
        True
    """

    materializer: str
    materializer_version: int
    blob: str
    content_hash: str
    type_name: str
    size: int
    uri: str | None = None
    blobs: tuple[str, ...] = ()

    @property
    def all_blobs(self) -> tuple[str, ...]:
        """``blob`` and then ``blobs``: every blob the output is made of."""
        return (self.blob, *self.blobs)

    def to_dict(self) -> dict[str, Any]:
        """The ref as a JSON-able mapping (every field, ``uri`` may be None)."""
        return {
            "materializer": self.materializer,
            "materializer_version": self.materializer_version,
            "blob": self.blob,
            "content_hash": self.content_hash,
            "type_name": self.type_name,
            "size": self.size,
            "uri": self.uri,
            "blobs": list(self.blobs),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArtifactRef:
        """Rebuild a ref from :meth:`to_dict` output (unknown keys are ignored)."""
        uri = data.get("uri")
        return cls(
            materializer=str(data["materializer"]),
            materializer_version=int(data["materializer_version"]),
            blob=str(data["blob"]),
            content_hash=str(data["content_hash"]),
            type_name=str(data["type_name"]),
            size=int(data["size"]),
            uri=None if uri is None else str(uri),
            blobs=tuple(str(blob) for blob in data.get("blobs") or ()),
        )


def _no_outputs() -> Mapping[str, ArtifactRef]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class StepCacheEntry:
    """One cached step execution: the cache key and the outputs it produced.

    ``run_id`` is the step run that produced the outputs; ``created_at`` is epoch
    milliseconds; ``outputs`` maps each output name to its stored ref.
    """

    key: str
    step: str
    pipeline: str
    run_id: str
    created_at: int
    outputs: Mapping[str, ArtifactRef] = field(default_factory=_no_outputs)
    project: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The entry as a JSON-able mapping (outputs sorted by name)."""
        return {
            "key": self.key,
            "step": self.step,
            "pipeline": self.pipeline,
            "run_id": self.run_id,
            "created_at": self.created_at,
            "outputs": {name: self.outputs[name].to_dict() for name in sorted(self.outputs)},
            "project": self.project,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepCacheEntry:
        """Rebuild an entry from :meth:`to_dict` output."""
        outputs = data.get("outputs") or {}
        project = data.get("project")
        return cls(
            key=str(data["key"]),
            step=str(data["step"]),
            pipeline=str(data["pipeline"]),
            run_id=str(data["run_id"]),
            created_at=int(data["created_at"]),
            outputs=MappingProxyType(
                {str(name): ArtifactRef.from_dict(ref) for name, ref in outputs.items()}
            ),
            project=None if project is None else str(project),
        )
