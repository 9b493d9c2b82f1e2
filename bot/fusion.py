"""Learned fusion: the blend's score for a session known only by liked items, fitted on simulated sessions.

The fixed mix ``a*CF + (1-a)*semantic`` tied CF fold-in on the cold-start benchmark: the MiniLM
signal is much weaker than CF, and popularity, ratings and genres say things neither score does.
A small classifier over per-candidate features of the blend's own candidate pool learns what each
signal is worth (:data:`FEATURES`). It is fitted by :func:`fit_fusion`, never on the users it is
evaluated on:

1. validation users are drawn (seeded) among the dataset's users with >= MIN_LIKES likes;
2. an auxiliary CF model is fitted on everyone else, and an auxiliary Blender built on that data, so
   neither CF nor the popularity / rating features have seen the validation users' likes;
3. each validation user gives SESSIONS_PER_USER sessions of 1-3 seed likes; the candidates are the
   pool the blend would build; label = the candidate is one of the user's other likes;
4. a logistic regression on standardised features (deterministic; predicting 400 candidates is a
   ~0.1 ms matrix-vector product).

The Blender uses it when a request has liked items and no text and the user is not known (see
``Blender._score``); the result is cached next to the CF artifact (``fusion.pkl``).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.ranking import dot_rows, minmax
from cf_engine.data.catalog import Dataset

if TYPE_CHECKING:
    from bot.blend import Blender, _Signals

log = logging.getLogger(__name__)

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
LIKED_RATING = 4.0  # a "like" when simulating sessions (seeds and labels)
MIN_LIKES = 4  # a validation user needs a seed and at least 3 other likes
SESSIONS_PER_USER = 2
VALIDATION_SHARE = 0.3  # share of the eligible users held out of the auxiliary CF fit
MAX_VALIDATION_USERS = 300
MIN_SESSIONS = 50  # fewer simulated sessions than this: no fusion (the fixed mix is used)
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


def candidate_features(blender: Blender, s: _Signals, cols: np.ndarray) -> np.ndarray:
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


# --- fitting ----------------------------------------------------------------------------------
def simulate_sessions(
    dataset: Dataset, users: np.ndarray, rng: np.random.Generator
) -> list[tuple[list[int], set[int]]]:
    """(seed item ids, other liked item ids) per simulated session: 1, 2, 3 seeds in turn."""
    likes = dataset.interactions[dataset.interactions["rating"] >= LIKED_RATING]
    by_user = likes.groupby("user_id")["item_id"].apply(lambda s: sorted(int(i) for i in s))
    sessions = []
    n = 0
    for user in users:
        user_likes = [i for i in by_user.get(int(user), []) if i in dataset.catalog]
        for _ in range(SESSIONS_PER_USER):
            n_seed = 1 + n % 3
            n += 1
            if len(user_likes) < n_seed + 3:
                continue
            seeds = [int(i) for i in rng.permutation(user_likes)[:n_seed]]
            sessions.append((seeds, set(user_likes) - set(seeds)))
    return sessions


def session_rows(
    blender: Blender, sessions: list[tuple[list[int], set[int]]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and session number of every pool candidate of every session."""
    from bot.blend import BlendRequest

    xs, ys, groups = [], [], []
    catalog = blender.dataset.catalog
    for g, (seeds, relevant) in enumerate(sessions):
        request = BlendRequest(liked=seeds, k=10)
        s = blender._signals(request)
        cols = blender.pool(request, s, popular=True)
        if cols.size == 0:
            continue
        xs.append(candidate_features(blender, s, cols))
        ys.append(np.isin(catalog.item_ids[cols], list(relevant)))
        groups.append(np.full(cols.size, g))
    if not xs:
        return np.zeros((0, len(FEATURES))), np.zeros(0, bool), np.zeros(0, np.int64)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(groups)


