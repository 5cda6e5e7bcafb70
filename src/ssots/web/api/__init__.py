"""The REST API's routers, all under ``/api``; every route but ``/api/health`` and
``/api/spec`` requires the bearer token when one is configured."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from ssots.config import Settings
from ssots.web.api import datasets, health, jobs, spec, train
from ssots.web.deps import token_guard
from ssots.web.limits import UploadLimit

PREFIX = "/api"


def install_api(app: FastAPI, settings: Settings) -> None:
    """Add the ``/api`` routes to ``app``, and ``settings``' upload size limit."""
    token = settings.api_token
    protected = [Depends(token_guard(token.get_secret_value()))] if token else []
    app.include_router(health.router, prefix=PREFIX)
    app.include_router(spec.router, prefix=PREFIX)
    app.include_router(train.router, prefix=PREFIX, dependencies=protected)
    app.include_router(jobs.router, prefix=PREFIX, dependencies=protected)
    app.include_router(datasets.router, prefix=PREFIX, dependencies=protected)
    app.add_middleware(UploadLimit, path=f"{PREFIX}/datasets", limit=settings.max_upload_bytes)
