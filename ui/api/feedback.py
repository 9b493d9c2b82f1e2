"""Record feedback on a recommendation (or on a whole reply); idempotent on the client's event id."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from ui.api.deps import AgentDep, LimitedSessionIdDep
from ui.api.schemas import BODY_ERRORS, ErrorOut, FeedbackIn, FeedbackOut

router = APIRouter(tags=["feedback"])


@router.post(
    "/sessions/{session_id}/feedback",
    response_model=FeedbackOut,
    responses={
        403: {"model": ErrorOut},
        404: {"model": ErrorOut},
        409: {"model": ErrorOut, "description": "The item was never shown in this session."},
        429: {"model": ErrorOut},
        **BODY_ERRORS,
    },
)
async def post_feedback(session_id: LimitedSessionIdDep, body: FeedbackIn, agent: AgentDep) -> FeedbackOut:
    """Thumbs up/down, seen it, not interested, click, rating, or reply_up/reply_down.

    Sending the same ``event_id`` again (a retry after a lost answer) records the event once and
    returns the stored event. Event ids are scoped to the session: the same id in another session
    is simply a different event there (it neither fails nor reveals the other session's event).
    """
    event = await run_in_threadpool(
        agent.feedback, session_id, body.item_id, body.kind, body.event_id, body.value
    )
    if event.get("session_id") not in (None, session_id):
        # Defence in depth: the agent dedupes per session (bot/migrations/0003), so this cannot
        # happen; if it ever did, never hand another session's event (and id) back.
        raise HTTPException(409, "event_id is already used by another session; send a new one")
    return FeedbackOut.model_validate(event)
