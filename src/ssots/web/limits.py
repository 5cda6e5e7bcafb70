"""The upload size limit, enforced while the body streams in: a declared Content-Length
over the limit is refused before reading anything, and a body that grows past it is cut
off as soon as it does. Either way the client gets 413 with a JSON message."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
