"""Translate library exceptions into HTTP answers at the edge: 404, 409, 422, 403, 429, 503.

Library code raises precise exceptions and knows nothing about HTTP; this is the one place that
decides the status code and the message a client sees.
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from bot.errors import InvalidInputError, ItemNotShownError, StoreError, UnknownSessionError
from cf_engine.data.catalog import UnknownItemError
from ui.api.rate_limit import RateLimitedError
from ui.api.session_keys import SessionKeyMismatchError
from ui.api.turn_pool import PoolFullError

# How long a client should wait when every turn worker is busy and the wait line is full.
POOL_FULL_RETRY_AFTER_S = 5


def error_status(exc: BaseException) -> tuple[int, dict[str, str]]:
    """HTTP status and extra headers for an exception the API knows; (500, {}) otherwise."""
    if isinstance(exc, UnknownSessionError | UnknownItemError):
        return 404, {}
    if isinstance(exc, ItemNotShownError):  # well-formed, but the session's state refuses it
        return 409, {}
    if isinstance(exc, InvalidInputError):
        return 422, {}
    if isinstance(exc, SessionKeyMismatchError):
        return 403, {}
    if isinstance(exc, RateLimitedError):
        return 429, {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, PoolFullError):
        return 503, {"Retry-After": str(POOL_FULL_RETRY_AFTER_S)}
    if isinstance(exc, StoreError):  # the database stayed locked past the store's retries
        return 503, {"Retry-After": str(POOL_FULL_RETRY_AFTER_S)}
    return 500, {}


def error_detail(exc: BaseException) -> str:
    # KeyError subclasses repr their message in quotes; show the plain text.
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Register one handler per known exception type."""

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        status, headers = error_status(exc)
        return JSONResponse({"detail": error_detail(exc)}, status_code=status, headers=headers)

    for exc_type in (
        UnknownSessionError,
        UnknownItemError,
        InvalidInputError,
        SessionKeyMismatchError,
        RateLimitedError,
        PoolFullError,
        StoreError,
    ):
        app.add_exception_handler(exc_type, handle)

    async def invalid_request(_request: Request, exc: Exception) -> Response:
        # FastAPI's own answer, but ASCII-escaped JSON: an input holding a lone surrogate
        # ("\\ud800") cannot be encoded as UTF-8 and made the default handler fail with a 500.
        assert isinstance(exc, RequestValidationError)
        body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
        return Response(body, status_code=422, media_type="application/json")

    app.add_exception_handler(RequestValidationError, invalid_request)
