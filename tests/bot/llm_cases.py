"""Hand-built candidates with MovieLens-style evidence, shared by the LLM/explain tests.

Ids and titles are ml-latest-small's (Ronin is 2278); the figures are illustrative, not the data's
(the tests check text against this evidence, not against ratings.csv).
"""

from __future__ import annotations

from dataclasses import replace

from bot.settings import Settings
from bot.types import Candidate, Evidence, Neighbour


def ronin() -> Candidate:
    ev = Evidence(
        neighbours=[
            # shared genres as in movies.csv (Heat: Action|Crime|Thriller; The Godfather: Crime|Drama)
            Neighbour(6, "Heat (1995)", 0.81, "cf", ["Action", "Crime", "Thriller"]),
            Neighbour(858, "Godfather, The (1972)", 0.52, "embedding", ["Crime"]),
        ],
        matched_genres=["Crime"],
        matched_tags=["gangster"],
        query_terms=["heist"],
        genres=["Action", "Crime", "Thriller"],
        year=1998,
        n_ratings=120,
        mean_rating=3.88,
        co_ratings=[
            {"seed_item_id": 6, "seed_title": "Heat (1995)", "mean": 4.05, "n": 40, "min_rating": 4.0}
        ],
    )
    return Candidate(item_id=2278, title="Ronin (1998)", score=0.9, evidence=ev)


def ronin_for_user() -> Candidate:
    """:func:`ronin` for a known user who gave Heat 5 stars: Heat shares the heist and ensemble cast
    tags, the request asked for crime and ruled out violent / gore; no matched tags or request words."""
    base = ronin()
    heat = replace(base.evidence.neighbours[0], shared_tags=["heist", "ensemble cast"], user_rating=5.0)
    ev = replace(
        base.evidence,
        neighbours=[heat, *base.evidence.neighbours[1:]],
        matched_tags=[],
        query_terms=[],
        asked_genres=["Crime"],
        item_tags=["heist", "car chase"],
        avoided_tags=["violent", "gore"],
        from_user_history=True,
    )
    return replace(base, evidence=ev)


def amelie() -> Candidate:
    ev = Evidence(
        neighbours=[
            Neighbour(2324, "Life Is Beautiful (La Vita è bella) (1997)", 0.6, "cf", ["Comedy", "Romance"])
        ],
        genres=["Comedy", "Romance"],
        matched_genres=["Romance"],
        year=2001,
        n_ratings=120,
        mean_rating=4.18,
    )
    return Candidate(
        item_id=4973, title="Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)", score=0.8, evidence=ev
    )


def terminator() -> Candidate:
    ev = Evidence(
        neighbours=[Neighbour(541, "Blade Runner (1982)", 0.7, "cf", ["Action", "Sci-Fi", "Thriller"])],
        genres=["Action", "Sci-Fi", "Thriller"],
        matched_tags=["robots"],
        year=1984,
        n_ratings=131,
        mean_rating=3.9,
    )
    return Candidate(item_id=1240, title="Terminator, The (1984)", score=0.7, evidence=ev)


def bare() -> Candidate:
    """A candidate with no evidence at all (popularity fallback with unknown stats)."""
    return Candidate(item_id=1, title="Toy Story (1995)", score=0.1)


def real_llamacpp_settings(settings: Settings, model: str, timeout_s: float | None = None) -> Settings:
    """``settings`` on the llama.cpp backend with a packaged GGUF ("gemma" / "smollm2"), 2 threads."""
    from bot.explain.llm.models import packaged_model_path

    update: dict[str, object] = {
        "llm_backend": "llamacpp",
        "llm_threads": 2,
        "llm_model_path": packaged_model_path(model, settings),  # type: ignore[arg-type]
    }
    if timeout_s is not None:
        update |= {"llm_timeout_s": timeout_s, "explain_timeout_s": timeout_s}
    return settings.model_copy(update=update)
