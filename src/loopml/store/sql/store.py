"""The SQL implementation of :class:`~loopml.store.base.Store`, over SQLite or PostgreSQL.

A thin facade: each method checks its arguments, then runs one function of the aggregate
modules in one transaction. Only entities leave.

- The frequent calls (:mod:`.projects`, :mod:`.runs`, :mod:`.rundata`, :mod:`.artifacts`,
  :mod:`.lineage`, :mod:`.datasets`, :mod:`.step_cache`) are plain SQL
  (:mod:`.driver`); on an existing SQLite file at the current schema they run over
  ``sqlite3`` (:class:`~loopml.store.sql.sqlite_direct.DirectSqlite`), else through
  :class:`~loopml.store.sql.engine.Database`.
- Search (:mod:`.search`), the registry (:mod:`.registry`, :mod:`.registry_reads`) and
  migrations need SQLAlchemy, which is imported and connected on their first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, TypeVar

from loopml.entities import (
    ArtifactEntry,
    AuditEvent,
    Dataset,
    DatasetKind,
    DatasetVersion,
    FileEntry,
    LineageEdge,
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
    now_ms,
)
from loopml.entities.steps import StepCacheEntry
from loopml.errors import InvalidInputError
from loopml.store.base import LifecycleFilter, Store
from loopml.store.filter.ast import Node, OrderBy
from loopml.store.sql import (
    artifacts,
    datasets,
    lineage,
    projects,
    registry_checks,
    rundata,
    runs,
    step_cache,
    validation,
)
from loopml.store.sql.driver import DriverConnection
from loopml.store.sql.revisions import SCHEMA_HEAD
from loopml.store.sql.sqlite_direct import DirectSqlite

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from loopml.store.sql.engine import Database

__all__ = ["SqlStore"]

T = TypeVar("T")

#: The statuses ``end_run`` accepts, by value (a RunStatus is its own value: a StrEnum).
_TERMINAL = {status.value: status for status in RunStatus if status.is_terminal}


class SqlStore(Store):
    """The metadata store on a SQL database; the schema is created or migrated on open.

    Args:
        uri: ``sqlite:///path/loopml.db``, ``sqlite:///:memory:`` or
            ``postgresql+psycopg://user@host/db``.

    Raises:
        InvalidInputError: the URI is not a supported database URI.
        SchemaVersionError: the database was written by a newer loopml.
        StoreError: the database cannot be reached or migrated.

    Example:
        >>> with SqlStore("sqlite:///:memory:") as store:
        ...     run = store.create_run("demo", name="first")
        ...     store.log_batch(run.id, metrics=[Metric("acc", 0.9, 0, 1)])
        ...     store.get_run(run.id).metrics["acc"]
        0.9
    """

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._database: Database | None = None
        self._opening = threading.Lock()
        # Project ids by name, learnt from committed transactions: an id never changes and
        # projects are never deleted, so a run of a known project skips the lookup.
        self._project_ids: dict[str, str] = {}
        # On an existing SQLite file at the current schema, the frequent calls skip
        # SQLAlchemy entirely (see sqlite_direct); everything else opens it on first use.
        self._direct = DirectSqlite.open(uri)
        try:
            if self._direct is None or self._direct.schema_version() != SCHEMA_HEAD:
                from loopml.store.sql.migrate import ensure_schema

                ensure_schema(self._db)
                self._direct = self._direct or DirectSqlite.open(uri)
        except BaseException:
            self.close()
            raise

    @property
    def _db(self) -> Database:
        """The SQLAlchemy side of the store, made on first use (once, whatever the threads)."""
        database = self._database
        if database is None:
            with self._opening:
                if self._database is None:
                    from loopml.store.sql.engine import Database

                    self._database = Database(self.uri)
                database = self._database
        return database

    def _run(
        self,
        work: Callable[[DriverConnection], T],
        *,
        mode: Literal["read", "write"] = "read",
    ) -> T:
        """Run plain-SQL ``work`` in one transaction: over ``sqlite3`` where it can."""
        if self._direct is not None:
            return self._direct.run(work, mode=mode)
        return self._db.run(work, mode=mode)

    def __repr__(self) -> str:
        # a SQLite file URI holds no password; any other is shown masked by the engine
        return f"SqlStore({self.uri if self._direct else self._db.uri!r})"

    def __enter__(self) -> SqlStore:
        return self

    def close(self) -> None:
        """Close every connection."""
        if self._direct is not None:
            self._direct.close()
        if self._database is not None:
            self._database.close()

    # -- projects -------------------------------------------------------------------------
    def get_or_create_project(self, name: str) -> Project:
        validation.check_name(name, "project")
        project = self._run(lambda c: projects.get_or_create_project(c, name), mode="write")
        self._project_ids[name] = project.id
        return project

    def get_project(self, name: str) -> Project:
        return self._run(lambda c: projects.get_project(c, name))

    def list_projects(self) -> list[Project]:
        return self._run(projects.list_projects)

    # -- runs -----------------------------------------------------------------------------
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
        new = runs.prepare_run(
            project,
            name=name,
            tags=tags,
            parent_id=parent_id,
            source=source,
            start_time=start_time,
            run_id=run_id,
        )

        known = self._project_ids.get(new.project)

        def work(conn: DriverConnection) -> tuple[str, Run]:
            project_id = known or projects.ensure_project_id(conn, new.project)
            return project_id, runs.insert_run(conn, new, project_id)

        project_id, run = self._run(work, mode="write")
        self._project_ids[new.project] = project_id  # only once committed
        return run

    def get_run(self, run_id: str) -> Run:
        return self._run(lambda c: runs.get_runs(c, [run_id])[0])

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        if not run_ids:
            return []
        return self._run(lambda c: runs.get_runs(c, list(run_ids)))

    def end_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        end_time: int | None = None,
        error: str | None = None,
    ) -> None:
        final = _TERMINAL.get(status)
        if final is None:
            raise InvalidInputError(
                f"end_run needs a terminal status, got {status!r}",
                field="status",
                run_id=run_id,
                hint=f"use one of {', '.join(sorted(_TERMINAL))}",
            )
        when = now_ms() if end_time is None else validation.check_timestamp(end_time, "end_time")
        text = None if error is None else str(error).replace("\x00", "\\x00")  # PG refuses NUL
        self._run(lambda c: runs.end_run(c, run_id, final, when, text), mode="write")

    def set_run_name(self, run_id: str, name: str) -> None:
        validation.check_name(name, "name")
        self._run(lambda c: runs.set_run_name(c, run_id, name), mode="write")

    def delete_runs(self, run_ids: Sequence[str]) -> None:
        if run_ids:
            when = now_ms()
            self._run(lambda c: runs.delete_runs(c, list(run_ids), when), mode="write")

    def restore_runs(self, run_ids: Sequence[str]) -> None:
        if run_ids:
            self._run(lambda c: runs.restore_runs(c, list(run_ids)), mode="write")

    def purge_runs(self, *, deleted_before: int) -> list[str]:
        before = validation.check_timestamp(deleted_before, "deleted_before")
        return self._run(lambda c: runs.purge_runs(c, before), mode="write")

    def search_runs(
        self,
        projects: Sequence[str] | None = None,
        *,
        filter: Node | None = None,  # noqa: A002 - the Store interface's name
        order_by: Sequence[OrderBy] = (),
        max_results: int = 1000,
        page_token: str | None = None,
        lifecycle: LifecycleFilter = "active",
    ) -> Page[Run]:
        from loopml.store.sql import search

        query = search.SearchQuery(projects, filter, order_by, max_results, page_token, lifecycle)

        def work(conn: Connection) -> Page[Run]:
            ids, token = search.search_run_ids(conn, query)
            found = runs.load_runs(conn, ids)
            return Page([found[run_id] for run_id in ids if run_id in found], token)

        return self._db.run(work)

    # -- run data -------------------------------------------------------------------------
    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[Tag] = (),
    ) -> None:
        batch = rundata.prepare_batch(run_id, metrics, params, tags)
        if batch.is_empty:
            self._run(lambda c: runs.require_run(c, run_id))
            return
        self._run(lambda c: rundata.write_batch(c, run_id, batch), mode="write")

    def delete_tag(self, run_id: str, key: str) -> None:
        self._run(lambda c: rundata.delete_tag(c, run_id, key), mode="write")

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._run(lambda c: rundata.get_metric_history(c, run_id, key))

    # -- artifacts ------------------------------------------------------------------------
    def record_artifacts(self, run_id: str, entries: Sequence[ArtifactEntry]) -> None:
        clean = artifacts.check_entries(run_id, entries)
        self._run(lambda c: artifacts.record_artifacts(c, run_id, clean), mode="write")

    def list_artifacts(self, run_id: str, prefix: str = "") -> list[ArtifactEntry]:
        return self._run(lambda c: artifacts.list_artifacts(c, run_id, prefix))

    def referenced_blobs(self) -> set[str]:
        from loopml.store.sql import registry_reads

        return self._db.run(
            lambda c: (
                artifacts.referenced_blobs(c)
                | registry_reads.referenced_blobs(c)
                | step_cache.referenced_blobs(c)
            )
        )

    # -- datasets -------------------------------------------------------------------------
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
        new = datasets.prepare_version(
            project,
            name,
            kind=kind,
            content_id=content_id,
            manifest_blob=manifest_blob,
            files=files,
            message=message,
            author=author,
            source_run_id=source_run_id,
            num_rows=num_rows,
            schema_blob=schema_blob,
            profile_blob=profile_blob,
            metadata=metadata,
        )
        return self._run(lambda c: datasets.create_version(c, new), mode="write")

    def get_dataset(self, name: str) -> Dataset:
        return self._run(lambda c: datasets.get_dataset(c, name))

    def list_datasets(self, project: str | None = None) -> list[Dataset]:
        return self._run(lambda c: datasets.list_datasets(c, project))

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        return self._run(lambda c: datasets.list_dataset_versions(c, name))

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        number = None if version is None else validation.check_timestamp(version, "version")
        return self._run(lambda c: datasets.get_dataset_version(c, name, number))

    def get_dataset_files(self, version_id: str) -> list[FileEntry]:
        return self._run(lambda c: datasets.get_dataset_files(c, version_id))

    # -- lineage --------------------------------------------------------------------------
    def add_lineage(self, edges: Sequence[LineageEdge]) -> None:
        rows = lineage.check_edges(edges)
        if rows:
            self._run(lambda c: lineage.add_lineage(c, rows), mode="write")

    def lineage_of_runs(self, run_ids: Sequence[str]) -> list[LineageEdge]:
        if not run_ids:
            return []
        return self._run(lambda c: lineage.lineage_of_runs(c, run_ids))

    def lineage_of_refs(self, refs: Sequence[str]) -> list[LineageEdge]:
        if not refs:
            return []
        return self._run(lambda c: lineage.lineage_of_refs(c, refs))

    # -- model registry -------------------------------------------------------------------
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
        from loopml.store.sql import registry

        new = registry_checks.prepare_version(
            name,
            package_blob=package_blob,
            file_blobs=file_blobs,
            flavor=flavor,
            source=source,
            run_id=run_id,
            artifact_path=artifact_path,
            description=description,
            tags=tags,
            actor=actor,
            project=project,
        )
        return self._db.run(lambda c: registry.create_version(c, new), mode="write")

    def get_registered_model(self, name: str) -> RegisteredModel:
        from loopml.store.sql import registry_reads

        registry_checks.check_model_name(name)
        return self._db.run(lambda c: registry_reads.get_model(c, name))

    def list_registered_models(self) -> list[RegisteredModel]:
        from loopml.store.sql import registry_reads

        return self._db.run(registry_reads.list_models)

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        from loopml.store.sql import registry_reads

        registry_checks.check_model_name(name)
        return self._db.run(lambda c: registry_reads.list_versions(c, name))

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        from loopml.store.sql import registry_reads

        registry_checks.check_model_name(name)
        number = registry_checks.check_version(version)
        return self._db.run(lambda c: registry_reads.get_version(c, name, number))

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        from loopml.store.sql import registry_reads

        registry_checks.check_model_name(name)
        registry_checks.check_alias(alias, allow_latest=True)
        return self._db.run(lambda c: registry_reads.get_version_by_alias(c, name, alias))

    def set_model_alias(
        self, name: str, alias: str, version: int, *, actor: str | None = None
    ) -> None:
        from loopml.store.sql import registry

        registry_checks.check_model_name(name)
        registry_checks.check_alias(alias)
        number = registry_checks.check_version(version)
        who = registry_checks.check_actor(actor)
        self._db.run(lambda c: registry.set_alias(c, name, alias, number, who), mode="write")

    def delete_model_alias(self, name: str, alias: str, *, actor: str | None = None) -> None:
        from loopml.store.sql import registry

        registry_checks.check_model_name(name)
        registry_checks.check_alias(alias)
        who = registry_checks.check_actor(actor)
        self._db.run(lambda c: registry.delete_alias(c, name, alias, who), mode="write")

    def set_model_tag(
        self,
        name: str,
        key: str,
        value: str,
        *,
        version: int | None = None,
        actor: str | None = None,
    ) -> None:
        from loopml.store.sql import registry

        registry_checks.check_model_name(name)
        key, value = registry_checks.check_tag(key, value)
        number = None if version is None else registry_checks.check_version(version)
        who = registry_checks.check_actor(actor)
        self._db.run(lambda c: registry.set_tag(c, name, key, value, number, who), mode="write")

    def delete_model_tag(
        self, name: str, key: str, *, version: int | None = None, actor: str | None = None
    ) -> None:
        from loopml.store.sql import registry

        registry_checks.check_model_name(name)
        validation.check_key(key, "tag")
        number = None if version is None else registry_checks.check_version(version)
        who = registry_checks.check_actor(actor)
        self._db.run(lambda c: registry.delete_tag(c, name, key, number, who), mode="write")

    def set_model_description(
        self,
        name: str,
        description: str,
        *,
        version: int | None = None,
        actor: str | None = None,
    ) -> None:
        from loopml.store.sql import registry

        registry_checks.check_model_name(name)
        text = None if description is None else registry_checks.check_description(description)
        number = None if version is None else registry_checks.check_version(version)
        who = registry_checks.check_actor(actor)
        self._db.run(lambda c: registry.set_description(c, name, text, number, who), mode="write")

    def delete_model_version(self, name: str, version: int, *, actor: str | None = None) -> None:
        from loopml.store.sql import registry

        registry_checks.check_model_name(name)
        number = registry_checks.check_version(version)
        who = registry_checks.check_actor(actor)
        self._db.run(lambda c: registry.delete_version(c, name, number, who), mode="write")

    def delete_registered_model(self, name: str, *, actor: str | None = None) -> None:
        from loopml.store.sql import registry

        registry_checks.check_model_name(name)
        who = registry_checks.check_actor(actor)
        self._db.run(lambda c: registry.delete_model(c, name, who), mode="write")

    def list_model_audit(self, name: str, *, version: int | None = None) -> list[AuditEvent]:
        from loopml.store.sql import registry_reads

        registry_checks.check_model_name(name)
        number = None if version is None else registry_checks.check_version(version)
        return self._db.run(lambda c: registry_reads.list_audit(c, name, number))

    # -- pipeline step cache --------------------------------------------------------------
    def get_step_cache(self, key: str) -> StepCacheEntry | None:
        step_cache.check_key(key)
        return self._run(lambda c: step_cache.get_entry(c, key))

    def put_step_cache(self, entry: StepCacheEntry) -> None:
        clean = step_cache.check_entry(entry)
        self._run(lambda c: step_cache.put_entry(c, clean), mode="write")

    def list_step_cache(
        self, *, pipeline: str | None = None, step: str | None = None
    ) -> list[StepCacheEntry]:
        return self._run(lambda c: step_cache.list_entries(c, pipeline, step))

    def delete_step_cache(
        self, keys: Sequence[str] | None = None, *, pipeline: str | None = None
    ) -> int:
        if keys is not None:
            keys = [step_cache.check_key(key) for key in keys]
        return self._run(lambda c: step_cache.delete_entries(c, keys, pipeline), mode="write")
