"""Issue 15: false sentences built from true pieces, "liked" = 4 stars or more, rounding once.

Each sentence here states only numbers, titles and words that occur in the evidence, yet says
something false: the validator must bind every figure to its source and title in the same clause
and check "both" / "same" claims.
"""

from __future__ import annotations

import pytest

from bot.explain.facts import facts_from, format_rating
from bot.explain.validator import validate
from bot.types import Candidate, Evidence, Neighbour
from tests.bot.llm_cases import ronin


def check(text: str, candidate: Candidate | None = None):
    candidate = candidate or ronin()
    return validate(text, candidate.evidence, title=candidate.title)


# The five sentences of the issue, against the evidence for Ronin with a liked Heat.
ISSUE_FALSE = [
    "Ronin was rated 3.9 on average by the 120 people who liked Heat.",  # overall figures as the fans'
    "People who liked The Godfather rated Ronin 4.0 on average.",  # Heat's co-rating moved to another title
    "Ronin and Heat both came out in 1998.",  # Ronin's year claimed for Heat too
    "Heat and Ronin are both tagged gangster.",  # Ronin's tag claimed for Heat too
    "Ronin is the same film as Heat.",
]


@pytest.mark.parametrize("text", ISSUE_FALSE)
def test_the_issues_false_sentences_are_rejected(text: str) -> None:
    assert not check(text).ok


def toy_story_2(min_rating: float | None) -> Candidate:
    co = {"seed_item_id": 1, "seed_title": "Toy Story (1995)", "mean": 3.935, "n": 77}
    if min_rating is not None:
        co["min_rating"] = min_rating
    ev = Evidence(
        neighbours=[Neighbour(1, "Toy Story (1995)", 0.6, "cf")],
        genres=["Adventure", "Animation", "Children", "Comedy", "Fantasy"],
        year=1999,
        n_ratings=97,
        mean_rating=3.861,
        co_ratings=[co],
    )
    return Candidate(item_id=3114, title="Toy Story 2 (1999)", score=1.0, evidence=ev)


def test_liked_means_four_stars_or_more() -> None:
    # 77 is the number who gave Toy Story 3 stars or more: "liked" may not be said of them.
    three = toy_story_2(3.0)
    assert not check("The 77 people who liked Toy Story rated Toy Story 2 3.9 on average.", three).ok
    assert check(
        "The 77 people who rated Toy Story 3 stars or more rated Toy Story 2 3.9 on average.", three
    ).ok
    # A co-rating whose definition is unknown is not "liked" either.
    assert not check(
        "The 77 people who liked Toy Story rated Toy Story 2 3.9 on average.", toy_story_2(None)
    ).ok
    four = toy_story_2(4.0)
    assert check("The 77 people who liked Toy Story rated Toy Story 2 3.9 on average.", four).ok
    assert not check(
        "The 77 people who rated Toy Story 3 stars or more rated Toy Story 2 3.9 on average.", four
    ).ok


def test_means_are_rounded_once_from_the_raw_value() -> None:
    assert format_rating(4.149) == "4.1"
    cand = Candidate(
        item_id=5, title="Heat (1995)", score=1.0, evidence=Evidence(n_ratings=10, mean_rating=4.149)
    )
    assert facts_from(cand).mean_text == "4.1"
    assert check("Heat is rated 4.1 on average by 10 people.", cand).ok
    assert not check("Heat is rated 4.2 on average by 10 people.", cand).ok  # 4.149 -> 4.15 -> 4.2


def test_claims_the_data_cannot_support_are_rejected() -> None:
    ev = Evidence(
        neighbours=[Neighbour(2858, "American Beauty (1999)", 0.5, "cf")],
        genres=["Action", "Crime", "Thriller"],
        year=1998,
        n_ratings=43,
        mean_rating=3.52,
    )
    cand = Candidate(item_id=2278, title="Ronin (1998)", score=1.0, evidence=ev)
    for text in (
        "Ronin is an American film.",
        "Ronin is a beauty of a crime film.",
        "Ronin is an English crime film, similar to American Beauty.",
        "Ronin is a French thriller.",
    ):
        assert not check(text, cand).ok, text
    # a comparison says American Beauty is a crime film too (it is a drama and romance): rejected for
    # that genre alone, not for the title's word "American"; as two sentences, nothing is compared
    assert check("Ronin is a crime film, similar to American Beauty.", cand).problems == [
        "claim:unshared_genre crime"
    ]
    assert check("Ronin is a crime film. It is similar to American Beauty.", cand).ok


def test_a_liked_title_before_a_title_with_an_article_keeps_both_masked() -> None:
    """ "you liked The X, The Y": the catalog's inverted form "X, The" must not take Y's article."""
    ev = Evidence(
        neighbours=[Neighbour(4993, "Lord of the Rings: The Fellowship of the Ring, The (2001)", 0.5, "cf")],
        genres=["Crime", "Drama"],
        year=1994,
        n_ratings=317,
        mean_rating=4.429,
    )
    cand = Candidate(item_id=318, title="Shawshank Redemption, The (1994)", score=1.0, evidence=ev)
    text = (
        "Because you liked The Lord of the Rings: The Fellowship of the Ring, "
        "The Shawshank Redemption should suit you: it is rated 4.4 on average by 317 people."
    )
    result = check(text, cand)
    assert result.ok, result.problems
