"""``/api/studies``: start a tuning study (its trials run as jobs), list and inspect
studies and their trials, follow one live over Server-Sent Events, stop it, draw its
Optuna figures, and register its refitted best trial as a model version.

The request fields, defaults and ranges are those of ``ssots.tuning.StudySpec`` (the
same as ``ssots tune``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Path, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field, create_model

from ssots.errors import InvalidFieldsError
from ssots.tuning import StudySpec, StudyStatus
from ssots.web.api.jobs import stream_slot
from ssots.web.deps import Services, ServicesDep
from ssots.web.errors import error_responses, stream_error_responses

router = APIRouter(tags=["studies"])

StudyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="16 hex digits")]

SSE_POLL_SECONDS = 0.5
"""How often a study's event stream looks for changes."""


def _request_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, field in StudySpec.model_fields.items():
        if name == "timeout":
            fields[name] = (
                float | str | None,
                Field(
                    None,
                    description="start no trial after this many seconds, or a duration "
                    "such as 30m, 2h, 90s (unset: no limit)",
                ),
            )
        elif name == "space":
            fields[name] = (
                dict[str, dict[str, Any]] | None,
                Field(None, description="the search space (docs/tuning.md); unset: default"),
            )
        else:
            fields[name] = (field.annotation, field)
    return fields


StudyRequest = create_model(
    "StudyRequest",
    __config__=ConfigDict(extra="forbid"),
    __doc__="The body of ``POST /api/studies``: every field optional, with the defaults of "
    "``ssots tune``.",
    **_request_fields(),
)


class StudyOut(BaseModel):
    """A study: settings, status, trial counts by state, best trial and the report of
    its one test evaluation (once it ended)."""

    model_config = ConfigDict(extra="allow")

    id: str
    status: str
    objective: str
    direction: str
    dataset: str
    spec: dict[str, Any]
    created_at: str
    finished_at: str | None
    stop_requested: bool
    trials: dict[str, int]
    finished_trials: int
    best_trial: int | None
    best_value: float | None
    best_params: dict[str, Any] | None
    refit_job_id: str | None
    test_evaluations: int
    report: dict[str, Any] | None
    message: str


class StudyList(BaseModel):
    """One page of studies, newest first."""

    studies: list[StudyOut]
    total: int
    limit: int
    offset: int


class TrialOut(BaseModel):
    """One trial: its state, value, parameters and the job and run that ran it."""

    number: int
    state: str
    value: float | None
    sharpe: float | None
    params: dict[str, Any]
    job_id: str
    run_id: str | None
    retry_of: int | None
    retried: bool
    message: str
    created_at: str
    finished_at: str | None


class TrialList(BaseModel):
    """Every trial of a study, by number."""

    study_id: str
    trials: list[TrialOut]


class Figures(BaseModel):
    """Plotly figures (``data`` and ``layout``) of ``optuna.visualization``; None until
    there are enough trials to draw one."""

    history: dict[str, Any] | None
    importances: dict[str, Any] | None
    parallel: dict[str, Any] | None
    intermediate: dict[str, Any] | None


