"""A mention prior learned from training dialogues, blended with the chat's CF.

Features (each a score per catalog column, scaled to [0, 1] per sample):

* ``popularity`` – how often recommenders named the movie in the training dialogues;
* ``mention_popularity`` – how often either speaker named the movie in the training dialogues;
* ``co_mention`` – item-item co-occurrence of movies in the same training dialogue (cosine-normalised),
  summed over the context's movies (a disliked one counts half);
* ``text`` – TF-IDF of the context's words against each movie's "phrasing profile": the contexts that
  preceded its recommendation in training;
* ``cf`` – the chat's CF fold-in on the context movies the seeker liked or did not rate (MovieLens);
* ``again_seeker`` / ``again_recommender`` – the movie was already named in this dialogue by that side;
* ``ml_popularity`` – log MovieLens interaction count (reaches movies never named in training);
* ``year_prior`` – how often training targets came from the movie's release year (smoothed);
* ``genre_text`` – a text classifier from the context's words to the target's genres (trained on
  the training samples), scoring each movie by its genres: "something scary" -> Horror movies.

Weights are chosen by coordinate ascent on out-of-fold features of the *training* dialogues only
(:func:`tune_weights`), so no evaluated dialogue influences its own score.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from cf_engine.data.catalog import Dataset
from cf_engine.data.redial import DISLIKED, MENTION, Sample

FEATURES = (
    "popularity",
    "mention_popularity",
    "co_mention",
    "text",
    "cf",
    "again_seeker",
    "again_recommender",
    "ml_popularity",
    "year_prior",
    "genre_text",
)
_SPACE = re.compile(r"\s+")


def context_text(sample: Sample) -> str:
    """The context's words without the ``@id`` tokens (movies are the co-mention feature's job)."""
    return _SPACE.sub(" ", MENTION.sub(" ", " ".join(m.text for m in sample.context))).strip()


@dataclass(frozen=True)
class CatalogSide:
    """What the prior knows about catalog columns independently of ReDial."""

    ml_popularity: np.ndarray  # (n_items,) log1p interaction count
    years: np.ndarray  # (n_items,) release year, 0 when unknown
    genres: sp.csr_matrix  # (n_items, n_genres) binary


@dataclass
class PriorModel:
    """Counts learned from training samples, in catalog-column space."""

    n_items: int
    popularity: np.ndarray
    co: sp.csr_matrix
    vectorizer: TfidfVectorizer | None
    profiles: sp.csr_matrix | None  # (n_items, vocab), rows L2-normalised
    mentioned: np.ndarray | None = None  # (n_items,) log1p dialogues that name the movie
    catalog: CatalogSide | None = None
    year_score: np.ndarray | None = None  # (n_items,) smoothed share of training targets from that year
    genre_model: Any = None  # (vectorizer, per-genre centroid matrix) of the genre_text feature
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FEATURES, 1.0))


def catalog_side(dataset: Dataset) -> CatalogSide:
    """MovieLens popularity, years and genres per catalog column."""
    counts = dataset.item_stats()["count"].to_numpy(dtype=np.float32)
    years = np.array([item.year or 0 for item in dataset.catalog], dtype=np.int64)
    names = sorted({g for item in dataset.catalog for g in item.genres})
    col = {g: j for j, g in enumerate(names)}
    rows, cols = [], []
    for r, item in enumerate(dataset.catalog):
        for g in item.genres:
            rows.append(r)
            cols.append(col[g])
    genres = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(years), len(names)))
    return CatalogSide(ml_popularity=np.log1p(counts), years=years, genres=genres)


def fit_prior(
    samples: Sequence[Sample], column_of: dict[int, int], n_items: int, catalog: CatalogSide | None = None
) -> PriorModel:
    """Count target popularity, dialogue co-mentions and phrasing profiles over ``samples``."""
    pop = np.zeros(n_items, dtype=np.float32)
    dialogues: dict[str, set[int]] = {}
    texts: list[str] = []
    labels: list[int] = []
    for s in samples:
        col = column_of.get(s.target)
        mentioned = {column_of[m] for m in s.context_movie_ids if m in column_of}
        bag = dialogues.setdefault(s.conversation_id, set())
        bag.update(mentioned)
        if col is None:
            continue
        bag.add(col)
        pop[col] += 1.0
        texts.append(context_text(s))
        labels.append(col)
    rows: list[int] = []
    cols: list[int] = []
    for d, items in enumerate(dialogues.values()):
        rows.extend([d] * len(items))
        cols.extend(items)
    x = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(max(1, len(dialogues)), n_items))
    co = (x.T @ x).tocsr()
    co.setdiag(0)
    co.eliminate_zeros()
    degree = np.sqrt(np.asarray(x.sum(axis=0)).ravel()) + 1e-6
    co = sp.csr_matrix(sp.diags(1 / degree) @ co @ sp.diags(1 / degree), dtype=np.float32)
    vectorizer, profiles = None, None
    if texts:
        vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english", ngram_range=(1, 2))
        try:
            docs = vectorizer.fit_transform(texts)
        except ValueError:  # vocabulary empty (tiny training sets)
            vectorizer = None
        else:
            label_matrix = sp.csr_matrix(
                (np.ones(len(labels), np.float32), (labels, np.arange(len(labels)))),
                shape=(n_items, len(labels)),
            )
            profiles = (label_matrix @ docs).tocsr()
            norms = np.sqrt(np.asarray(profiles.multiply(profiles).sum(axis=1)).ravel()) + 1e-12
            profiles = sp.csr_matrix(sp.diags(1 / norms) @ profiles, dtype=np.float32)
    model = PriorModel(
        n_items=n_items,
        popularity=np.log1p(pop),
        co=co,
        vectorizer=vectorizer,
        profiles=profiles,
        catalog=catalog,
        mentioned=np.log1p(np.asarray(x.sum(axis=0), dtype=np.float32).ravel()),
    )
    if catalog is not None and labels:
        model.year_score = _year_score(catalog.years, np.asarray(labels))
        model.genre_model = _genre_model(texts, catalog.genres[np.asarray(labels)])
    return model


def _year_score(years: np.ndarray, target_cols: np.ndarray, bandwidth: int = 2) -> np.ndarray:
    """Share of training targets released within ``bandwidth`` years of each item's year."""
    target_years = years[target_cols]
    target_years = target_years[target_years > 0]
    if not len(target_years):
        return np.zeros(len(years), np.float32)
    lo = int(years[years > 0].min()) if (years > 0).any() else 1900
    hist = np.bincount(target_years - lo, minlength=int(years.max()) - lo + 1).astype(np.float32)
    kernel = np.ones(2 * bandwidth + 1, np.float32)
    smooth = np.convolve(hist, kernel, mode="same") / hist.sum()
    out = np.zeros(len(years), np.float32)
    known = years > 0
    out[known] = smooth[years[known] - lo]
    return out


