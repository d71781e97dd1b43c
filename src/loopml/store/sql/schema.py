"""The tables of the SQL store, on one :data:`metadata` (SQLAlchemy Core, no ORM).

Every record reaches its project: ``runs.project_id`` directly, every run child through its
run. Children of ``runs`` are removed with it (``ON DELETE CASCADE``); a purged parent leaves
its child runs in place with ``parent_id`` cleared.

Times are UTC integer milliseconds (``BigInteger``). A metric value of NaN is stored as NULL
(PostgreSQL would accept NaN, SQLite would not) and read back as NaN; infinities are kept.

Datasets belong to a project but their names are unique across projects (a name is what
``datasets:/<name>/<version>`` resolves). A version's files are removed with it; a version
outlives the run that produced it (``source_run_id`` is cleared when the run is purged).
Lineage edges go with their run. ``dataset_versions.metadata`` is a JSON object as text.

The model registry: ``registered_models`` (names unique across projects; ``project_id`` may
be NULL), their ``model_versions`` (``UNIQUE (model_id, version)``; a version carries its
project too), the blobs each version's package holds (``model_version_blobs``, for garbage
collection), ``model_aliases`` (``UNIQUE (model_id, alias)``, pointing at a version row) and
``model_tags`` (``version`` 0 marks a tag of the model itself, since versions start at 1).
Models and versions are deleted softly (``deleted_at``), so a number is never handed out
twice; the blobs, aliases and tags of a deleted version are removed. ``model_audit`` names
its model rather than referencing it, so the log outlives the model.

The pipeline step cache: ``step_cache`` (one row per cache key; ``run_id`` is a plain id, so
an entry outlives a purged run; ``outputs`` is a JSON object of artifact refs) and
``step_cache_blobs`` (every blob an entry's outputs hold, for garbage collection).

Indexes serve search at 100k runs: the project/lifecycle/start-time listing, the
``key``-then-value lookups behind ``metrics.acc > 0.9`` or ``params.lr = '0.1'``, history
reads, and the blob lookup of garbage collection.

Param and tag values are indexed through their first :data:`VALUE_PREFIX_CHARS` characters
(an expression index), because a PostgreSQL B-tree entry cannot exceed ~2.7 kB and values
may be longer.

On SQLite, ``params``, ``tags``, ``latest_metrics`` and ``lineage_edges`` are ``WITHOUT ROWID``
tables: the rows
live in their ``(run_id, key)`` primary key, so reading a run's values is one range of one
B-tree (not an index probe plus a table lookup per value), and a ``(key, value)`` index,
which then carries the primary key, answers a filter without touching the table.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import func

from loopml.store.sql.limits import BLOB_MAX, KEY_MAX, NAME_MAX, VALUE_MAX, VALUE_PREFIX_CHARS

__all__ = [
    "ALEMBIC_VERSION",
    "BLOB_MAX",
    "KEY_MAX",
    "NAME_MAX",
    "VALUE_MAX",
    "VALUE_PREFIX_CHARS",
    "dataset_files",
    "dataset_versions",
    "datasets",
    "latest_metrics",
    "lineage_edges",
    "metadata",
    "metrics",
    "model_aliases",
    "model_audit",
    "model_tags",
    "model_version_blobs",
    "model_versions",
    "params",
    "projects",
    "registered_models",
    "run_artifacts",
    "runs",
    "step_cache",
    "step_cache_blobs",
    "tags",
    "value_prefix",
]


_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=_NAMING)

_Id = String(32)
_Key = String(KEY_MAX)
_Blob = String(BLOB_MAX)
#: BIGINT on PostgreSQL; INTEGER on SQLite so that the column is the rowid (auto-assigned).
_RowId = BigInteger().with_variant(Integer(), "sqlite")


def _run_fk() -> Column[str]:
    return Column("run_id", _Id, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)


def value_prefix(column: ColumnElement[str]) -> ColumnElement[str]:
    """``substr(column, 1, N)``, rendered with literal numbers so that it matches the index
    expression exactly (SQLite only uses an expression index for an identical expression)."""
    return func.substr(column, literal_column("1"), literal_column(str(VALUE_PREFIX_CHARS)))


projects = Table(
    "projects",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("name", String(NAME_MAX), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("description", Text),
)

runs = Table(
    "runs",
    metadata,
    Column("id", _Id, primary_key=True),
    Column(
        "project_id",
        _Id,
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(NAME_MAX), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger),
    Column("parent_id", _Id, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("lifecycle", String(16), nullable=False),
    Column("deleted_at", BigInteger),
    Column("error", Text),
    Column("git_commit", String(64)),
    Column("git_dirty", Boolean),
    Column("git_diff_hash", String(128)),
    Column("entry_point", Text),
    Column("user", String(NAME_MAX)),
    Column("host", String(NAME_MAX)),
    Column("python_version", String(64)),
    Index(None, "project_id", "lifecycle", "start_time"),
    Index(None, "parent_id"),
    # What a search filter checks of each candidate run, found by id: no table lookup.
    Index(None, "id", "project_id", "lifecycle", "start_time"),
)

params = Table(
    "params",
    metadata,
    _run_fk(),
    Column("key", _Key, nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "key"),
    sqlite_with_rowid=False,
)
Index("ix_params_key_value", params.c.key, value_prefix(params.c.value))

tags = Table(
    "tags",
    metadata,
    _run_fk(),
    Column("key", _Key, nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_id", "key"),
    sqlite_with_rowid=False,
)
Index("ix_tags_key_value", tags.c.key, value_prefix(tags.c.value))

metrics = Table(
    "metrics",
    metadata,
    Column("id", _RowId, primary_key=True, autoincrement=True),
    _run_fk(),
    Column("key", _Key, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Double),
    Index(None, "run_id", "key", "step"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    _run_fk(),
    Column("key", _Key, nullable=False),
    Column("value", Double),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_id", "key"),
    Index(None, "key", "value"),
    sqlite_with_rowid=False,
)

run_artifacts = Table(
    "run_artifacts",
    metadata,
    _run_fk(),
    Column("path", Text, nullable=False),
    Column("blob", _Blob, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_id", "path"),
    Index(None, "blob"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", _Id, primary_key=True),
    Column(
        "project_id",
        _Id,
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(NAME_MAX), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("description", Text),
    Index(None, "project_id"),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", _Id, primary_key=True),
    Column(
        "dataset_id",
        _Id,
        ForeignKey("datasets.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("content_id", _Blob, nullable=False),
    Column("manifest_blob", _Blob, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("total_size", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("message", Text),
    Column("author", String(NAME_MAX)),
    Column("source_run_id", _Id, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("num_rows", BigInteger),
    Column("schema_blob", _Blob),
    Column("profile_blob", _Blob),
    Column("metadata", Text, nullable=False),
    UniqueConstraint("dataset_id", "version"),
    UniqueConstraint("dataset_id", "content_id"),
    # The purge of a run clears its versions' source_run_id: found by index, not a scan.
    Index(None, "source_run_id"),
)

dataset_files = Table(
    "dataset_files",
    metadata,
    Column(
        "version_id",
        _Id,
        ForeignKey("dataset_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("path", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("blob", _Blob, nullable=False),
    Column("mode", Integer, nullable=False),
    PrimaryKeyConstraint("version_id", "path"),
    Index(None, "blob"),
)

lineage_edges = Table(
    "lineage_edges",
    metadata,
    _run_fk(),
    Column("direction", String(16), nullable=False),
    Column("ref", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column(
        "project_id",
        _Id,
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    PrimaryKeyConstraint("run_id", "direction", "ref"),
    Index(None, "ref"),
    sqlite_with_rowid=False,
)


def _project_fk() -> Column[str]:
    return Column("project_id", _Id, ForeignKey("projects.id", ondelete="SET NULL"))


registered_models = Table(
    "registered_models",
    metadata,
    Column("id", _Id, primary_key=True),
    _project_fk(),
    Column("name", String(NAME_MAX), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("description", Text),
    Column("deleted_at", BigInteger),
    Index(None, "project_id"),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", _Id, primary_key=True),
    Column(
        "model_id",
        _Id,
        ForeignKey("registered_models.id", ondelete="CASCADE"),
        nullable=False,
    ),
    _project_fk(),
    Column("version", Integer, nullable=False),
    Column("package_blob", _Blob, nullable=False),
    Column("flavor", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("run_id", _Id, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("artifact_path", Text),
    Column("created_by", String(NAME_MAX)),
    Column("description", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("deleted_at", BigInteger),
    UniqueConstraint("model_id", "version"),
    Index(None, "run_id"),
    Index(None, "package_blob"),
)

model_version_blobs = Table(
    "model_version_blobs",
    metadata,
    Column(
        "version_id",
        _Id,
        ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("blob", _Blob, nullable=False),
    PrimaryKeyConstraint("version_id", "blob"),
    Index(None, "blob"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column(
        "model_id",
        _Id,
        ForeignKey("registered_models.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("alias", String(64), nullable=False),
    Column(
        "version_id",
        _Id,
        ForeignKey("model_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("model_id", "alias"),
    Index(None, "version_id"),
)

model_tags = Table(
    "model_tags",
    metadata,
    Column(
        "model_id",
        _Id,
        ForeignKey("registered_models.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("version", Integer, nullable=False),
    Column("key", _Key, nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "version", "key"),
)

model_audit = Table(
    "model_audit",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("model_id", _Id, nullable=False),
    Column("model", String(NAME_MAX), nullable=False),
    _project_fk(),
    Column("action", String(32), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("version", Integer),
    Column("key", _Key),
    Column("old_value", Text),
    Column("new_value", Text),
    Column("actor", String(NAME_MAX)),
    Index("ix_model_audit_model", "model", "id"),
)

step_cache = Table(
    "step_cache",
    metadata,
    Column("key", _Blob, primary_key=True),
    Column("pipeline", String(NAME_MAX), nullable=False),
    Column("step", String(NAME_MAX), nullable=False),
    Column("run_id", _Id, nullable=False),
    _project_fk(),
    Column("created_at", BigInteger, nullable=False),
    Column("outputs", Text, nullable=False),
    Index(None, "pipeline", "step"),
    Index(None, "project_id"),
)

step_cache_blobs = Table(
    "step_cache_blobs",
    metadata,
    Column("key", _Blob, ForeignKey("step_cache.key", ondelete="CASCADE"), nullable=False),
    Column("blob", _Blob, nullable=False),
    PrimaryKeyConstraint("key", "blob"),
    Index(None, "blob"),
)

#: Alembic's own bookkeeping table, declared as Alembic creates it, so that a fresh store can
#: be stamped without importing Alembic. It lives outside :data:`metadata` on purpose.
ALEMBIC_VERSION = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)
