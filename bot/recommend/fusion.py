"""Learned fusion: the blend's score for a session known only by liked items, fitted on simulated sessions.

The fixed mix ``a*CF + (1-a)*semantic`` tied CF fold-in on the cold-start benchmark: the MiniLM
signal is much weaker than CF, and popularity, ratings and genres say things neither score does.
A small classifier over per-candidate features of the blend's own candidate pool learns what each
signal is worth (:data:`FEATURES`); predicting 400 candidates is a ~0.1 ms matrix-vector product.
It is fitted on simulated sessions of other users by :mod:`bot.recommend.fusion_fit`.

The Blender uses it when a request has liked items and no text and the user is not known (see
``Blender._score``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from bot.recommend.ranking import dot_rows, minmax
from bot.recommend.request import Signals
from cf_engine.data.catalog import Dataset

FUSION_FORMAT = 1
FEATURES = (
    "cf_minmax",  # CF fold-in score, min-max over the pool
    "cf_log_rank",  # log(1 + rank) of the CF score in the pool
    "sem_cosine",  # MiniLM cosine to the liked items' centroid
    "sem_log_rank",  # log(1 + rank) of that cosine in the pool
    "log_popularity",  # log(1 + people who liked the item)
    "mean_rating",  # mean rating shrunk toward the catalog mean (RATING_PRIOR ratings)
    "genre_cosine",  # cosine of the item's genres to the liked items' genres
    "n_liked",  # how many liked items the session has (capped at 5)
)
RATING_PRIOR = 10.0


@dataclass
class FusionModel:
    """Standardisation plus logistic-regression weights over :data:`FEATURES`."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    features: tuple[str, ...] = FEATURES
    info: dict[str, Any] = field(default_factory=dict)

    def score(self, x: np.ndarray) -> np.ndarray:
        """Log-odds that each row's candidate is liked (a monotone score; no sigmoid needed)."""
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept


class FeatureSource(Protocol):
    """What :func:`candidate_features` reads about the items (a :class:`~bot.recommend.blend.Blender`)."""

    popularity: np.ndarray  # positive interactions per catalog column
    shrunk_rating: np.ndarray
    genres_unit: np.ndarray

    def vectors(self) -> np.ndarray | None: ...

    def genre_profile(
        self, liked_cols: Sequence[int], requested: Sequence[str] = ()
    ) -> np.ndarray | None: ...


def candidate_features(blender: FeatureSource, s: Signals, cols: np.ndarray) -> np.ndarray:
    """Rows of :data:`FEATURES` for candidate columns ``cols`` of one request (float64, (n, F))."""
    n = cols.size
    x = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if n == 0:
        return x
    cf = s.cf_scores[cols] if s.cf_scores is not None else np.zeros(n)
    x[:, 0] = minmax(cf)
    x[:, 1] = np.log1p(_ranks(cf))
    vectors = blender.vectors()
    if s.query is not None and vectors is not None:
        sem = dot_rows(vectors[cols], s.query).astype(np.float64)
        x[:, 2] = sem
        x[:, 3] = np.log1p(_ranks(sem))
    else:
        x[:, 3] = np.log1p(n)
    x[:, 4] = np.log1p(blender.popularity[cols])
    x[:, 5] = blender.shrunk_rating[cols]
    profile = blender.genre_profile(s.liked)
    if profile is not None:
        x[:, 6] = blender.genres_unit[cols] @ profile
    x[:, 7] = min(len(s.liked), 5)
    return x


def _ranks(values: np.ndarray) -> np.ndarray:
    """0 for the largest value, 1 for the next, ... (ties in order of position)."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.arange(values.size)
    return ranks


def shrunk_ratings(dataset: Dataset) -> np.ndarray:
    """Mean rating per catalog item, shrunk toward the catalog mean by RATING_PRIOR pseudo-ratings."""
    table = dataset.item_stats()
    counts = table["count"].to_numpy(dtype=np.float64)
    means = np.nan_to_num(table["mean_rating"].to_numpy(dtype=np.float64))
    ratings = dataset.interactions["rating"].to_numpy(dtype=np.float64)
    prior = float(ratings.mean()) if ratings.size else 0.0
    return (means * counts + prior * RATING_PRIOR) / (counts + RATING_PRIOR)
