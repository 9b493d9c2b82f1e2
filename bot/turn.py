"""One turn as a record: the message rule, the one exact check of what may be shown, and the store.

:func:`check_message` is the rule every entry point applies to a message (the agent, and the API
before it queues a turn). A :class:`TurnRecord` collects what the turn produced; :meth:`admit` is
the single place that checks candidates against the session's hard constraints and exclusions
(the blend filters by the same rule, :func:`bot.recommend.constraints.satisfies`, and a violation
must never reach the user), and :meth:`record` writes the turn, logs it and returns its id.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.errors import InvalidInputError
from bot.explain.explainer import Explanation
from bot.explain.facts import display_title
from bot.logs import current_request_id, new_request_id
from bot.policy import Decision
from bot.recommend.constraints import satisfies
from bot.recommend.item_features import ItemFeatures
from bot.state import RECENT_OPENINGS, DialogueState
from bot.store import Store
from bot.types import Candidate, Evidence, Neighbour, Recommendation, TurnResult
from bot.understand.parser import ParsedMessage, clean_text

log = logging.getLogger("bot.agent")  # the turn line keeps its logger name


def check_message(message: object, max_chars: int) -> str:
    """The cleaned message, or :class:`InvalidInputError` (not a string, too long, empty).

    Lone surrogates (JSON "\\ud800") are not text and cannot be stored as UTF-8: dropped.
    """
    if not isinstance(message, str):
        raise InvalidInputError("message must be a string")
    if len(message) > max_chars:
        raise InvalidInputError(f"message is {len(message)} characters; the limit is {max_chars}")
    text = clean_text(message.encode("utf-8", "ignore").decode("utf-8"))
    if not text:
        raise InvalidInputError("message is empty: say what you'd like to watch, or name a movie you liked")
    return text


@dataclass
class TurnRecord:
    """What one turn said and showed, in the order it happened."""

    session_id: str
    message: str  # the cleaned message
    state: DialogueState  # the session's state after the message
    parsed: ParsedMessage
    started: float = field(default_factory=time.perf_counter)
    candidates: list[Candidate] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    explanations: list[Explanation] = field(default_factory=list)
    chunks: list[str] = field(default_factory=list)  # the reply as streamed
    question: str | None = None
    latency_ms: dict[str, float] = field(default_factory=dict)
    turn_id: int = 0

    def admit(self, candidates: list[Candidate], features: ItemFeatures, limit: int) -> list[Candidate]:
        """The candidates that may be shown: not excluded, every hard constraint met; at most ``limit``."""
        excluded = set(self.state.excluded())
        constraints = self.state.constraints
        kept = []
        for c in candidates:
            item = features.catalog.get(c.item_id)
            if c.item_id in excluded or not satisfies(item, features.stats_of(c.item_id), constraints):
                log.error("blender returned item %s that is excluded or violates %s", c.item_id, constraints)
                continue
            kept.append(c)
        self.candidates = kept[:limit]
        return self.candidates

    def say(self, text: str) -> str:
        """Add ``text`` to the reply (and hand it back, to be streamed)."""
        self.chunks.append(text)
        return text

    def add(self, candidate: Candidate, explanation: Explanation, features: ItemFeatures) -> None:
        """One shown recommendation with its explanation."""
        item = features.catalog.get(candidate.item_id)
        self.explanations.append(explanation)
        self.recommendations.append(
            Recommendation(
                item_id=candidate.item_id,
                title=display_title(item.title),
                year=item.year,
                genres=list(item.genres),
                explanation=explanation.text,
                explanation_source=explanation.source,
                score=candidate.score,
                evidence=asdict(candidate.evidence),
            )
        )

    @property
    def reply(self) -> str:
        return "".join(self.chunks).strip()

    def record(self, store: Store) -> int:
        """Write the turn and the session's new state (one transaction), return the id.

        A streamed turn calls this once its ranked list is known, before any card or title is sent
        (so feedback on a shown item is always accepted), and :meth:`finish` when it ends.
        """
        self.turn_id = store.add_turn(
            self.session_id,
            self.state.to_json(),
            user_id=self.state.user_id,
            message=self.message,
            intent=self.parsed.intent,
            parse=self.parsed.to_dict(),
            candidates=[asdict(c) for c in self.candidates],
            shown=[c.item_id for c in self.candidates],
            **self._reply_columns(),
        )
        return self.turn_id

    def finish(self, store: Store) -> None:
        """Fill in what the recorded turn said: reply, question, cards, explanations, latencies.

        The session also remembers how this turn's explanations opened (``DialogueState.openings``),
        so that the next reply opens otherwise; known only now, so the state is written again.
        """
        store.update_turn(self.turn_id, **self._reply_columns())
        if self.explanations:
            opened = [e.opening for e in self.explanations if e.opening]
            self.state.openings = [*self.state.openings, *opened][-RECENT_OPENINGS:]
            store.save_state(self.session_id, self.state.to_json())

    def _reply_columns(self) -> dict[str, Any]:
        return {
            "recommendations": [asdict(r) for r in self.recommendations],
            "reply": self.reply,
            "question": self.question,
            # explanations are a prefix of the candidates while the turn is being streamed
            "explanations": [
                {
                    "item_id": c.item_id,
                    "source": e.source,
                    "path": e.path,
                    "reason": e.reason,
                    "latency_ms": round(e.latency_ms, 2),
                }
                for c, e in zip(self.candidates, self.explanations, strict=False)
            ],
            "latency_ms": self.latency_ms,
        }

    def log(self) -> None:
        """One structured line per turn; the API's request id, or a fresh one (CLI, evaluators)."""
        log.info(
            "turn",
            extra={
                "request_id": current_request_id() or new_request_id(),
                "session_id": self.session_id,
                "turn_id": self.turn_id,
                "intent": self.parsed.intent,
                "shown": [c.item_id for c in self.candidates],
                "latency_ms": self.latency_ms,
                "explanations": [e.path for e in self.explanations],
            },
        )

    def result(self) -> TurnResult:
        return TurnResult(
            session_id=self.session_id,
            turn_id=self.turn_id,
            reply=self.reply,
            question=self.question,
            recommendations=self.recommendations,
            latency_ms=self.latency_ms,
            intent=self.parsed.intent,
        )


def remember(state: DialogueState, decision: Decision, candidates: list[Candidate]) -> None:
    """What the turn showed becomes what "the second one" and "more" refer to next."""
    if candidates:
        state.last_shown = [c.item_id for c in candidates]
        state.last_list_kind = "recommendations"
        state.focus_item = None
        state.shown.extend(c.item_id for c in candidates if c.item_id not in state.shown)
        state.questions_asked = 0
    elif decision.seeds:
        state.last_shown = list(decision.seeds)
        state.last_list_kind = "options"
        state.offered_seeds.extend(i for i in decision.seeds if i not in state.offered_seeds)
    if decision.action in ("ask", "steer") and decision.question:
        state.questions_asked += 1


def candidate_from(data: dict[str, Any]) -> Candidate:
    """A recorded candidate (``store.turns(...)[i]["candidates"][j]``) as a :class:`Candidate` again."""
    ev = dict(data.get("evidence") or {})
    ev["neighbours"] = [Neighbour(**n) for n in ev.get("neighbours", [])]
    known = set(Evidence.__dataclass_fields__)
    return Candidate(
        item_id=data["item_id"],
        title=data["title"],
        score=data["score"],
        cf_score=data.get("cf_score", 0.0),
        semantic_score=data.get("semantic_score", 0.0),
        evidence=Evidence(**{k: v for k, v in ev.items() if k in known}),
    )
