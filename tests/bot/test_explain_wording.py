"""Issue 15: explanations read as a reader would say them, and stay bound and validated.

"has no gore or gory tag" -> "isn't tagged gore or gory"; "matches high and school" -> 'matches
"high school"' (words next to each other in the request); no tag that repeats a genre beside it
("a crime film tagged crime"); no "on average" of one rating; no rating glued to a title that
ends in a number ("rated Deadpool 2 4.3").
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.explain.explainer import said_facts
from bot.explain.facts import facts_from, request_phrases
from bot.explain.templates import plans
from bot.explain.validator import validate_facts
from bot.types import Candidate, Evidence, Neighbour
from tests.bot.llm_cases import ronin, ronin_for_user


def texts(candidate: Candidate, said: tuple[str, ...] = ()) -> list[str]:
    facts = said_facts(facts_from(candidate), said)
    out = [p.text for p in plans(facts)]
    for text in out:  # every plan is still bound to the evidence
        assert validate_facts(text, facts).ok, (text, validate_facts(text, facts).problems)
    return out


def test_avoided_tags_read_as_not_tagged() -> None:
    shown = texts(ronin_for_user())
    assert "Ronin isn't tagged violent or gore, as you asked." in " ".join(shown)
    assert not any("has no" in t for t in shown)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Ronin isn't tagged heist, as you asked.", "claim:no_tag heist"),  # it is: not ruled out
        ("Heat isn't tagged gore, as you asked.", "claim:liked_item_described"),  # said of a liked title
        ("Ronin is not tagged car chase.", "claim:no_tag car"),
    ],
)
def test_not_tagged_claims_are_checked(text: str, problem: str) -> None:
    result = validate_facts(text, facts_from(ronin_for_user()))
    assert not result.ok and problem in result.problems, result.problems


def test_the_old_wording_is_still_understood() -> None:
    assert validate_facts("Ronin has no violent or gore tag, as you asked.", facts_from(ronin_for_user())).ok


def test_adjacent_request_words_are_one_quoted_phrase() -> None:
    assert request_phrases(["high", "school", "comedy"], ["a high school movie, a comedy"]) == (
        "high school",
        "comedy",
    )
    assert request_phrases(["comedy", "date"], ["a comedy for date night"]) == ("comedy", "date")
    assert request_phrases(["school", "high"], ["high school"]) == ("high school",)  # the user's order
    school = replace(ronin().evidence, query_terms=["high", "school"])
    shown = texts(replace(ronin(), evidence=school), ("something set in a high school",))
    assert any('Ronin matches "high school" from your request.' in t for t in shown), shown
    assert not any("high and school" in t for t in shown)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('Ronin matches "school high" from your request.', "a high school movie"),  # not the user's words
        ('Ronin matches "car chase" from your request.', "a high school movie"),  # a tag, not the request
        ('Ronin matches "high school" from your request.', "high marks at school"),  # not adjacent
    ],
)
def test_quoted_request_words_must_be_the_users(text: str, said: str) -> None:
    school = replace(ronin().evidence, query_terms=["high", "school"])
    facts = said_facts(facts_from(replace(ronin(), evidence=school)), (said,))
    result = validate_facts(text, facts)
    assert not result.ok and any(p.startswith("title:quoted") for p in result.problems), result.problems


def test_no_tag_repeats_a_genre_or_a_longer_tag() -> None:
    ev = Evidence(
        neighbours=[
            Neighbour(1, "Toy Story (1995)", 0.8, "cf", ["Animation", "Children"], ["animation", "pixar"])
        ],
        genres=["Animation", "Children"],
        item_tags=["animation", "disney", "disney animated feature"],
        n_ratings=120,
        mean_rating=3.9,
    )
    shown = " ".join(texts(Candidate(item_id=2, title="The Incredibles (2004)", score=1.0, evidence=ev)))
    assert "tagged animation" not in shown and "disney and disney" not in shown
    assert "tagged disney animated feature" in shown
    assert "the animation and children's genres and the pixar tag" in shown
    assert "the animation tag" not in shown and "animation and pixar tags" not in shown


def test_one_rating_is_no_average_and_a_number_title_keeps_apart() -> None:
    one = Candidate(item_id=3, title="Rough Magic (1995)", score=1.0,
                    evidence=Evidence(genres=["Drama"], n_ratings=1, mean_rating=4.0))  # fmt: skip
    assert "Rough Magic is a drama film, rated 4.0 by 1 person." in texts(one)
    ev = Evidence(
        neighbours=[Neighbour(541, "Blade Runner (1982)", 0.7, "cf", ["Action", "Sci-Fi"])],
        genres=["Action", "Sci-Fi"],
        co_ratings=[{"seed_title": "Blade Runner (1982)", "mean": 4.26, "n": 3, "min_rating": 4.0}],
    )
    shown = " ".join(texts(Candidate(item_id=4, title="Deadpool 2 (2018)", score=1.0, evidence=ev)))
    assert "rated Deadpool 2 4.3" not in shown
    assert "The 3 people who liked Blade Runner gave Deadpool 2 an average of 4.3." in shown


def test_asked_for_a_childrens_film() -> None:
    ev = Evidence(genres=["Animation", "Children"], asked_genres=["Children"], n_ratings=10, mean_rating=3.9)
    shown = texts(
        Candidate(item_id=5, title="The Lion King (1994)", score=1.0, evidence=ev), ("for my kids",)
    )
    assert any(t.startswith("You asked for children's films: The Lion King is") for t in shown), shown


def test_why_reads_adjacent_request_words_as_the_users_phrase() -> None:
    """ "why?" answers from the evidence alone; words the user wrote side by side stay their phrase."""
    from bot.reply_wording import why_text
    from bot.types import Candidate, Evidence

    cand = Candidate(
        item_id=1,
        title="Fast Times at Ridgemont High (1982)",
        score=1.0,
        evidence=Evidence(query_terms=["high", "school"]),
    )
    assert 'matches your words "high school"' in why_text(cand, ["a high school comedy please"])
    assert "matches your words high and school" in why_text(cand)  # nothing said: the words as found
