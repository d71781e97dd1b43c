"""Model registry: registered models, their versions, version blobs, aliases, tags, audit.

``registered_models`` names are unique across projects; ``project_id`` may be NULL, and is
carried by versions and audit events too. ``model_versions`` count up per model (``UNIQUE
(model_id, version)``) and are deleted softly (``deleted_at``) so that a number is never
reused. ``model_version_blobs`` lists the blobs of each version's package (what garbage
collection keeps), ``model_aliases`` maps ``(model_id, alias)`` to a version row and
``model_tags`` holds tags of a model (``version`` 0) or of one version. ``model_audit``
names its model instead of referencing it, so the log outlives the model.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id"],
        ["projects.id"],
        name=f"fk_{table}_project_id_projects",
        ondelete="SET NULL",
    )


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=True),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_registered_models"),
        sa.UniqueConstraint("name", name="uq_registered_models_name"),
        _project_fk("registered_models"),
    )
    op.create_index("ix_registered_models_project_id", "registered_models", ["project_id"])
    op.create_table(
        "model_versions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("package_blob", sa.String(128), nullable=False),
        sa.Column("flavor", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("artifact_path", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(250), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_model_versions"),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["registered_models.id"],
            name="fk_model_versions_model_id_registered_models",
            ondelete="CASCADE",
        ),
        _project_fk("model_versions"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_model_versions_run_id_runs", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_index("ix_model_versions_package_blob", "model_versions", ["package_blob"])
    op.create_table(
        "model_version_blobs",
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("blob", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("version_id", "blob", name="pk_model_version_blobs"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name="fk_model_version_blobs_version_id_model_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_model_version_blobs_blob", "model_version_blobs", ["blob"])
    op.create_table(
        "model_aliases",
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "alias", name="pk_model_aliases"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["registered_models.id"],
            name="fk_model_aliases_model_id_registered_models",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["model_versions.id"],
            name="fk_model_aliases_version_id_model_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_model_aliases_version_id", "model_aliases", ["version_id"])
    op.create_table(
        "model_tags",
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "version", "key", name="pk_model_tags"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["registered_models.id"],
            name="fk_model_tags_model_id_registered_models",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "model_audit",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(250), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(250), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(250), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_model_audit"),
        _project_fk("model_audit"),
    )
    op.create_index("ix_model_audit_model", "model_audit", ["model", "id"])


def downgrade() -> None:
    for table in (
        "model_audit",
        "model_tags",
        "model_aliases",
        "model_version_blobs",
        "model_versions",
        "registered_models",
    ):
        op.drop_table(table)