def fit_model(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> FusionModel:
    """Logistic regression on standardised ``x`` (lbfgs: deterministic)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-12] = 1.0
    model = LogisticRegression(C=c, max_iter=1000)
    model.fit((x - mean) / scale, y)
    return FusionModel(
        mean=mean, scale=scale, coef=model.coef_[0].copy(), intercept=float(model.intercept_[0])
    )


def validation_split(dataset: Dataset, seed: int) -> tuple[np.ndarray, Dataset]:
    """Validation users (seeded draw) and the dataset without them (for the auxiliary CF and Blender)."""
    frame = dataset.interactions
    counts = frame[frame["rating"] >= LIKED_RATING].groupby("user_id").size()
    eligible = np.array(sorted(int(u) for u in counts[counts >= MIN_LIKES].index), dtype=np.int64)
    rng = np.random.default_rng(seed)
    n_val = min(MAX_VALIDATION_USERS, int(len(eligible) * VALIDATION_SHARE))
    users = np.sort(rng.choice(eligible, size=n_val, replace=False)) if n_val else eligible[:0]
    rest = frame[~frame["user_id"].isin(users)].reset_index(drop=True)
    return users, Dataset(dataset.name, dataset.catalog, rest)


def fit_fusion(blender: Blender) -> FusionModel | None:
    """Fit the fusion for ``blender`` from simulated cold-start sessions; None when data are too few."""
    from bot.blend import Blender
    from cf_engine.artifact import CFArtifact

    vectors = blender.vectors()
    if blender.cf is None or vectors is None:
        return None
    started = time.perf_counter()
    settings = blender.settings
    users, rest = validation_split(blender.dataset, settings.seed)
    sessions = simulate_sessions(blender.dataset, users, np.random.default_rng(settings.seed + 1))
    if len(sessions) < MIN_SESSIONS or rest.interactions.empty:
        log.info("fusion: %d simulated sessions, fewer than %d: fixed mix", len(sessions), MIN_SESSIONS)
        return None
    aux_cf = CFArtifact.train(rest, settings, engine=blender.cf.engine_name)
    aux_settings = settings.model_copy(update={"blend_fusion": False})  # features only, no recursion
    aux = Blender(rest, aux_cf, None, aux_settings, vectors=vectors)
    x, y, _ = session_rows(aux, sessions)
    if y.sum() < 10 or y.all():
        return None
    model = fit_model(x, y)
    model.info = {
        "sessions": len(sessions),
        "validation_users": len(users),
        "rows": int(len(y)),
        "positives": int(y.sum()),
        "seconds": round(time.perf_counter() - started, 2),
        "coef": {name: round(float(c), 3) for name, c in zip(FEATURES, model.coef, strict=True)},
    }
    log.info("fusion fitted: %s", model.info)
    return model


# --- cache ------------------------------------------------------------------------------------
def cache_key(blender: Blender) -> str:
    """What the fusion depends on: format, features, seed, CF engine and params, the item vectors."""
    h = hashlib.sha256()
    vectors = blender.vectors()
    h.update(repr((FUSION_FORMAT, FEATURES, blender.settings.seed, blender.settings.candidate_pool)).encode())
    if blender.cf is not None:
        h.update(repr((blender.cf.engine_name, sorted(blender.cf.params.items()))).encode())
    h.update(np.ascontiguousarray(blender.dataset.catalog.item_ids).tobytes())
    if vectors is not None:
        h.update(np.ascontiguousarray(vectors).tobytes())
    return h.hexdigest()[:16]


def load_or_fit(blender: Blender) -> FusionModel | None:
    """The fusion from ``<CF artifact>/fusion-<key>.pkl`` when it matches, else fitted (and cached)."""
    path: Path | None = getattr(blender.cf, "path", None)
    cache = None if path is None else Path(path) / f"fusion-{cache_key(blender)}.pkl"
    if cache is not None and cache.is_file():
        try:
            with open(cache, "rb") as fh:
                model = pickle.load(fh)
            if isinstance(model, FusionModel) and model.features == FEATURES:
                return model
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
            log.warning("fusion cache %s unreadable (%s): fitting again", cache, exc)
    model = fit_fusion(blender)
    if model is not None and cache is not None:
        try:
            tmp = cache.with_suffix(".tmp")
            with open(tmp, "wb") as fh:
                pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(cache)
        except OSError as exc:
            log.warning("could not cache the fusion at %s (%s)", cache, exc)
    return model
