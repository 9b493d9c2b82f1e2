"""Issue 15 items 1-2: what an explanation says is shared with a liked title, asked for, or the user's
own rating must be so (checked by the validator on the free-text paths too)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.explain.facts import facts_from
from bot.explain.templates import opening, plans, template_explanation
from bot.explain.validator import validate_facts
from tests.bot.llm_cases import ronin_for_user


def check(text: str):
    return validate_facts(text, facts_from(ronin_for_user()))


@pytest.mark.parametrize(
    "text",
    [
        "You gave Heat 5 stars, and the 40 people who liked Heat rated Ronin 4.0 on average.",
        "Ronin shares the action and crime genres and the heist tag with Heat, which you liked.",
        "Because you liked Heat, try Ronin: it has the crime genre and the heist tag too.",
        "Because you liked The Godfather, Ronin is a crime film.",
        "You asked for crime: Ronin is a crime and action film tagged heist and car chase.",
        "Ronin has no violent or gore tag, as you asked.",
        "Ronin shares the crime genre and the ensemble cast tag with Heat, which you liked.",
        # comparisons: what the sentence names is shared with the title it compares to
        "Ronin is a crime film like The Godfather.",
        "Ronin and Heat share the crime genre and the heist tag.",
        "Ronin is a crime and action film tagged heist, similar to Heat.",
    ],
)
def test_true_links_pass(text: str) -> None:
    result = check(text)
    assert result.ok, result.problems


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("You gave Heat 4 stars, and Ronin shares the crime genre with Heat.", "number:4"),
        ("You gave The Godfather 5 stars.", "number:5"),  # no rating of the user's for it
        (
            "Ronin shares the thriller genre with The Godfather, which you liked.",
            "claim:unshared_genre thriller",
        ),
        ("Ronin shares the car chase tag with Heat.", "claim:unshared_tag car"),
        ("Because you liked The Godfather, Ronin is an action film.", "claim:unshared_genre action"),
        ("Because you liked The Godfather, Ronin is tagged heist.", "claim:unshared_tag heist"),
        ("You asked for action: Ronin is an action film.", "claim:asked action"),
        ("Ronin has the gangster tag and came out in 1998.", "claim:tag 'gangster'"),
        ("Ronin has no heist tag, as you asked.", "claim:no_tag heist"),
        # free text from the packaged models' own habits ("..., similar to Finding Nemo")
        ("Ronin and The Godfather share the thriller genre.", "claim:unshared_genre thriller"),
        ("The Godfather and Ronin share the heist tag.", "claim:unshared_tag heist"),
        ("Ronin is a thriller film like The Godfather.", "claim:unshared_genre thriller"),
        ("Similar to The Godfather, Ronin is an action film.", "claim:unshared_genre action"),
        ("Ronin is a crime film tagged car chase, similar to Heat.", "claim:unshared_tag car"),
        ("Ronin and Ronin share the crime genre.", "claim:shared"),
        ("Ronin is a car chase film, similar to Heat.", "claim:unshared car"),  # its tag, not Heat's
    ],
)
def test_false_links_fail(text: str, problem: str) -> None:
    result = check(text)
    assert not result.ok and problem in result.problems, result.problems


def test_the_most_specific_plan_cites_the_users_own_history() -> None:
    facts = facts_from(ronin_for_user())
    best = plans(facts)[0]
    assert "history" in best.cites and "You gave Heat 5 stars" in best.text
    assert all(p.specificity <= best.specificity for p in plans(facts))


def test_no_plan_is_a_bare_genre_when_more_is_known() -> None:
    facts = facts_from(ronin_for_user())
    for plan in plans(facts):
        assert plan.cites - {"genre", "year"}, plan.text


def test_explanations_of_one_reply_open_differently() -> None:
    facts = facts_from(ronin_for_user())
    used: list[str] = []
    for _ in range(4):
        text = template_explanation(facts, 2278, 0, used)
        assert opening(text, facts) not in used
        used.append(opening(text, facts))


def test_a_comparison_needs_what_is_shared_not_what_was_asked() -> None:
    """ "Because you liked X, Ronin is an action film" may name what the request asked for; "Ronin is
    an action film, similar to X" says X is one too, so only what they share will do."""
    facts = replace(facts_from(ronin_for_user()), asked_genres=("crime", "action"))
    assert validate_facts("Because you liked The Godfather, Ronin is an action film.", facts).ok
    result = validate_facts("Ronin is an action film, similar to The Godfather.", facts)
    assert not result.ok and "claim:unshared_genre action" in result.problems
