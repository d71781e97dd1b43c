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
from loopml.entities.models import AUDIT_ACTIONS, AuditEvent, ModelVersion, RegisteredModel
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
from loopml.entities.steps import ArtifactRef, StepCacheEntry

__all__ = [
    "ArtifactRef",
    "StepCacheEntry",
    "AUDIT_ACTIONS",
    "ArtifactEntry",
    "AuditEvent",
    "Dataset",
    "DatasetKind",
    "DatasetVersion",
    "FileEntry",
    "LineageEdge",
    "Lifecycle",
    "Metric",
    "ModelVersion",
    "Page",
    "Param",
    "Project",
    "RegisteredModel",
    "Run",
    "RunSource",
    "RunStatus",
    "Tag",
    "new_id",
    "now_ms",
    "to_jsonable",
]
