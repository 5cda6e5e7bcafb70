"""The REST API's routers, all under ``/api``; every route but ``/api/health`` and
``/api/spec`` requires the bearer token when one is configured."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from ssots.config import Settings
from ssots.web.api import (
    datasets,
    health,
    jobs,
    models,
    runs,
    schedules,
    spec,
    studies,
    trades,
    train,
    webhooks,
)
from ssots.web.deps import token_guard
from ssots.web.errors import error_responses
from ssots.web.limits import UploadLimit
from ssots.web.security import STATE_CHANGING, ApiToken, RequestGuard

PREFIX = "/api"
OPEN_PATHS = frozenset({f"{PREFIX}/health", f"{PREFIX}/spec"})
"""API routes answered without the token."""
UPLOAD_PATH = f"{PREFIX}/datasets"
"""The route taking multipart uploads."""


def needs_token(path: str) -> bool:
    """Whether a request to ``path`` must carry the API token (when one is configured):
    everything under ``/api`` but ``OPEN_PATHS``."""
    return path.startswith(f"{PREFIX}/") and path not in OPEN_PATHS


def install_api(app: FastAPI, settings: Settings) -> None:
    """Add the ``/api`` routes to ``app``, ``settings``' upload size limit, and the
    request guard (token before the body, no cross-site state changes, JSON bodies)."""
    token = settings.api_token
    api_token = ApiToken(token.get_secret_value()) if token else None
    protected = [Depends(token_guard(api_token))] if api_token else []
    routers = (
        train.router,
        jobs.router,
        datasets.router,
        runs.router,
        models.router,
        schedules.router,
        webhooks.router,
        studies.router,
    )
    for router in routers:
        document_guard(router)
    app.include_router(health.router, prefix=PREFIX)
    app.include_router(spec.router, prefix=PREFIX)
    app.include_router(train.router, prefix=PREFIX, dependencies=protected)
    app.include_router(jobs.router, prefix=PREFIX, dependencies=protected)
    app.include_router(datasets.router, prefix=PREFIX, dependencies=protected)
    app.include_router(runs.router, prefix=PREFIX, dependencies=protected)
    app.include_router(models.router, prefix=PREFIX, dependencies=protected)
    app.include_router(trades.router, prefix=PREFIX, dependencies=protected)
    app.include_router(schedules.router, prefix=PREFIX, dependencies=protected)
    app.include_router(webhooks.router, prefix=PREFIX, dependencies=protected)
    app.include_router(studies.router, prefix=PREFIX, dependencies=protected)
    app.add_middleware(UploadLimit, path=UPLOAD_PATH, limit=settings.max_upload_bytes)
    app.add_middleware(
        RequestGuard, token=api_token, protected=needs_token, form_paths=(UPLOAD_PATH,)
    )


def document_guard(router: APIRouter) -> None:
    """Add the request guard's answers (403 cross-origin, 415 wrong body type) to the
    documented responses of ``router``'s state-changing operations."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.methods & STATE_CHANGING:
            route.responses = {**error_responses(403, 415), **route.responses}
