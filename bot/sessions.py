"""A session's row in the store, and the per-session lock that turns and feedback share."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from bot.errors import UnknownSessionError
from bot.store import Store


def session_row(store: Store, session_id: str) -> dict[str, Any]:
    """The session's row, or :class:`UnknownSessionError`."""
    row = store.get_session(session_id) if isinstance(session_id, str) else None
    if row is None:
        raise UnknownSessionError(f"unknown session {session_id!r}")
    return row


class SessionLocks:
    """One lock per session while someone holds or waits for it.

    Weak values, so a session's lock disappears when its last turn/feedback call ends (a server sees
    unbounded sessions). Callers keep a lock alive (and shared) by holding it in ``with``.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
        self._guard = threading.Lock()

    def __len__(self) -> int:
        """Sessions whose lock is held or waited for right now."""
        return len(self._locks)

    def __call__(self, session_id: str) -> threading.Lock:
        with self._guard:
            lock = self._locks.get(session_id)
            if lock is None:
                lock = threading.Lock()
                self._locks[session_id] = lock
            return lock
