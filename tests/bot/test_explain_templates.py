"""Template explanations always pass the validator, for any evidence, and vary between items."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.explain.facts import facts_from
from bot.explain.templates import plans, template_explanation
from bot.explain.validator import validate_facts
from bot.types import Candidate, Evidence, Neighbour
from tests.bot.llm_cases import amelie, bare, ronin, terminator

GENRES = [
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "IMAX",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
    "(no genres listed)",
]
word = st.text(alphabet=st.characters(categories=["L", "N"], max_codepoint=0x24F), min_size=1, max_size=10)
title_text = (
    st.text(
        alphabet=st.characters(categories=["L", "N", "P", "Zs"], max_codepoint=0x24F), min_size=1, max_size=40
    )
    .map(str.strip)
    .filter(lambda t: any(c.isalnum() for c in t))
)
year = st.integers(min_value=1900, max_value=2030)


@st.composite
def titles(draw) -> str:
    base = draw(title_text)
    if draw(st.booleans()):
        return f"{base} ({draw(year)})"
    return base


@st.composite
def candidates(draw) -> Candidate:
    genre_list = st.lists(st.sampled_from(GENRES), max_size=3)
    tag_list = st.lists(st.lists(word, min_size=1, max_size=3).map(" ".join), max_size=3)
    neighbours = [
        Neighbour(
            i,
            t,
            draw(st.floats(0, 1)),
            "cf",
            draw(genre_list),
            draw(tag_list),
            draw(st.none() | st.sampled_from([0.5, 3.0, 4.0, 4.5, 5.0])),
        )
        for i, t in enumerate(draw(st.lists(titles(), max_size=3)))
    ]
    co = [
        {
            "seed_title": t,
            "mean": draw(st.floats(0.5, 5.0)),
            "n": draw(st.integers(0, 500)),
            "min_rating": 4.0,
        }
        for t in draw(st.lists(titles(), max_size=2))
    ]
    n = draw(st.integers(0, 100_000))
    ev = Evidence(
        neighbours=neighbours,
        matched_genres=draw(st.lists(st.sampled_from(GENRES), max_size=2)),
        matched_tags=draw(st.lists(st.lists(word, min_size=1, max_size=3).map(" ".join), max_size=4)),
        item_tags=draw(tag_list),
        avoided_tags=draw(tag_list),
        asked_genres=draw(genre_list),
        query_terms=draw(st.lists(word, max_size=4)),
        genres=draw(st.lists(st.sampled_from(GENRES), max_size=4)),
        year=draw(st.none() | year),
        n_ratings=n,
        mean_rating=draw(st.none() | st.floats(0.5, 5.0)),
        co_ratings=co,
    )
    return Candidate(item_id=draw(st.integers(0, 10**6)), title=draw(titles()), score=1.0, evidence=ev)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidates(), st.integers(0, 50))
def test_every_template_passes_the_validator(candidate: Candidate, seed: int) -> None:
    facts = facts_from(candidate)
    text = template_explanation(facts, candidate.item_id, seed)
    result = validate_facts(text, facts)
    assert result.ok, (text, result.problems)
    for plan in plans(facts):  # also the plans the selector would not choose
        result = validate_facts(plan.text, facts)
        # only length may fail (very long random titles); never a word, number, genre or claim
        assert all(p.startswith("length:too_long") for p in result.problems), (plan.text, result.problems)


def test_templates_on_realistic_candidates_read_well() -> None:
    for candidate in (ronin(), amelie(), terminator(), bare()):
        facts = facts_from(candidate)
        text = template_explanation(facts, candidate.item_id)
        assert validate_facts(text, facts).ok
        assert text[0].isupper() and text.endswith(".")
        assert facts.title in text


def test_replies_do_not_all_read_the_same() -> None:
    facts = facts_from(ronin())
    texts = {template_explanation(facts, item_id) for item_id in range(20)}
    assert len(texts) >= 3
