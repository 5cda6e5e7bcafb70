"""Schedules and their fire times: the one place that reads and writes ``schedules`` and
``schedule_runs``.

A fire time becomes a run at most once, by two guards in one transaction: its first
statement advances the schedule's ``next_run_at`` only if it still holds the value the
scheduler read (so of two scheduler loops racing, one handles the fire time and the other
changes nothing), and the fire time's row is unique per (schedule, fire time). The row,
the job it queues (an ordinary ``jobs`` row of kind ``scheduled``) and a
``schedule.run_missed`` event commit together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ssots.errors import ConflictError, NotFoundError
from ssots.store.db import Database
from ssots.store.jobs import new_job
from ssots.store.tables import JobRow, ScheduleRow, ScheduleRunRow
from ssots.store.webhooks import enqueue_event

SCHEDULED_KIND = "scheduled"
"""The ``kind`` of a job a schedule queued."""
QUEUED, MISSED = "queued", "missed"
RUNS = ScheduleRunRow.__table__


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Schedule:
    """A schedule as read."""

    id: int
    name: str
    cron: str
    timezone: str
    spec: dict[str, Any]
    model: str
    promotion: dict[str, Any]
    max_age_s: int | None
    enabled: bool
    misfire: str
    allow_files: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    stale_version: int | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "name": self.name,
            "cron": self.cron,
            "timezone": self.timezone,
            "spec": self.spec,
            "model": self.model,
            "promotion": self.promotion,
            "max_age_s": self.max_age_s,
            "enabled": self.enabled,
            "misfire": self.misfire,
            "allow_files": self.allow_files,
            "next_run_at": _iso(self.next_run_at),
            "last_run_at": _iso(self.last_run_at),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class ScheduleRun:
    """One fire time of a schedule, with its job's status when it has one."""

    id: int
    schedule_id: int
    fire_time: datetime
    trigger: str
    status: str
    job_id: str | None
    job_status: str | None
    missed: int
    created_at: datetime
    decided_at: datetime | None
    version: int | None
    decision: dict[str, Any] | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "schedule_id": self.schedule_id,
            "fire_time": self.fire_time.isoformat(),
            "trigger": self.trigger,
            "status": self.status,
            "job_id": self.job_id,
            "job_status": self.job_status,
            "missed": self.missed,
            "created_at": self.created_at.isoformat(),
            "decided_at": _iso(self.decided_at),
            "version": self.version,
            "decision": self.decision,
            "message": self.message,
        }


@dataclass(frozen=True)
class Firing:
    """What handling one due fire time writes: a run (with a job) or a missed record."""

    fire_time: datetime
    trigger: str  # cron | catch-up | manual | missed
    missed: int = 0
    """Earlier fire times folded into this one (downtime)."""
    first_missed: datetime | None = None


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _schedule(row: ScheduleRow) -> Schedule:
    columns = ScheduleRow.__table__.c
    return Schedule(**{column.name: getattr(row, column.name) for column in columns})


