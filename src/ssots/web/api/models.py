"""``/api/models``: the model registry (models, versions, aliases with history and
rollback) and scoring the latest bars with a version, for traders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query

from ssots.errors import NotFoundError
from ssots.web.deps import ServicesDep
from ssots.web.errors import error_responses
from ssots.web.schemas import (
    ALIAS_PATTERN,
    MODEL_NAME_PATTERN,
    AliasEventItem,
    AliasHistory,
    AliasMove,
    AliasRollback,
    Comparison,
    ModelCreate,
    ModelItem,
    ModelList,
    ModelRegistered,
    ScoreRequest,
    ScoreResult,
    VersionDetail,
    VersionList,
)

router = APIRouter(tags=["models"])

ModelName = Annotated[str, Path(pattern=MODEL_NAME_PATTERN, description="the model's name")]
Alias = Annotated[str, Path(pattern=ALIAS_PATTERN, description="e.g. champion")]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
WHO = "api"
"""Who the alias history names for moves made through the API."""


@router.get(
    "/models", response_model=ModelList, responses=error_responses(401), summary="Models"
)
def list_models(services: ServicesDep) -> dict[str, Any]:
    """Every registered model with its aliases, by name."""
    return {"models": [m.to_dict() for m in services.models.list_models()]}


@router.post(
    "/models",
    status_code=201,
    response_model=ModelRegistered,
    responses=error_responses(400, 401, 404, 409, 422),
    summary="Register a model, and with run_id a version from that run",
)
def create_model(services: ServicesDep, body: Annotated[ModelCreate, Body()]) -> dict[str, Any]:
    """Without ``run_id``: create the model (409 if the name is taken). With ``run_id``:
    the model is created if new and the run's weights become a version; the same
    parameters on the same data return the existing version (``created`` false)."""
    from ssots.services.models import register_run

    if body.run_id is None:
        model = services.models.create_model(body.name, body.description)
        return {"model": model.to_dict(), "version": None, "created": True}
    run = services.runs.get(body.run_id)
    version, created = register_run(services.models, body.name, run, description=body.description)
    return {
        "model": services.models.get_model(body.name).to_dict(),
        "version": version.summary(),
        "created": created,
    }


@router.get(
    "/models/{name}",
    response_model=ModelItem,
    responses=error_responses(401, 404, 422),
    summary="One model",
)
def get_model(services: ServicesDep, name: ModelName) -> dict[str, Any]:
    """The model, its aliases and latest version."""
    return services.models.get_model(name).to_dict()


@router.get(
    "/models/{name}/versions",
    response_model=VersionList,
    responses=error_responses(401, 404, 422),
    summary="The versions of a model, newest first",
)
def list_versions(services: ServicesDep, name: ModelName) -> dict[str, Any]:
    """Each version's metrics, parameters, data fingerprint, aliases, lineage and the
    verdict on its evidence of skill."""
    from ssots.evidence import headline

    return {
        "versions": [
            {
                **v.summary(),
                "verdict": headline(v.weights),
                "skill": (v.weights.get("evidence") or {}).get("skill"),
            }
            for v in services.models.versions(name)
        ]
    }


@router.get(
    "/models/{name}/versions/{version}",
    response_model=VersionDetail,
    responses=error_responses(401, 404, 422),
    summary="One version with its weights document",
)
def get_version(services: ServicesDep, name: ModelName, version: Version) -> dict[str, Any]:
    """The version and its weights document (``ssots.weights/2``)."""
    return services.models.version(name, version).to_dict()


@router.get(
    "/models/{name}/diff",
    response_model=Comparison,
    responses=error_responses(401, 404, 422),
    summary="Compare versions of a model",
)
def diff_versions(
    services: ServicesDep,
    name: ModelName,
    versions: Annotated[
        str, Query(pattern=r"^[0-9]{1,9}(,[0-9]{1,9}){1,9}$", description="e.g. 2,3")
    ],
    all_fields: Annotated[
        bool, Query(alias="all", description="every setting, not only those that differ")
    ] = False,
) -> dict[str, Any]:
    """The same comparison as ``GET /api/runs/compare``, of versions of one model."""
    from ssots.services.compare import comparable_version, compare

    items = [comparable_version(services.models.version(name, int(v))) for v in versions.split(",")]
    return compare(items, all_fields=all_fields)


@router.delete(
    "/models/{name}/versions/{version}",
    status_code=204,
    responses=error_responses(401, 404, 409, 422),
    summary="Delete a version no alias points to",
)
def delete_version(services: ServicesDep, name: ModelName, version: Version) -> None:
    """409 with the aliases' names while an alias points to the version."""
    services.models.delete_version(name, version)


