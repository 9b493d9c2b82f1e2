"""What the chat page does, without the page: sessions, streaming turns, card feedback, reply likes.

The Gradio layout (``ui.chat_page``) only wires components to these methods, so they can be tested
without a browser. The page keeps no state of its own beyond the session id (in the visitor's
browser) and the cards on screen; everything else is the agent's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.chat_agent import ChatAgent
from bot.errors import InvalidInputError, UnknownSessionError
from bot.types import CardReady, Constraints, RankedList, TurnResult
from ui.cards import REMOVING_KINDS, card_html, escape_markdown, evidence_html

NEW_VISITOR = "New visitor"
KNOWN_USER = "MovieLens user"


@dataclass
class Filters:
    """The side panel's hard filters; ``year_bounds`` is the catalog's range (meaning 'no filter')."""

    genres: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    year_bounds: tuple[int, int] | None = None

    def to_constraints(self) -> Constraints:
        lo, hi = self.year_bounds or (None, None)
        return Constraints(
            genres_in=frozenset(self.genres),
            year_min=self.year_min if self.year_min is not None and self.year_min != lo else None,
            year_max=self.year_max if self.year_max is not None and self.year_max != hi else None,
        )


@dataclass
class CardView:
    """One card slot on screen: shown or not, its HTML and its evidence HTML."""

    visible: bool = False
    body: str = ""
    why: str = ""


@dataclass
class ChatView:
    """Everything a handler changes on the page."""

    history: list[dict[str, Any]]
    store: dict[str, Any]
    recs: list[dict[str, Any]]
    cards: list[CardView]
    turn_ids: dict[str, int]
    status: str = ""


def empty_store() -> dict[str, Any]:
    return {"session_id": None, "user_id": None}


class ChatController:
    """The chat page's behaviour over one agent."""

    def __init__(self, agent: ChatAgent, n_cards: int) -> None:
        self.agent = agent
        self.n_cards = n_cards

    # --- sessions --------------------------------------------------------------------------
    def session_for(
        self, store: Mapping[str, Any] | None, visitor: str, user_id: float | None
    ) -> dict[str, Any]:
        """The store with a live session for this visitor choice (a new one if needed)."""
        wanted = int(user_id) if visitor == KNOWN_USER and user_id else None
        if visitor == KNOWN_USER and wanted is None:
            raise InvalidInputError("enter your MovieLens user id, or choose 'New visitor'")
        store = dict(store or empty_store())
        if store.get("session_id") and store.get("user_id") == wanted:
            try:
                self.agent.session(store["session_id"])
                return store
            except UnknownSessionError:
                pass  # the database was reset: start a fresh session
        return {"session_id": self.agent.create_session(wanted), "user_id": wanted}

    def restore(self, store: Mapping[str, Any] | None) -> ChatView:
        """Rebuild the conversation after a page reload from the agent's record of the session."""
        store = dict(store or empty_store())
        history: list[dict[str, Any]] = []
        turn_ids: dict[str, int] = {}
        recs: list[dict[str, Any]] = []
        if store.get("session_id"):
            try:
                data = self.agent.session(store["session_id"])
            except UnknownSessionError:
                return self.blank(empty_store(), "Your previous conversation has expired; let's start again.")
            for turn in data["turns"]:
                if turn["message"]:
                    history.append({"role": "user", "content": escape_markdown(turn["message"])})
                if turn["reply"] is not None:
                    turn_ids[str(len(history))] = int(turn["turn_id"])
                    history.append({"role": "assistant", "content": escape_markdown(turn["reply"])})
                shown = turn.get("recommendations") or []
                recs = [dict(r) for r in shown if isinstance(r, Mapping)]
        removed = self._removed_items(store)
        recs = [r for r in recs if r.get("item_id") not in removed]
        return ChatView(history, store, recs, self._cards(recs), turn_ids)

    def blank(self, store: dict[str, Any] | None = None, status: str = "") -> ChatView:
        return ChatView([], store or empty_store(), [], self._cards([]), {}, status)

    # --- turns -----------------------------------------------------------------------------
    def respond(
        self,
        message: str,
        history: list[dict[str, Any]] | None,
        store: Mapping[str, Any] | None,
        turn_ids: dict[str, int] | None,
        visitor: str,
        user_id: float | None,
        filters: Filters,
    ) -> Iterator[ChatView]:
        """Stream one turn: the growing reply, and each card as soon as its explanation is validated
        (``card`` events of :meth:`ChatAgent.turn_events`), so the first card shows before the last
        one is written; the final frame is the reply and cards of the :class:`TurnResult`."""
        history = list(history or [])
        turn_ids = dict(turn_ids or {})
        if not message or not message.strip():
            yield ChatView(
                history, dict(store or empty_store()), [], self._cards([]), turn_ids, "Type a message first."
            )
            return
        try:
            store = self.session_for(store, visitor, user_id)
        except InvalidInputError as exc:
            yield ChatView(history, dict(store or empty_store()), [], self._cards([]), turn_ids, str(exc))
            return
        history += [
            {"role": "user", "content": escape_markdown(message)},
            {"role": "assistant", "content": ""},
        ]
        yield ChatView(history, store, [], self._cards([]), turn_ids, "Thinking…")
        streamed = ""
        recs: list[dict[str, Any]] = []
        result: TurnResult | None = None
        try:
            constraints = filters.to_constraints()
            for event in self.agent.turn_events(store["session_id"], message, constraints=constraints):
                if isinstance(event, TurnResult):
                    result = event
                    continue
                if isinstance(event, RankedList):
                    continue  # the titles arrive in the reply text; a card shows once it is explained
                if isinstance(event, CardReady):
                    recs.append(asdict(event.recommendation))
                else:
                    streamed += event
                    history[-1] = {"role": "assistant", "content": escape_markdown(streamed)}
                yield ChatView(history, store, list(recs), self._cards(recs), turn_ids, "Thinking…")
        except InvalidInputError as exc:
            history[-1] = {"role": "assistant", "content": escape_markdown(f"Sorry: {exc}")}
            yield ChatView(history, store, [], self._cards([]), turn_ids, str(exc))
            return
        if result is None:
            yield ChatView(history, store, [], self._cards([]), turn_ids, "The bot did not finish its reply.")
            return
        text = (
            result.reply
            if not result.question or result.question in result.reply
            else (f"{result.reply}\n\n{result.question}")
        )
        history[-1] = {"role": "assistant", "content": escape_markdown(text)}
        turn_ids[str(len(history) - 1)] = result.turn_id
        recs = [asdict(r) for r in result.recommendations]
        yield ChatView(history, store, recs, self._cards(recs), turn_ids, "")

    # --- feedback --------------------------------------------------------------------------
    def card_feedback(
        self, slot: int, kind: str, store: Mapping[str, Any] | None, recs: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[CardView], str]:
        """Record feedback on the card in ``slot``; removing kinds take the card off the page."""
        recs = list(recs or [])
        if not store or not store.get("session_id") or slot >= len(recs):
            return recs, self._cards(recs), "That card is no longer on screen."
        rec = recs[slot]
        try:
            self.agent.feedback(store["session_id"], int(rec["item_id"]), kind, event_id=uuid.uuid4().hex)
        except (InvalidInputError, UnknownSessionError) as exc:  # a stale page: say so, keep the cards
            return recs, self._cards(recs), f"Could not record that: {exc}"
        title = rec.get("title", "")
        # Feedback on a card shown while its turn was still streaming waited for that turn to end:
        # the page's ``recs`` may lack the cards that came later, the agent's record has them all.
        recs = self._latest_recs(store, recs)
        if kind in REMOVING_KINDS:
            recs = [r for r in recs if r.get("item_id") != rec["item_id"]]
            status = f"Noted: {title} won't be suggested again."
        else:
            recs = [
                dict(r, _note="Noted, more like this.") if r.get("item_id") == rec["item_id"] else r
                for r in recs
            ]
            status = f"Noted: you like {title}."
        return recs, self._cards(recs), status

    def reply_feedback(
        self, store: Mapping[str, Any] | None, turn_ids: Mapping[str, int], index: Any, liked: bool | str
    ) -> str:
        """The Chatbot's own like/dislike on a whole reply -> reply_up / reply_down."""
        if not store or not store.get("session_id"):
            return ""
        position = index[0] if isinstance(index, list | tuple) else index
        turn_id = (turn_ids or {}).get(str(position))
        kind = "reply_up" if liked is True or liked == "Like" else "reply_down"
        try:
            self.agent.feedback(
                store["session_id"],
                None,
                kind,
                event_id=uuid.uuid4().hex,
                value=float(turn_id) if turn_id is not None else None,
            )
        except (InvalidInputError, UnknownSessionError) as exc:
            return f"Could not record that: {exc}"
        return "Thanks for the feedback on that reply."

    # --- helpers ---------------------------------------------------------------------------
    def _cards(self, recs: list[dict[str, Any]]) -> list[CardView]:
        views = [
            CardView(True, card_html(r, r.get("_note")), evidence_html(r.get("evidence") or {}))
            for r in recs[: self.n_cards]
        ]
        return views + [CardView() for _ in range(self.n_cards - len(views))]

    def _latest_recs(self, store: Mapping[str, Any], recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The cards of the session's last turn as the agent recorded them, minus removed items, with
        the notes the page added (``recs``); ``recs`` itself when the record does not hold them."""
        try:
            data = self.agent.session(store["session_id"])
        except UnknownSessionError:
            return recs
        turns = data.get("turns") or []
        recorded = (
            [dict(r) for r in (turns[-1].get("recommendations") or []) if isinstance(r, Mapping)]
            if turns
            else []
        )
        on_page = {r.get("item_id") for r in recs}
        if not on_page <= {r.get("item_id") for r in recorded}:
            return recs  # the page shows an older turn's cards (a stale tab): keep them
        removed = removed_items(data.get("feedback", []))
        notes = {r.get("item_id"): r["_note"] for r in recs if r.get("_note")}
        return [
            dict(r, _note=notes[r["item_id"]]) if r.get("item_id") in notes else r
            for r in recorded
            if r.get("item_id") not in removed
        ]

    def _removed_items(self, store: Mapping[str, Any]) -> set[int]:
        try:
            events = (
                self.agent.session(store["session_id"]).get("feedback", []) if store.get("session_id") else []
            )
        except UnknownSessionError:
            return set()
        return removed_items(events)


def removed_items(feedback: list[dict[str, Any]]) -> set[int]:
    """Items a session's feedback took off the page (thumbs down, seen, not interested)."""
    return {int(ev["item_id"]) for ev in feedback if ev.get("kind") in REMOVING_KINDS and ev.get("item_id")}
