"""Fitting the learned fusion (:mod:`bot.recommend.fusion`) on simulated cold-start sessions, and its cache.

:func:`fit_fusion` never fits on the users the fusion is evaluated on:

1. validation users are drawn (seeded) among the dataset's users with >= MIN_LIKES likes;
2. an auxiliary CF model is fitted on everyone else, and an auxiliary Blender built on that data, so
   neither CF nor the popularity / rating features have seen the validation users' likes;
3. each validation user gives SESSIONS_PER_USER sessions of 1-3 seed likes; the candidates are the
   pool the blend would build; label = the candidate is one of the user's other likes;
4. a logistic regression on standardised features (deterministic).

The blend does not import this module: :func:`build_blender` hands :func:`load_or_fit` to the
:class:`~bot.recommend.blend.Blender`, which calls it on first use; the result is cached next to the
CF artifact (``fusion-<key>.pkl``).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bot.recommend.blend import Blender
from bot.recommend.fusion import FEATURES, FUSION_FORMAT, FusionModel, candidate_features
from bot.recommend.item_features import ItemFeatures
from bot.recommend.request import BlendRequest
from bot.recommend.sources import CFScorer, ItemSearch
from bot.settings import Settings
from cf_engine.data.catalog import Dataset

log = logging.getLogger(__name__)

LIKED_RATING = 4.0  # a "like" when simulating sessions (seeds and labels)
MIN_LIKES = 4  # a validation user needs a seed and at least 3 other likes
SESSIONS_PER_USER = 2
VALIDATION_SHARE = 0.3  # share of the eligible users held out of the auxiliary CF fit
MAX_VALIDATION_USERS = 300
MIN_SESSIONS = 50  # fewer simulated sessions than this: no fusion (the fixed mix is used)


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
    aux_cf = CFArtifact.train(rest, settings.cf_config(), engine=blender.cf.engine_name)
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
    """What the fusion depends on: format, features, seed, CF engine and params, the item vectors, and
    the interactions its sessions are drawn from (the same CF folder read with other ratings, e.g.
    a held-out split, must not get this data's fusion)."""
    h = hashlib.sha256()
    vectors = blender.vectors()
    h.update(repr((FUSION_FORMAT, FEATURES, blender.settings.seed, blender.settings.candidate_pool)).encode())
    if blender.cf is not None:
        h.update(repr((blender.cf.engine_name, sorted(blender.cf.params.items()))).encode())
    h.update(np.ascontiguousarray(blender.dataset.catalog.item_ids).tobytes())
    frame = blender.dataset.interactions[["user_id", "item_id", "rating"]]
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
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


def build_blender(
    dataset: Dataset,
    cf: CFScorer | None,
    index: ItemSearch | None,
    settings: Settings,
    vectors: np.ndarray | None = None,
    features: ItemFeatures | None = None,
) -> Blender:
    """The Blender as served: with the learned fusion fitted (or loaded from its cache) on first use."""
    return Blender(
        dataset, cf, index, settings, vectors=vectors, fusion_loader=load_or_fit, features=features
    )


def prepare_fusion(settings: Settings, dataset: Dataset) -> FusionModel | None:
    """Fit (or load) the fusion of the latest CF artifact and the built index, and cache it.

    ``recbot train`` and ``recbot index`` call this once both parts exist, so that a serving process
    only loads the cached fusion: fitting trains an auxiliary CF model (at 100k items a second
    12k x 12k EASE, ~1.5 GiB while it is inverted) that would otherwise be the peak of every
    replica's start. None without CF artifact, index or ``blend_fusion``, or with too few data.
    """
    from cf_engine.artifact import ArtifactNotFoundError, CFArtifact
    from cf_engine.base import ArtifactMismatchError
    from retrieval.index import ItemIndex

    if not settings.blend_fusion:
        return None
    try:
        cf = CFArtifact.load_latest(settings.cf_config(), dataset.catalog)
    except (ArtifactNotFoundError, ArtifactMismatchError):
        return None  # no CF model for this catalog yet: `recbot train` prepares it
    index = ItemIndex(settings.retrieval_config())
    if not index.is_ready():
        return None
    return build_blender(dataset, cf, index, settings).fusion()
