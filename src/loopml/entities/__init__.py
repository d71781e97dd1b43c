"""Plain immutable records shared by every layer of loopml."""

from __future__ import annotations

from loopml.entities.datasets import (
    Dataset,
    DatasetKind,
    DatasetVersion,
    FileEntry,
    LineageEdge,
)
from loopml.entities.ids import new_id, now_ms
from loopml.entities.records import (
    ArtifactEntry,
    Lifecycle,
    Metric,
    Page,
    Param,
    Project,
    Run,
    RunSource,
    RunStatus,
    Tag,
)
from loopml.entities.serialize import to_jsonable

__all__ = [
    "ArtifactEntry",
    "Dataset",
    "DatasetKind",
    "DatasetVersion",
    "FileEntry",
    "LineageEdge",
    "Lifecycle",
    "Metric",
    "Page",
    "Param",
    "Project",
    "Run",
    "RunSource",
    "RunStatus",
    "Tag",
    "new_id",
    "now_ms",
    "to_jsonable",
]
