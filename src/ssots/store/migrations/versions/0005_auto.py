"""Schedules (one row per fire time, unique), webhook subscriptions, the event outbox,
deliveries and their attempts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("cron", sa.String(120), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("promotion", sa.JSON, nullable=False),
        sa.Column("max_age_s", sa.Integer, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("misfire", sa.String(10), nullable=False),
        sa.Column("allow_files", sa.Boolean, nullable=False),
        sa.Column("next_run_at", _TIME, nullable=True),
        sa.Column("last_run_at", _TIME, nullable=True),
        sa.Column("stale_version", sa.Integer, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "schedule_id", sa.Integer, sa.ForeignKey("schedules.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("fire_time", _TIME, nullable=False),
        sa.Column("trigger", sa.String(10), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("job_id", sa.String(32), nullable=True, index=True),
        sa.Column("missed", sa.Integer, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("claimed_at", _TIME, nullable=True),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("decision", sa.JSON, nullable=True),
        sa.Column("message", sa.String(2000), nullable=False),
        sa.UniqueConstraint("schedule_id", "fire_time", name="uq_schedule_runs_fire"),
    )
    op.create_index("ix_schedule_runs_status", "schedule_runs", ["status"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("allow_private", sa.Boolean, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("old_secret", sa.Text, nullable=True),
        sa.Column("old_secret_until", _TIME, nullable=True),
        sa.Column("disabled_reason", sa.String(500), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("type", sa.String(40), nullable=False, index=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False, index=True),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "webhook_id", sa.String(32), sa.ForeignKey("webhooks.id", ondelete="CASCADE"),
            nullable=False, index=True,
        ),
        sa.Column(
            "event_id", sa.String(40), sa.ForeignKey("outbox_events.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("delivered_at", _TIME, nullable=True),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_table(
        "webhook_attempts",
        sa.Column(
            "delivery_id", sa.String(40),
            sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), primary_key=True,
        ),
        sa.Column("n", sa.Integer, primary_key=True),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("response", sa.String(1024), nullable=False),
        sa.Column("error", sa.String(500), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("outbox_events")
    op.drop_table("webhooks")
    op.drop_table("schedule_runs")
    op.drop_table("schedules")
