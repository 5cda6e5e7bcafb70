"""The service's limits on what clients hold: the upload size, enforced while the body
streams in (a declared Content-Length over the limit is refused before reading anything,
and a body that grows past it is cut off as soon as it does; either way 413 with a JSON
message), and the number of open event streams, in total and per client address (429
with Retry-After beyond either)."""

from __future__ import annotations

from collections import Counter

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ssots.errors import QueueFullError

MULTIPART_OVERHEAD = 64 * 1024
"""Bytes a multipart body may carry beyond the file itself (boundaries, headers, name)."""


def too_large(limit: int) -> str:
    """The message of a 413 for a limit of ``limit`` bytes."""
    return (
        f"the upload is larger than the limit of {limit // (1024 * 1024)} MB; send a "
        "smaller file, or raise SSOTS_MAX_UPLOAD_MB on the server"
    )


class UploadLimit:
    """ASGI middleware limiting the bodies of ``POST path`` to ``limit`` bytes of file
    (plus multipart overhead).

    Args:
        app: the wrapped application.
        path: the upload route.
        limit: the largest accepted file, bytes.
    """

    def __init__(self, app: ASGIApp, *, path: str, limit: int) -> None:
        self.app = app
        self.path = path
        self.limit = limit
        self.body_limit = limit + MULTIPART_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass other requests through; watch the upload route's body."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.body_limit:
            await JSONResponse({"detail": too_large(self.limit)}, 413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.body_limit:
                # Transport, not a domain case: raised while FastAPI reads the form, where
                # any other exception would become its generic 400 "error parsing the body".
                raise HTTPException(413, too_large(self.limit))
            return message

        await self.app(scope, counted, send)


class StreamLimitError(QueueFullError):
    """Too many event streams are open (in total or from the client): 429 with
    Retry-After, like a full job queue."""


class StreamSlots:
    """Counts of open event streams, in total and per client; used on the event loop only.

    Args:
        total: most streams open at once.
        per_client: most streams one client address holds open.
    """

    def __init__(self, *, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self.open: Counter[str] = Counter()

    def acquire(self, client: str) -> None:
        """Take a slot for ``client``.

        Raises:
            StreamLimitError: the server or the client has as many streams as allowed.
        """
        if self.open[client] >= self.per_client:
            raise StreamLimitError(
                f"this client already follows {self.open[client]} event streams (the limit, "
                "SSOTS_MAX_STREAMS_PER_CLIENT); close one, or poll GET /api/train?jobId="
            )
        if self.open.total() >= self.total:
            raise StreamLimitError(
                f"the server already serves {self.total} event streams (the limit, "
                "SSOTS_MAX_STREAMS); retry later, or poll GET /api/train?jobId="
            )
        self.open[client] += 1

    def release(self, client: str) -> None:
        """Give ``client``'s slot back."""
        self.open[client] -= 1
        if self.open[client] <= 0:
            del self.open[client]
