"""The streamed turn (``Agent.turn_events``): cards one by one, the same cards as ``Agent.turn``, and a
turn row that exists before the first card is seen."""

from __future__ import annotations

import pytest
from agent_support import GatedExplainer, SpyBlender, movielens

from bot.agent import Agent
from bot.explain.explainer import Explainer
from bot.settings import Settings
from bot.store import Store
from bot.types import CardReady, RankedList, TurnResult

MESSAGE = "I loved Heat and want a comedy"


@pytest.fixture
def explainer(settings: Settings) -> GatedExplainer:
    return GatedExplainer(Explainer(None, settings))


@pytest.fixture
def agent(settings: Settings, explainer: GatedExplainer) -> Agent:
    data = movielens()
    return Agent(data, SpyBlender(data, settings), explainer, Store(settings.db_path), settings)


def test_each_card_is_sent_before_the_next_explanation_starts(
    agent: Agent, explainer: GatedExplainer
) -> None:
    sid = agent.create_session()
    events = agent.turn_events(sid, MESSAGE)
    started_at_card: list[int] = []
    seen: list[object] = []
    for event in events:
        seen.append(event)
        if isinstance(event, CardReady):
            started_at_card.append(len(explainer.calls))
    n = agent.settings.n_recommendations
    assert started_at_card == list(range(1, n + 1))  # card 1 arrived when only its explanation had started
    kinds = [type(e).__name__ for e in seen if not isinstance(e, str)]
    assert kinds == ["RankedList"] + ["CardReady"] * n + ["TurnResult"]
    ranked = next(e for e in seen if isinstance(e, RankedList))
    cards = [e for e in seen if isinstance(e, CardReady)]
    result = seen[-1]
    assert isinstance(result, TurnResult)
    assert [c.recommendation for c in cards] == result.recommendations
    assert [i.item_id for i in ranked.items] == [r.item_id for r in result.recommendations]
    assert {ranked.turn_id, result.turn_id} | {c.turn_id for c in cards} == {result.turn_id}
    assert "first_card" in result.latency_ms


def test_turn_is_the_collected_stream(agent: Agent) -> None:
    """``Agent.turn`` (the evaluators) and the streamed page get the same cards and the same record."""
    a, b = agent.create_session(), agent.create_session()
    collected = agent.turn(a, MESSAGE)
    streamed = [e for e in agent.turn_events(b, MESSAGE)]
    cards = [e.recommendation for e in streamed if isinstance(e, CardReady)]
    assert [(r.item_id, r.explanation) for r in cards] == [
        (r.item_id, r.explanation) for r in collected.recommendations
    ]
    text = "".join(e for e in streamed if isinstance(e, str)).strip()
    assert text == collected.reply
    rec_a, rec_b = agent.store.turns(a)[-1], agent.store.turns(b)[-1]
    for key in ("shown", "reply", "recommendations"):
        assert rec_a[key] == rec_b[key], key
    paths = [[(e["item_id"], e["path"]) for e in r["explanations"]] for r in (rec_a, rec_b)]
    assert paths[0] == paths[1] and len(paths[0]) == len(collected.recommendations)


def test_a_shown_card_is_known_to_the_store_even_if_the_turn_never_ends(agent: Agent) -> None:
    sid = agent.create_session()
    events = agent.turn_events(sid, MESSAGE)
    ranked = next(e for e in events if isinstance(e, RankedList))
    # Before any card: the turn row and the session's shown items are already written.
    row = agent.store.turns(sid)[-1]
    assert row["shown"] == [i.item_id for i in ranked.items] and row["turn_id"] == ranked.turn_id
    first = next(e for e in events if isinstance(e, CardReady))
    events.close()  # the client went away (or the process is stopped) after one card
    row = agent.store.turns(sid)[-1]
    assert [r["item_id"] for r in row["recommendations"]] == [first.recommendation.item_id]
    assert first.recommendation.explanation in row["reply"]
    # Feedback on the card that was seen, and on an item of the ranked list not yet explained, is accepted.
    up = agent.feedback(sid, first.recommendation.item_id, "up", event_id="after-close")
    assert up["duplicate"] is False
    later = agent.feedback(sid, ranked.items[-1].item_id, "seen")
    assert later["item_id"] == ranked.items[-1].item_id
    assert [e["event_id"] for e in agent.store.feedback(sid)][0] == "after-close"
    # The next turn works on the same session.
    assert agent.turn(sid, "more like that").recommendations
