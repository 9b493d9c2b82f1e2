"""A small in-memory runtime with the agent's public methods, for fast API and UI unit tests.

It follows the agent contract (create_session / turn / turn_stream / turn_events / feedback / session and the
bot.errors exceptions) over a ten-item catalog. Items with negative feedback never come back, and a
turn never repeats the previous turn's items, so tests can see feedback change the next turn.
End-to-end tests use the real ``bot.runtime.Runtime`` instead.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pandas as pd

from bot.errors import InvalidInputError, ItemNotShownError, UnknownSessionError
from bot.types import CardReady, FeedbackKind, RankedItem, RankedList, Recommendation, TurnEvent, TurnResult
from cf_engine.data.catalog import Catalog, Dataset, Item

HOSTILE = '<img src=x onerror="window.__pwned=1">'

# How long the gated last card waits for the client to show the first one: a test that sees the gate
# time out (``gate_opened == [False]``) has caught cards that were not streamed.
GATE_TIMEOUT_S = 30.0

NEGATIVE = {FeedbackKind.DOWN, FeedbackKind.SEEN, FeedbackKind.NOT_INTERESTED}


def fake_catalog(hostile: bool = False) -> Catalog:
    titles = [
        ("Toy Story", 1995, ("Animation", "Comedy")),
        ("Heat", 1995, ("Action", "Crime")),
        ("Alien", 1979, ("Horror", "Sci-Fi")),
        ("Amelie", 2001, ("Comedy", "Romance")),
        ("Fargo", 1996, ("Crime", "Drama")),
        ("Spirited Away", 2001, ("Animation", "Fantasy")),
        ("The Matrix", 1999, ("Action", "Sci-Fi")),
        ("Casablanca", 1942, ("Drama", "Romance")),
        ("Up", 2009, ("Animation", "Adventure")),
        ("Se7en", 1995, ("Crime", "Thriller")),
    ]
    items = [
        Item(item_id=i + 1, title=t, year=y, genres=g, tags=("classic",))
        for i, (t, y, g) in enumerate(titles)
    ]
    if hostile:
        items[0] = Item(item_id=1, title=f"Toy Story {HOSTILE}", year=1995, genres=("Animation",))
    return Catalog(items)


class FakeAgent:
    """The agent's contract over an in-memory session table."""

    def __init__(
        self,
        catalog: Catalog,
        delay_s: float = 0.0,
        hostile_reply: bool = False,
        n: int = 3,
        token_delay_s: float = 0.0,
        last_card_gate: threading.Event | None = None,
    ) -> None:
        self.catalog = catalog
        self.delay_s = delay_s
        self.token_delay_s = token_delay_s
        self.hostile_reply = hostile_reply
        self.last_card_gate = last_card_gate
        self.gate_opened: list[bool] = []  # one per gated turn: did the gate open before the timeout?
        self.n = n
        self.sessions: dict[str, dict[str, Any]] = {}
        self.turn_calls = 0
        self.template_only_flags: list[bool] = []  # one per turn: did the API shed the LLM?
        self.max_parallel = 0
        self._running = 0
        self._lock = threading.Lock()

    def create_session(self, user_id: int | None = None, site_key: str | None = None) -> str:
        if user_id is not None and user_id > 1000:
            raise InvalidInputError(f"unknown user id {user_id}")
        session_id = uuid.uuid4().hex
        self.sessions[session_id] = {
            "user_id": user_id,
            "site_key": site_key,
            "turns": [],
            "feedback": [],
            "shown": [],
        }
        return session_id

    def _get(self, session_id: str) -> dict[str, Any]:
        try:
            return self.sessions[session_id]
        except KeyError:
            raise UnknownSessionError(f"unknown session {session_id!r}") from None

    def turn(
        self, session_id: str, message: str, constraints: Any = None, template_only: bool = False
    ) -> TurnResult:
        result: TurnResult | None = None
        for part in self.turn_events(session_id, message, constraints, template_only):
            if isinstance(part, TurnResult):
                result = part
        assert result is not None
        return result

    def turn_stream(
        self, session_id: str, message: str, constraints: Any = None, template_only: bool = False
    ) -> Iterator[str | TurnResult]:
        events = self.turn_events(session_id, message, constraints, template_only)
        return (e for e in events if isinstance(e, str | TurnResult))

    def turn_events(
        self, session_id: str, message: str, constraints: Any = None, template_only: bool = False
    ) -> Iterator[TurnEvent]:
        state = self._get(session_id)
        if not message.strip():
            raise InvalidInputError("message is empty")
        return self._events(state, session_id, message, template_only)

    def _events(
        self, state: dict[str, Any], session_id: str, message: str, template_only: bool
    ) -> Iterator[TurnEvent]:
        with self._lock:
            self.turn_calls += 1
            self.template_only_flags.append(template_only)
            self._running += 1
            self.max_parallel = max(self.max_parallel, self._running)
        try:
            time.sleep(self.delay_s)
            blocked = {e["item_id"] for e in state["feedback"] if e["kind"] in NEGATIVE}
            last = set(state["shown"][-1]) if state["shown"] else set()
            picks = [it for it in self.catalog if it.item_id not in blocked and it.item_id not in last][
                : self.n
            ]
            turn_id = len(state["turns"]) + 1
            state["shown"].append([it.item_id for it in picks])  # known before any card is sent
            reply = "Here are a few picks for you."
            if self.hostile_reply:
                reply = f"Try this {HOSTILE} one."
            for word in reply.split(" "):
                time.sleep(self.token_delay_s)
                yield word + " "
            if picks:
                yield RankedList(
                    session_id, turn_id, [RankedItem(it.item_id, it.title, it.year) for it in picks]
                )
            recs = []
            for k, it in enumerate(picks):
                if k == len(picks) - 1 and self.last_card_gate is not None:
                    # the slow explainer: the last card waits until the client has shown the first
                    self.gate_opened.append(self.last_card_gate.wait(timeout=GATE_TIMEOUT_S))
                explanation = f"Because you asked for {message[:20]}: {it.title} is {'/'.join(it.genres)}."
                recs.append(
                    Recommendation(
                        item_id=it.item_id,
                        title=it.title,
                        year=it.year,
                        genres=list(it.genres),
                        explanation=explanation,
                        explanation_source="template",
                        score=1.0 - 0.1 * k,
                        evidence={"genres": list(it.genres), "matched_tags": ["classic"], "neighbours": []},
                    )
                )
                yield CardReady(session_id, turn_id, k, recs[-1])
            result = TurnResult(
                session_id=session_id,
                turn_id=turn_id,
                reply=reply.strip(),
                question=None,
                recommendations=recs,
                latency_ms={"total": 1000 * self.delay_s},
            )
            state["turns"].append(
                {
                    "turn_id": result.turn_id,
                    "message": message,
                    "reply": result.reply,
                    "recommendations": [asdict(r) for r in recs],
                }
            )
            yield result
        finally:
            with self._lock:
                self._running -= 1

    def feedback(
        self,
        session_id: str,
        item_id: int | None,
        kind: str,
        event_id: str | None = None,
        value: float | None = None,
    ) -> dict[str, Any]:
        state = self._get(session_id)
        try:
            kind = FeedbackKind(kind)
        except ValueError:
            raise InvalidInputError(f"unknown feedback kind {kind!r}") from None
        if kind not in (FeedbackKind.REPLY_UP, FeedbackKind.REPLY_DOWN) and item_id not in self.catalog:
            raise ItemNotShownError(f"item {item_id!r} was never shown in this session")
        for event in state["feedback"]:
            if event_id is not None and event["event_id"] == event_id:
                return event
        event = {
            "event_id": event_id or uuid.uuid4().hex,
            "session_id": session_id,
            "item_id": item_id,
            "kind": str(kind),
            "value": value,
        }
        state["feedback"].append(event)
        return event

    def session(self, session_id: str) -> dict[str, Any]:
        state = self._get(session_id)
        return {
            "session_id": session_id,
            "user_id": state["user_id"],
            "site_key": state["site_key"],
            "turns": state["turns"],
            "feedback": state["feedback"],
        }


class FakeRuntime:
    """What the UI uses of ``bot.runtime.Runtime``: ``agent``, ``dataset`` and ``health()``."""

    def __init__(self, hostile_title: bool = False, **agent_kwargs: Any) -> None:
        catalog = fake_catalog(hostile_title)
        interactions = pd.DataFrame(
            {"user_id": [1, 1, 2], "item_id": [1, 2, 3], "rating": [5.0, 4.0, 3.0], "timestamp": [0, 0, 0]}
        )
        self.dataset = Dataset(name="fake", catalog=catalog, interactions=interactions)
        self.agent = FakeAgent(catalog, **agent_kwargs)

    def health(self) -> dict[str, Any]:
        return {
            part: {"status": "ok", "detail": "fake"} for part in ("dataset", "cf", "index", "llm", "store")
        }
