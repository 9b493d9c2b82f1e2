"""The interface every entry point calls: the chat agent (and the runtime that serves it).

:class:`bot.agent.Agent` is the implementation; the API, the Gradio controller, ``recbot chat`` and
the evaluators are annotated with :class:`ChatAgent`, so they depend on these methods only (tests
hand them small fakes with the same methods).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from bot.types import Constraints, TurnEvent, TurnResult
from cf_engine.data.catalog import Dataset


class ChatAgent(Protocol):
    """Sessions, turns and feedback. Errors are ``bot.errors`` exceptions (UIs translate them)."""

    def create_session(
        self, user_id: str | int | None = None, site_key: str | None = None, session_id: str | None = None
    ) -> str:
        """A new session id (with the user's earlier preferences when ``user_id`` is known)."""
        ...

    def has_session(self, session_id: str) -> bool: ...

    def session(self, session_id: str) -> dict[str, Any]:
        """The session's state, its ``turns`` (each with ``turn_id``, ``message``, ``reply``,
        ``recommendations``) and its ``feedback`` events."""
        ...

    def turn(
        self,
        session_id: str,
        message: str,
        constraints: Constraints | None = None,
        template_only: bool = False,
    ) -> TurnResult: ...

    def turn_stream(
        self,
        session_id: str,
        message: str,
        constraints: Constraints | None = None,
        template_only: bool = False,
    ) -> Iterator[str | TurnResult]:
        """Reply text chunks, then the :class:`TurnResult` (last); the message is checked at call time."""
        ...

    def turn_events(
        self,
        session_id: str,
        message: str,
        constraints: Constraints | None = None,
        template_only: bool = False,
    ) -> Iterator[TurnEvent]:
        """:meth:`turn_stream` with the cards: text chunks, the ranked list, each card once its
        explanation is validated, then the :class:`TurnResult` (last)."""
        ...

    def feedback(
        self,
        session_id: str,
        item_id: int | None,
        kind: str,
        event_id: str | None = None,
        value: float | None = None,
    ) -> dict[str, Any]: ...


class ServedRuntime(Protocol):
    """What the UIs use of :class:`bot.runtime.Runtime`."""

    @property
    def agent(self) -> ChatAgent: ...

    @property
    def dataset(self) -> Dataset: ...

    def health(self) -> dict[str, dict[str, str]]: ...
