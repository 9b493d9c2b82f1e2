"""The agent's turns and feedback on the real catalog, with the real blender (no CF/index) and explainer."""

from __future__ import annotations

import gc

import pytest
from agent_support import SpyBlender, item_id, movielens

from bot.agent import Agent
from bot.errors import InvalidInputError, UnknownSessionError
from bot.explain.explainer import Explainer
from bot.recommend.constraints import satisfies
from bot.settings import Settings
from bot.store import Store
from bot.types import TurnResult


@pytest.fixture
def agent(settings: Settings) -> Agent:
    data = movielens()
    return Agent(
        data, SpyBlender(data, settings), Explainer(None, settings), Store(settings.db_path), settings
    )


def test_greeting_asks_then_recommendations_follow(agent: Agent) -> None:
    sid = agent.create_session()
    first = agent.turn(sid, "hi")
    assert first.question and not first.recommendations and first.intent == "greeting"
    second = agent.turn(sid, "I loved Heat and want a comedy")
    assert len(second.recommendations) == agent.settings.n_recommendations
    assert all("Comedy" in r.genres for r in second.recommendations)
    assert all(r.explanation and r.explanation_source == "template" for r in second.recommendations)
    assert set(second.latency_ms) >= {"parse", "candidates", "explain", "total"}
    assert item_id("Heat", 1995) not in [r.item_id for r in second.recommendations]


def test_stream_yields_text_then_result(agent: Agent) -> None:
    sid = agent.create_session()
    chunks = list(agent.turn_stream(sid, "a drama from the 90s"))
    assert isinstance(chunks[-1], TurnResult)
    assert all(isinstance(c, str) for c in chunks[:-1]) and len(chunks) > 3
    assert "".join(c for c in chunks[:-1]).strip() == chunks[-1].reply


def test_feedback_changes_the_next_turn(agent: Agent) -> None:
    sid = agent.create_session()
    shown = [r.item_id for r in agent.turn(sid, "comedies from the 80s").recommendations]
    agent.feedback(sid, shown[0], "down")
    agent.feedback(sid, shown[1], "seen")
    agent.feedback(sid, shown[2], "up")
    blender = agent.blender
    later = []
    for message in ("more", "more please", "show me more"):
        later += [r.item_id for r in agent.turn(sid, message).recommendations]
    assert shown[0] not in later and shown[1] not in later and shown[2] not in later
    last = blender.requests[-1]
    assert shown[2] in last.liked and shown[0] in last.disliked and shown[1] in last.exclude


def test_feedback_validation_and_idempotency(agent: Agent) -> None:
    sid = agent.create_session()
    shown = [r.item_id for r in agent.turn(sid, "a western").recommendations]
    with pytest.raises(InvalidInputError, match="never shown"):
        agent.feedback(sid, 1, "down")
    with pytest.raises(InvalidInputError, match="unknown feedback kind"):
        agent.feedback(sid, shown[0], "meh")
    with pytest.raises(UnknownSessionError):
        agent.feedback("nope", shown[0], "up")
    a = agent.feedback(sid, shown[0], "click", event_id="ev-1")
    b = agent.feedback(sid, shown[0], "click", event_id="ev-1")
    assert not a["duplicate"] and b["duplicate"]
    assert len(agent.session(sid)["feedback"]) == 1


def test_bad_messages(agent: Agent) -> None:
    sid = agent.create_session()
    with pytest.raises(InvalidInputError, match="empty"):
        agent.turn(sid, "  \x00\t ")
    with pytest.raises(InvalidInputError, match="limit"):
        agent.turn(sid, "x" * (agent.settings.max_message_chars + 1))
    with pytest.raises(UnknownSessionError):
        agent.turn("no-such-session", "hi")
    assert agent.turn(sid, "I loved\x1b Heat").recommendations


