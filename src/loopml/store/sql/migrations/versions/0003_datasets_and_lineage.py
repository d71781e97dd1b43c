"""Dataset versions and lineage: datasets, their versions and files, run lineage edges.

``datasets`` names are unique across projects. ``dataset_versions`` count up per dataset
(``UNIQUE (dataset_id, version)``) and never repeat content (``UNIQUE (dataset_id,
content_id)``); a purged source run leaves its versions in place with ``source_run_id``
cleared. ``dataset_files`` go with their version and ``lineage_edges`` with their run. The
``blob`` and ``ref`` indexes serve "which versions hold this blob" and "which runs used this
version". On SQLite ``lineage_edges`` is a ``WITHOUT ROWID`` table, clustered on its primary
key; ``dataset_files`` keeps its rowid: its ``blob`` index then holds a rowid per entry rather
than the whole ``(version_id, path)`` key, which keeps the index small and the insert of a
large version fast.

Revision ID: 0003
Revises: 0002
Create Date: 2024-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
        sa.UniqueConstraint("name", name="uq_datasets_name"),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_datasets_project_id_projects",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_datasets_project_id", "datasets", ["project_id"])
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("dataset_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content_id", sa.String(128), nullable=False),
        sa.Column("manifest_blob", sa.String(128), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("total_size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("author", sa.String(250), nullable=True),
        sa.Column("source_run_id", sa.String(32), nullable=True),
        sa.Column("num_rows", sa.BigInteger(), nullable=True),
        sa.Column("schema_blob", sa.String(128), nullable=True),
        sa.Column("profile_blob", sa.String(128), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dataset_versions"),
        sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_id_version"),
        sa.UniqueConstraint(
            "dataset_id", "content_id", name="uq_dataset_versions_dataset_id_content_id"
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name="fk_dataset_versions_dataset_id_datasets",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_run_id"],
            ["runs.id"],
            name="fk_dataset_versions_source_run_id_runs",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_dataset_versions_source_run_id", "dataset_versions", ["source_run_id"])
    op.create_table(
        "dataset_files",
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("blob", sa.String(128), nullable=False),
        sa.Column("mode", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("version_id", "path", name="pk_dataset_files"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_versions.id"],
            name="fk_dataset_files_version_id_dataset_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_dataset_files_blob", "dataset_files", ["blob"])
    op.create_table(
        "lineage_edges",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "direction", "ref", name="pk_lineage_edges"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_lineage_edges_run_id_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_lineage_edges_project_id_projects",
            ondelete="CASCADE",
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_lineage_edges_ref", "lineage_edges", ["ref"])


def downgrade() -> None:
    for table in ("lineage_edges", "dataset_files", "dataset_versions", "datasets"):
        op.drop_table(table)
