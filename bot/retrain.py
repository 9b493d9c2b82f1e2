"""Fold chat feedback into the CF model: ``recbot retrain``.

Feedback events become interactions: up = 5.0, a rating its value, click = 4.0 (an interest signal
above the positive threshold), seen = 3.5 (they watched it; neutral-positive), down and
not_interested = 1.0 (below the positive threshold: recorded, never a positive). Liked items named
in chat (the sessions' state) count as 5.0 too. Users are the sessions' user ids: MovieLens ids keep
their number; other ids ("alice") become new CF users under a stable number from :func:`cf_user_id`;
anonymous sessions are skipped (nobody could come back as them). The new artifact is saved as a new
version; the old ones stay.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bot.settings import Settings
from bot.state import DialogueState
from bot.store import SessionStore, open_store

FEEDBACK_RATING = {"up": 5.0, "click": 4.0, "seen": 3.5, "down": 1.0, "not_interested": 1.0}
NEW_USER_BASE = 10**12  # numbers of non-numeric user ids start here, far above any dataset id


def cf_user_id(user_id: str | int | None) -> int | None:
    """The CF model's number for a user id: the number itself, or a stable hash of the name."""
    if user_id is None:
        return None
    text = str(user_id).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return NEW_USER_BASE + int.from_bytes(digest[:6], "big")


@dataclass
class RetrainReport:
    n_events: int
    n_interactions: int
    n_users: int
    n_new_users: int
    path: Path
    engine: str


def feedback_interactions(store: SessionStore, known_users: set[int] | None = None) -> pd.DataFrame:
    """Interactions (user_id, item_id, rating, timestamp) from the store's feedback and liked items."""
    rows: list[tuple[int, int, float]] = []
    for event in store.all_feedback():
        user = cf_user_id(event.get("owner"))
        if user is None:
            continue
        kind = event["kind"]
        if kind == "rating" and event["value"] is not None:
            rating = float(event["value"])
        elif kind in FEEDBACK_RATING:
            rating = FEEDBACK_RATING[kind]
        else:
            continue
        rows.append((user, int(event["item_id"]), rating))
    for session in store.all_sessions():
        user = cf_user_id(session["user_id"])
        if user is None:
            continue
        state = DialogueState.from_json(session["state"])
        rows.extend((user, item, 5.0) for item in state.liked)
        rows.extend((user, item, 1.0) for item in state.disliked)
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    # The latest word on a (user, item) pair wins: feedback is appended after the state's liked items.
    frame = frame.drop_duplicates(["user_id", "item_id"], keep="last").reset_index(drop=True)
    frame["timestamp"] = 0
    return frame


def retrain(settings: Settings, store: SessionStore | None = None) -> RetrainReport:
    """Train a new CF artifact on the dataset plus the chat feedback and save it as the latest version."""
    from cf_engine.artifact import CFArtifact
    from cf_engine.data import load_dataset

    store = store or open_store(settings)
    dataset = load_dataset(settings.cf_config())
    extra = feedback_interactions(store)
    extra = extra[extra["item_id"].isin(set(int(i) for i in dataset.catalog.item_ids))]
    artifact = CFArtifact.train(
        dataset, settings.cf_config(), extra_interactions=extra if len(extra) else None
    )
    path = artifact.save(settings.cf_config())
    known = set(int(u) for u in dataset.user_ids)
    users = set(int(u) for u in extra["user_id"])
    return RetrainReport(
        n_events=len(store.all_feedback()),
        n_interactions=len(extra),
        n_users=len(users),
        n_new_users=len(users - known),
        path=path,
        engine=artifact.engine_name,
    )
