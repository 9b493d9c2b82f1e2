"""Issue 15 item 2 across a session: a reply's explanations open otherwise than the last replies'.

Within one reply no two explanations open the same way (``used_openings``); across replies the
session remembers how its recent explanations opened (``DialogueState.openings``) and the next
reply takes, among the equally specific plans, those opened least recently.
"""

from __future__ import annotations

import json

from agent_support import SpyBlender, movielens

from bot.agent import Agent
from bot.explain.explainer import Explainer
from bot.explain.facts import facts_from
from bot.explain.sentences import explanation_choices
from bot.explain.templates import opening, template_explanation, top_plans
from bot.explain.validator import validate_facts
from bot.settings import Settings
from bot.state import RECENT_OPENINGS
from bot.store import Store
from tests.bot.llm_cases import ronin


def test_recent_openings_are_avoided_while_the_tier_allows() -> None:
    facts = facts_from(ronin())
    tier = {opening(p.text, facts) for p in top_plans(facts)}
    assert len(tier) >= 4, tier  # the same facts come in several wordings that open differently
    first = opening(template_explanation(facts, 2278, 0), facts)
    recent = [first]
    for _ in range(len(tier) - 1):
        text = template_explanation(facts, 2278, 0, recent_openings=recent)
        assert validate_facts(text, facts).ok
        assert opening(text, facts) not in recent, (text, recent)
        recent.append(opening(text, facts))
    # the LLM is offered the same choice
    assert all(opening(c, facts) not in recent[1:] for c in explanation_choices(facts, (), recent[1:]))
    # every opening used: the one used longest ago (counted once) comes back first
    again = template_explanation(facts, 2278, 0, recent_openings=recent + recent[1:])
    assert opening(again, facts) == first


def test_replies_in_a_session_open_otherwise_turn_after_turn(settings: Settings) -> None:
    data = movielens()
    explainer = Explainer(None, settings)
    agent = Agent(data, SpyBlender(data, settings), explainer, Store(settings.db_path), settings)
    sid = agent.create_session()
    per_reply: list[set[str]] = []
    for message in ("I loved Heat and Pulp Fiction", "more", "more please", "show me more", "more"):
        result = agent.turn(sid, message)
        assert len(result.recommendations) == 3
        state = json.loads(agent.store.get_session(sid)["state"])
        assert len(state["openings"]) == min(3 * (len(per_reply) + 1), RECENT_OPENINGS)
        per_reply.append(set(state["openings"][-3:]))
        assert len(per_reply[-1]) == 3  # within a reply, as before
    for before, after in zip(per_reply, per_reply[1:], strict=False):
        assert not before & after, per_reply  # and now across replies too
