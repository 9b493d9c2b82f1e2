"""Every sentence the per-candidate GBNF grammar allows passes the validator."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings

from bot.explain.facts import facts_from
from bot.explain.sentences import explanation_choices, explanation_grammar, gbnf_literal
from bot.explain.validator import validate_facts
from bot.types import Candidate
from tests.bot.llm_cases import ronin
from tests.bot.test_explain_templates import candidates


def grammar_options(grammar: str) -> list[str]:
    """The texts of the grammar's one alternation (it is finite: the offered plans)."""
    body = grammar.split("plan ::= ", 1)[1].strip()
    return [m.replace('\\"', '"').replace("\\\\", "\\") for m in re.findall(r'"((?:[^"\\]|\\.)*)"', body)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidates())
def test_grammar_sentences_never_state_a_false_fact(candidate: Candidate) -> None:
    facts = facts_from(candidate)
    options = grammar_options(explanation_grammar(facts))
    assert options == explanation_choices(facts)
    for sentence in options:
        problems = validate_facts(sentence, facts).problems
        # only length may fail (very long random titles); never a word, number, genre or claim
        assert all(p.startswith("length:too_long") for p in problems), (sentence, problems)


def test_grammar_text_shape() -> None:
    grammar = explanation_grammar(facts_from(ronin()))
    assert grammar.startswith('root ::= " "? plan\nplan ::= "')
    assert "The 40 people who liked Heat rated" in grammar


def test_gbnf_literal_escapes_quotes_and_backslashes() -> None:
    assert gbnf_literal('Say "hi" \\ now') == '"Say \\"hi\\" \\\\ now"'
