"""A scripted stand-in for bot.agent.Agent (create_session / turn / feedback) for runner unit tests."""

from __future__ import annotations

from collections.abc import Callable

from bot.types import Recommendation, TurnResult
from cf_engine.data.catalog import Item

Reply = Callable[[str, set[int]], tuple[list[Item], str | None]]


def recommendation(item: Item) -> Recommendation:
    return Recommendation(
        item_id=item.item_id,
        title=item.title,
        year=item.year,
        genres=list(item.genres),
        explanation="",
        explanation_source="template",
        score=1.0,
        evidence={},
    )


class FakeAgent:
    """Answers each message with ``reply(message, rejected_ids)`` -> (items to show, question)."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.rejected: set[int] = set()
        self.feedback_log: list[tuple[int, str]] = []
        self.turns = 0

    def create_session(self, user_id: int | None = None) -> str:
        return "s1"

    def turn(self, session_id: str, message: str) -> TurnResult:
        self.turns += 1
        items, question = self.reply(message, self.rejected)
        return TurnResult(
            session_id=session_id,
            turn_id=self.turns,
            reply="ok",
            question=question,
            recommendations=[recommendation(i) for i in items],
            latency_ms={"total": 1.0},
        )

    def feedback(
        self,
        session_id: str,
        item_id: int,
        kind: str,
        event_id: str | None = None,
        value: float | None = None,
    ) -> dict:
        self.feedback_log.append((item_id, kind))
        self.rejected.add(item_id)
        return {"ok": True}
