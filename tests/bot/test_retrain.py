"""Feedback -> interactions for retraining (the full retrain runs in test_agent_e2e.py)."""

from __future__ import annotations

from pathlib import Path

from bot.retrain import NEW_USER_BASE, cf_user_id, feedback_interactions
from bot.state import DialogueState
from bot.store import Store


def test_feedback_becomes_interactions(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.create_session("a", "42", None, DialogueState(user_id="42", liked=[7]).to_json())
    store.create_session("b", "alice", None, DialogueState(user_id="alice").to_json())
    store.create_session("anon", None, None, DialogueState(liked=[9]).to_json())
    store.add_feedback("1", "a", "42", 10, "up", None)
    store.add_feedback("2", "a", "42", 11, "down", None)
    store.add_feedback("3", "b", "alice", 10, "click", None)
    store.add_feedback("4", "b", "alice", 12, "rating", 4.5)
    store.add_feedback("5", "anon", None, 10, "up", None)
    frame = feedback_interactions(store)
    got = {(int(r.user_id), int(r.item_id)): float(r.rating) for r in frame.itertuples()}
    alice = cf_user_id("alice")
    assert got == {(42, 7): 5.0, (42, 10): 5.0, (42, 11): 1.0, (alice, 10): 4.0, (alice, 12): 4.5}
    assert alice is not None and alice >= NEW_USER_BASE and cf_user_id("alice") == alice
    assert cf_user_id("42") == 42 and cf_user_id(None) is None
