"""Create a session, and read one back (its turns and feedback events)."""

from __future__ import annotations

from fastapi import APIRouter, status
from starlette.concurrency import run_in_threadpool

from ui.api.deps import AgentDep, SessionIdDep, SiteKeyDep
from ui.api.schemas import BODY_ERRORS, PARAM_ERRORS, ErrorOut, SessionCreate, SessionCreated, SessionOut

router = APIRouter(tags=["sessions"])


@router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionCreated,
    responses={404: {"model": ErrorOut}, **BODY_ERRORS},
)
async def create_session(
    agent: AgentDep, site_key: SiteKeyDep, body: SessionCreate | None = None
) -> SessionCreated:
    """Start a conversation, as a new visitor (no ``user_id``) or as a known MovieLens user."""
    user_id = body.user_id if body else None
    # The agent records the key with the session; later requests must present the same key.
    session_id = await run_in_threadpool(lambda: agent.create_session(user_id, site_key=site_key))
    return SessionCreated(session_id=session_id, user_id=user_id)


@router.get(
    "/sessions/{session_id}",
    response_model=SessionOut,
    responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}, **PARAM_ERRORS},
)
async def read_session(session_id: SessionIdDep, agent: AgentDep) -> SessionOut:
    """The session's turns and feedback events (each with its ``event_id``)."""
    data = await run_in_threadpool(agent.session, session_id)
    return SessionOut.model_validate({"session_id": session_id, **data})
