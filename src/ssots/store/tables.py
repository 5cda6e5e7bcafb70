"""SQLAlchemy table definitions. Every schema change also gets an Alembic migration in
``store/migrations/versions``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from ssots.spec import JobStatus


def _values(enum: type[JobStatus]) -> list[str]:
    """Store an enum's values (``"queued"``), not its member names."""
    return [member.value for member in enum]


class Base(DeclarativeBase):
    """Declarative base of all SSO-TS tables."""


class UTCDateTime(TypeDecorator[datetime]):
    """A time zone-aware timestamp that reads back in UTC on every backend (SQLite drops
    the zone; every stored time is UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to naive values read back."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class DatasetRow(Base):
    """A registered dataset: a canonical-loadable file under ``$SSOTS_HOME/datasets``.

    ``path`` is relative to the home (content-addressed: ``<sha256>/<file name>``), never a
    name a client chose.
    """

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    source: Mapped[str] = mapped_column(String(20))  # kaggle | upload | file
    handle: Mapped[str | None] = mapped_column(String(300), default=None)
    file_name: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer)
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    spacing: Mapped[str] = mapped_column(String(40))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class JobRow(Base):
    """A job: queued -> running -> succeeded | failed | cancelled.

    ``claim`` identifies the current attempt (its lease token): a worker's writes only land
    while the row still carries its claim, so a job taken away (an expired lease, restart
    recovery, hard cancel) cannot be overwritten by a stale worker. A running job's lease
    lasts until ``lease_expires_at``; its worker renews it (``owner`` names the process
    that claimed it); past it, any server's reaper re-queues the job, or fails it once it
    has had ``max_attempts`` attempts. ``result`` is the weights document without its loss
    history (the history lives in ``job_events`` and in the weights file); ``summary`` is
    the small part a status poll shows (metrics, baselines, parameters).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="train")
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=12, values_callable=_values)
    )
    dataset: Mapped[str] = mapped_column(String(400), index=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    claim: Mapped[str | None] = mapped_column(String(32), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str | None] = mapped_column(String(80), default=None)
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    epochs: Mapped[int] = mapped_column(Integer)
    train_loss: Mapped[float | None] = mapped_column(Float, default=None)
    val_loss: Mapped[float | None] = mapped_column(Float, default=None)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(2000), default="")
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    weights_path: Mapped[str | None] = mapped_column(String(500), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    owner: Mapped[str | None] = mapped_column(String(200), default=None)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3, server_default="3")