def test_constraints_never_violated_across_scripted_turns(agent: Agent) -> None:
    sid = agent.create_session()
    script = [
        "I loved The Matrix",
        "no horror",
        "from the 90s",
        "more",
        "less violent",
        "funnier",
        "more",
        "nothing with zombies",
        "more",
    ]
    seen: list[int] = []
    for message in script:
        result = agent.turn(sid, message)
        state = agent.session(sid)["state"]
        from bot.state import DialogueState

        constraints = DialogueState.from_dict(state).constraints
        for rec in result.recommendations:
            item = agent.catalog.get(rec.item_id)
            assert satisfies(item, agent.features.stats_of(rec.item_id), constraints), (message, rec.title)
            assert rec.item_id not in seen, "an item was shown twice"
            seen.append(rec.item_id)
    assert "Horror" in constraints.genres_out and constraints.year_max == 1999


def test_why_answers_from_evidence(agent: Agent) -> None:
    sid = agent.create_session()
    recs = agent.turn(sid, "I loved Heat, something from the 90s").recommendations
    answer = agent.turn(sid, "why the second one?")
    assert answer.intent == "why" and not answer.recommendations
    assert recs[1].title in answer.reply


def test_user_preferences_carry_across_sessions(agent: Agent) -> None:
    first = agent.create_session(user_id="alice")
    agent.turn(first, "I loved Heat but hated Titanic")
    second = agent.create_session(user_id="alice")
    state = agent.session(second)["state"]
    assert item_id("Heat", 1995) in state["history_liked"]
    assert item_id("Titanic", 1997) in state["history_disliked"]
    assert agent.turn(second, "a crime movie").recommendations


def test_llm_explanations_are_used_when_valid(settings: Settings) -> None:
    from bot.explain.llm.fake import FakeChatModel

    data = movielens()
    fake = FakeChatModel(replies=["It is a comedy."], cycle=True)
    agent = Agent(
        data, SpyBlender(data, settings), Explainer(fake, settings), Store(settings.db_path), settings
    )
    sid = agent.create_session()
    result = agent.turn(sid, "a comedy")
    assert fake.calls, "the LLM was not asked"
    assert {r.explanation_source for r in result.recommendations} <= {"llm", "template"}
    assert all(r.explanation for r in result.recommendations)


def test_a_failing_llm_costs_one_call_per_turn(settings: Settings) -> None:
    from bot.explain.llm import LLMError
    from bot.explain.llm.fake import FakeChatModel

    data = movielens()
    fake = FakeChatModel(error=LLMError("no complete reply within 20 s", "timeout", "fake"))
    agent = Agent(
        data, SpyBlender(data, settings), Explainer(fake, settings), Store(settings.db_path), settings
    )
    result = agent.turn(agent.create_session(), "a comedy")
    assert len(result.recommendations) == 3
    assert {r.explanation_source for r in result.recommendations} == {"template"}
    assert len(fake.calls) == 1


def test_template_only_turn_never_asks_the_llm(settings: Settings) -> None:
    from bot.explain.llm.fake import FakeChatModel

    data = movielens()
    fake = FakeChatModel(replies=["It is a comedy."], cycle=True)
    agent = Agent(
        data, SpyBlender(data, settings), Explainer(fake, settings), Store(settings.db_path), settings
    )
    result = agent.turn(agent.create_session(), "a comedy", template_only=True)
    assert len(result.recommendations) == 3
    assert {r.explanation_source for r in result.recommendations} == {"template"}
    assert fake.calls == []


def test_ui_constraints_apply_and_turns_record_recommendations(agent: Agent) -> None:
    from bot.types import Constraints

    sid = agent.create_session()
    result = agent.turn(
        sid, "I loved Heat", constraints=Constraints(genres_in=frozenset({"Comedy"}), year_min=2000)
    )
    assert result.recommendations
    assert all("Comedy" in r.genres and r.year >= 2000 for r in result.recommendations)
    turns = agent.session(sid)["turns"]
    assert turns[-1]["turn_id"] == result.turn_id
    assert [r["item_id"] for r in turns[-1]["recommendations"]] == [r.item_id for r in result.recommendations]


