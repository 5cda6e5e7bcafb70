"""Queries on jobs and their events: the one place that reads and writes ``jobs`` and
``job_events``. The API, the job manager and the workers all go through ``JobStore``, so
a worker may be another process (or, later, another machine) sharing the database.

State changes are single conditional statements (``UPDATE ... WHERE status = ...``), so
two writers racing on a job cannot both win. A worker writes only while the row still
carries its attempt's ``claim``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, insert, literal, select, update

from ssots.errors import ConflictError, NotFoundError, QueueFullError
from ssots.spec import JobStatus
from ssots.store.db import Database
from ssots.store.tables import JobEventRow, JobRow
from ssots.store.webhooks import enqueue_event

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = JobStatus
INTERRUPTED = "interrupted by server restart"

JOBS = JobRow.__table__



@dataclass(frozen=True, slots=True)
class JobProgress:
    """What a status poll reads of a job (one indexed lookup, plain Core, no ORM)."""

    id: str
    status: JobStatus
    epoch: int
    epochs: int
    train_loss: float | None
    val_loss: float | None
    summary: dict[str, Any] | None
    message: str
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Job(JobProgress):
    """A job as read: the columns of ``JobRow``, and ``r2``, the test R^2 of a finished
    job. In listings ``request``, ``result`` and ``summary`` are None (not read)."""

    kind: str
    dataset: str
    spec: dict[str, Any]
    created_at: datetime
    cancel_requested_at: datetime | None
    claim: str | None
    attempts: int
    stage: str | None
    last_seq: int
    weights_path: str | None
    r2: float | None
    request: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


def _job(row: Row[Any]) -> Job:
    return Job(**{"summary": None, **row._mapping})

_STATUS_QUERY = select(
    JobRow.id,
    JobRow.status,
    JobRow.epoch,
    JobRow.epochs,
    JobRow.train_loss,
    JobRow.val_loss,
    JobRow.summary,
    JobRow.message,
    JobRow.started_at,
    JobRow.finished_at,
).where(JobRow.id == bindparam("job_id"))
_R2 = JOBS.c.summary["metrics"]["r2"].as_float().label("r2")
"""The test R^2 of a finished job, read from its summary inside the database."""
_JOB_QUERY = select(JOBS, _R2).where(JobRow.id == bindparam("job_id"))
_LISTED_COLUMNS = [
    *(column for column in JOBS.c if column.name not in ("request", "result", "summary")),
    _R2,
]


class JobNotFoundError(NotFoundError):
    """No job has the id asked for (the one message of that case, wherever it is asked)."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job with id {job_id!r}; `GET /api/jobs` lists them")


class JobLostError(Exception):
    """A worker's attempt no longer owns its job (recovered, re-queued or killed)."""


@dataclass(frozen=True)
class Attempt:
    """One run of a job by one worker: the job id and the claim that fences its writes."""

    job_id: str
    claim: str
    spec: dict[str, Any]
    last_seq: int


@dataclass(frozen=True)
class NewEvent:
    """An event a worker appends: ``seq`` continues the job's numbering."""

    seq: int
    kind: str
    data: dict[str, Any]


def now() -> datetime:
    """The current time in UTC (what every stored time is)."""
    return datetime.now(UTC)


def _job_event(session: Any, job_ids: Sequence[str]) -> None:
    """A ``job.<status>`` event for each of ``job_ids`` that is final now, in the
    session's transaction (the webhook outbox)."""
    rows = session.execute(
        select(
            JobRow.id, JobRow.kind, JobRow.status, JobRow.dataset, JobRow.message,
            JobRow.finished_at,
        ).where(JobRow.id.in_(list(job_ids)))
    ).all()
    for row in rows:
        if JobStatus(row.status).is_final:
            enqueue_event(
                session.connection(),
                f"job.{row.status}",
                {
                    "job_id": row.id,
                    "kind": row.kind,
                    "status": str(row.status),
                    "dataset": row.dataset,
                    "message": row.message,
                    "finished_at": None if row.finished_at is None else row.finished_at.isoformat(),
                },
            )


def new_job(*, spec: dict[str, Any], request: dict[str, Any], kind: str) -> dict[str, Any]:
    """The columns of a new queued job (what ``JobStore.create`` inserts; a scheduler
    inserts the same row inside its own transaction)."""
    return {
        "id": uuid.uuid4().hex[:16],
        "kind": kind,
        "status": QUEUED,
        "dataset": spec["dataset"],
        "request": request,
        "spec": spec,
        "created_at": now(),
        "attempts": 0,
        "epoch": 0,
        "epochs": spec["epochs"],
        "last_seq": 0,
        "message": "waiting for a free worker",
    }