class RegisterBest(BaseModel):
    """The model to register the refitted best trial under."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = Field("", max_length=2000)


class Registered(BaseModel):
    """The version registered (or the existing one with the same content)."""

    model: str
    version: int
    created: bool
    run_id: str


def _studies(services: Services) -> Any:
    from ssots.store.studies import StudyStore

    return StudyStore(services.database)


@router.post(
    "/studies",
    status_code=201,
    response_model=StudyOut,
    responses=error_responses(400, 401, 404, 409, 422, 429),
    summary="Start a tuning study (trials run as jobs)",
)
def create_study(services: ServicesDep, body: StudyRequest) -> dict[str, Any]:  # type: ignore[valid-type]
    """Start a study: Optuna's TPE asks for settings, each trial trains on the training
    rows and is judged on the validation rows (or inner walk-forward folds) as a job; at
    the end the best trial is refitted and evaluated once on the test split. The dataset
    is the demo, a registered dataset or ``kaggle:`` (fetched at its first trial)."""
    from ssots.data.sources.reference import RegisteredRef, parse_reference
    from ssots.jobs.studies import create_study as start

    values = body.model_dump()  # type: ignore[attr-defined]
    spec = StudySpec.build(**values)
    ref = parse_reference(spec.dataset, files=False)  # never a path on the server
    if isinstance(ref, RegisteredRef):
        found = services.datasets.find(spec.dataset)
        if found is None:
            raise InvalidFieldsError.one(
                "dataset",
                f"unknown dataset {spec.dataset!r}: use `demo`, a registered dataset's id or "
                "name (GET /api/datasets) or kaggle:OWNER/SLUG",
            )
        spec = spec.model_copy(update={"dataset": found.id})
    record = start(_studies(services), services.settings, spec)
    services.jobs_changed()
    return record.to_dict()


@router.get(
    "/studies",
    response_model=StudyList,
    responses=error_responses(401, 422),
    summary="Studies, newest first",
)
def list_studies(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """One page of studies."""
    records, total = _studies(services).list(limit=limit, offset=offset)
    return {
        "studies": [record.to_dict() for record in records],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/studies/{study_id}",
    response_model=StudyOut,
    responses=error_responses(401, 404, 422),
    summary="One study with its report",
)
def get_study(services: ServicesDep, study_id: StudyId) -> dict[str, Any]:
    """The study; once it ended, ``report`` holds the number of trials run, the best
    trial, its one test evaluation and the deflated Sharpe ratio."""
    return _studies(services).get(study_id).to_dict()


@router.get(
    "/studies/{study_id}/trials",
    response_model=TrialList,
    responses=error_responses(401, 404, 422),
    summary="The study's trials",
)
def list_trials(services: ServicesDep, study_id: StudyId) -> dict[str, Any]:
    """Every trial by number: state (running, complete, pruned, fail), value on the
    validation rows, parameters, and the job and run of the trial."""
    trials = _studies(services).trials(study_id)
    return {"study_id": study_id, "trials": [trial.to_dict() for trial in trials]}


@router.post(
    "/studies/{study_id}/stop",
    status_code=202,
    response_model=StudyOut,
    responses=error_responses(401, 404, 409, 422),
    summary="Stop a study: no new trials; the best so far is refitted",
)
def stop_study(services: ServicesDep, study_id: StudyId) -> dict[str, Any]:
    """Running trials are cancelled and no new one starts; the best complete trial is then
    refitted and evaluated once on the test split (status ``stopped``). A study that
    already ended answers 409."""
    record = _studies(services).request_stop(study_id)
    services.jobs_changed()
    return record.to_dict()


@router.get(
    "/studies/{study_id}/figures",
    response_model=Figures,
    responses=error_responses(401, 404, 422),
    summary="Optuna's figures of the study (Plotly JSON)",
)
def study_figures(services: ServicesDep, study_id: StudyId) -> dict[str, Any]:
    """Optimisation history, parameter importances, parallel coordinates and
    intermediate values, as ``optuna.visualization`` draws them."""
    from ssots.services.tuning import study_figures as figures

    record = _studies(services).get(study_id)
    return figures(services.settings, record.optuna_name)


@router.post(
    "/studies/{study_id}/register",
    status_code=201,
    response_model=Registered,
    responses=error_responses(400, 401, 404, 409, 422),
    summary="Register the refitted best trial as a model version",
)
def register_best(services: ServicesDep, study_id: StudyId, body: RegisterBest) -> dict[str, Any]:
    """The refitted best trial's run becomes a version of model ``name`` (created if new);
    its metrics are the study's one test evaluation. 409 until the study has one."""
    from ssots.services.models import register_study_best

    record = _studies(services).get(study_id)
    version, created, run_id = register_study_best(
        services.models, services.runs, record, body.name, body.description
    )
    return {"model": body.name, "version": version.version, "created": created, "run_id": run_id}


async def existing_study(services: ServicesDep, study_id: StudyId) -> str:
    """``study_id`` once the study is known to exist (a stream answers 404 first)."""
    await anyio.to_thread.run_sync(_studies(services).get, study_id)
    return study_id


@router.get(
    "/studies/{study_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {"description": "`study` and `trial` events as they change, then one `done`"},
        **stream_error_responses(401, 404, 422, 429),
    },
    summary="Live progress of a study as Server-Sent Events",
)
async def study_events(
    services: ServicesDep,
    study_id: Annotated[str, Depends(existing_study)],
    _slot: Annotated[None, Depends(stream_slot)],
) -> AsyncIterator[ServerSentEvent]:
    """A ``study`` event (the study as ``GET /api/studies/{id}``) whenever it changes, a
    ``trial`` event for every trial that started or ended since the last one, and a
    final ``done`` event with the ended study, after which the stream ends."""
    store = _studies(services)
    last_study: dict[str, Any] | None = None
    last_trials: dict[int, str] = {}
    while True:
        record = await anyio.to_thread.run_sync(store.get, study_id)
        trials = await anyio.to_thread.run_sync(store.trials, study_id)
        for trial in trials:
            if last_trials.get(trial.number) != trial.state:
                last_trials[trial.number] = trial.state
                yield ServerSentEvent(data=trial.to_dict(), event="trial", id=str(trial.number))
        shown = record.to_dict()
        if StudyStatus(record.status).is_final:
            yield ServerSentEvent(data=shown, event="done")
            return
        if shown != last_study:
            last_study = shown
            yield ServerSentEvent(data=shown, event="study")
        await anyio.sleep(SSE_POLL_SECONDS)
