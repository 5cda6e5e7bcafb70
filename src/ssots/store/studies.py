"""Queries on tuning studies and their trials: the one place that reads and writes
``studies`` and ``study_trials``. Optuna's own tables live in its storage
(``ssots.services.tuning.optuna_storage``); these rows are the study as the job system
sees it: its settings and status, which job runs which trial, and the final report.

State changes are conditional updates (``WHERE status = ...``), so a stop request, the
coordinator and a restarted server cannot both move a study.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update

from ssots.errors import ConflictError, NotFoundError
from ssots.spec import JobStatus
from ssots.store.db import Database
from ssots.store.jobs import now
from ssots.store.tables import JobRow, StudyRow, StudyTrialRow
from ssots.store.webhooks import enqueue_event

__all__ = [
    "OpenTrial",
    "StudyNotFoundError",
    "StudyRecord",
    "StudyStore",
    "TrialRecord",
    "new_study_id",
    "optuna_name",
]

RUNNING, REFITTING = "running", "refitting"
FINAL = ("finished", "stopped", "failed")


def new_study_id() -> str:
    """A fresh study id (16 hex digits)."""
    return uuid.uuid4().hex[:16]


def optuna_name(study_id: str) -> str:
    """The name of study ``study_id``'s Optuna study."""
    return f"ssots-{study_id}"


class StudyNotFoundError(NotFoundError):
    """No study has the id asked for."""

    def __init__(self, study_id: str) -> None:
        super().__init__(
            f"no study with id {study_id!r}; `ssots studies list` or `GET /api/studies` lists them"
        )


