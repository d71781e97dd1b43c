"""Records for versioned data and lineage."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "Dataset",
    "DatasetKind",
    "DatasetVersion",
    "FileEntry",
    "LineageEdge",
]


class DatasetKind(enum.StrEnum):
    """What a dataset version holds."""

    FILE = "file"
    FOLDER = "folder"
    TABLE = "table"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a dataset version: its relative POSIX path, size, BLAKE3 hex and mode."""

    path: str
    size: int
    blob: str
    mode: int = 0o644


@dataclass(frozen=True, slots=True)
class Dataset:
    """A named, versioned dataset. Names are unique across projects."""

    id: str
    name: str
    project: str
    created_at: int
    description: str | None = None
    latest_version: int | None = None
    version_count: int = 0


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One immutable version of a dataset.

    ``content_id`` is the BLAKE3 of the version's canonical manifest, so the same content
    always has the same id (adding it again makes no new version). ``version`` counts up per
    dataset from 1. Tables also carry their Arrow schema and column profile as JSON blobs.
    """

    id: str
    dataset: str
    project: str
    version: int
    kind: DatasetKind
    content_id: str
    manifest_blob: str
    file_count: int
    total_size: int
    created_at: int
    message: str | None = None
    author: str | None = None
    source_run_id: str | None = None
    num_rows: int | None = None
    schema_blob: str | None = None
    profile_blob: str | None = None
    metadata: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def uri(self) -> str:
        """``datasets:/<name>/<version>``."""
        return f"datasets:/{self.dataset}/{self.version}"


@dataclass(frozen=True, slots=True)
class LineageEdge:
    """A run read (``input``) or wrote (``output``) an artifact named by ``ref``.

    ``ref`` is a versioned URI such as ``datasets:/churn-raw/3`` or ``models:/churn/2``.
    """

    run_id: str
    direction: str  # "input" | "output"
    ref: str
    created_at: int
    project: str | None = None
