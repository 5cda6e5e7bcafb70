"""``POST /api/train`` and ``GET /api/train?jobId=``: the earlier system's contract, now
backed by real jobs."""

from __future__ import annotations

from typing import Annotated, NoReturn

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from ssots.data.sources.catalog import CATALOG, catalog_entry
from ssots.data.sources.kaggle import KAGGLE, parse_ref
from ssots.errors import InvalidFieldsError, MissingParameterError, ParameterError
from ssots.spec import DEMO, DEMO_TITLE, FIELDS, RunSpec
from ssots.store.jobs import now
from ssots.web.deps import Services, ServicesDep
from ssots.web.errors import error_responses
from ssots.web.schemas import TrainAccepted, TrainRequest, TrainStatus
from ssots.web.views import iso, train_status

router = APIRouter(tags=["train"])

_LISTED = 20
"""Most choices an error message lists."""


@router.post(
    "/train",
    status_code=202,
    response_model=TrainAccepted,
    responses=error_responses(400, 401, 422, 429),
    summary="Queue a training job (the earlier dashboard's body works unchanged)",
)
def submit_training(services: ServicesDep, body: Annotated[TrainRequest, Body()]) -> TrainAccepted:
    """Validate the request, check the dataset exists, and queue a job (202).

    The body is a JSON object (``{}`` trains with every default: no body at all answers
    422, so a bare cross-site POST queues nothing); every field is optional. Invalid
    values answer 422 naming each field; an unknown dataset or strategy answers 422 with
    the valid choices; a full queue answers 429 with Retry-After and creates nothing.
    """
    spec = _spec(body, _dataset(body, services))
    row = services.jobs.create(
        spec=spec.model_dump(mode="json"),
        request=body.model_dump(mode="json", by_alias=True, exclude_unset=True),
        queue_limit=services.settings.queue_limit,
    )
    services.jobs_changed()
    return TrainAccepted(
        status="in_progress",
        job_id=row.id,
        progress=0,
        timestamp=iso(now()) or "",
        message=f"training job {row.id} queued; poll GET /api/train?jobId={row.id}",
    )


@router.get(
    "/train",
    response_model=TrainStatus,
    responses=error_responses(400, 401, 404),
    summary="Status, progress and (when done) metrics and weights of a training job",
)
async def training_status(
    services: ServicesDep,
    job_id: Annotated[str | None, Query(alias="jobId", max_length=100)] = None,
) -> JSONResponse:
    """The job's status in the contract's vocabulary: queued, in_progress, success, error,
    cancelled. Without ``jobId``: 400; an unknown id: 404.

    The hot path of every dashboard: one indexed read, done on the event loop (cheaper
    than a hop to the thread pool), answered without response-model validation.
    """
    if not job_id:
        raise MissingParameterError("pass the job's id: GET /api/train?jobId=<id>")
    return JSONResponse(train_status(services.jobs.status(job_id)))


def _spec(body: TrainRequest, dataset: str) -> RunSpec:
    """The run settings of ``body``; a value RunSpec refuses is a 422 naming its field."""
    values = body.model_dump(exclude={"dataset", "dataset_source", "kaggle_dataset"})
    return RunSpec.build(name_of=lambda name: FIELDS[name].api, dataset=dataset, **values)


def _dataset(body: TrainRequest, services: Services) -> str:
    """The RunSpec dataset of the request: ``demo``, a registered dataset's id, or
    ``kaggle:HANDLE[/FILE]``; never a path a client sent."""
    if body.dataset_source == DEMO:
        if DEMO not in body.dataset.lower():
            _invalid(
                "dataset",
                f"{body.dataset!r} is not the demo; with datasetSource 'demo' "
                f"use {DEMO_TITLE!r} (or {DEMO!r}); for an uploaded or registered dataset "
                "use datasetSource 'registered'",
            )
        return DEMO
    if body.dataset_source in ("registered", "local"):
        record = services.datasets.find(body.dataset)
        if record is None:
            known = [f"{r.name} ({r.id})" for r in services.datasets.list()[:_LISTED]]
            _invalid(
                "dataset",
                f"unknown dataset {body.dataset!r}; registered datasets: "
                f"{', '.join(known) or 'none yet'} (upload one with POST /api/datasets)",
            )
        return record.id
    return _kaggle_dataset(body.kaggle_dataset or body.dataset, services)


def _kaggle_dataset(reference: str, services: Services) -> str:
    """``kaggle:OWNER/SLUG[/FILE][#SYMBOL]`` for a catalog OHLCV dataset or one already
    fetched (the worker fetches it, or finds it registered)."""
    field = "kaggleDataset"
    ref = reference if reference.startswith(KAGGLE) else f"{KAGGLE}{reference}"
    choices = "catalog datasets: " + ", ".join(e.handle for e in CATALOG if e.kind == "ohlcv")
    try:
        handle = parse_ref(ref)[0]
    except ParameterError as exc:
        _invalid(field, f"{exc}; {choices}")
    entry = catalog_entry(handle)
    fetched = any(
        r.source == "kaggle" and (r.handle or "").lower() == handle.lower()
        for r in services.datasets.list()
    )
    if entry is not None and entry.kind != "ohlcv" and not fetched:
        _invalid(field, f"{handle} holds {entry.kind} data, not prices; {choices}")
    if entry is None and not fetched:
        _invalid(field, f"unknown Kaggle dataset {handle!r}; {choices}")
    return ref


def _invalid(field: str, message: str) -> NoReturn:
    raise InvalidFieldsError.one(field, message)
