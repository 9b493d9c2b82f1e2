"""Give every API request an id: the client's ``X-Request-ID`` when acceptable, else a fresh one.

The id is set in :data:`bot.logs.request_id_var` for everything the request does (the turn pool
copies the context into its worker thread), returned in the ``X-Request-ID`` response header, and
one ``request`` log line records method, path, status and duration.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.logs import accept_request_id, request_context

HEADER = b"x-request-id"
log = logging.getLogger("recbot.api")


class RequestIdMiddleware:
    """Pure ASGI middleware (no response buffering, so SSE streams pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == HEADER), None)
        status = {"code": 0}
        start = time.perf_counter()
        with request_context(accept_request_id(sent)) as rid:

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                    message = dict(message)
                    message["headers"] = [*message.get("headers", []), (HEADER, rid.encode())]
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            finally:
                log.info(
                    "request",
                    extra={
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status["code"],
                        "ms": round((time.perf_counter() - start) * 1000, 1),
                    },
                )