def _genre_model(texts: list[str], target_genres: sp.csr_matrix) -> Any:
    """TF-IDF of the context -> genre centroids (mean TF-IDF of contexts whose target has the genre)."""
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english")
    try:
        docs = vectorizer.fit_transform(texts)
    except ValueError:
        return None
    counts = np.asarray(target_genres.sum(axis=0)).ravel() + 1.0
    centroids = sp.csr_matrix(sp.diags(1 / counts) @ (target_genres.T @ docs))
    # Remove what every context shares (greetings, "movie"): a genre is what sets its contexts apart.
    mean = np.asarray(docs.mean(axis=0)).ravel()
    return vectorizer, np.asarray(centroids.todense()) - mean[None, :]


CFBatch = Callable[[Sequence[Sample]], np.ndarray]


def features(
    model: PriorModel,
    samples: Sequence[Sample],
    column_of: dict[int, int],
    cf_rows: np.ndarray | None,
    chat_rows: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per feature a (len(samples), n_items) float32 array, each row scaled to [0, 1].

    ``chat_rows`` (the chat's own blend scores, :mod:`eval.redial_agent`) adds a ``chat`` feature.
    """
    n, m = len(samples), model.n_items
    ctx_rows, ctx_cols, ctx_vals = [], [], []
    again = {"again_seeker": np.zeros((n, m), np.float32), "again_recommender": np.zeros((n, m), np.float32)}
    for r, s in enumerate(samples):
        for position, mention in enumerate(s.mentions):
            col = column_of.get(mention.movie_id)
            if col is None:
                continue
            ctx_rows.append(r)
            ctx_cols.append(col)
            # A disliked movie counts half; the two latest mentions count double (the topic moves on).
            recent = 2.0 if position >= len(s.mentions) - 2 else 1.0
            ctx_vals.append(recent * (0.5 if mention.liked == DISLIKED else 1.0))
            again["again_seeker" if mention.by_seeker else "again_recommender"][r, col] = 1.0
    ctx = sp.csr_matrix((np.asarray(ctx_vals, np.float32), (ctx_rows, ctx_cols)), shape=(n, m))
    out: dict[str, np.ndarray] = {
        "popularity": np.tile(model.popularity, (n, 1)),
        "mention_popularity": np.tile(model.mentioned, (n, 1))
        if model.mentioned is not None
        else np.zeros((n, m), np.float32),
        "co_mention": np.asarray((ctx @ model.co).todense(), dtype=np.float32),
        "text": np.zeros((n, m), np.float32),
        "cf": np.zeros((n, m), np.float32) if cf_rows is None else np.maximum(cf_rows, 0.0),
        **again,
    }
    if chat_rows is not None:
        out["chat"] = np.maximum(chat_rows, 0.0).astype(np.float32)
    if model.vectorizer is not None and model.profiles is not None:
        query = model.vectorizer.transform([context_text(s) for s in samples])
        out["text"] = np.asarray((query @ model.profiles.T).todense(), dtype=np.float32)
    side = model.catalog
    out["ml_popularity"] = (
        np.tile(side.ml_popularity, (n, 1)) if side is not None else np.zeros((n, m), np.float32)
    )
    out["year_prior"] = (
        np.tile(model.year_score, (n, 1)) if model.year_score is not None else np.zeros((n, m), np.float32)
    )
    out["genre_text"] = np.zeros((n, m), np.float32)
    if side is not None and model.genre_model is not None:
        vectorizer, centroids = model.genre_model
        genre_scores = np.maximum(vectorizer.transform([context_text(s) for s in samples]) @ centroids.T, 0.0)
        per_item = side.genres.multiply(1 / np.maximum(side.genres.sum(axis=1), 1)).tocsr()
        out["genre_text"] = np.asarray(genre_scores @ per_item.T.toarray(), dtype=np.float32)
    for name, values in out.items():
        top = values.max(axis=1, keepdims=True)
        out[name] = (values / np.where(top > 0, top, 1.0)).astype(np.float32)
    return out


def combine(feats: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted sum of the scaled features."""
    total = None
    for name, values in feats.items():
        w = weights.get(name, 0.0)
        if w:
            total = values * w if total is None else total + values * w
    if total is None:
        total = np.zeros_like(next(iter(feats.values())))
    return total


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based pessimistic rank of each row's target column; 10**9 where the target is unmapped (-1)."""
    ranks = np.full(len(targets), 10**9, dtype=np.int64)
    ok = targets >= 0
    if ok.any():
        rows = np.flatnonzero(ok)
        values = scores[rows, targets[ok]][:, None]
        ranks[ok] = (scores[rows] >= values).sum(axis=1)
    return ranks


def objective(ranks: np.ndarray) -> float:
    """What the weights are tuned for: Recall@10 + Recall@50 (+ a little MRR to break ties)."""
    return float((ranks <= 10).mean() + (ranks <= 50).mean() + 0.1 * (1.0 / ranks).mean())


GRID = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def tune_weights(feats: dict[str, np.ndarray], targets: np.ndarray, rounds: int = 3) -> dict[str, float]:
    """Coordinate ascent over :data:`GRID` per feature, starting from all ones.

    The combined score is updated in place (``total += (new - old) * feature``) so one trial costs
    one pass over the matrix instead of one per feature.
    """
    weights = dict.fromkeys(feats, 1.0)
    total = combine(feats, weights)
    best = objective(target_ranks(total, targets))
    for _ in range(rounds):
        improved = False
        for name in feats:
            current = weights[name]
            for value in GRID:
                if value == current or not any({**weights, name: value}.values()):
                    continue
                trial = total + (value - current) * feats[name]
                score = objective(target_ranks(trial, targets))
                if score > best + 1e-9:
                    best, total, current, improved = score, trial, value, True
                    weights[name] = value
        if not improved:
            break
    return weights
