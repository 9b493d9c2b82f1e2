"""The learned cold-start fusion (bot/recommend/fusion*.py) on a small synthetic catalog of four taste
clusters.

Cluster A (the seed's) is the least popular, and item vectors and genres carry no cluster signal,
so a model that only learned popularity or genres would not put A's items first for a fan of A:
only CF co-liking can.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bot.recommend.fusion as fusion
import bot.recommend.fusion_fit as fusion_fit
from bot.recommend.blend import Blender
from bot.recommend.constraints import satisfies
from bot.recommend.fusion_fit import build_blender
from bot.recommend.request import BlendRequest
from bot.settings import Settings
from bot.types import Constraints
from cf_engine.artifact import CFArtifact
from cf_engine.data.catalog import Catalog, Dataset, Item

PER_CLUSTER = 10
CLUSTER_FANS = (60, 90, 90, 90)  # cluster A = items 1000..1009, the least popular
N_ITEMS = PER_CLUSTER * len(CLUSTER_FANS)


def _dataset(seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    items = [
        Item(item_id=1000 + i, title=f"Film {i}", year=1980 + i, genres=("Drama",) if i % 2 else ("Comedy",))
        for i in range(N_ITEMS)
    ]
    rows = []
    user = 0
    for cluster, fans in enumerate(CLUSTER_FANS):
        for _ in range(fans):
            liked = rng.choice(PER_CLUSTER, size=5, replace=False) + cluster * PER_CLUSTER
            rows += [(user, 1000 + int(i), 5.0, 0) for i in liked]
            other = int(rng.integers(N_ITEMS))
            if other // PER_CLUSTER != cluster:
                rows.append((user, 1000 + other, 1.0, 0))  # rated, not liked
            user += 1
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    return Dataset("synthetic", Catalog(items), frame)


def _vectors(n: int) -> np.ndarray:
    v = np.random.default_rng(7).normal(size=(n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("fusion"), llm_backend="template")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return _dataset()


@pytest.fixture(scope="module")
def blender(settings: Settings, dataset: Dataset) -> Blender:
    cf = CFArtifact.train(dataset, settings.cf_config())
    return build_blender(dataset, cf, None, settings, vectors=_vectors(len(dataset.catalog)))


def test_fusion_ranks_co_liked_items_above_popular_unrelated_ones(blender: Blender) -> None:
    model = blender.fusion()
    assert model is not None
    assert model.info["sessions"] >= fusion_fit.MIN_SESSIONS
    seed = 1000  # cluster A
    picks = blender.blend(BlendRequest(liked=[seed], k=5))
    assert len(picks) == 5
    assert all(c.item_id < 1000 + PER_CLUSTER for c in picks), [c.item_id for c in picks]
    # The fused score itself (before the genre gates), over the whole pool: the other A items above
    # the items of the other clusters (pairwise; EASE's noise on 60 fans may misplace one).
    request = BlendRequest(liked=[seed])
    signals = blender._signals(request)
    cols = blender.pool(request, signals)
    scores = model.score(fusion.candidate_features(blender, signals, cols))
    in_a = cols < PER_CLUSTER
    assert in_a.sum() == PER_CLUSTER - 1 and (~in_a).sum() > 0
    pairs_in_order = (scores[in_a][:, None] > scores[~in_a][None, :]).mean()
    assert pairs_in_order >= 0.95
    assert in_a[np.argmax(scores)]


def test_fusion_fit_is_deterministic(blender: Blender) -> None:
    first, second = fusion_fit.fit_fusion(blender), fusion_fit.fit_fusion(blender)
    assert first is not None and second is not None
    np.testing.assert_array_equal(first.coef, second.coef)
    assert first.intercept == second.intercept
    x = np.random.default_rng(0).normal(size=(5, len(fusion.FEATURES)))
    np.testing.assert_array_equal(first.score(x), second.score(x))


def test_fusion_scores_only_liked_only_sessions(blender: Blender, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = fusion.candidate_features

    def spy(b: Blender, s: object, cols: np.ndarray) -> np.ndarray:
        calls.append(len(cols))
        return real(b, s, cols)  # type: ignore[arg-type]

    monkeypatch.setattr("bot.recommend.blend.candidate_features", spy)
    blender.blend(BlendRequest(liked=[1000], k=3))
    assert len(calls) == 1
    blender.blend(BlendRequest(liked=[1000], text="a comedy", k=3))  # text: the fixed mix
    blender.blend(BlendRequest(k=3))  # nothing known: popularity
    assert len(calls) == 1


def test_fusion_respects_constraints_and_exclusions(blender: Blender, dataset: Dataset) -> None:
    rng = np.random.default_rng(3)
    ids = [int(i) for i in dataset.catalog.item_ids]
    for _ in range(30):
        picked = [int(i) for i in rng.choice(ids, size=6, replace=False)]
        constraints = Constraints(
            genres_in=frozenset({"Drama"} if rng.random() < 0.5 else ()),
            genres_out=frozenset({"Comedy"} if rng.random() < 0.3 else ()),
            year_min=int(rng.integers(1980, 2000)),
        )
        request = BlendRequest(
            liked=picked[:3], disliked=picked[3:4], exclude=picked[4:], constraints=constraints, k=5
        )
        for c in blender.blend(request):
            assert c.item_id not in picked
            col = dataset.catalog.index_of(c.item_id)
            assert satisfies(dataset.catalog.at(col), blender.features.stats[col], constraints)


def test_fusion_off_and_too_little_data(settings: Settings, dataset: Dataset) -> None:
    cf = CFArtifact.train(dataset, settings.cf_config())
    off = build_blender(
        dataset, cf, None, settings.model_copy(update={"blend_fusion": False}), vectors=_vectors(N_ITEMS)
    )
    assert off.fusion() is None
    assert len(off.blend(BlendRequest(liked=[1000], k=3))) == 3
    few = Dataset("few", dataset.catalog, dataset.interactions[dataset.interactions["user_id"] < 20])
    tiny_cf = CFArtifact.train(few, settings.cf_config())
    tiny = build_blender(few, tiny_cf, None, settings, vectors=_vectors(N_ITEMS))
    assert tiny.fusion() is None  # too few simulated sessions: the fixed mix
    assert len(tiny.blend(BlendRequest(liked=[1000], k=3))) == 3


def test_fusion_is_cached_next_to_the_cf_artifact(
    settings: Settings, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    cf = CFArtifact.train(dataset, settings.cf_config())
    path = cf.save(settings.cf_config())
    vectors = _vectors(len(dataset.catalog))
    fitted = build_blender(dataset, cf, None, settings, vectors=vectors).fusion()
    assert fitted is not None
    assert len(list(Path(path).glob("fusion-*.pkl"))) == 1

    fits: list[Blender] = []
    monkeypatch.setattr(fusion_fit, "fit_fusion", lambda b: fits.append(b))
    loaded = build_blender(dataset, CFArtifact.load(path), None, settings, vectors=vectors).fusion()
    assert not fits  # read from the cache
    assert loaded is not None
    np.testing.assert_array_equal(loaded.coef, fitted.coef)
    # Other item vectors (another embedding model): another key, so a new fit.
    other = _vectors(N_ITEMS)[::-1].copy()
    assert build_blender(dataset, CFArtifact.load(path), None, settings, vectors=other).fusion() is None
    assert len(fits) == 1
    # The same CF folder over other interactions (a held-out split: some users' ratings removed):
    # another key, so the fusion fitted on the full data is never reused for it.
    frame = dataset.interactions
    split = Dataset(dataset.name, dataset.catalog, frame[frame["user_id"] % 7 != 0].reset_index(drop=True))
    assert build_blender(split, CFArtifact.load(path), None, settings, vectors=vectors).fusion() is None
    assert len(fits) == 2
    assert fusion_fit.cache_key(build_blender(dataset, cf, None, settings, vectors=vectors)) != (
        fusion_fit.cache_key(build_blender(split, cf, None, settings, vectors=vectors))
    )


def test_a_failed_fit_degrades_to_the_fixed_mix(
    settings: Settings, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_: Blender) -> None:
        raise RuntimeError("no memory")

    monkeypatch.setattr(fusion_fit, "fit_fusion", broken)
    cf = CFArtifact.train(dataset, settings.cf_config())
    blender = build_blender(dataset, cf, None, settings, vectors=_vectors(N_ITEMS))
    assert blender.fusion() is None
    assert len(blender.blend(BlendRequest(liked=[1000], k=3))) == 3
