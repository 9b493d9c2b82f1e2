"""Structured logs: one JSON object per line, each carrying the id of the request (turn) it belongs to.

Why: a failed turn on someone else's website is reported as "it said something odd at 14:02"; the
request id (returned to the client as ``X-Request-ID``, shown in the widget's network tab) finds
every line that turn wrote, across the API, the agent, the blender and the explainer.

* :data:`request_id_var` is a :class:`contextvars.ContextVar`, so concurrent requests on the event
  loop and on worker threads never mix their ids (the API's turn pool copies the context into the
  worker thread that runs the turn).
* :func:`request_context` sets it for a block; the API middleware (``ui.api.request_id``) does that
  per HTTP request, the agent per turn when nobody did (CLI, evaluators).
* :func:`setup_logging` installs :class:`JsonFormatter` (or a readable text format) on the root logger,
  once; ``recbot serve`` calls it with ``settings.log_level`` / ``settings.log_format``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

request_id_var: ContextVar[str | None] = ContextVar("recbot_request_id", default=None)

# What a client may send as its own request id: short, no spaces or quotes, so it can neither break
# a log line nor smuggle a header. Anything else is replaced by a fresh id.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")
# LogRecord attributes that are not "extra" fields.
_STANDARD = set(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__) | {"message", "asctime"}
_HANDLER_NAME = "recbot-structured"


def new_request_id() -> str:
    """A fresh, random request id (16 hex characters)."""
    return uuid.uuid4().hex[:16]


def accept_request_id(value: str | None) -> str:
    """``value`` when it is an acceptable client-supplied id, else a fresh one."""
    if value is not None and _CLIENT_ID.match(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    """The request id of the running request or turn, or None outside one."""
    return request_id_var.get()


@contextmanager
def request_context(request_id: str | None = None) -> Iterator[str]:
    """Run a block under ``request_id`` (a fresh one when None); yields the id in force."""
    rid = request_id or new_request_id()
    token = request_id_var.set(rid)
    try:
        yield rid
    finally:
        request_id_var.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` from the context (an explicit ``extra={"request_id": ...}`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, request_id, any extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in data and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Readable one-line format for terminals: ``LEVEL logger [request id] message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get() or "-"
        return super().format(record)


def setup_logging(
    level: str | int = "INFO", fmt: str = "json", stream: IO[str] | None = None
) -> logging.Handler:
    """Log to ``stream`` (stderr) in ``fmt`` ("json" or "text") at ``level``; idempotent.

    Replaces the handler a previous call installed, leaves other handlers (pytest's) alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    return handler
