"""What request handlers share: the services of the app (settings, stores, job manager,
event-stream slots) and the bearer-token check (FastAPI's ``HTTPBearer``, which also
documents the scheme in the OpenAPI schema of every route it guards; ``security.RequestGuard``
makes the same check before a body is read)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ssots.config import Settings
from ssots.errors import AuthenticationError
from ssots.jobs import JobManager
from ssots.jobs.scheduler import WebhookSender
from ssots.store import Database
from ssots.store.datasets import DatasetRegistry
from ssots.store.jobs import JobStore
from ssots.store.registry import ModelRegistry
from ssots.store.runs import RunStore
from ssots.web.limits import StreamSlots
from ssots.web.security import MISSING_TOKEN, ApiToken


@dataclass(frozen=True)
class Services:
    """Everything the handlers use, created once per app."""

    settings: Settings
    database: Database
    jobs: JobStore
    datasets: DatasetRegistry
    runs: RunStore
    models: ModelRegistry
    manager: JobManager | None
    streams: StreamSlots
    health_threads: anyio.CapacityLimiter
    """Threads of the health check, apart from the pool the other handlers share."""
    sender: WebhookSender | None = None
    """The webhook sender (None: this server sends none; another one does)."""

    def webhooks_changed(self) -> None:
        """Tell the webhook sender to look for due deliveries now."""
        if self.sender is not None:
            self.sender.wake()

    def jobs_changed(self) -> None:
        """Tell the job manager to look at the queue now (jobs are picked up anyway)."""
        if self.manager is not None:
            self.manager.wake()


async def get_services(request: Request) -> Services:
    """The app's services."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


bearer = HTTPBearer(
    scheme_name="bearer",
    description="the server's SSOTS_API_TOKEN",
    auto_error=False,  # a missing token answers like a wrong one: AuthenticationError
)
"""The ``Authorization: Bearer <token>`` header, as the ``bearer`` security scheme."""

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def token_guard(
    token: ApiToken,
) -> Callable[[HTTPAuthorizationCredentials | None], Awaitable[None]]:
    """A dependency requiring ``Authorization: Bearer <token>`` (compared in constant
    time).

    Raises (from the dependency):
        AuthenticationError: the token is missing or wrong (401).
    """

    async def require_token(credentials: Credentials) -> None:
        given = None if credentials is None else f"Bearer {credentials.credentials}"
        if not token.accepts(given):
            raise AuthenticationError(MISSING_TOKEN)

    return require_token
