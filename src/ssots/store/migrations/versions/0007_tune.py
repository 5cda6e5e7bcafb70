"""Tuning studies and their trials (Optuna keeps its own tables in its own storage).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("optuna_name", sa.String(100), nullable=False, unique=True),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("objective", sa.String(20), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("dataset", sa.String(400), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refit_job_id", sa.String(32), nullable=True),
        sa.Column("refit_attempts", sa.Integer, nullable=False),
        sa.Column("best_trial", sa.Integer, nullable=True),
        sa.Column("best_value", sa.Float, nullable=True),
        sa.Column("best_params", sa.JSON, nullable=True),
        sa.Column("test_evaluations", sa.Integer, nullable=False),
        sa.Column("report", sa.JSON, nullable=True),
        sa.Column("message", sa.String(2000), nullable=False),
    )
    op.create_table(
        "study_trials",
        sa.Column(
            "study_id", sa.String(16), sa.ForeignKey("studies.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("trial_id", sa.Integer, nullable=False),
        sa.Column("job_id", sa.String(32), nullable=False, index=True),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("sharpe", sa.Float, nullable=True),
        sa.Column("run_id", sa.String(12), nullable=True),
        sa.Column("retry_of", sa.Integer, nullable=True),
        sa.Column("retried", sa.Boolean, nullable=False),
        sa.Column("message", sa.String(2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("study_trials")
    op.drop_table("studies")