@router.put(
    "/models/{name}/aliases/{alias}",
    response_model=AliasEventItem,
    responses=error_responses(400, 401, 404, 422),
    summary="Point an alias at a version (recorded in its history)",
)
def move_alias(
    services: ServicesDep, name: ModelName, alias: Alias, body: Annotated[AliasMove, Body()]
) -> dict[str, Any]:
    """``latest`` is virtual and cannot be moved (422)."""
    event = services.models.move_alias(name, alias, body.version, who=WHO, reason=body.reason)
    return event.to_dict()


@router.get(
    "/models/{name}/aliases/{alias}/history",
    response_model=AliasHistory,
    responses=error_responses(401, 404, 422),
    summary="Every move of an alias: when, who, from, to, why",
)
def alias_history(services: ServicesDep, name: ModelName, alias: Alias) -> dict[str, Any]:
    """Oldest first, numbered in the order the moves happened."""
    return {"history": [e.to_dict() for e in services.models.history(name, alias)]}


@router.post(
    "/models/{name}/aliases/{alias}/rollback",
    response_model=AliasEventItem,
    responses=error_responses(400, 401, 404, 409, 422),
    summary="Move an alias back one step",
)
def rollback_alias(
    services: ServicesDep,
    name: ModelName,
    alias: Alias,
    body: Annotated[AliasRollback | None, Body()] = None,
) -> dict[str, Any]:
    """Back to the version before its last move; 409 when there is none."""
    reason = "" if body is None else body.reason
    return services.models.rollback(name, alias, who=WHO, reason=reason).to_dict()


@router.post(
    "/models/{name}/score",
    response_model=ScoreResult,
    responses=error_responses(400, 401, 404, 413, 422),
    summary="Score the latest bars with a version (by alias, version or latest)",
)
def score(
    services: ServicesDep,
    name: ModelName,
    body: Annotated[ScoreRequest, Body()],
    alias: Annotated[str | None, Query(pattern=ALIAS_PATTERN)] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    at: Annotated[str | None, Query(max_length=40, description="resolve the alias at")] = None,
) -> dict[str, Any]:
    """For each of the latest ``last`` bars: the strategy's call, the Q-score (calibrated
    and raw), whether the Q-filter takes the call, and the version used. The bars come as
    ``rows`` (JSON), ``csv`` (text) or ``dataset`` (the demo or a registered dataset);
    without ``alias`` or ``version`` the latest version scores."""
    from ssots.artifacts import saved_model
    from ssots.services.models import ModelUri, parse_time, resolve_version, score_latest

    uri = ModelUri(
        name,
        version,
        None if version is not None else (alias or "latest"),
        None if at is None else parse_time(at),
    )
    found = resolve_version(services.models, uri)
    saved = saved_model(found.weights, origin=f"models:/{name}/{found.version}")
    frame = _frame(services, body)
    return {
        "model": name,
        "version": found.version,
        "uri": f"models:/{name}/{found.version}",
        "alias": uri.alias,
        "strategy": saved.strategy,
        "threshold": saved.document.get("backtest", {}).get("threshold"),
        "bars": score_latest(saved, frame, body.last),
    }


def _frame(services: ServicesDep, body: ScoreRequest) -> Any:
    from ssots.errors import InvalidFieldsError
    from ssots.services.models import rows_frame

    given = [field for field in ("rows", "csv", "dataset") if getattr(body, field) is not None]
    if len(given) != 1:
        raise InvalidFieldsError.one(
            "body", "must hold exactly one of rows, csv or dataset"
        )
    if body.rows is not None:
        return rows_frame([row.model_dump() for row in body.rows])
    if body.csv is not None:
        return rows_frame(body.csv)
    from ssots.services.datasets import load_record, resolve

    assert body.dataset is not None
    if body.dataset == "demo":
        return resolve("demo", services.settings).frame
    record = services.datasets.find(body.dataset)
    if record is None:
        raise NotFoundError(f"no dataset {body.dataset!r}; GET /api/datasets lists them")
    return load_record(record).frame
