"""Pipeline step cache: cached step executions and the blobs their outputs hold.

``step_cache`` has one row per cache key: the pipeline and step, the step run that produced
the outputs (a plain id: the cache outlives a purged run), its project (``SET NULL``), and
the outputs as a JSON object of artifact refs. ``step_cache_blobs`` lists every blob those
outputs are made of (what garbage collection keeps) and goes with its entry.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "step_cache",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("pipeline", sa.String(250), nullable=False),
        sa.Column("step", sa.String(250), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("outputs", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_step_cache"),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_step_cache_project_id_projects",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_step_cache_pipeline_step", "step_cache", ["pipeline", "step"])
    op.create_index("ix_step_cache_project_id", "step_cache", ["project_id"])
    op.create_table(
        "step_cache_blobs",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("blob", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("key", "blob", name="pk_step_cache_blobs"),
        sa.ForeignKeyConstraint(
            ["key"],
            ["step_cache.key"],
            name="fk_step_cache_blobs_key_step_cache",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_step_cache_blobs_blob", "step_cache_blobs", ["blob"])


def downgrade() -> None:
    op.drop_index("ix_step_cache_blobs_blob", table_name="step_cache_blobs")
    op.drop_table("step_cache_blobs")
    op.drop_index("ix_step_cache_project_id", table_name="step_cache")
    op.drop_index("ix_step_cache_pipeline_step", table_name="step_cache")
    op.drop_table("step_cache")
