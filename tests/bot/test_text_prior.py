"""The quality prior of typed requests (bot/recommend/blend.py TEXT_QUALITY_WEIGHT) on a small synthetic
catalog.

Item vectors are built at chosen cosines to a fixed query vector, so the test needs no embedding
model: an obscure, badly rated film whose vector is closest to the request (as a title that shares
the request's word made it with MiniLM) must not outrank a popular, well rated film that is almost
as close; and a popular film far from the request must not jump over the films that match it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bot.recommend.blend
from bot.recommend.blend import Blender
from bot.recommend.fusion_fit import build_blender
from bot.recommend.request import BlendRequest
from bot.settings import Settings
from bot.types import Constraints
from cf_engine.data.catalog import Catalog, Dataset, Item

DIM = 16
OBSCURE, CLASSIC, OFF_TOPIC = 1, 2, 3
# (item id, title, genres, cosine to the request, ratings)
FILMS = [
    (OBSCURE, "Robots", ("Sci-Fi",), 0.90, [2.0]),
    (CLASSIC, "WALL-E", ("Animation", "Sci-Fi"), 0.80, [4.5] * 50),
    (OFF_TOPIC, "Forrest Gump", ("Drama",), 0.10, [4.5] * 90),
] + [(10 + i, f"Filler {i}", ("Sci-Fi",), 0.55 + 0.02 * i, [3.0, 3.5]) for i in range(15)]


def _query() -> np.ndarray:
    q = np.zeros(DIM, dtype=np.float32)
    q[0] = 1.0
    return q


def _vectors() -> np.ndarray:
    """Unit vectors with the chosen cosine to :func:`_query` (the rest in distinct other directions)."""
    rows = []
    for n, (_, _, _, cos, _) in enumerate(FILMS):
        v = np.zeros(DIM, dtype=np.float32)
        v[0] = cos
        v[1 + n % (DIM - 1)] = np.sqrt(1.0 - cos**2)
        rows.append(v)
    return np.array(rows)


@pytest.fixture()
def blender(tmp_path) -> Blender:  # type: ignore[no-untyped-def]
    items = [Item(item_id=i, title=t, year=2000, genres=g) for i, t, g, _, _ in FILMS]
    rows, user = [], 0
    for item_id, _, _, _, ratings in FILMS:
        for r in ratings:
            rows.append((user, item_id, r, 0))
            user += 1
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    dataset = Dataset("synthetic", Catalog(items), frame)
    settings = Settings(home=tmp_path, llm_backend="template", mmr_lambda=1.0)
    blender = build_blender(dataset, None, None, settings, vectors=_vectors())
    blender._embed = lambda text: _query()  # type: ignore[assignment]  # no embedding model needed
    return blender


def _ids(blender: Blender, request: BlendRequest) -> list[int]:
    return [c.item_id for c in blender.blend(request)]


def test_well_rated_popular_film_beats_a_closer_obscure_one(blender: Blender) -> None:
    ids = _ids(blender, BlendRequest(text="a film with robots", k=5))
    assert ids[0] == CLASSIC, ids
    assert OBSCURE in ids[1:]  # demoted, not removed: it still matches the request


def test_without_the_prior_the_closest_vector_wins(blender: Blender, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.recommend.blend, "TEXT_QUALITY_WEIGHT", 0.0)
    assert _ids(blender, BlendRequest(text="a film with robots", k=3))[0] == OBSCURE


def test_the_prior_does_not_override_the_text(blender: Blender) -> None:
    # The catalog's most popular, best rated film is the pool's worst match: it stays out of the
    # list, and below even the unrated film that matches best (the prior's range is below the text's).
    ids = _ids(blender, BlendRequest(text="a film with robots", k=len(FILMS)))
    assert OFF_TOPIC not in ids[:5], ids
    assert ids.index(OBSCURE) < ids.index(OFF_TOPIC)


def test_the_prior_keeps_constraints_and_evidence(blender: Blender) -> None:
    no_animation = Constraints(genres_out=frozenset({"Animation"}))
    request = BlendRequest(text="a film with robots", constraints=no_animation, k=3)
    candidates = blender.blend(request)
    assert CLASSIC not in [c.item_id for c in candidates]
    assert all(0.0 <= c.semantic_score <= 1.0 for c in candidates)  # the evidence keeps the plain cosine part


def test_requests_without_text_are_unchanged(blender: Blender, monkeypatch: pytest.MonkeyPatch) -> None:
    request = BlendRequest(liked=[10], k=5)
    with_prior = _ids(blender, request)
    monkeypatch.setattr(bot.recommend.blend, "TEXT_QUALITY_WEIGHT", 0.0)
    assert _ids(blender, request) == with_prior
