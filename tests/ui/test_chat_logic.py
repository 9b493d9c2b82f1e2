"""The chat page's behaviour (without a browser) over the fake agent, and the escaping of cards."""

from __future__ import annotations

import threading

import pytest

from tests.ui.fakes import HOSTILE, FakeRuntime
from ui.cards import card_html, escape_markdown, evidence_html
from ui.chat_logic import KNOWN_USER, NEW_VISITOR, ChatController, Filters, empty_store


@pytest.fixture
def controller() -> ChatController:
    return ChatController(FakeRuntime().agent, n_cards=3)


def run_turn(controller: ChatController, message: str, store=None, history=None, tids=None):  # type: ignore[no-untyped-def]
    views = list(controller.respond(message, history, store, tids, NEW_VISITOR, None, Filters()))
    return views


def test_turn_streams_then_shows_cards(controller: ChatController) -> None:
    views = run_turn(controller, "something funny")
    assert len(views) > 3  # a first frame, streamed frames, the final frame
    partial = [v.history[-1]["content"] for v in views[1:-1]]
    assert all(len(a) <= len(b) for a, b in zip(partial, partial[1:], strict=False))
    final = views[-1]
    assert final.store["session_id"] and final.history[0]["role"] == "user"
    assert [c.visible for c in final.cards] == [True, True, True]
    assert "Toy Story" in final.cards[0].body and "funny" in final.cards[0].body
    assert final.turn_ids == {"1": 1}


def test_each_card_shows_as_soon_as_it_is_validated() -> None:
    """The page gets a frame per card: the last card's explanation is only written (the gate opens)
    once a frame showing the first card has been produced."""
    gate = threading.Event()
    runtime = FakeRuntime(last_card_gate=gate)
    controller = ChatController(runtime.agent, n_cards=3)
    shown: list[int] = []
    for view in controller.respond("something funny", [], None, {}, NEW_VISITOR, None, Filters()):
        visible = sum(c.visible for c in view.cards)
        shown.append(visible)
        if visible == 1:
            gate.set()
    assert runtime.agent.gate_opened == [True], (
        "the first card was not on the page before the last was written"
    )
    # cards only ever add up during the turn: 0, then 1, 2 and 3 of them (each next to its reply text)
    assert shown == sorted(shown) and {1, 2, 3} <= set(shown) and shown[-1] == 3
    final = view
    assert [r["item_id"] for r in final.recs] == [1, 2, 3] and final.status == ""


def test_feedback_on_a_card_shown_mid_turn_keeps_the_later_cards(controller: ChatController) -> None:
    """A click on the first card while the turn streams carries the page's recs of that moment (one
    card); the agent answers once the turn ended, and the page then shows the others."""
    views = run_turn(controller, "hi")
    partial = next(v for v in views if len(v.recs) == 1)
    final = views[-1]
    recs, cards, status = controller.card_feedback(0, "down", final.store, partial.recs)
    assert [r["item_id"] for r in recs] == [r["item_id"] for r in final.recs[1:]]
    assert [c.visible for c in cards] == [True, True, False] and "won't be suggested" in status
    recs, cards, _ = controller.card_feedback(0, "up", final.store, recs[:1])
    assert [r["item_id"] for r in recs] == [r["item_id"] for r in final.recs[1:]]
    assert "Noted" in cards[0].body and "Noted" not in cards[1].body


def test_thumbs_down_removes_card_and_changes_next_turn(controller: ChatController) -> None:
    final = run_turn(controller, "hi")[-1]
    gone = final.recs[0]["item_id"]
    recs, cards, status = controller.card_feedback(0, "down", final.store, final.recs)
    assert gone not in [r["item_id"] for r in recs] and "won't be suggested" in status
    assert [c.visible for c in cards] == [True, True, False]
    nxt = run_turn(controller, "more", final.store, final.history, final.turn_ids)[-1]
    assert gone not in [r["item_id"] for r in nxt.recs]
    assert nxt.turn_ids == {"1": 1, "3": 2}
    events = controller.agent.session(final.store["session_id"])["feedback"]
    assert [(e["item_id"], e["kind"]) for e in events] == [(gone, "down")]


def test_thumbs_up_keeps_card_with_a_note(controller: ChatController) -> None:
    final = run_turn(controller, "hi")[-1]
    recs, cards, _ = controller.card_feedback(1, "up", final.store, final.recs)
    assert len(recs) == 3 and "Noted" in cards[1].body


