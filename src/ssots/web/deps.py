"""What request handlers share: the services of the app (settings, stores, job manager)
and the bearer-token check."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from ssots.config import Settings
from ssots.jobs import JobManager
from ssots.store import Database
from ssots.store.datasets import DatasetRegistry
from ssots.store.jobs import JobStore


@dataclass(frozen=True)
class Services:
    """Everything the handlers use, created once per app."""

    settings: Settings
    database: Database
    jobs: JobStore
    datasets: DatasetRegistry
    manager: JobManager | None

    def jobs_changed(self) -> None:
        """Tell the job manager to look at the queue now (jobs are picked up anyway)."""
        if self.manager is not None:
            self.manager.wake()


async def get_services(request: Request) -> Services:
    """The app's services."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def token_guard(token: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency requiring ``Authorization: Bearer <token>`` (compared in constant
    time).

    Raises (from the dependency):
        HTTPException: 401 when the token is missing or wrong.
    """
    expected = _digest(token)

    async def require_token(request: Request) -> None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(_digest(given.strip()), expected):
            raise HTTPException(
                status_code=401,
                detail="missing or wrong API token: send the header `Authorization: Bearer "
                "<token>` with the server's SSOTS_API_TOKEN",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_token


def _digest(text: str) -> bytes:
    """Equal-length digests, so the comparison does not reveal the token's length."""
    return hashlib.sha256(text.encode()).digest()
