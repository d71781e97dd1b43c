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
    AuditEvent,
    Metric,
    ModelVersion,
    Page,
    Param,
    Project,
    RegisteredModel,
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
from loopml.entities.steps import StepCacheEntry
from loopml.store.filter.ast import Node, OrderBy

__all__ = ["LifecycleFilter", "Store"]

LifecycleFilter = Literal["active", "deleted", "all"]


class Store(abc.ABC):
    """Metadata store: projects, runs, params, metrics, tags, run artifact maps, datasets,
    lineage and the model registry."""

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
        dataset files, manifests, schemas and profiles, the package manifest and files
        of every live model version, and the blobs of every cached step output."""

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

    # -- model registry -------------------------------------------------------------------
    @abc.abstractmethod
    def create_model_version(
        self,
        name: str,
        *,
        package_blob: str,
        file_blobs: Sequence[str],
        flavor: str,
        source: str,
        run_id: str | None = None,
        artifact_path: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        actor: str | None = None,
        project: str | None = None,
    ) -> ModelVersion:
        """Register a new version of model ``name`` (creating the model if it is new).

        The version number is the model's highest + 1 (deleted versions count: a number is
        never reused), assigned inside the same transaction, so two processes registering
        at once get distinct consecutive numbers. ``file_blobs`` are the package's files,
        kept from garbage collection while the version lives. The creation (and any tags or
        description given) is written to the audit log in the same transaction.

        Raises:
            InvalidInputError: a bad name, blob, flavor, source, tag or actor.
            NotFoundError: ``run_id`` names no run.
            AlreadyExistsError: the model belongs to another project than ``project``.
        """

    @abc.abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel:
        """Model ``name`` with its tags, aliases and latest live version.

        Raises:
            InvalidInputError: ``name`` is not a valid model name.
            NotFoundError: no such model (or it was deleted).
        """

    @abc.abstractmethod
    def list_registered_models(self) -> list[RegisteredModel]:
        """Every live registered model, by name."""

    @abc.abstractmethod
    def list_model_versions(self, name: str) -> list[ModelVersion]:
        """The live versions of model ``name``, ascending. Raises NotFoundError."""

    @abc.abstractmethod
    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Version ``version`` of model ``name``.

        Raises:
            NotFoundError: no such model, or no such live version.
        """

    @abc.abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version ``alias`` points at; ``"latest"`` is the highest live version.

        Raises:
            InvalidInputError: ``alias`` is not a valid alias.
            NotFoundError: no such model, or the alias is not set.
        """

    @abc.abstractmethod
    def set_model_alias(
        self, name: str, alias: str, version: int, *, actor: str | None = None
    ) -> None:
        """Point ``alias`` at ``version`` (moving it if set elsewhere) atomically, audited
        with the old and new version. Setting it where it already points changes nothing.

        Raises:
            InvalidInputError: a bad alias (``latest`` is reserved).
            NotFoundError: no such model or live version.
        """

    @abc.abstractmethod
    def delete_model_alias(self, name: str, alias: str, *, actor: str | None = None) -> None:
        """Remove ``alias`` from model ``name``, audited. Raises NotFoundError if unset."""

    @abc.abstractmethod
    def set_model_tag(
        self,
        name: str,
        key: str,
        value: str,
        *,
        version: int | None = None,
        actor: str | None = None,
    ) -> None:
        """Set a tag on the model, or on one of its versions when ``version`` is given;
        audited with the old and new value."""

    @abc.abstractmethod
    def delete_model_tag(
        self, name: str, key: str, *, version: int | None = None, actor: str | None = None
    ) -> None:
        """Remove a tag of the model (or of ``version``), audited. Raises NotFoundError if
        there is no such tag."""

    @abc.abstractmethod
    def set_model_description(
        self,
        name: str,
        description: str,
        *,
        version: int | None = None,
        actor: str | None = None,
    ) -> None:
        """Set the description of the model (or of ``version``), audited old -> new."""

    @abc.abstractmethod
    def delete_model_version(self, name: str, version: int, *, actor: str | None = None) -> None:
        """Delete a version: it leaves every listing and lookup, its aliases are removed
        (each audited), its blobs are no longer kept from ``gc``; its number is not reused.

        Raises:
            NotFoundError: no such model or live version.
        """

    @abc.abstractmethod
    def delete_registered_model(self, name: str, *, actor: str | None = None) -> None:
        """Delete model ``name`` with all its versions, aliases and tags. Its audit log is
        kept; registering the name again continues its version numbers.

        Raises:
            NotFoundError: no such model.
        """

    @abc.abstractmethod
    def list_model_audit(self, name: str, *, version: int | None = None) -> list[AuditEvent]:
        """The audit log of model ``name`` (only events about ``version`` when given),
        oldest first. Kept after the model is deleted.

        Raises:
            NotFoundError: no model of that name was ever registered.
        """

    # -- pipeline step cache --------------------------------------------------------------
    @abc.abstractmethod
    def get_step_cache(self, key: str) -> StepCacheEntry | None:
        """The cached execution of key ``key``, or None (a miss is not an error).

        Raises:
            InvalidInputError: ``key`` is empty or too long.
        """

    @abc.abstractmethod
    def put_step_cache(self, entry: StepCacheEntry) -> None:
        """Record a step execution under ``entry.key``, with the blobs of its outputs.

        Idempotent on the key: when the key is cached already, the stored entry stays (the
        first writer wins; equal keys mean interchangeable outputs). ``entry.project`` is
        created if needed.

        Raises:
            InvalidInputError: an empty key, step, pipeline or run id.
        """

    @abc.abstractmethod
    def list_step_cache(
        self, *, pipeline: str | None = None, step: str | None = None
    ) -> list[StepCacheEntry]:
        """Cached executions, newest first; only those of ``pipeline`` and/or ``step``
        when given."""

    @abc.abstractmethod
    def delete_step_cache(
        self, keys: Sequence[str] | None = None, *, pipeline: str | None = None
    ) -> int:
        """Forget cached executions: those of ``keys``, or of ``pipeline``, or (both None)
        all of them. With both, only the given keys of that pipeline. Their blobs stay until
        ``gc`` finds nothing else pointing at them.

        Returns:
            How many entries were deleted.
        """

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
