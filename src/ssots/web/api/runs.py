"""``/api/runs``: list (filter, sort by any metric, pages), inspect, edit, delete, rerun and
compare tracked runs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from starlette.convertors import Convertor, register_url_convertor

from ssots.services.runs import parse_tags
from ssots.store.runs import RUN_SOURCES
from ssots.web.deps import ServicesDep
from ssots.web.errors import error_responses
from ssots.web.schemas import (
    Comparison,
    RerunAccepted,
    RunDetail,
    RunList,
    RunPatch,
    RunSummary,
)

router = APIRouter(tags=["runs"])


class RunKeyConvertor(Convertor[str]):
    """A run's id or name in a path: never ``compare`` (``/runs/compare`` is its own
    route, so no other method is served there)."""

    regex = r"(?!compare$)[^/]+"

    def convert(self, value: str) -> str:
        """The path segment as is."""
        return value

    def to_string(self, value: str) -> str:
        """The value as a path segment."""
        return value


register_url_convertor("runkey", RunKeyConvertor())

RunKey = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
        description="the run's id (12 hex digits) or name",
    ),
]


@router.get(
    "/runs",
    response_model=RunList,
    responses=error_responses(401, 422),
    summary="Tracked runs: filter by tag, dataset, source; sort by any metric",
)
def list_runs(
    services: ServicesDep,
    tag: Annotated[list[str], Query(max_length=300, description="key=value (repeatable)")] = [],  # noqa: B006
    dataset: Annotated[
        str | None, Query(max_length=400, description="dataset name or fingerprint")
    ] = None,
    source: Annotated[Literal[*RUN_SOURCES] | None, Query()] = None,  # type: ignore[valid-type]
    sort: Annotated[
        str, Query(max_length=40, description="created_at, name or a metric key (rank_ic, r2)")
    ] = "created_at",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """One page of runs; runs lacking the sort metric come last."""
    rows, total = services.runs.list(
        tags=parse_tags(tag, "tag"),
        dataset=dataset,
        source=source,
        sort=sort,
        descending=order == "desc",
        limit=limit,
        offset=offset,
    )
    return {"runs": [r.summary() for r in rows], "total": total, "limit": limit, "offset": offset}


@router.get(
    "/runs/compare",
    response_model=Comparison,
    responses=error_responses(401, 404, 422),
    summary="Compare runs: settings diff, metrics, parameters, curves",
)
def compare_runs(
    services: ServicesDep,
    ids: Annotated[
        str, Query(max_length=2000, description="2-10 run ids or names, comma-separated")
    ],
    all_fields: Annotated[
        bool, Query(alias="all", description="every setting, not only those that differ")
    ] = False,
) -> dict[str, Any]:
    """The settings that differ (all with ``all``), the metrics with the best value's
    index, the 13 parameters with deltas from the first run, the loss histories, the
    equity curves of the Q-filtered books, and ``different_data`` with a warning when the
    runs' data fingerprints differ."""
    from ssots.services.compare import comparable_run, compare

    keys = [key.strip() for key in ids.split(",") if key.strip()]
    return compare([comparable_run(services.runs.get(key)) for key in keys], all_fields=all_fields)


@router.get(
    "/runs/{run:runkey}",
    response_model=RunDetail,
    responses=error_responses(401, 404, 422),
    summary="One run with its settings, history, backtest and weights document",
)
def get_run(services: ServicesDep, run: RunKey) -> dict[str, Any]:
    """The run ``run`` (id or name)."""
    return services.runs.get(run).to_dict()


@router.patch(
    "/runs/{run:runkey}",
    response_model=RunSummary,
    responses=error_responses(400, 401, 404, 409, 422),
    summary="Rename a run, set or remove tags, replace its notes",
)
def patch_run(
    services: ServicesDep, run: RunKey, body: Annotated[RunPatch, Body()]
) -> dict[str, Any]:
    """Tags are merged (a null value removes that tag); a taken name answers 409."""
    return services.runs.update(run, name=body.name, tags=body.tags, notes=body.notes).summary()


@router.delete(
    "/runs/{run:runkey}",
    status_code=204,
    responses=error_responses(401, 404, 422),
    summary="Delete a run",
)
def delete_run(services: ServicesDep, run: RunKey) -> None:
    """Model versions registered from the run keep their own copy of its weights."""
    services.runs.delete(run)


@router.post(
    "/runs/{run:runkey}/rerun",
    status_code=202,
    response_model=RerunAccepted,
    responses=error_responses(401, 404, 409, 422, 429),
    summary="Queue a job training the run again with the same settings",
)
def rerun(services: ServicesDep, run: RunKey) -> dict[str, Any]:
    """A job with the run's exact spec; its run is recorded when it succeeds."""
    from ssots.services.runs import rerun_spec

    original = services.runs.get(run)
    spec = rerun_spec(original, files=False)
    row = services.jobs.create(
        spec=spec.model_dump(mode="json"),
        request={"rerun_of": original.id},
        queue_limit=services.settings.queue_limit,
    )
    services.jobs_changed()
    return {
        "job_id": row.id,
        "rerun_of": original.id,
        "message": f"job {row.id} queued with the settings of run {original.name}",
    }