def test_reply_like_records_reply_feedback_with_turn(controller: ChatController) -> None:
    final = run_turn(controller, "hi")[-1]
    controller.reply_feedback(final.store, final.turn_ids, 1, False)
    events = controller.agent.session(final.store["session_id"])["feedback"]
    assert events[0]["kind"] == "reply_down" and events[0]["value"] == 1.0


def test_restore_after_reload(controller: ChatController) -> None:
    final = run_turn(controller, "space movies")[-1]
    controller.card_feedback(0, "seen", final.store, final.recs)
    view = controller.restore(final.store)
    assert [m["role"] for m in view.history] == ["user", "assistant"]
    assert view.history[0]["content"] == escape_markdown("space movies")
    assert view.turn_ids == {"1": 1}
    # The cards come back too, without the one marked "seen".
    assert [r["item_id"] for r in view.recs] == [r["item_id"] for r in final.recs[1:]]
    assert [c.visible for c in view.cards] == [True, True, False]


def test_restore_of_a_vanished_session_starts_clean(controller: ChatController) -> None:
    view = controller.restore({"session_id": "gone", "user_id": None})
    assert view.history == [] and view.store == empty_store() and "expired" in view.status


def test_known_user_needs_an_id_and_is_passed_on(controller: ChatController) -> None:
    views = list(controller.respond("hi", [], None, {}, KNOWN_USER, None, Filters()))
    assert "user id" in views[-1].status and views[-1].history == []
    views = list(controller.respond("hi", [], None, {}, KNOWN_USER, 12, Filters()))
    assert views[-1].store["user_id"] == 12
    assert controller.agent.session(views[-1].store["session_id"])["user_id"] == 12


def test_empty_message_is_refused_without_a_turn(controller: ChatController) -> None:
    views = list(controller.respond("  ", [], None, {}, NEW_VISITOR, None, Filters()))
    assert views[-1].status == "Type a message first." and controller.agent.turn_calls == 0


def test_filters_become_constraints() -> None:
    c = Filters(["Comedy"], 1990, 2030, (1900, 2030)).to_constraints()
    assert c.genres_in == frozenset({"Comedy"}) and c.year_min == 1990 and c.year_max is None
    assert Filters([], 1900, 2030, (1900, 2030)).to_constraints().is_empty()


def test_hostile_text_is_escaped_everywhere() -> None:
    rec = {
        "item_id": 1,
        "title": HOSTILE,
        "year": 1999,
        "genres": ["<b>x</b>"],
        "explanation": HOSTILE,
        "explanation_source": "llm",
        "evidence": {
            "neighbours": [{"title": HOSTILE, "source": "cf", "similarity": 0.5}],
            "matched_tags": [HOSTILE],
        },
    }
    for html_text in (card_html(rec), evidence_html(rec["evidence"])):
        assert "<img" not in html_text and "&lt;img" in html_text
    md = escape_markdown(f"[click](javascript:alert(1)) {HOSTILE} **bold**")
    assert "<img" not in md and "](" not in md and "**" not in md


def test_why_this_shows_the_dialogue_models_evidence() -> None:
    evidence = {
        "neighbours": [{"title": "Heat (1995)", "source": "cf", "similarity": 0.5}],
        "dialogue": {
            "named_with": [
                {"item_id": 6, "title": "Heat (1995)"},
                {"item_id": 1, "title": "Toy Story (1995)"},
            ],
            "times_suggested": 12,
            "corpus": "ReDial",
        },
    }
    html_text = evidence_html(evidence)
    assert "In ReDial conversations it comes up with <b>Heat (1995)</b>, <b>Toy Story (1995)</b>" in html_text
    assert "Recommended 12 times in ReDial conversations" in html_text
    assert "conversations" not in evidence_html({"neighbours": evidence["neighbours"], "dialogue": {}})


def test_why_this_says_asked_for_only_of_the_genres_asked_for() -> None:
    html_text = evidence_html({"matched_genres": ["Comedy", "Animation"], "asked_genres": ["Comedy"]})
    assert "Genres you asked for: Comedy</li>" in html_text
    assert "Genres it shares with what you liked: Animation</li>" in html_text


def test_hostile_reply_is_escaped_in_the_chat() -> None:
    controller = ChatController(FakeRuntime(hostile_reply=True).agent, n_cards=3)
    final = run_turn(controller, "hi")[-1]
    assert "<img" not in final.history[-1]["content"] and "&lt;img" in final.history[-1]["content"]