@dataclass(frozen=True)
class StudyRecord:
    """A study as read (the columns of ``StudyRow``) with its trial counts by state."""

    id: str
    optuna_name: str
    status: str
    objective: str
    direction: str
    dataset: str
    spec: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None
    stop_requested_at: datetime | None
    refit_job_id: str | None
    refit_attempts: int
    best_trial: int | None
    best_value: float | None
    best_params: dict[str, Any] | None
    test_evaluations: int
    report: dict[str, Any] | None
    message: str
    counts: dict[str, int]

    @property
    def finished_trials(self) -> int:
        """Complete plus pruned trials."""
        return self.counts.get("complete", 0) + self.counts.get("pruned", 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what ``GET /api/studies/{id}`` and ``ssots studies show --json``
        show."""
        return {
            "id": self.id,
            "status": self.status,
            "objective": self.objective,
            "direction": self.direction,
            "dataset": self.dataset,
            "spec": self.spec,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "stop_requested": self.stop_requested_at is not None,
            "trials": self.counts,
            "finished_trials": self.finished_trials,
            "best_trial": self.best_trial,
            "best_value": self.best_value,
            "best_params": self.best_params,
            "refit_job_id": self.refit_job_id,
            "test_evaluations": self.test_evaluations,
            "report": self.report,
            "message": self.message,
        }


@dataclass(frozen=True)
class TrialRecord:
    """One trial of a study (the columns of ``StudyTrialRow``)."""

    study_id: str
    number: int
    trial_id: int
    job_id: str
    params: dict[str, Any]
    state: str
    value: float | None
    sharpe: float | None
    run_id: str | None
    retry_of: int | None
    retried: bool
    message: str
    created_at: datetime
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: one row of ``GET /api/studies/{id}/trials``."""
        return {
            "number": self.number,
            "state": self.state,
            "value": self.value,
            "sharpe": self.sharpe,
            "params": self.params,
            "job_id": self.job_id,
            "run_id": self.run_id,
            "retry_of": self.retry_of,
            "retried": self.retried,
            "message": self.message,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


@dataclass(frozen=True)
class OpenTrial:
    """A running trial with the status, result and message of its job."""

    trial: TrialRecord
    job_status: JobStatus
    job_result: dict[str, Any] | None
    job_message: str


def _lock_key(study_id: str) -> int:
    """The 64-bit PostgreSQL advisory lock key of a study."""
    digest = hashlib.blake2b(f"ssots-study:{study_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _study_finished(session: Any, study_id: str) -> None:
    """Write the ``study.finished`` event of a study that just ended, in the transaction
    that ended it (the webhook outbox): its status, message and the one test result."""
    row = session.get(StudyRow, study_id, populate_existing=True)
    report = row.report or {}
    data = {
        "study_id": row.id,
        "status": str(row.status),
        "message": row.message,
        "trials": (row.spec or {}).get("trials"),
        "best_trial": row.best_trial,
        "trials_run": report.get("trials_run"),
        "test": report.get("test"),
        "deflated_sharpe": report.get("deflated_sharpe"),
    }
    enqueue_event(session.connection(), "study.finished", data)


def _trial(row: StudyTrialRow) -> TrialRecord:
    return TrialRecord(**{name: getattr(row, name) for name in TrialRecord.__dataclass_fields__})


class StudyStore:
    """Studies in a database.

    Args:
        database: an open, migrated database.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    def create(
        self, *, study_id: str, spec: dict[str, Any], objective: str, direction: str
    ) -> StudyRecord:
        """Record a new running study ``study_id`` (``new_study_id``) with the settings
        ``spec`` (a ``StudySpec`` dump); its Optuna study is ``optuna_name(study_id)``."""
        with self.database.session() as session:
            session.add(
                StudyRow(
                    id=study_id,
                    optuna_name=optuna_name(study_id),
                    status=RUNNING,
                    objective=objective,
                    direction=direction,
                    dataset=spec["dataset"],
                    spec=spec,
                    created_at=now(),
                    refit_attempts=0,
                    test_evaluations=0,
                    message="starting",
                )
            )
        return self.get(study_id)

    def get(self, study_id: str) -> StudyRecord:
        """The study ``study_id``.

        Raises:
            StudyNotFoundError: no such study.
        """
        with self.database.session() as session:
            row = session.get(StudyRow, study_id)
            if row is None:
                raise StudyNotFoundError(study_id)
            return self._record(session, row)

    def _record(self, session: Any, row: StudyRow) -> StudyRecord:
        counts = dict(
            session.execute(
                select(StudyTrialRow.state, func.count())
                .where(StudyTrialRow.study_id == row.id, StudyTrialRow.retried.is_(False))
                .group_by(StudyTrialRow.state)
            ).all()
        )
        fields = {
            name: getattr(row, name)
            for name in StudyRecord.__dataclass_fields__
            if name != "counts"
        }
        return StudyRecord(**fields, counts=counts)

    def list(self, *, limit: int = 50, offset: int = 0) -> tuple[list[StudyRecord], int]:
        """Studies newest first, and how many there are."""
        with self.database.session() as session:
            rows = session.scalars(
                select(StudyRow)
                .order_by(StudyRow.created_at.desc(), StudyRow.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            total = session.scalar(select(func.count()).select_from(StudyRow)) or 0
            return [self._record(session, row) for row in rows], total

    def active(self) -> list[StudyRecord]:
        """Studies not yet ended, oldest first."""
        with self.database.session() as session:
            rows = session.scalars(
                select(StudyRow)
                .where(StudyRow.status.in_((RUNNING, REFITTING)))
                .order_by(StudyRow.created_at)
            ).all()
            return [self._record(session, row) for row in rows]

    def request_stop(self, study_id: str) -> StudyRecord:
        """Ask a study to stop: no new trials; the best trial so far is refitted.

        Raises:
            StudyNotFoundError: no such study.
            ConflictError: the study already ended.
        """
        with self.database.session() as session:
            session.execute(
                update(StudyRow)
                .where(
                    StudyRow.id == study_id,
                    StudyRow.status.in_((RUNNING, REFITTING)),
                    StudyRow.stop_requested_at.is_(None),
                )
                .values(stop_requested_at=now(), message="stopping")
            )
        study = self.get(study_id)
        if study.status in FINAL:
            raise ConflictError(f"study {study_id} already {study.status}; nothing to stop")
        return study

    @contextmanager
    def coordinating(self, study_id: str) -> Iterator[bool]:
        """The right to advance study ``study_id`` for the block: yields True when this
        process holds it. On PostgreSQL, several servers' coordinators share the studies,
        so it is a session advisory lock keyed by the study, tried without waiting (a study
        another server is advancing is skipped this round); an SQLite home has one server
        (its home lock), which always holds it."""
        engine = self.database.engine
        if engine.dialect.name != "postgresql":
            yield True
            return
        key = {"key": _lock_key(study_id)}
        with engine.connect() as connection:
            held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar())
            connection.commit()  # a session lock: no transaction stays open meanwhile
            try:
                yield held
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                    connection.commit()

    def update(self, study_id: str, *, where_status: str | None = None, **fields: Any) -> bool:
        """Set ``fields`` (``status`` among them, possibly) on a study that has not ended,
        and with ``where_status`` only while it has that status; False when nothing
        changed."""
        where = [StudyRow.id == study_id, StudyRow.status.in_((RUNNING, REFITTING))]
        if where_status is not None:
            where.append(StudyRow.status == where_status)
        with self.database.session() as session:
            changed = bool(
                session.execute(update(StudyRow).where(*where).values(**fields)).rowcount
            )
            if changed and fields.get("status") in FINAL:
                _study_finished(session, study_id)
            return changed

    def record_test_evaluation(
        self, study_id: str, *, status: str, report: dict[str, Any], message: str
    ) -> bool:
        """End a refitting study with its one test evaluation ``report`` (counted in
        ``test_evaluations``); False if the study was not refitting."""
        with self.database.session() as session:
            changed = bool(
                session.execute(
                    update(StudyRow)
                    .where(StudyRow.id == study_id, StudyRow.status == REFITTING)
                    .values(
                        status=status,
                        report=report,
                        message=message[:2000],
                        finished_at=now(),
                        test_evaluations=StudyRow.test_evaluations + 1,
                    )
                ).rowcount
            )
            if changed:
                _study_finished(session, study_id)
            return changed

    # -- trials ------------------------------------------------------------------------

    def add_trial(
        self,
        study_id: str,
        *,
        number: int,
        trial_id: int,
        job_id: str,
        params: dict[str, Any],
        retry_of: int | None = None,
    ) -> None:
        """Record that Optuna trial ``number`` runs as job ``job_id``."""
        with self.database.session() as session:
            session.add(
                StudyTrialRow(
                    study_id=study_id,
                    number=number,
                    trial_id=trial_id,
                    job_id=job_id,
                    params=params,
                    state="running",
                    retry_of=retry_of,
                    retried=False,
                    message="",
                    created_at=now(),
                )
            )

    def open_trials(self, study_id: str) -> list[OpenTrial]:
        """The study's running trials with their jobs' status, result and message."""
        with self.database.session() as session:
            rows = session.execute(
                select(StudyTrialRow, JobRow.status, JobRow.result, JobRow.message)
                .join(JobRow, JobRow.id == StudyTrialRow.job_id)
                .where(StudyTrialRow.study_id == study_id, StudyTrialRow.state == "running")
                .order_by(StudyTrialRow.number)
            ).all()
            return [
                OpenTrial(_trial(row), status, result, message)
                for row, status, result, message in rows
            ]

    def close_trial(
        self,
        study_id: str,
        number: int,
        *,
        state: str,
        value: float | None = None,
        sharpe: float | None = None,
        run_id: str | None = None,
        message: str = "",
        retried: bool = False,
    ) -> bool:
        """Record how a running trial ended; False if it was not running."""
        with self.database.session() as session:
            return bool(
                session.execute(
                    update(StudyTrialRow)
                    .where(
                        StudyTrialRow.study_id == study_id,
                        StudyTrialRow.number == number,
                        StudyTrialRow.state == "running",
                    )
                    .values(
                        state=state,
                        value=value,
                        sharpe=sharpe,
                        run_id=run_id,
                        message=message[:2000],
                        retried=retried,
                        finished_at=now(),
                    )
                ).rowcount
            )

    def trials(self, study_id: str) -> list[TrialRecord]:
        """Every trial of the study, by number.

        Raises:
            StudyNotFoundError: no such study.
        """
        self.get(study_id)
        with self.database.session() as session:
            rows = session.scalars(
                select(StudyTrialRow)
                .where(StudyTrialRow.study_id == study_id)
                .order_by(StudyTrialRow.number)
            ).all()
            return [_trial(row) for row in rows]
