"""The metadata Store interface. Every feature talks to this, never to a database.

Contracts every implementation keeps:

- Methods take and return :mod:`loopml.entities` records, never ORM rows.
- Each method is one round trip (one transaction for SQL, one request for REST); bulk work
  has batch forms (:meth:`Store.log_batch`, :meth:`Store.get_runs`).
- Missing things raise :class:`~loopml.errors.NotFoundError`; bad input raises
  :class:`~loopml.errors.InvalidInputError`; a param logged again with a different value
  raises :class:`~loopml.errors.ParamConflictError`, and nothing of that batch is written.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Literal

from loopml.entities import (
    ArtifactEntry,
    Metric,
    Page,
    Param,
    Project,
    Run,
    RunSource,
    RunStatus,
    Tag,
)
from loopml.entities.datasets import (
    Dataset,
    DatasetKind,
    DatasetVersion,
    FileEntry,
    LineageEdge,
)
from loopml.store.filter.ast import Node, OrderBy

__all__ = ["LifecycleFilter", "Store"]

LifecycleFilter = Literal["active", "deleted", "all"]


class Store(abc.ABC):
    """Metadata store: projects, runs, params, metrics, tags and run artifact maps."""

    uri: str

    # -- projects -------------------------------------------------------------------------
    @abc.abstractmethod
    def get_or_create_project(self, name: str) -> Project:
        """The project called ``name``, created if it does not exist yet."""

    @abc.abstractmethod
    def get_project(self, name: str) -> Project:
        """The project called ``name`` with its run count. Raises NotFoundError."""

    @abc.abstractmethod
    def list_projects(self) -> list[Project]:
        """All projects, by name, each with its run count and last run start time."""

    # -- runs -----------------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(
        self,
        project: str,
        *,
        name: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_id: str | None = None,
        source: RunSource | None = None,
        start_time: int | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Create a RUNNING run (and its project if needed) in one transaction.

        A missing ``name`` gets a readable generated one. ``parent_id`` must be a run of the
        same project.
        """

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """The run with its params, latest metrics and tags. Raises NotFoundError."""

    @abc.abstractmethod
    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Several runs in one round trip, in the order asked. Raises NotFoundError for any
        missing id."""

    @abc.abstractmethod
    def end_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        end_time: int | None = None,
        error: str | None = None,
    ) -> None:
        """Set a terminal status, the end time and (for FAILED) the error text."""

    @abc.abstractmethod
    def set_run_name(self, run_id: str, name: str) -> None:
        """Rename a run."""

    @abc.abstractmethod
    def delete_runs(self, run_ids: Sequence[str]) -> None:
        """Soft-delete runs (they leave searches but keep their data until purged)."""

    @abc.abstractmethod
    def restore_runs(self, run_ids: Sequence[str]) -> None:
        """Undo :meth:`delete_runs`."""

    @abc.abstractmethod
    def purge_runs(self, *, deleted_before: int) -> list[str]:
        """Remove for good the runs soft-deleted before ``deleted_before`` (ms); their ids."""

    @abc.abstractmethod
    def search_runs(
        self,
        projects: Sequence[str] | None = None,
        *,
        filter: Node | None = None,  # noqa: A002 - the name users know from MLflow
        order_by: Sequence[OrderBy] = (),
        max_results: int = 1000,
        page_token: str | None = None,
        lifecycle: LifecycleFilter = "active",
    ) -> Page[Run]:
        """Runs matching ``filter`` in ``projects`` (all when None), ordered, one page.

        The default order is newest first. ``page_token`` comes from the previous page.
        """

    # -- run data -------------------------------------------------------------------------
    @abc.abstractmethod
    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[Tag] = (),
    ) -> None:
        """Write metrics (appended to history, latest value kept), params (insert-once) and
        tags (upsert) in one transaction; all or nothing."""

    @abc.abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag. Raises NotFoundError if the run has no such tag."""

    @abc.abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every logged point of one metric, by step then timestamp."""

    # -- artifacts ------------------------------------------------------------------------
    @abc.abstractmethod
    def record_artifacts(self, run_id: str, entries: Sequence[ArtifactEntry]) -> None:
        """Map run paths to blobs (a path logged again points at the new blob)."""

    @abc.abstractmethod
    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactEntry]:
        """The run's artifact files under ``prefix`` ("" for all), by path."""

    @abc.abstractmethod
    def referenced_blobs(self) -> set[str]:
        """Every blob hash some record points at (what ``gc`` must keep): run artifacts,
        dataset files, manifests, schemas and profiles."""

    # -- datasets -------------------------------------------------------------------------
    @abc.abstractmethod
    def create_dataset_version(
        self,
        project: str,
        name: str,
        *,
        kind: DatasetKind,
        content_id: str,
        manifest_blob: str,
        files: Sequence[FileEntry],
        message: str | None = None,
        author: str | None = None,
        source_run_id: str | None = None,
        num_rows: int | None = None,
        schema_blob: str | None = None,
        profile_blob: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> tuple[DatasetVersion, bool]:
        """Record a dataset version (and the dataset, if new) in one transaction.

        The version number is the dataset's highest + 1, assigned inside the transaction, so
        two writers never get the same number. If the dataset already has a version with
        ``content_id``, that version is returned with False and nothing is written.

        Raises:
            AlreadyExistsError: ``name`` belongs to a dataset of another project.
        """

    @abc.abstractmethod
    def get_dataset(self, name: str) -> Dataset:
        """The dataset called ``name`` with its latest version number. Raises NotFoundError."""

    @abc.abstractmethod
    def list_datasets(self, project: str | None = None) -> list[Dataset]:
        """Datasets (of one project, or all), by name."""

    @abc.abstractmethod
    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        """Every version of a dataset, newest first. Raises NotFoundError for the name."""

    @abc.abstractmethod
    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """Version ``version`` of a dataset, or its latest when None. Raises NotFoundError."""

    @abc.abstractmethod
    def get_dataset_files(self, version_id: str) -> list[FileEntry]:
        """The files of a dataset version (by its ``id``), by path."""

    # -- lineage --------------------------------------------------------------------------
    @abc.abstractmethod
    def add_lineage(self, edges: Sequence[LineageEdge]) -> None:
        """Record that runs read or wrote versioned artifacts; recording an edge twice is a
        no-op. Raises NotFoundError for an unknown run."""

    @abc.abstractmethod
    def lineage_of_runs(self, run_ids: Sequence[str]) -> list[LineageEdge]:
        """Every edge touching one of ``run_ids`` (both directions)."""

    @abc.abstractmethod
    def lineage_of_refs(self, refs: Sequence[str]) -> list[LineageEdge]:
        """Every edge whose ``ref`` is one of ``refs`` (both directions)."""

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
