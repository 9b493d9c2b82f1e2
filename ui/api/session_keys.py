"""Sessions are bound to the site key they were created with, so a session cannot cross sites.

The agent records the creating key with the session (``create_session(..., site_key=...)``); a
session created by the widget on site A (key A) is refused when presented with key B or with no
key, and a keyless session (same-origin page, curl, the Gradio UI) is refused with any key.
"""

from __future__ import annotations

from bot.chat_agent import ChatAgent


class SessionKeyMismatchError(Exception):
    """The session was created under another site key (or without one)."""


def check_session_key(agent: ChatAgent, session_id: str, site_key: str | None) -> None:
    """:class:`SessionKeyMismatchError` unless ``session_id`` was created under ``site_key``.

    An unknown session raises the agent's ``UnknownSessionError`` (404) instead.
    """
    owner = agent.session(session_id).get("site_key")
    if owner != site_key:
        where = "another site key" if owner else "no site key (it is not a widget session)"
        raise SessionKeyMismatchError(f"session {session_id} was created with {where}")
