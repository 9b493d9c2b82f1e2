"""The JSON API under ``/api/v1``: a FastAPI sub-application that only wires routers together."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from bot.chat_agent import ServedRuntime
from bot.settings import Settings
from ui.api import feedback, health, items, messages, sessions
from ui.api.errors import install_error_handlers
from ui.api.rate_limit import RateLimiter
from ui.api.request_id import RequestIdMiddleware
from ui.api.schemas import SSE_EVENTS
from ui.api.site_keys import SiteKeyMiddleware
from ui.api.turn_pool import TurnPool

API_PREFIX = "/api/v1"


def build_api(settings: Settings, runtime: ServedRuntime) -> FastAPI:
    """The API app around ``runtime`` (a ``bot.runtime.Runtime`` or a test fake with its methods)."""
    api = FastAPI(
        title="recbot API",
        version="1",
        summary="Conversational recommendations: sessions, messages (JSON or SSE), feedback, items.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    api.state.settings = settings
    api.state.runtime = runtime
    api.state.turn_pool = TurnPool(settings.api_turn_workers, settings.api_queue_size)
    api.state.rate_limiter = RateLimiter()
    for module in (sessions, messages, feedback, items, health):
        api.include_router(module.router)
    install_error_handlers(api)
    api.add_middleware(
        SiteKeyMiddleware,
        site_keys=settings.site_keys,
        limiter=api.state.rate_limiter,
        per_key_per_minute=settings.rate_limit_per_key_per_minute,
    )
    # Outermost, so refusals by the site-key middleware carry a request id too.
    api.add_middleware(RequestIdMiddleware)
    _document_limits(api, settings)
    return api


def _document_limits(api: FastAPI, settings: Settings) -> None:
    """Put this server's own limits into its OpenAPI document (a contract clients generate from).

    The request models carry generous outer bounds; the configured message limit is checked in the
    route, so the document states it too, or a client would send what the schema allows and get a 422.
    """
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = generate()
            message = schema["components"]["schemas"]["MessageIn"]["properties"]["message"]
            message["maxLength"] = min(message["maxLength"], settings.max_message_chars)
            _document_stream_events(schema)
        return api.openapi_schema or schema

    api.openapi = openapi  # type: ignore[method-assign]


def _document_stream_events(schema: dict[str, Any]) -> None:
    """Name each SSE event's data schema on the messages route (``x-sse-events``: event -> $ref).

    OpenAPI 3.1 has no way to type the items of a ``text/event-stream`` body, so the stream stays
    ``type: string`` and an extension maps each event name to a component schema.
    """
    components = schema["components"]["schemas"]
    events: dict[str, Any] = {}
    for name, model in SSE_EVENTS.items():
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in model_schema.pop("$defs", {}).items():
            components.setdefault(def_name, definition)
        components.setdefault(model.__name__, model_schema)
        events[name] = {"$ref": f"#/components/schemas/{model.__name__}"}
    route = schema["paths"]["/sessions/{session_id}/messages"]["post"]
    route["responses"]["200"]["content"]["text/event-stream"]["x-sse-events"] = events
