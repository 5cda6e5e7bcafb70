"""Tracked runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("source", sa.String(20), nullable=False, index=True),
        sa.Column("job_id", sa.String(32), nullable=True, index=True),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("dataset_name", sa.String(400), nullable=False, index=True),
        sa.Column("dataset_fingerprint", sa.String(64), nullable=False, index=True),
        sa.Column("dataset_start", sa.String(40), nullable=True),
        sa.Column("dataset_end", sa.String(40), nullable=True),
        sa.Column("package_version", sa.String(40), nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("baselines", sa.JSON, nullable=False),
        sa.Column("backtest", sa.JSON, nullable=False),
        sa.Column("history", sa.JSON, nullable=False),
        sa.Column("weights", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("runs")
