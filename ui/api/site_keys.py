"""Site keys and CORS for the JSON API: which other websites may call it, and how often.

``settings.site_keys`` maps a key to the origins allowed to use it, e.g.
``{"demo-key": ["https://shop.example"]}``. A browser on another origin must send the key in the
``X-Recbot-Key`` header from one of that key's origins; then, and only then, the answer carries
``Access-Control-Allow-Origin`` for that origin. Because the allowed origin depends on the key,
this is a small middleware rather than Starlette's fixed-list ``CORSMiddleware``. A preflight
cannot carry the key's value (browsers send only the header's name), so it is answered for any
origin that some key allows; the real request then checks the pair.

Same-origin requests (the app's own pages) and clients that send no ``Origin`` (curl, servers)
need no key. The middleware also applies the per-key rate limit and records the caller's key in
``request.state.site_key`` for the routes (session binding, per-session limits).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ui.api.rate_limit import RateLimitedError, RateLimiter

KEY_HEADER = "x-recbot-key"
ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type, Accept, X-Recbot-Key, X-Request-ID"
PREFLIGHT_MAX_AGE_S = "600"


def normalise_origin(origin: str) -> str:
    """``HTTPS://Shop.Example/`` -> ``https://shop.example`` (how browsers send the header)."""
    return origin.strip().rstrip("/").lower()


class SiteKeyMiddleware:
    """Per-key CORS, site-key checks and the per-key rate limit, for one ASGI (sub)application."""

    def __init__(
        self,
        app: ASGIApp,
        site_keys: dict[str, list[str]],
        limiter: RateLimiter,
        per_key_per_minute: int,
    ) -> None:
        self.app = app
        self.site_keys = {key: {normalise_origin(o) for o in origins} for key, origins in site_keys.items()}
        self.any_allowed: set[str] = set().union(*self.site_keys.values()) if self.site_keys else set()
        self.limiter = limiter
        self.per_key_per_minute = per_key_per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        key = headers.get(KEY_HEADER) or None
        cross_origin = origin is not None and normalise_origin(origin) != _own_origin(scope, headers)
        origin_n = normalise_origin(origin) if origin else None
        # Error answers carry CORS headers only for origins some key allows, so a configured
        # widget can show why it was refused while unknown sites learn nothing.
        readable = origin if origin_n in self.any_allowed else None

        if cross_origin and scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            if origin_n in self.any_allowed:
                await _respond(send, 204, None, _cors_headers(origin, preflight=True))
            else:
                await _respond(send, 403, f"origin {origin} is not allowed by any site key", [])
            return

        if key is not None and key not in self.site_keys:
            await _respond(send, 403, "unknown site key", _cors_headers(readable))
            return
        if cross_origin:
            if key is None:
                await _respond(
                    send,
                    403,
                    "cross-origin requests need a site key in the X-Recbot-Key header",
                    _cors_headers(readable),
                )
                return
            if origin_n not in self.site_keys[key]:
                await _respond(
                    send, 403, f"origin {origin} is not allowed for this site key", _cors_headers(readable)
                )
                return
        if key is not None:
            try:
                self.limiter.hit(f"key:{key}", self.per_key_per_minute, "this site key")
            except RateLimitedError as exc:
                extra = [(b"retry-after", str(exc.retry_after).encode())]
                await _respond(send, 429, str(exc), _cors_headers(origin if cross_origin else None) + extra)
                return

        scope.setdefault("state", {})["site_key"] = key
        if not cross_origin:
            await self.app(scope, receive, send)
            return
        allow = _cors_headers(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + allow
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _own_origin(scope: Scope, headers: dict[str, str]) -> str:
    host = headers.get("host")
    if host is None and scope.get("server"):
        server_host, server_port = scope["server"]
        host = f"{server_host}:{server_port}"
    return normalise_origin(f"{scope.get('scheme', 'http')}://{host}")


def _cors_headers(origin: str | None, preflight: bool = False) -> list[tuple[bytes, bytes]]:
    if origin is None:
        return []
    headers = [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"vary", b"Origin"),
        (b"access-control-expose-headers", b"Retry-After, X-Request-ID"),
    ]
    if preflight:
        headers += [
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE_S.encode()),
        ]
    return headers


async def _respond(
    send: Send, status: int, detail: str | None, headers: Iterable[tuple[bytes, bytes]]
) -> None:
    body = b"" if detail is None else json.dumps({"detail": detail}).encode()
    all_headers: list[Any] = list(headers)
    if detail is not None:
        all_headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})