class JobStore:
    """Jobs in a database.

    Args:
        database: an open, migrated database.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    def create(
        self,
        *,
        spec: dict[str, Any],
        request: dict[str, Any],
        queue_limit: int,
        kind: str = "train",
    ) -> Job:
        """Queue a job unless ``queue_limit`` jobs are already queued.

        The count and the insert are one statement, so concurrent submissions cannot
        overshoot the limit.

        Raises:
            QueueFullError: the queue is full (no row was written).
        """
        values = new_job(spec=spec, request=request, kind=kind)
        columns = JOBS.c
        queued = select(func.count()).where(columns.status == QUEUED).scalar_subquery()
        source = select(*(literal(v, columns[k].type) for k, v in values.items())).where(
            queued < queue_limit
        )
        with self.database.session() as session:
            inserted = session.execute(insert(JobRow).from_select(list(values), source))
        if inserted.rowcount != 1:
            raise QueueFullError(f"the job queue is full ({queue_limit} jobs waiting); retry later")
        return self.get(values["id"])

    def get(self, job_id: str) -> Job:
        """The job ``job_id`` (every column).

        Raises:
            JobNotFoundError: no such job.
        """
        return _job(self._one(_JOB_QUERY, job_id))

    def status(self, job_id: str) -> JobProgress:
        """The columns a status poll shows (id, status, epoch, epochs, train_loss,
        val_loss, summary, message, started_at, finished_at) of ``job_id``.

        Raises:
            JobNotFoundError: no such job.
        """
        return JobProgress(**self._one(_STATUS_QUERY, job_id)._mapping)

    def _one(self, query: Any, job_id: str) -> Row[Any]:
        with self.database.engine.connect() as connection:
            row = connection.execute(query, {"job_id": job_id}).first()
        if row is None:
            raise JobNotFoundError(job_id)
        return row

    def list(
        self, *, status: JobStatus | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[Job], int]:
        """Jobs newest first, optionally with one status, and how many match in all
        (without the large columns ``request``, ``result`` and ``summary``)."""
        where = [] if status is None else [JobRow.status == status]
        query = (
            select(*_LISTED_COLUMNS)
            .where(*where)
            .order_by(JobRow.created_at.desc(), JobRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.database.engine.connect() as connection:
            rows = [_job(row) for row in connection.execute(query)]
            total = connection.scalar(select(func.count()).select_from(JobRow).where(*where))
        return rows, total or 0

    def active_for_dataset(self, dataset: str) -> int:
        """How many queued or running jobs read ``dataset``."""
        query = select(func.count()).where(
            JobRow.dataset == dataset, JobRow.status.in_((QUEUED, RUNNING))
        )
        with self.database.session() as session:
            return session.scalar(query) or 0

    def request_cancel(self, job_id: str) -> Job:
        """Cancel a queued job at once; flag a running one for its worker to stop.

        Returns the job as it is afterwards (a running job stays ``running`` with
        ``cancel_requested_at`` set until its worker stops). Final jobs are unchanged.

        Raises:
            JobNotFoundError: no such job.
            ConflictError: the job already succeeded or failed (nothing to cancel).
        """
        moment = now()
        with self.database.session() as session:
            cancelled = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == QUEUED)
                .values(
                    status=CANCELLED,
                    finished_at=moment,
                    cancel_requested_at=moment,
                    message="cancelled before it started",
                )
            )
            if cancelled.rowcount:
                _job_event(session, [job_id])
            session.execute(
                update(JobRow)
                .where(
                    JobRow.id == job_id,
                    JobRow.status == RUNNING,
                    JobRow.cancel_requested_at.is_(None),
                )
                .values(cancel_requested_at=moment, message="cancelling")
            )
        row = self.get(job_id)
        if row.status.is_final and row.status != CANCELLED:
            raise ConflictError(f"job {job_id} already {row.status}; nothing to cancel")
        return row

    def events_after(self, job_id: str, seq: int, limit: int = 500) -> list[Row[Any]]:
        """Events (seq, kind, data) of ``job_id`` numbered above ``seq``, oldest first."""
        query = (
            select(JobEventRow.seq, JobEventRow.kind, JobEventRow.data)
            .where(JobEventRow.job_id == job_id, JobEventRow.seq > seq)
            .order_by(JobEventRow.seq)
            .limit(limit)
        )
        with self.database.engine.connect() as connection:
            return list(connection.execute(query))

    def epoch_history(self, job_id: str) -> list[dict[str, Any]]:
        """Every epoch event's data (epoch, epochs, train_loss, val_loss), in order."""
        query = (
            select(JobEventRow.data)
            .where(JobEventRow.job_id == job_id, JobEventRow.kind == "epoch")
            .order_by(JobEventRow.seq)
        )
        with self.database.engine.connect() as connection:
            return list(connection.scalars(query))

    # -- the manager's side ------------------------------------------------------------

    def claim_next(self) -> Attempt | None:
        """Take the oldest queued job for a new attempt (status ``running``), or None."""
        with self.database.session() as session:
            candidates = session.scalars(
                select(JobRow.id)
                .where(JobRow.status == QUEUED)
                .order_by(JobRow.created_at, JobRow.id)
                .limit(5)
            ).all()
        for job_id in candidates:
            claim = uuid.uuid4().hex
            with self.database.session() as session:
                taken = session.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.status == QUEUED)
                    .values(
                        status=RUNNING,
                        claim=claim,
                        started_at=now(),
                        attempts=JobRow.attempts + 1,
                        message="starting",
                    )
                ).rowcount
                if taken:
                    row = session.get(JobRow, job_id)
                    return Attempt(job_id, claim, dict(row.spec), row.last_seq)
        return None

    def cancel_requests(self, job_ids: Sequence[str]) -> dict[str, datetime]:
        """When cancellation was requested, for those of ``job_ids`` still running."""
        if not job_ids:
            return {}
        query = select(JobRow.id, JobRow.cancel_requested_at).where(
            JobRow.id.in_(job_ids),
            JobRow.status == RUNNING,
            JobRow.cancel_requested_at.is_not(None),
        )
        with self.database.session() as session:
            return dict(session.execute(query).all())

    def interrupt(
        self,
        *,
        requeue: bool,
        message: str = INTERRUPTED,
        attempts: Sequence[Attempt] | None = None,
    ) -> list[str]:
        """End jobs whose worker is gone: every running job, or only ``attempts``.

        A job whose cancellation was requested becomes ``cancelled``; the others become
        ``failed`` with ``message``, or ``queued`` again (their events of the lost attempt
        deleted, numbering kept) when ``requeue``.

        Returns:
            The ids of the jobs changed.
        """
        where = [JobRow.status == RUNNING]
        if attempts is not None:
            where.append(JobRow.claim.in_([a.claim for a in attempts]))
        moment = now()
        with self.database.session() as session:
            ids = list(session.scalars(select(JobRow.id).where(*where)))
            if not ids:
                return []
            mine = [*where, JobRow.id.in_(ids)]
            session.execute(
                update(JobRow)
                .where(*mine, JobRow.cancel_requested_at.is_not(None))
                .values(status=CANCELLED, finished_at=moment, claim=None, message="cancelled")
            )
            if requeue:
                requeued = select(JobRow.id).where(*mine)  # not those just cancelled
                session.execute(delete(JobEventRow).where(JobEventRow.job_id.in_(requeued)))
                values: dict[str, Any] = {
                    "status": QUEUED,
                    "started_at": None,
                    "stage": None,
                    "epoch": 0,
                    "train_loss": None,
                    "val_loss": None,
                    "message": f"re-queued: {message}",
                }
            else:
                values = {"status": FAILED, "finished_at": moment, "message": message}
            session.execute(update(JobRow).where(*mine).values(claim=None, **values))
            _job_event(session, ids)
        return ids

    # -- the worker's side -------------------------------------------------------------

    def write(self, attempt: Attempt, events: Sequence[NewEvent], **fields: Any) -> datetime | None:
        """Append ``events`` and set ``fields`` on the job, in one transaction, if the
        attempt still owns it.

        Returns:
            When cancellation was requested (None: not requested).

        Raises:
            JobLostError: the job is no longer this attempt's.
        """
        moment = now()
        with self.database.session() as session:
            owned = session.execute(
                update(JobRow)
                .where(
                    JobRow.id == attempt.job_id,
                    JobRow.claim == attempt.claim,
                    JobRow.status == RUNNING,
                )
                .values(**fields)
            ).rowcount
            if not owned:
                raise JobLostError(attempt.job_id)
            if "status" in fields and JobStatus(fields["status"]).is_final:
                _job_event(session, [attempt.job_id])
            if events:
                session.execute(
                    insert(JobEventRow),
                    [
                        {
                            "job_id": attempt.job_id,
                            "seq": e.seq,
                            "kind": e.kind,
                            "data": e.data,
                            "created_at": moment,
                        }
                        for e in events
                    ],
                )
            return session.scalar(
                select(JobRow.cancel_requested_at).where(JobRow.id == attempt.job_id)
            )

    def finish(
        self,
        attempt: Attempt,
        events: Sequence[NewEvent],
        *,
        status: JobStatus,
        message: str,
        **fields: Any,
    ) -> bool:
        """Record the attempt's outcome (a final ``status``); False if it no longer owned
        the job (nothing was written)."""
        try:
            self.write(
                attempt,
                events,
                status=status,
                message=message[:2000],
                finished_at=now(),
                claim=None,
                **fields,
            )
        except JobLostError:
            return False
        return True
