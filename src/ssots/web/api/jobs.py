"""``/api/jobs``: list, inspect and cancel jobs; follow one live over Server-Sent Events;
its downsampled loss history; its weights file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import FileResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

from ssots.errors import ConflictError, NotFoundError
from ssots.spec import JobStatus
from ssots.web.deps import ServicesDep
from ssots.web.errors import error_responses, stream_error_responses
from ssots.web.schemas import JobDetail, JobHistory, JobList
from ssots.web.views import job_detail, job_summary

router = APIRouter(tags=["jobs"])

JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="16 hex digits")]

SSE_POLL_SECONDS = 0.25
"""How often an event stream looks for new events (FastAPI sends a keep-alive comment
when a stream is quiet for 15 s)."""
SSE_PAGE = 500
"""Most events read from the database at once."""
MAX_EVENT_ID = 2**53 - 1
"""Largest ``Last-Event-ID`` (event numbers are database integers; JavaScript's too)."""


async def existing_job(services: ServicesDep, job_id: JobId) -> str:
    """``job_id``, once the job is known to exist (a dependency: a stream answers 404
    before it starts).

    Raises:
        JobNotFoundError: no such job.
    """
    await anyio.to_thread.run_sync(services.jobs.get, job_id)
    return job_id


async def stream_slot(services: ServicesDep, request: Request) -> AsyncIterator[None]:
    """Hold one of the server's event-stream slots for the client while its stream is open
    (a dependency whose exit runs after the response has ended).

    Raises:
        StreamLimitError: the server or the client has as many streams open as allowed.
    """
    client = request.client.host if request.client else ""
    services.streams.acquire(client)
    try:
        yield
    finally:
        services.streams.release(client)


@router.get(
    "/jobs",
    response_model=JobList,
    responses=error_responses(401, 422),
    summary="Jobs, newest first",
)
def list_jobs(
    services: ServicesDep,
    status: Annotated[JobStatus | None, Query(description="only jobs with this status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """One page of jobs, optionally filtered by status."""
    rows, total = services.jobs.list(status=status, limit=limit, offset=offset)
    return {
        "jobs": [job_summary(row) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/jobs/{job_id}",
    response_model=JobDetail,
    responses=error_responses(401, 404, 422),
    summary="One job with its settings and results",
)
def get_job(services: ServicesDep, job_id: JobId) -> dict[str, Any]:
    """The job, its request and run settings, and once it succeeded its results."""
    return job_detail(services.jobs.get(job_id))


@router.post(
    "/jobs/{job_id}/cancel",
    status_code=202,
    response_model=JobDetail,
    responses=error_responses(401, 404, 409, 422),
    summary="Cancel a queued or running job",
)
def cancel_job(services: ServicesDep, job_id: JobId) -> dict[str, Any]:
    """A queued job is cancelled at once; a running one stops within about a second (it
    is ``running`` with ``cancel_requested`` until then). Cancelling a cancelled job is a
    no-op; a job that already succeeded or failed answers 409."""
    row = services.jobs.request_cancel(job_id)
    services.jobs_changed()
    return job_detail(row)


@router.get(
    "/jobs/{job_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {"description": "epoch and stage events, then one `done` event"},
        **stream_error_responses(401, 404, 422, 429),
    },
    summary="Live progress as Server-Sent Events (resumable with Last-Event-ID)",
)
async def job_events(
    services: ServicesDep,
    job_id: Annotated[str, Depends(existing_job)],
    _slot: Annotated[None, Depends(stream_slot)],
    last_event_id: Annotated[
        int | None,
        Header(ge=0, le=MAX_EVENT_ID, description="number of the last event received"),
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Every event after ``Last-Event-ID`` (``id`` = the event's number): ``stage`` and
    ``epoch`` events as they are written, then one ``done`` event with the final job,
    after which the stream ends. A ``Last-Event-ID`` that is not a whole number in
    0..2^53-1 answers 422; beyond ``SSOTS_MAX_STREAMS`` open streams in total, or
    ``SSOTS_MAX_STREAMS_PER_CLIENT`` from one client address, 429.

    The job's status is read before its events, so every event written before it became
    final is sent before ``done``.
    """
    store = services.jobs
    after = last_event_id or 0
    while True:
        status = (await anyio.to_thread.run_sync(store.status, job_id)).status
        events = await anyio.to_thread.run_sync(store.events_after, job_id, after, SSE_PAGE)
        for event in events:
            after = event.seq
            yield ServerSentEvent(data=event.data, event=event.kind, id=str(event.seq))
        if len(events) == SSE_PAGE:
            continue
        if status.is_final:
            final = await anyio.to_thread.run_sync(store.get, job_id)
            yield ServerSentEvent(data=job_summary(final), event="done")
            return
        await anyio.sleep(SSE_POLL_SECONDS)


@router.get(
    "/jobs/{job_id}/history",
    response_model=JobHistory,
    responses=error_responses(401, 404, 422),
    summary="Loss history for charts, downsampled",
)
def job_history(
    services: ServicesDep,
    job_id: JobId,
    max_points: Annotated[int, Query(ge=2, le=10_000)] = 500,
) -> dict[str, Any]:
    """Train and validation loss per epoch, at most ``max_points`` evenly spaced points
    (the first and last epochs always among them), and the number of the last event they
    include: a chart drawn from them follows the job with ``Last-Event-ID`` set to it."""
    # Read before the history, so every event up to last_event_id is in it (the dashboard
    # resumes the stream from here; a later event read twice is dropped by its epoch).
    last_event_id = services.jobs.get(job_id).last_seq
    history = services.jobs.epoch_history(job_id)
    return {
        "job_id": job_id,
        "last_event_id": last_event_id,
        "total_points": len(history),
        "points": [
            {key: point[key] for key in ("epoch", "train_loss", "val_loss")}
            for point in downsample(history, max_points)
        ],
    }


@router.get(
    "/jobs/{job_id}/weights",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"application/json": {}},
            "description": "the weights file (ssots.weights/2)",
        },
        **error_responses(401, 404, 409, 422),
    },
    summary="The weights file of a succeeded job",
)
def job_weights(services: ServicesDep, job_id: JobId) -> FileResponse:
    """The job's weights file, as ``ssots train`` writes it; 409 until the job succeeded."""
    row = services.jobs.get(job_id)
    if row.weights_path is None:
        raise ConflictError(f"job {job_id} is {row.status}: it has no weights file")
    runs = services.settings.runs_dir.resolve()
    path = (services.settings.home / row.weights_path).resolve()
    if not path.is_relative_to(runs) or not path.is_file():
        raise NotFoundError(f"the weights file of job {job_id} is missing")
    return FileResponse(
        path, media_type="application/json", filename=f"ssots-weights-{job_id}.json"
    )


def downsample(points: list[Any], max_points: int) -> list[Any]:
    """At most ``max_points`` of ``points``, evenly spaced, first and last included."""
    if len(points) <= max_points:
        return points
    last = len(points) - 1
    picks = sorted({round(i * last / (max_points - 1)) for i in range(max_points)})
    return [points[i] for i in picks]
