"""Contract tests run against every engine on a tiny synthetic matrix with two taste clusters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from cf_engine import base, registry
from cf_engine.base import ArtifactMismatchError, FitError, NotFittedError, Recommender, UnknownIndexError

N_USERS, N_ITEMS = 60, 24
CLUSTER_A = np.arange(0, 12)  # users 0..29 like these
CLUSTER_B = np.arange(12, 24)  # users 30..59 like these


def two_cluster_matrix(seed: int = 0) -> sp.csr_matrix:
    """Each user likes 6 random items of their cluster and, rarely, one of the other."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for user in range(N_USERS):
        own, other = (CLUSTER_A, CLUSTER_B) if user < N_USERS // 2 else (CLUSTER_B, CLUSTER_A)
        picked = list(rng.choice(own, size=6, replace=False))
        if rng.random() < 0.1:
            picked.append(int(rng.choice(other)))
        rows += [user] * len(picked)
        cols += picked
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(N_USERS, N_ITEMS))


class EngineContract:
    """Mixin: subclasses set ``engine_name`` (and ``personalised`` for engines that use the profile)."""

    engine_name: str
    personalised = True
    params: dict = {}

    @pytest.fixture
    def engine(self) -> Recommender:
        return registry.create(self.engine_name, **self.params).fit(two_cluster_matrix())

    def test_scores_have_one_float_per_item(self, engine: Recommender) -> None:
        scores = engine.score_users([0, 5, 59])
        assert scores.shape == (3, N_ITEMS)
        assert np.isfinite(scores).all()
        assert engine.score_profile([1, 2]).shape == (N_ITEMS,)

    def test_recommend_returns_best_first_without_seen(self, engine: Recommender) -> None:
        ids, scores = engine.recommend(0, k=5)
        seen = set(engine.train_matrix[0].indices)
        assert len(ids) == 5 and ids.dtype == np.int64 and scores.dtype == np.float32
        assert not seen & set(ids.tolist())
        assert np.all(np.diff(scores) <= 0)

    def test_exclude_and_allow(self, engine: Recommender) -> None:
        allowed = [3, 4, 13, 20]
        ids, _ = engine.recommend(0, k=10, allow=allowed, exclude=[4], filter_seen=False)
        assert set(ids.tolist()) <= {3, 13, 20}
        assert 4 not in ids

    def test_k_larger_than_catalog_returns_what_there_is(self, engine: Recommender) -> None:
        ids, _ = engine.recommend(0, k=1000)
        assert len(ids) == N_ITEMS - engine.train_matrix[0].nnz

    def test_fold_in_new_user_prefers_their_cluster(self, engine: Recommender) -> None:
        if not self.personalised:
            pytest.skip("engine ignores the profile by design")
        ids, _ = engine.recommend_profile(liked=[0, 1, 2, 3], k=5)
        assert not {0, 1, 2, 3} & set(ids.tolist())
        assert np.isin(ids, CLUSTER_A).mean() >= 0.8

    def test_dislike_pushes_similar_items_down(self, engine: Recommender) -> None:
        if not self.personalised:
            pytest.skip("engine ignores the profile by design")
        liked = [0, 1, 2]
        base = engine.score_profile(liked)
        with_dislike = engine.score_profile(liked, disliked=[12, 13])
        others_b = np.setdiff1d(CLUSTER_B, [12, 13])
        assert with_dislike[others_b].mean() < base[others_b].mean()

    def test_similar_items_excludes_itself(self, engine: Recommender) -> None:
        ids, scores = engine.similar_items(0, k=5)
        assert 0 not in ids and 0 < len(ids) <= 5
        assert np.all(np.diff(scores) <= 0)
        if self.personalised:
            assert np.isin(ids, CLUSTER_A).mean() >= 0.8

    def test_save_load_round_trip(self, engine: Recommender, tmp_path: Path) -> None:
        engine.save(tmp_path / "model")
        loaded = type(engine).load(tmp_path / "model")
        np.testing.assert_allclose(loaded.score_users([0, 40]), engine.score_users([0, 40]), rtol=1e-6)
        np.testing.assert_allclose(
            loaded.score_profile([1], [13]), engine.score_profile([1], [13]), rtol=1e-5
        )
        assert loaded.params == engine.params

    def test_large_arrays_load_memory_mapped(
        self, engine: Recommender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(base, "MAPPED_ARRAY_BYTES", 1)  # every non-empty array counts as large
        engine.save(tmp_path / "model")
        loaded = type(engine).load(tmp_path / "model")
        arrays = [v for v in engine.__dict__.values() if isinstance(v, np.ndarray) and v.nbytes]
        mapped = [v for v in loaded.__dict__.values() if isinstance(v, np.memmap)]
        assert len(mapped) == len(arrays)
        np.testing.assert_allclose(loaded.score_users([0, 40]), engine.score_users([0, 40]), rtol=1e-6)
        np.testing.assert_allclose(
            loaded.score_profile([1], [13]), engine.score_profile([1], [13]), rtol=1e-5
        )

    def test_load_refuses_another_engine(self, engine: Recommender, tmp_path: Path) -> None:
        engine.save(tmp_path / "model")
        other = next(n for n in registry.available() if n != self.engine_name)
        with pytest.raises(ArtifactMismatchError):
            registry.engine_class(other).load(tmp_path / "model")

    def test_unknown_indices_raise(self, engine: Recommender) -> None:
        with pytest.raises(UnknownIndexError):
            engine.score_users([N_USERS])
        with pytest.raises(UnknownIndexError):
            engine.score_profile([N_ITEMS])
        with pytest.raises(UnknownIndexError):
            engine.similar_items(-1)

    def test_unfitted_engine_raises(self) -> None:
        fresh = registry.create(self.engine_name, **self.params)
        with pytest.raises(NotFittedError):
            fresh.recommend(0)
        with pytest.raises(NotFittedError):
            fresh.score_profile([0])
        with pytest.raises(NotFittedError):
            fresh.similar_items(0)

    def test_empty_matrix_is_a_fit_error(self) -> None:
        with pytest.raises(FitError):
            registry.create(self.engine_name, **self.params).fit(sp.csr_matrix((0, 5), dtype=np.float32))


class TestEASE(EngineContract):
    engine_name = "ease"
    params = {"l2": 10.0, "min_item_count": 1}


class TestALS(EngineContract):
    engine_name = "als"
    params = {"factors": 8, "iterations": 10, "regularization": 0.1, "num_threads": 1}


class TestItemKNN(EngineContract):
    engine_name = "itemknn"
    params = {"k": 10}


class TestPopularity(EngineContract):
    engine_name = "popularity"
    personalised = False


def test_ease_rare_items_get_no_weights_but_valid_scores() -> None:
    matrix = two_cluster_matrix()
    engine = registry.create("ease", l2=10.0, min_item_count=1000).fit(matrix)
    assert np.all(engine.score_users([0]) == 0.0)
    ids, _ = engine.similar_items(0)
    assert len(ids) == 0


def test_registry_rejects_unknown_names_and_params() -> None:
    with pytest.raises(registry.UnknownEngineError, match="choose one of"):
        registry.create("svd")
    with pytest.raises(registry.UnknownEngineError, match="bad parameters"):
        registry.create("ease", lambda_=5.0)
    assert registry.create("EASE", l2=5.0).params["l2"] == 5.0


def test_ease_max_items_keeps_the_most_popular_columns() -> None:
    matrix = two_cluster_matrix()
    engine = registry.create("ease", l2=10.0, max_items=5).fit(matrix)
    counts = np.asarray(matrix.getnnz(axis=0)).ravel()
    assert engine.active is not None and len(engine.active) == 5
    assert counts[engine.active].min() >= np.sort(counts)[-5]
    inactive = np.setdiff1d(np.arange(N_ITEMS), engine.active)
    assert np.all(engine.score_users([0])[0][inactive] == 0.0)


def test_als_fold_in_matches_implicit_recalculate_user() -> None:
    from cf_engine.base import profile_row

    engine = registry.create("als", factors=8, iterations=5, num_threads=1).fit(two_cluster_matrix())
    row = profile_row(N_ITEMS, np.array([0, 1, 2]), np.array([13]), 1.0)
    expected = engine.model.recalculate_user(0, row)
    np.testing.assert_allclose(engine.fold_in(row.indices, row.data), expected, rtol=1e-4, atol=1e-6)


def test_ease_matches_the_closed_form() -> None:
    """B = I - P diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, computed here in float64 the textbook way."""
    matrix = sp.random(300, 200, density=0.1, random_state=1, format="csr", dtype=np.float32)
    matrix.data[:] = 1.0
    engine = registry.create("ease", l2=5.0, min_item_count=1).fit(matrix)
    gram = (matrix.T @ matrix).toarray().astype(np.float64) + 5.0 * np.eye(200)
    inverse = np.linalg.inv(gram)
    expected = inverse / -np.diag(inverse)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(engine.weights, expected, atol=1e-5)
