"""Send a message and get the turn's reply: one JSON object, or a token stream (SSE).

With ``Accept: text/event-stream`` the answer is a stream of events (``event: NAME`` then
``data: JSON``; the schemas are in ``ui.api.schemas.SSE_EVENTS`` and in the OpenAPI document):

* ``token`` ``{"text"}``: the next piece of the reply text, as before;
* ``ranked`` ``{"session_id", "turn_id", "items"}``: the items the turn will show, in order, once
  the turn is recorded (feedback on them is accepted from then on);
* ``card`` ``{"session_id", "turn_id", "index", "recommendation"}``: one card, sent as soon as its
  explanation passed the validator, so the first card shows before the last one is written;
* ``result``: last, the same object the JSON answer would be (clients that only know ``token``
  and ``result`` keep working).

Errors found before the first event (unknown session, bad input, busy) are plain HTTP errors; an
error after streaming began arrives as ``event: error`` (data ``{"status", "detail"}``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from bot.turn import check_message
from bot.types import CardReady, RankedList, TurnEvent, TurnResult
from ui.api.deps import AgentDep, LimitedSessionIdDep, PoolDep, SettingsDep
from ui.api.errors import error_detail, error_status
from ui.api.schemas import BODY_ERRORS, ErrorOut, MessageIn, TurnOut

router = APIRouter(tags=["messages"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.post(
    "/sessions/{session_id}/messages",
    response_model=TurnOut,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": (
                "The turn (JSON), or with `Accept: text/event-stream` a stream of events: `token` (reply"
                " text), `ranked` (the items to be shown, in order), one `card` per recommendation as"
                " soon as its explanation is validated, then `result` (the same object as the JSON"
                " answer); `error` if the turn fails after the stream began. Each event's data schema"
                " is named in `x-sse-events`."
            ),
        },
        403: {"model": ErrorOut},
        404: {"model": ErrorOut},
        429: {"model": ErrorOut},
        503: {"model": ErrorOut},
        **BODY_ERRORS,
    },
)
async def post_message(
    session_id: LimitedSessionIdDep,
    body: MessageIn,
    request: Request,
    agent: AgentDep,
    pool: PoolDep,
    settings: SettingsDep,
) -> Any:
    """One turn of the conversation."""
    message = body.message
    check_message(message, settings.max_message_chars)  # before queueing: the agent's own rule
    # Load shedding: behind a deep queue the LLM would make every waiting visitor slower still.
    template_only = pool.in_flight >= settings.api_llm_max_queue
    if "text/event-stream" not in request.headers.get("accept", ""):
        result: TurnResult = await pool.run(agent.turn, session_id, message, None, template_only)
        return result.to_dict()

    events = pool.stream(lambda: agent.turn_events(session_id, message, template_only=template_only))
    # Wait for the first event before answering, so errors raised at once (unknown session,
    # bad input, pool full) become ordinary 4xx/503 answers instead of a broken stream.
    try:
        first = await anext(events)
    except StopAsyncIteration:
        first = None
    return StreamingResponse(_sse(first, events), media_type="text/event-stream", headers=SSE_HEADERS)


async def _sse(first: TurnEvent | None, rest: AsyncGenerator[TurnEvent, None]) -> AsyncIterator[bytes]:
    try:
        if first is not None:
            yield _event(first)
        async for item in rest:
            yield _event(item)
    except Exception as exc:  # after the 200 went out, an error can only be another event
        status, _ = error_status(exc)
        yield _format("error", {"status": status, "detail": error_detail(exc)})
    finally:
        await rest.aclose()


def _event(item: TurnEvent) -> bytes:
    if isinstance(item, TurnResult):
        return _format("result", item.to_dict())
    if isinstance(item, CardReady):
        return _format("card", item.to_dict())
    if isinstance(item, RankedList):
        return _format("ranked", item.to_dict())
    return _format("token", {"text": item})


def _format(event: str, data: dict[str, Any]) -> bytes:
    # JSON keeps newlines inside a token from ending the SSE event early.
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
