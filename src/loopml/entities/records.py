"""The plain, immutable records the Store speaks: no ORM rows ever leave the store."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, TypeVar

__all__ = [
    "ArtifactEntry",
    "Lifecycle",
    "Metric",
    "Page",
    "Param",
    "Project",
    "Run",
    "RunSource",
    "RunStatus",
    "Tag",
]

T = TypeVar("T")

_EMPTY: Mapping[str, str] = MappingProxyType({})


class RunStatus(enum.StrEnum):
    """Where a run is in its life."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        """True once the run has ended."""
        return self is not RunStatus.RUNNING


class Lifecycle(enum.StrEnum):
    """Soft-delete state of a run."""

    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Project:
    """A namespace for runs (and later datasets and models)."""

    id: str
    name: str
    created_at: int
    description: str | None = None
    run_count: int = 0
    last_run_at: int | None = None


@dataclass(frozen=True, slots=True)
class RunSource:
    """Where and from what code a run was started."""

    git_commit: str | None = None
    git_dirty: bool | None = None
    git_diff_hash: str | None = None
    entry_point: str | None = None
    user: str | None = None
    host: str | None = None
    python_version: str | None = None


@dataclass(frozen=True, slots=True)
class Metric:
    """One point of a metric's history. ``value`` may be NaN or infinite."""

    key: str
    value: float
    step: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class Param:
    """A hyperparameter; immutable once logged. Values are stored as text."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Tag:
    """A mutable label on a run."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Run:
    """A run with its data: params, the latest value of each metric, and tags."""

    id: str
    project: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None = None
    parent_id: str | None = None
    lifecycle: Lifecycle = Lifecycle.ACTIVE
    deleted_at: int | None = None
    source: RunSource = field(default_factory=RunSource)
    error: str | None = None
    params: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    metrics: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    tags: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    @property
    def duration_ms(self) -> int | None:
        """Wall time in milliseconds, or None while running."""
        return None if self.end_time is None else self.end_time - self.start_time


@dataclass(frozen=True, slots=True)
class ArtifactEntry:
    """One file of a run's artifacts: a path in the run mapped to a blob."""

    run_id: str
    path: str
    blob: str
    size: int
    created_at: int


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the token for the next one (None on the last page)."""

    items: list[T]
    next_token: str | None = None