class ScheduleStore:
    """Schedules in a database.

    Args:
        database: an open, migrated database.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    # -- schedules ---------------------------------------------------------------------

    def create(self, **values: Any) -> Schedule:
        """A new schedule with ``values`` (the columns of ``ScheduleRow`` but ``id``).

        Raises:
            ConflictError: the name is taken.
        """
        row = ScheduleRow(created_at=now(), **values)
        try:
            with self.database.session() as session:
                session.add(row)
        except IntegrityError:
            raise ConflictError(f"a schedule is already named {values['name']!r}") from None
        return self.get(row.id)

    def get(self, key: int | str) -> Schedule:
        """The schedule with id (or name) ``key``.

        Raises:
            NotFoundError: none.
        """
        with self.database.session() as session:
            return _schedule(self._row(session, key))

    def list(self) -> list[Schedule]:
        """Every schedule, by name."""
        with self.database.session() as session:
            rows = session.scalars(select(ScheduleRow).order_by(ScheduleRow.name)).all()
            return [_schedule(row) for row in rows]

    def update(self, key: int | str, **values: Any) -> Schedule:
        """Set columns of a schedule.

        Raises:
            NotFoundError: none.
        """
        with self.database.session() as session:
            row = self._row(session, key)
            for name, value in values.items():
                setattr(row, name, value)
            schedule_id = row.id
        return self.get(schedule_id)

    def delete(self, key: int | str) -> None:
        """Delete a schedule and its fire-time history (its jobs and runs stay).

        Raises:
            NotFoundError: none.
        """
        with self.database.session() as session:
            session.delete(self._row(session, key))

    @staticmethod
    def _row(session: Session, key: int | str) -> ScheduleRow:
        row = None
        if isinstance(key, int) or key.isdigit():  # an id (a name of digits is tried next)
            row = session.get(ScheduleRow, int(key))
        if row is None:
            row = session.scalars(select(ScheduleRow).where(ScheduleRow.name == str(key))).first()
        if row is None:
            raise NotFoundError(f"no schedule {key!r}; `ssots schedules list` lists them")
        return row

    # -- firing ------------------------------------------------------------------------

    def fire(
        self,
        schedule: Schedule,
        firing: Firing,
        next_run_at: datetime | None,
        job: dict[str, Any] | None,
    ) -> ScheduleRun | None:
        """Handle one due fire time: advance ``next_run_at`` from the value ``schedule``
        holds, record the fire time (queued with the job ``job``, or missed) and, for
        missed fire times, a ``schedule.run_missed`` event; all in one transaction.

        Returns:
            The fire time's row, or None when another scheduler handled it first (nothing
            was written).
        """
        moment = now()
        try:
            with self.database.session() as session:
                advanced = session.execute(
                    update(ScheduleRow)
                    .where(
                        ScheduleRow.id == schedule.id,
                        ScheduleRow.next_run_at == schedule.next_run_at,
                    )
                    .values(next_run_at=next_run_at, last_run_at=firing.fire_time)
                ).rowcount
                if not advanced:
                    return None
                run_id = self._insert_run(session, schedule, firing, job, moment)
        except IntegrityError:
            return None
        return self.run(run_id)

    def run_now(self, schedule: Schedule, job: dict[str, Any]) -> ScheduleRun:
        """A manual run of ``schedule`` now (its cron times are unchanged)."""
        with self.database.session() as session:
            run_id = self._insert_run(session, schedule, Firing(now(), "manual"), job, now())
        return self.run(run_id)

    def _insert_run(
        self,
        session: Session,
        schedule: Schedule,
        firing: Firing,
        job: dict[str, Any] | None,
        moment: datetime,
    ) -> int:
        connection = session.connection()
        inserted = connection.execute(
            insert(RUNS).values(
                schedule_id=schedule.id,
                fire_time=firing.fire_time,
                trigger=firing.trigger,
                status=QUEUED if job is not None else MISSED,
                job_id=None if job is None else job["id"],
                missed=firing.missed,
                created_at=moment,
                message="" if job is not None else "skipped after downtime (misfire: skip)",
            )
        )
        if job is not None:
            connection.execute(insert(JobRow.__table__).values(**job))
        if firing.missed:
            enqueue_event(
                connection,
                "schedule.run_missed",
                {
                    "schedule": schedule.name,
                    "schedule_id": schedule.id,
                    "missed": firing.missed,
                    "first": _iso(firing.first_missed),
                    "last": firing.fire_time.isoformat(),
                    "misfire": schedule.misfire,
                    "ran": job is not None,
                },
            )
        return int(inserted.inserted_primary_key[0])

    # -- runs and decisions ------------------------------------------------------------

    def run(self, run_id: int) -> ScheduleRun:
        """One fire time's row.

        Raises:
            NotFoundError: none.
        """
        rows = self._runs(ScheduleRunRow.id == run_id, limit=1)
        if not rows:
            raise NotFoundError(f"no scheduled run {run_id}")
        return rows[0]

    def runs(self, schedule_id: int, limit: int = 50) -> list[ScheduleRun]:
        """The fire times of a schedule, newest first."""
        return self._runs(ScheduleRunRow.schedule_id == schedule_id, limit=limit)

    def _runs(self, *where: Any, limit: int) -> list[ScheduleRun]:
        query = (
            select(ScheduleRunRow, JobRow.status)
            .outerjoin(JobRow, JobRow.id == ScheduleRunRow.job_id)
            .where(*where)
            .order_by(ScheduleRunRow.fire_time.desc(), ScheduleRunRow.id.desc())
            .limit(limit)
        )
        with self.database.session() as session:
            return [
                ScheduleRun(
                    id=row.id,
                    schedule_id=row.schedule_id,
                    fire_time=row.fire_time,
                    trigger=row.trigger,
                    status=row.status,
                    job_id=row.job_id,
                    job_status=None if status is None else str(status),
                    missed=row.missed,
                    created_at=row.created_at,
                    decided_at=row.decided_at,
                    version=row.version,
                    decision=row.decision,
                    message=row.message,
                )
                for row, status in session.execute(query)
            ]

    def ended(self) -> list[tuple[int, int, str, str]]:
        """Queued fire times whose job has ended: (run id, schedule id, job id, job status)."""
        query = (
            select(ScheduleRunRow.id, ScheduleRunRow.schedule_id, JobRow.id, JobRow.status)
            .join(JobRow, JobRow.id == ScheduleRunRow.job_id)
            .where(
                ScheduleRunRow.status == QUEUED,
                JobRow.status.in_(("succeeded", "failed", "cancelled")),
            )
            .order_by(ScheduleRunRow.id)
        )
        with self.database.session() as session:
            return [(a, b, c, str(d)) for a, b, c, d in session.execute(query)]

    def claim(self, run_id: int, stale_after: timedelta) -> bool:
        """Take the decision of run ``run_id`` (unless another scheduler holds a claim
        younger than ``stale_after``)."""
        moment = now()
        with self.database.session() as session:
            return bool(
                session.execute(
                    update(ScheduleRunRow)
                    .where(
                        ScheduleRunRow.id == run_id,
                        ScheduleRunRow.status == QUEUED,
                        (ScheduleRunRow.claimed_at.is_(None))
                        | (ScheduleRunRow.claimed_at < moment - stale_after),
                    )
                    .values(claimed_at=moment)
                ).rowcount
            )

    def decide(
        self,
        run_id: int,
        *,
        status: str,
        message: str,
        version: int | None = None,
        decision: dict[str, Any] | None = None,
    ) -> None:
        """Record how a fire time ended (its job's status) and its promotion decision."""
        with self.database.session() as session:
            session.execute(
                update(ScheduleRunRow)
                .where(ScheduleRunRow.id == run_id, ScheduleRunRow.status == QUEUED)
                .values(
                    status=status,
                    message=message[:2000],
                    version=version,
                    decision=decision,
                    decided_at=now(),
                )
            )

    def mark_stale(self, schedule: Schedule, version: int, data: dict[str, Any]) -> bool:
        """Record that champion ``version`` of the schedule's model is stale and emit
        ``model.stale`` (once per version: False when it was already reported)."""
        with self.database.session() as session:
            changed = session.execute(
                update(ScheduleRow)
                .where(
                    ScheduleRow.id == schedule.id,
                    (ScheduleRow.stale_version.is_(None))
                    | (ScheduleRow.stale_version != version),
                )
                .values(stale_version=version)
            ).rowcount
            if changed:
                enqueue_event(session.connection(), "model.stale", data)
            return bool(changed)

    @staticmethod
    def job_values(spec: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        """The job row a fire time queues."""
        return new_job(spec=spec, request=request, kind=SCHEDULED_KIND)