def test_semantic_failure_degrades_to_a_blend_without_text(settings: Settings) -> None:
    data = movielens()

    class NoEmbeddings(SpyBlender):
        def blend(self, request):  # type: ignore[no-untyped-def]
            if request.text:
                raise RuntimeError("embedding model unavailable")
            return super().blend(request)

    agent = Agent(
        data, NoEmbeddings(data, settings), Explainer(None, settings), Store(settings.db_path), settings
    )
    result = agent.turn(agent.create_session(), "a heist comedy with a twist ending")
    assert result.recommendations and all(
        "Comedy" in r.genres or "Crime" in r.genres for r in result.recommendations
    )


def test_popular_guess_is_recommended_and_can_be_corrected(agent: Agent) -> None:
    sid = agent.create_session()
    first = agent.turn(sid, "Psycho is one of my favourite films")
    assert first.recommendations and first.question and "Psycho (1998)" in first.question
    old, remake = item_id("Psycho", 1960), item_id("Psycho", 1998)
    assert old in agent.session(sid)["state"]["liked"]
    second = agent.turn(sid, "I meant the 1998 one")
    state = agent.session(sid)["state"]
    assert remake in state["liked"] and old not in state["liked"]
    assert second.recommendations


def test_did_you_mean_answer_recommends(agent: Agent) -> None:
    sid = agent.create_session()
    first = agent.turn(sid, "I liked King Kong")
    assert not first.recommendations and first.question.startswith("Did you mean")
    second = agent.turn(sid, "the 2005 one")
    assert second.recommendations
    assert item_id("King Kong", 2005) in agent.session(sid)["state"]["liked"]


def test_turns_from_many_threads(agent: Agent) -> None:
    import threading

    shared = agent.create_session()
    own = [agent.create_session() for _ in range(3)]
    errors: list[BaseException] = []

    def chat(session_id: str) -> None:
        try:
            for message in ("a comedy", "more", "something older"):
                agent.turn(session_id, message)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=chat, args=(s,)) for s in [*own, shared, shared]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(agent.session(shared)["turns"]) == 6
    shown = [i for turn in agent.session(shared)["turns"] for i in turn["shown"]]
    assert len(shown) == len(set(shown)), "the same session's turns interleaved and repeated an item"


def test_event_id_reused_in_another_session_is_a_new_event(agent: Agent) -> None:
    a, b = agent.create_session(), agent.create_session()
    item_a = agent.turn(a, "a western").recommendations[0].item_id
    item_b = agent.turn(b, "a comedy").recommendations[0].item_id
    first = agent.feedback(a, item_a, "up", event_id="shared")
    other = agent.feedback(b, item_b, "down", event_id="shared")
    assert not first["duplicate"] and not other["duplicate"]
    assert (other["session_id"], other["item_id"], other["kind"]) == (b, item_b, "down")
    assert agent.feedback(b, item_b, "down", event_id="shared")["duplicate"]
    assert [(e["item_id"], e["kind"]) for e in agent.session(a)["feedback"]] == [(item_a, "up")]
    assert [(e["item_id"], e["kind"]) for e in agent.session(b)["feedback"]] == [(item_b, "down")]
    assert (
        item_b in agent.session(b)["state"]["disliked"]
        and item_b not in agent.session(a)["state"]["disliked"]
    )


def test_session_locks_do_not_accumulate(agent: Agent) -> None:
    """A long-running server sees unbounded sessions: a session's lock lives only while in use."""
    sessions = [agent.create_session() for _ in range(50)]
    for sid in sessions:
        agent.turn(sid, "a western")
    locks = agent.store._session_locks  # type: ignore[attr-defined]
    gc.collect()
    assert len(locks._locks) == 0
    held = locks.get(sessions[0])
    assert locks.get(sessions[0]) is held  # one lock per session while anyone holds it
    with held:
        assert not locks.get(sessions[0]).acquire(blocking=False)
    del held
    gc.collect()
    assert len(locks._locks) == 0
