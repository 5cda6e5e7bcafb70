"""Jobs as the API shows them: the ``/api/train`` contract (camelCase, its own status
names) and the ``/api/jobs`` summary and detail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ssots.artifacts import legacy_omega
from ssots.evidence import headline
from ssots.spec import JobStatus
from ssots.store.jobs import Job, JobProgress, now

CONTRACT_STATUS: dict[str, str] = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "in_progress",
    JobStatus.SUCCEEDED: "success",
    JobStatus.FAILED: "error",
    JobStatus.CANCELLED: "cancelled",
}
"""Job statuses in the earlier system's vocabulary."""


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 text of ``moment`` (None stays None)."""
    return None if moment is None else moment.isoformat()


def progress(row: JobProgress) -> float:
    """Percent done: epochs run of the most allowed (100 once the job succeeded)."""
    if row.status == JobStatus.SUCCEEDED:
        return 100.0
    return round(min(100.0, 100.0 * row.epoch / row.epochs), 1) if row.epochs else 0.0


def elapsed_seconds(row: JobProgress) -> float | None:
    """Seconds from start to finish (to now while running); None before it started."""
    if row.started_at is None:
        return None
    return round(((row.finished_at or now()) - row.started_at).total_seconds(), 3)


def train_status(row: JobProgress) -> dict[str, Any]:
    """The ``GET /api/train?jobId=`` answer for ``row`` (from ``JobStore.status``)."""
    summary = row.summary or {}
    return {
        "status": CONTRACT_STATUS[row.status],
        "jobId": row.id,
        "progress": progress(row),
        "epoch": row.epoch,
        "epochs": row.epochs,
        "trainLoss": row.train_loss,
        "valLoss": row.val_loss,
        "metrics": summary.get("metrics"),
        "baselines": summary.get("baselines"),
        "weights": legacy_omega(summary) if summary else None,
        "parameters": summary.get("parameters"),
        "message": row.message,
        "timestamp": iso(now()),
        "startedAt": iso(row.started_at),
        "finishedAt": iso(row.finished_at),
        "elapsedSeconds": elapsed_seconds(row),
        "verdict": headline(summary) if summary else None,
    }


def job_summary(row: Job) -> dict[str, Any]:
    """A job as listed by ``GET /api/jobs``."""
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "dataset": row.dataset,
        "strategy": row.spec.get("strategy"),
        "created_at": iso(row.created_at),
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
        "elapsed_seconds": elapsed_seconds(row),
        "progress": progress(row),
        "epoch": row.epoch,
        "epochs": row.epochs,
        "train_loss": row.train_loss,
        "val_loss": row.val_loss,
        "stage": row.stage,
        "message": row.message,
        "cancel_requested": row.cancel_requested_at is not None,
        "r2": row.r2,
    }


def job_detail(row: Job) -> dict[str, Any]:
    """A job with its request, settings and results (``GET /api/jobs/{id}``)."""
    return {
        **job_summary(row),
        "attempts": row.attempts,
        "request": row.request,
        "spec": row.spec,
        "result": row.result,
        "weights_url": f"/api/jobs/{row.id}/weights" if row.weights_path else None,
        "verdict": headline(row.result) if row.result else None,
    }
