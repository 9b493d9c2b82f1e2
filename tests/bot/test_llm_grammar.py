"""Every sentence the per-candidate GBNF grammar allows passes the validator."""

from __future__ import annotations

from itertools import permutations

from hypothesis import HealthCheck, given, settings

from bot.explain.facts import facts_from
from bot.explain.sentences import explanation_grammar, gbnf_literal, openers, predicates
from bot.explain.validator import validate_facts
from bot.types import Candidate
from tests.bot.llm_cases import amelie, bare, ronin, terminator
from tests.bot.test_explain_templates import candidates


def sentences(candidate: Candidate) -> list[str]:
    """All sentences the grammar can produce (it is finite: opener, one or two predicates)."""
    facts = facts_from(candidate)
    preds = predicates(facts) or ["is one more pick to try"]
    bodies = preds + [f"{a} and {b}" for a, b in permutations(preds, 2)]
    return [f"{o} {b}." for o in openers(facts) for b in bodies]


def test_grammar_sentences_validate_on_realistic_candidates() -> None:
    for candidate in (ronin(), amelie(), terminator(), bare()):
        facts = facts_from(candidate)
        for sentence in sentences(candidate):
            result = validate_facts(sentence, facts)
            assert all(p.startswith("length:too_long") for p in result.problems), (sentence, result.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidates())
def test_grammar_sentences_never_state_a_false_fact(candidate: Candidate) -> None:
    facts = facts_from(candidate)
    for sentence in sentences(candidate):
        problems = validate_facts(sentence, facts).problems
        # only length may fail (very long random titles); never a word, number, genre or claim
        assert all(p.startswith("length:too_long") for p in problems), (sentence, problems)


def test_grammar_text_shape() -> None:
    grammar = explanation_grammar(facts_from(ronin()))
    assert grammar.startswith('root ::= " "? opener " " body "."\n')
    assert '"is rated 3.9 on average by 120 people"' in grammar
    assert '"Because you liked Heat, Ronin"' in grammar
    # p0 / p1 both say "like Heat" (same kind): never joined; p0 and the genre p2 are
    assert 'p0 " and " p2' in grammar and 'p0 " and " p1' not in grammar


def test_gbnf_literal_escapes_quotes_and_backslashes() -> None:
    assert gbnf_literal('Say "hi" \\ now') == '"Say \\"hi\\" \\\\ now"'
