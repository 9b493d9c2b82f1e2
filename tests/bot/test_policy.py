"""The policy: one specific question without signal, recommendations with it."""

from __future__ import annotations

from agent_support import movielens, parser

from bot.policy import Policy
from bot.state import DialogueState, apply_message


def _decide(state: DialogueState, message: str):  # type: ignore[no-untyped-def]
    data = movielens()
    popularity = {int(k): int(v) for k, v in data.interactions.groupby("item_id").size().items()}
    parsed = parser().parse(message)
    change = apply_message(state, parsed, {i.item_id: i.year for i in data.catalog}, 2018)
    return Policy(data.catalog, popularity).decide(state, parsed, change), data


def test_no_signal_asks_one_specific_question_with_contrasting_seeds() -> None:
    decision, data = _decide(DialogueState(), "can you recommend a movie?")
    assert decision.action == "ask"
    assert len(decision.seeds) == 3 and decision.question and decision.question.count("?") == 1
    genres = [set(data.catalog.get(i).genres) for i in decision.seeds]
    assert not (genres[0] & genres[1]) and not (genres[0] & genres[2]) and not (genres[1] & genres[2])
    for i in decision.seeds:
        assert str(data.catalog.get(i).year) in decision.question
    assert "tell me more" not in decision.question.lower()


def test_greeting_asks_and_signal_recommends() -> None:
    assert _decide(DialogueState(), "hello")[0].action == "ask"
    assert _decide(DialogueState(), "I loved Heat")[0].action == "recommend"
    assert _decide(DialogueState(), "a comedy from the 80s")[0].action == "recommend"


def test_only_negative_constraints_still_ask() -> None:
    decision, _ = _decide(DialogueState(), "no horror")
    assert decision.action == "ask" and decision.question and decision.question.startswith("Noted")


def test_off_topic_is_steered_back() -> None:
    assert _decide(DialogueState(), "who won the football game last night")[0].action == "steer"


def test_ambiguous_title_asks_did_you_mean() -> None:
    decision, _ = _decide(DialogueState(), "I loved lord of the rings")
    assert decision.action == "disambiguate" and decision.question.startswith("Did you mean")


def test_surprise_recommends_popular() -> None:
    decision, _ = _decide(DialogueState(), "surprise me")
    assert decision.action == "recommend" and decision.popular


def test_new_seeds_when_asking_again() -> None:
    state = DialogueState()
    first, _ = _decide(state, "hi")
    state.offered_seeds.extend(first.seeds)
    second, _ = _decide(state, "hmm, I'm not sure what movie")
    assert not set(first.seeds) & set(second.seeds)
