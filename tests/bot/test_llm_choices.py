"""Finite-choice decoding: always one of the options, forced tokens batched, the model decides branches."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from bot.explain.explainer import Explainer
from bot.explain.facts import facts_from
from bot.explain.llm import load_llm, stream_text, supports_choices
from bot.explain.llm.choices import Choice, TokenTrie, decode_choice, pick
from bot.explain.prompts import explanation_messages
from bot.explain.sentences import explanation_choices, explanation_grammar, gbnf_literal
from bot.explain.templates import opening, plans, top_plans
from bot.explain.validator import validate_facts
from bot.settings import Settings
from tests.bot.llm_cases import amelie, bare, real_llamacpp_settings, ronin, terminator

VOCAB = 16
END = 15


class ScriptedModel:
    """Logits favour ``preferred`` tokens (else token 0); records every batch it evaluates."""

    def __init__(self, preferred: Sequence[int] = ()) -> None:
        self.preferred = set(preferred)
        self.batches: list[list[int]] = []

    def extend(self, tokens: Sequence[int]) -> None:
        self.batches.append(list(tokens))

    def logits(self) -> np.ndarray:
        out = np.zeros(VOCAB)
        out[0] = 5.0  # a token no option continues with: must never be chosen
        for t in self.preferred:
            out[t] = 10.0
        return out


def run(model: ScriptedModel, options: list[list[int]], **kwargs: object) -> tuple[list[int], Choice]:
    tokens: list[int] = []
    steps = list(decode_choice(model, TokenTrie.build(options), end_token=END, **kwargs))  # type: ignore[arg-type]
    for step in steps[:-1]:
        assert isinstance(step, list)
        tokens += step
    assert isinstance(steps[-1], Choice)
    return tokens, steps[-1]


def test_the_model_decides_only_where_options_differ() -> None:
    options = [[1, 2, 3, 4, 5], [1, 2, 3, 6, 7, 8], [9, 10]]
    model = ScriptedModel(preferred=[1, 6])
    tokens, choice = run(model, options)
    assert tokens == [1, 2, 3, 6, 7, 8] and choice.option == 1 and choice.tokens == tokens
    # decisions: the first token (prompt logits) and after "1 2 3"; the forced run is one batch and
    # the last run is never evaluated
    assert choice.decisions == 2
    assert model.batches == [[1, 2, 3]] and choice.model_calls == 1


def test_output_is_always_an_option_whatever_the_logits() -> None:
    rng = np.random.default_rng(0)
    options = [list(rng.integers(1, 14, size=int(rng.integers(1, 6)))) for _ in range(30)]
    options = [list(o) for o in dict.fromkeys(tuple(o) for o in options)]
    for seed in range(20):
        model = ScriptedModel(preferred=rng.integers(0, VOCAB, size=3).tolist())
        tokens, choice = run(model, options, temperature=0.7, seed=seed)
        assert tokens == options[choice.option]


def test_an_option_that_is_a_prefix_of_another_competes_with_the_end_token() -> None:
    options = [[1, 2], [1, 2, 3]]
    assert run(ScriptedModel(preferred=[1, END]), options)[1].option == 0
    assert run(ScriptedModel(preferred=[1, 3]), options)[1].option == 1


def test_choices_are_the_most_specific_plans_about_this_person() -> None:
    facts = facts_from(ronin())
    choices = explanation_choices(facts)
    assert choices == [p.text for p in top_plans(facts)]
    every = {p.text: p for p in plans(facts)}
    assert all(every[c].user_linked for c in choices)
    # the overall rating alone after "because you liked" linked nothing: never offered
    assert "Because you liked Heat, Ronin is rated 3.9 on average by 120 people." not in choices


def test_choices_leave_out_the_openings_this_reply_used() -> None:
    facts = facts_from(ronin())
    first = explanation_choices(facts)
    used = [opening(first[0], facts)]
    assert all(opening(c, facts) not in used for c in explanation_choices(facts, used))


def test_trie_rejects_empty_and_duplicate_options() -> None:
    with pytest.raises(ValueError, match="no tokens"):
        TokenTrie.build([[1], []])
    with pytest.raises(ValueError, match="same tokens"):
        TokenTrie.build([[1, 2], [1, 2]])


def test_pick_is_greedy_at_temperature_zero_and_seeded_otherwise() -> None:
    logits = np.array([0.0, 1.0, 3.0, 2.0])
    assert pick(logits, [1, 3], 0.0, np.random.default_rng(0)) == 3
    draws = [pick(logits, [1, 2, 3], 1.0, np.random.default_rng(s)) for s in range(200)]
    assert set(draws) <= {1, 2, 3} and draws.count(2) > draws.count(1)
    again = [pick(logits, [1, 2, 3], 1.0, np.random.default_rng(s)) for s in range(200)]
    assert draws == again


def test_choices_all_validate_and_the_grammar_admits_them() -> None:
    for candidate in (ronin(), amelie(), terminator(), bare()):
        facts = facts_from(candidate)
        choices = explanation_choices(facts)
        assert len(choices) == len(set(choices)) > 0
        grammar = explanation_grammar(facts)
        for text in choices:
            problems = validate_facts(text, facts).problems
            assert all(p.startswith("length:too_long") for p in problems), (text, problems)
            assert gbnf_literal(text) in grammar  # quotes inside ("matches \"heist\"") escaped


@pytest.mark.slow
@pytest.mark.parametrize("model", ["gemma", "smollm2"])
def test_real_llamacpp_model_chooses_a_validated_sentence(settings: Settings, model: str) -> None:
    """A packaged GGUF through the chat model: the reply is exactly one choice, and the explainer uses it."""
    real = real_llamacpp_settings(settings, model, timeout_s=120.0)
    llm = load_llm(real)
    assert llm is not None and supports_choices(llm)
    for candidate in (ronin(), amelie(), terminator(), bare()):
        facts = facts_from(candidate)
        choices = explanation_choices(facts)
        messages = explanation_messages(facts, brief=True)
        text = "".join(stream_text(llm, messages, timeout_s=120, choices=choices))
        assert text.strip() in choices
    # after choice decoding, ordinary generation on the same model still works (KV cache consistent)
    free = "".join(stream_text(llm, explanation_messages(facts_from(ronin())), timeout_s=120, max_tokens=8))
    assert free.strip()
    explainer = Explainer(llm, real)
    result = explainer.explain(ronin())
    assert result.source == "llm" and result.path == "llm+choices", result
    assert result.text in explanation_choices(facts_from(ronin()))
