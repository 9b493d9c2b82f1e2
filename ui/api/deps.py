"""Dependencies the routes annotate: the runtime, its agent, the turn pool, the caller's session.

Everything lives on ``app.state`` (set once by :func:`ui.api.build_api`), so routes stay thin and
tests can build an app around a fake runtime.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from bot.chat_agent import ChatAgent, ServedRuntime
from bot.settings import Settings
from ui.api.rate_limit import RateLimiter
from ui.api.session_keys import check_session_key
from ui.api.turn_pool import TurnPool


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_runtime(request: Request) -> ServedRuntime:
    return request.app.state.runtime


def get_agent(request: Request) -> ChatAgent:
    return request.app.state.runtime.agent


def get_pool(request: Request) -> TurnPool:
    return request.app.state.turn_pool


def get_site_key(request: Request) -> str | None:
    """The caller's site key, already checked against its origin by the site-key middleware."""
    return getattr(request.state, "site_key", None)


SettingsDep = Annotated[Settings, Depends(get_settings)]
RuntimeDep = Annotated[ServedRuntime, Depends(get_runtime)]
AgentDep = Annotated[ChatAgent, Depends(get_agent)]
PoolDep = Annotated[TurnPool, Depends(get_pool)]
SiteKeyDep = Annotated[str | None, Depends(get_site_key)]


async def get_session_id(
    session_id: Annotated[str, Path(min_length=1, max_length=128)],
    agent: AgentDep,
    site_key: SiteKeyDep,
) -> str:
    """The path's session id, after checking it exists and belongs to the caller's site key."""
    await run_in_threadpool(check_session_key, agent, session_id, site_key)
    return session_id


def limit_session(session_id: Annotated[str, Depends(get_session_id)], request: Request) -> str:
    """Like :func:`get_session_id`, and counts the request against the per-session rate limit."""
    settings: Settings = request.app.state.settings
    limiter: RateLimiter = request.app.state.rate_limiter
    limiter.hit(f"session:{session_id}", settings.rate_limit_per_session_per_minute, "this session")
    return session_id


SessionIdDep = Annotated[str, Depends(get_session_id)]
LimitedSessionIdDep = Annotated[str, Depends(limit_session)]
