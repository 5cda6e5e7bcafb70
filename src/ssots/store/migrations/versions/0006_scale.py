"""Leases of running jobs (several servers and workers on one database): when the lease
expires, who holds it, and how many attempts a job may take.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("owner", sa.String(200), nullable=True))
        batch.add_column(
            sa.Column("max_attempts", sa.Integer, nullable=False, server_default="3")
        )
    op.create_index("ix_jobs_status_lease", "jobs", ["status", "lease_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_status_lease", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("max_attempts")
        batch.drop_column("owner")
        batch.drop_column("lease_expires_at")
