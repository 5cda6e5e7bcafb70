"""``/api/schedules``: scheduled retraining with champion/challenger promotion
(``services.schedules``; docs/automation.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response

from ssots.services.schedules import add_schedule, run_now, upcoming, update_schedule
from ssots.spec import RunSpec
from ssots.store.schedules import Schedule, ScheduleStore
from ssots.web.deps import ServicesDep
from ssots.web.errors import error_responses
from ssots.web.schemas import (
    MODEL_NAME_PATTERN,
    ScheduleCreate,
    ScheduleDetail,
    ScheduleItem,
    ScheduleList,
    SchedulePatch,
    ScheduleRunItem,
)

router = APIRouter(tags=["schedules"])

Key = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, description="the schedule's id or name")]
def _item(schedule: Schedule) -> dict[str, Any]:
    return {**schedule.to_dict(), "next_fire_times": upcoming(schedule)}


def _store(services: Any) -> ScheduleStore:
    return ScheduleStore(services.database)


@router.get(
    "/schedules", response_model=ScheduleList, responses=error_responses(401), summary="Schedules"
)
def list_schedules(services: ServicesDep) -> dict[str, Any]:
    """Every schedule with its next five fire times, by name."""
    return {"schedules": [_item(s) for s in _store(services).list()]}


@router.post(
    "/schedules",
    status_code=201,
    response_model=ScheduleItem,
    responses=error_responses(400, 401, 409, 422),
    summary="Add a schedule",
)
def create_schedule(
    services: ServicesDep, body: Annotated[ScheduleCreate, Body()]
) -> dict[str, Any]:
    """A new schedule. Its runs train ``spec`` (demo, a registered dataset or ``kaggle:``,
    fetched again at each run; no server file), register a ``challenger`` version of
    ``model`` and promote it to ``champion`` by ``promotion``."""
    spec = RunSpec.build(**body.spec)
    schedule = add_schedule(
        _store(services),
        name=body.name,
        cron=body.cron,
        timezone=body.timezone,
        model=body.model,
        spec=spec,
        misfire=body.misfire,
        promotion=body.promotion.model_dump(),
        max_age=body.max_age,
        enabled=body.enabled,
        files=False,
    )
    return _item(schedule)


@router.get(
    "/schedules/{key}",
    response_model=ScheduleDetail,
    responses=error_responses(401, 404, 422),
    summary="One schedule with its history",
)
def get_schedule(services: ServicesDep, key: Key) -> dict[str, Any]:
    """The schedule, its next five fire times and its fire times so far (newest first)
    with their jobs' outcomes and promotion decisions."""
    store = _store(services)
    schedule = store.get(key)
    runs = [run.to_dict() for run in store.runs(schedule.id)]
    return {**_item(schedule), "runs": runs}


@router.patch(
    "/schedules/{key}",
    response_model=ScheduleItem,
    responses=error_responses(400, 401, 404, 422),
    summary="Change, pause or resume a schedule",
)
def patch_schedule(
    services: ServicesDep, key: Key, body: Annotated[SchedulePatch, Body()]
) -> dict[str, Any]:
    """Change the cron expression, zone, misfire policy, promotion rule or maximum age, or
    pause (``enabled: false``) and resume it; the next fire time is recomputed."""
    changes = body.model_dump(exclude_unset=True)
    if body.promotion is not None:
        changes["promotion"] = body.promotion.model_dump(exclude_unset=True)
    return _item(update_schedule(_store(services), key, changes))


@router.delete(
    "/schedules/{key}",
    status_code=204,
    responses=error_responses(401, 404, 422),
    summary="Delete a schedule",
)
def delete_schedule(services: ServicesDep, key: Key) -> Response:
    """Delete the schedule and its fire-time history (its jobs, runs and model stay)."""
    _store(services).delete(key)
    return Response(status_code=204)


@router.post(
    "/schedules/{key}/run",
    status_code=202,
    response_model=ScheduleRunItem,
    responses=error_responses(401, 404, 422),
    summary="Run a schedule now",
)
def run_schedule(services: ServicesDep, key: Key) -> dict[str, Any]:
    """Queue a run of the schedule now (its cron times are unchanged); it registers and
    promotes like a cron run."""
    run = run_now(_store(services), key)
    services.jobs_changed()
    return run.to_dict()
