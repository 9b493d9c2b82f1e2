"""Recording feedback on a session: the event (idempotent per session) and its effect on the state.

Feedback changes the session at once: up -> liked seed; down -> disliked (a negative in the CF
fold-in, so close neighbours sink too) and never shown again; seen -> excluded; not_interested ->
excluded and a negative for this session only (not carried to the user's later sessions: "not now"
is not "dislike"); click -> recorded, and becomes the item "that one" refers to; rating -> >= 4 like,
<= 2 dislike, else seen. Feedback on an item never shown in the session is an InvalidInputError.

It needs the store and nothing else (no dataset, CF model, index or LLM), so ``recbot feedback``
records an event without loading them.
"""

from __future__ import annotations

import uuid
from typing import Any

from bot.errors import InvalidInputError, ItemNotShownError
from bot.sessions import session_row
from bot.state import DialogueState, apply_feedback
from bot.store import SessionStore
from bot.types import FeedbackKind

ITEM_KINDS = {
    FeedbackKind.UP,
    FeedbackKind.DOWN,
    FeedbackKind.SEEN,
    FeedbackKind.NOT_INTERESTED,
    FeedbackKind.CLICK,
    FeedbackKind.RATING,
}


class FeedbackRecorder:
    """Feedback events of the sessions in ``store``, under the store's per-session lock."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store

    def feedback(
        self,
        session_id: str,
        item_id: int | None,
        kind: str,
        event_id: str | None = None,
        value: float | None = None,
    ) -> dict[str, Any]:
        """Record feedback and apply it to the session; a repeated ``event_id`` is recorded once.

        Event ids are scoped to the session: the same id sent in another session is a new event there.
        """
        try:
            fkind = FeedbackKind(kind)
        except ValueError:
            raise InvalidInputError(
                f"unknown feedback kind {kind!r}; expected one of {', '.join(k.value for k in FeedbackKind)}"
            ) from None
        if event_id is not None and (not isinstance(event_id, str) or not 0 < len(event_id) <= 128):
            raise InvalidInputError("event_id must be a string of 1-128 characters")
        event_id = event_id or uuid.uuid4().hex
        with self.store.session_lock(session_id):  # across threads and API replicas
            row = session_row(self.store, session_id)
            old = self.store.get_feedback(session_id, event_id)  # ids are idempotency keys per session
            if old is not None:
                return _feedback_dict(old, duplicate=True)
            state = DialogueState.from_json(row["state"])
            if fkind in ITEM_KINDS:
                item_id = _check_item(state, item_id)
                apply_feedback(state, item_id, fkind.value, value)
            elif item_id is not None:
                item_id = _check_item(state, item_id)
            stored, new = self.store.add_feedback(
                event_id, session_id, state.user_id, item_id, fkind.value, value, state.to_json()
            )
        return _feedback_dict(stored, duplicate=not new)


def _check_item(state: DialogueState, item_id: object) -> int:
    try:
        item = int(item_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise InvalidInputError(f"item_id must be an integer, got {item_id!r}") from None
    if item not in state.shown and item not in state.offered_seeds:
        raise ItemNotShownError(f"item {item} was never shown in this session")
    return item


def _feedback_dict(row: dict[str, Any], duplicate: bool) -> dict[str, Any]:
    return {
        "event_id": row["event_id"],
        "session_id": row["session_id"],
        "item_id": row["item_id"],
        "kind": row["kind"],
        "value": row["value"],
        "created": row["created"],
        "duplicate": duplicate,
    }
