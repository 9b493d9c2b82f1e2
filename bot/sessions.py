"""A session's row in the store (the per-session lock is the store's own ``session_lock``)."""

from __future__ import annotations

from typing import Any

from bot.errors import UnknownSessionError
from bot.store import SessionStore


def session_row(store: SessionStore, session_id: str) -> dict[str, Any]:
    """The session's row, or :class:`UnknownSessionError`."""
    row = store.get_session(session_id) if isinstance(session_id, str) else None
    if row is None:
        raise UnknownSessionError(f"unknown session {session_id!r}")
    return row
