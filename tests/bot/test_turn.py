"""The turn record: the one message rule, the one exact check of what is shown, and recording itself."""

from __future__ import annotations

import logging

import pytest
from agent_support import SpyBlender, item_id, movielens

from bot.agent import Agent
from bot.errors import InvalidInputError
from bot.explain.explainer import Explainer
from bot.recommend.constraints import satisfies
from bot.recommend.request import BlendRequest
from bot.runtime import Runtime
from bot.settings import Settings
from bot.state import DialogueState
from bot.store import Store
from bot.turn import check_message
from bot.types import Candidate


def test_check_message_is_the_one_rule() -> None:
    assert check_message("  I loved\tHeat \x00 ", 40) == "I loved Heat"
    with pytest.raises(InvalidInputError, match="message is 41 characters; the limit is 40"):
        check_message("x" * 41, 40)
    with pytest.raises(InvalidInputError, match="message is empty"):
        check_message("\x00\u200b  ", 40)
    with pytest.raises(InvalidInputError, match="must be a string"):
        check_message(42, 40)
    assert check_message("Heat \ud800", 40) == "Heat"  # a lone surrogate is not text


class RogueBlender(SpyBlender):
    """Puts an excluded item and a constraint-violating one in front of the real candidates."""

    def __init__(self, dataset, settings, rogue: list[int]) -> None:  # type: ignore[no-untyped-def]
        super().__init__(dataset, settings)
        self.rogue = rogue

    def blend(self, request: BlendRequest) -> list[Candidate]:
        real = super().blend(request)
        return [Candidate(item_id=i, title="rogue", score=9.0) for i in self.rogue] + real


def test_the_turn_record_drops_what_must_not_be_shown(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    data = movielens()
    heat, toy_story = item_id("Heat", 1995), item_id("Toy Story", 1995)  # liked; not a horror film
    agent = Agent(
        data,
        RogueBlender(data, settings, [heat, toy_story]),
        Explainer(None, settings),
        Store(settings.db_path),
        settings,
    )
    sid = agent.create_session()
    with caplog.at_level(logging.ERROR):
        result = agent.turn(sid, "I loved Heat, a horror movie please")
    shown = [r.item_id for r in result.recommendations]
    assert heat not in shown and toy_story not in shown
    assert len(shown) == settings.n_recommendations
    constraints = DialogueState.from_dict(agent.session(sid)["state"]).constraints
    assert all(satisfies(data.catalog.get(i), agent.features.stats_of(i), constraints) for i in shown)
    assert caplog.text.count("blender returned item") == 2
    recorded = agent.session(sid)["turns"][-1]
    assert recorded["shown"] == shown and recorded["reply"] == result.reply


def test_feedback_loads_only_the_store(settings: Settings) -> None:
    """`recbot feedback` records an event without the dataset, the CF model, the index or the LLM."""
    runtime = Runtime(settings)
    state = DialogueState(shown=[1])
    runtime.store.create_session("s", None, None, state.to_json())
    event = runtime.feedback.feedback("s", 1, "up", event_id="e1")
    assert event["kind"] == "up" and not event["duplicate"]
    assert runtime.feedback.feedback("s", 1, "up", event_id="e1")["duplicate"]
    assert DialogueState.from_json(runtime.store.get_session("s")["state"]).liked == [1]
    heavy = {"dataset", "cf", "index", "llm", "explainer", "blender", "features", "agent"}
    assert not heavy & set(runtime.__dict__)
    runtime.close()