class JobEventRow(Base):
    """One event of a job, numbered from 1 per job (the SSE event id)."""

    __tablename__ = "job_events"

    job_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RunRow(Base):
    """A tracked training run (from the CLI or a job): its settings, data fingerprint,
    results and the weights document, with a readable, editable, unique ``name``."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    source: Mapped[str] = mapped_column(String(20), index=True)  # cli | job
    job_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    dataset_name: Mapped[str] = mapped_column(String(400), index=True)
    dataset_fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    dataset_start: Mapped[str | None] = mapped_column(String(40), default=None)
    dataset_end: Mapped[str | None] = mapped_column(String(40), default=None)
    package_version: Mapped[str] = mapped_column(String(40))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    baselines: Mapped[dict[str, Any]] = mapped_column(JSON)
    backtest: Mapped[dict[str, Any]] = mapped_column(JSON)
    history: Mapped[list[Any]] = mapped_column(JSON)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    tags: Mapped[dict[str, str]] = mapped_column(JSON)
    notes: Mapped[str] = mapped_column(Text, default="")


class ModelRow(Base):
    """A registered model: a unique name and a description. ``alias_moves`` counts its
    alias moves; each move increments it first (taking the row's write lock), so moves of
    one model are serialised and numbered."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    alias_moves: Mapped[int] = mapped_column(Integer, default=0)


class ModelVersionRow(Base):
    """Version ``version`` (1, 2, ...) of a model: a weights document with its lineage.
    ``content_key`` (parameters and data fingerprint) is unique per model, so the same
    content registers once."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version", name="uq_model_versions_version"),
        UniqueConstraint("model_id", "content_key", name="uq_model_versions_content"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(Integer, ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_id: Mapped[str | None] = mapped_column(String(12), default=None)
    content_key: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    lineage: Mapped[dict[str, Any]] = mapped_column(JSON)


class ModelAliasRow(Base):
    """Where an alias (``champion``, ``challenger``, ...) of a model points now."""

    __tablename__ = "model_aliases"

    model_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AliasEventRow(Base):
    """One move of an alias, numbered per model (``seq``) in the order they happened:
    who moved it, when, from which version to which, and why."""

    __tablename__ = "model_alias_events"

    model_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    alias: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # move | rollback
    from_version: Mapped[int | None] = mapped_column(Integer, default=None)
    to_version: Mapped[int] = mapped_column(Integer)
    who: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScheduleRow(Base):
    """A schedule: a cron expression in an IANA time zone, the run spec it trains, the
    registered model it feeds and how its challenger is promoted. ``next_run_at`` is the
    next fire time (UTC) the scheduler has not handled yet; advancing it is the
    conditional update that decides which scheduler loop handles a fire time."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    cron: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(100))
    promotion: Mapped[dict[str, Any]] = mapped_column(JSON)
    max_age_s: Mapped[int | None] = mapped_column(Integer, default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    misfire: Mapped[str] = mapped_column(String(10))  # skip | run-once
    allow_files: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    stale_version: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScheduleRunRow(Base):
    """One fire time of a schedule: unique per (schedule, fire time), so a run is created
    at most once whoever fires it. ``status``: queued (its job exists), missed (skipped
    after downtime), then succeeded | failed | cancelled once its job ended and the
    promotion was decided; ``decision`` holds the promotion's numbers."""

    __tablename__ = "schedule_runs"
    __table_args__ = (
        UniqueConstraint("schedule_id", "fire_time", name="uq_schedule_runs_fire"),
        Index("ix_schedule_runs_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("schedules.id", ondelete="CASCADE")
    )
    fire_time: Mapped[datetime] = mapped_column(UTCDateTime())
    trigger: Mapped[str] = mapped_column(String(10))  # cron | catch-up | manual | missed
    status: Mapped[str] = mapped_column(String(12))
    job_id: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    missed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    version: Mapped[int | None] = mapped_column(Integer, default=None)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    message: Mapped[str] = mapped_column(String(2000), default="")


class WebhookRow(Base):
    """A webhook subscription. Its secrets are stored encrypted (``store.webhooks``);
    after a rotation the old one stays valid until ``old_secret_until``."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)
    secret: Mapped[str] = mapped_column(Text)
    old_secret: Mapped[str | None] = mapped_column(Text, default=None)
    old_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    disabled_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxEventRow(Base):
    """An event (job.succeeded, model.alias_moved, ...), written in the transaction of the
    change it reports."""

    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DeliveryRow(Base):
    """One event for one subscription: ``id`` is the ``webhook-id`` header (the same on
    every attempt); pending -> delivered | failed | cancelled."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("outbox_events.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class DeliveryAttemptRow(Base):
    """One HTTP attempt of a delivery: status, latency and the first 1 KB of the answer."""

    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    latency_ms: Mapped[float] = mapped_column(Float)
    response: Mapped[str] = mapped_column(String(1024), default="")
    error: Mapped[str] = mapped_column(String(500), default="")


class StudyRow(Base):
    """A tuning study (``ssots.tuning.StudySpec`` in ``spec``): running -> refitting ->
    finished | stopped | failed. Optuna keeps its trials in its own storage under
    ``optuna_name``; ``study_trials`` maps each of them to the job that ran it. ``report``
    holds the one test evaluation of the refitted best trial, the number of trials run and
    the deflated Sharpe ratio."""

    __tablename__ = "studies"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    optuna_name: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    objective: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(10))
    dataset: Mapped[str] = mapped_column(String(400))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    stop_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    refit_job_id: Mapped[str | None] = mapped_column(String(32), default=None)
    refit_attempts: Mapped[int] = mapped_column(Integer, default=0)
    best_trial: Mapped[int | None] = mapped_column(Integer, default=None)
    best_value: Mapped[float | None] = mapped_column(Float, default=None)
    best_params: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    test_evaluations: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    message: Mapped[str] = mapped_column(String(2000), default="")


class StudyTrialRow(Base):
    """One Optuna trial of a study and the job that runs it. ``state`` is
    ``ssots.tuning.TrialState``; ``retried`` marks a trial whose worker died and whose
    parameters were queued again (once) as trial ``retry_of`` of another row."""

    __tablename__ = "study_trials"

    study_id: Mapped[str] = mapped_column(
        String(16), ForeignKey("studies.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str] = mapped_column(String(32), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10))
    value: Mapped[float | None] = mapped_column(Float, default=None)
    sharpe: Mapped[float | None] = mapped_column(Float, default=None)
    run_id: Mapped[str | None] = mapped_column(String(12), default=None)
    retry_of: Mapped[int | None] = mapped_column(Integer, default=None)
    retried: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
