"""The evaluation protocol: k-core, RecBole split sizes, and metric definitions on hand-made rankings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cf_engine.base import Recommender
from cf_engine.data.catalog import Catalog, Dataset, Item
from cf_engine.evaluation import Protocol, Split, k_core, prepare_split, ranking_metrics, split_counts
from cf_engine.model_selection import compare_models, grid_points


class FixedScores(Recommender):
    """Returns a given score matrix: lets the metric tests control the ranking exactly."""

    name = "fixed"

    def __init__(self, scores: np.ndarray) -> None:
        super().__init__()
        self.scores = scores

    def _fit(self, matrix: sp.csr_matrix) -> None:
        pass

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return self.scores[rows]

    def _score_profile(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def similar_items(self, item: int, k: int = 10):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def test_split_counts_follow_recbole() -> None:
    assert split_counts(10, (0.8, 0.1, 0.1)) == [8, 1, 1]
    assert split_counts(25, (0.8, 0.1, 0.1)) == [21, 2, 2]
    assert split_counts(5, (0.8, 0.1, 0.1)) == [3, 1, 1]  # a fractional share rounds up to one row
    assert sum(split_counts(37, (0.8, 0.1, 0.1))) == 37


def test_k_core_is_iterative() -> None:
    # Item 20 has one row -> user 1 falls to 1 row -> item 10 falls to 1 -> ... nothing survives.
    chain = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [10, 20, 10, 30, 30]})
    assert k_core(chain, 2).empty
    # A dense 2x2 block survives; the stray user 3 / item 30 does not.
    block = pd.DataFrame({"user_id": [1, 1, 2, 2, 3], "item_id": [10, 20, 10, 20, 30]})
    left = k_core(block, 2)
    assert sorted(zip(left["user_id"], left["item_id"], strict=True)) == [(1, 10), (1, 20), (2, 10), (2, 20)]


def small_dataset(n_users: int = 40, n_items: int = 30, per_user: int = 12, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    rows = [
        (u, int(i), float(rng.choice([2.0, 4.0, 5.0], p=[0.2, 0.4, 0.4])), 0)
        for u in range(1, n_users + 1)
        for i in rng.choice(n_items, size=per_user, replace=False)
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    return Dataset("tiny", Catalog(Item(i, f"t{i}") for i in range(n_items)), frame)


def test_prepare_split_is_disjoint_deterministic_and_thresholded() -> None:
    dataset = small_dataset()
    split = prepare_split(dataset, Protocol(core=5, seed=7))
    again = prepare_split(dataset, Protocol(core=5, seed=7))
    assert (split.train != again.train).nnz == 0 and (split.test != again.test).nnz == 0
    total = split.train + split.valid + split.test
    assert total.max() == 1.0  # the three parts never share a (user, item)
    positives = dataset.interactions.query("rating >= 3")
    assert total.nnz <= len(positives)
    per_user = np.diff(total.tocsr().indptr)
    assert per_user.min() >= 5
    for user in range(total.shape[0]):
        expected = split_counts(int(per_user[user]), (0.8, 0.1, 0.1))
        got = [int(m[user].nnz) for m in (split.train, split.valid, split.test)]
        assert got == expected
    other_seed = prepare_split(dataset, Protocol(core=5, seed=8))
    assert (split.test != other_seed.test).nnz > 0


def hand_split() -> Split:
    """Two users, six items; user 0 trained on item 0 and tested on items 1 and 4; user 1 tested on 5."""
    train = sp.csr_matrix(np.array([[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]], dtype=np.float32))
    valid = sp.csr_matrix(np.array([[0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[0, 1, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1]], dtype=np.float32))
    return Split(train, valid, test, np.array([1, 2]), np.arange(6), core_used=1)


def test_metric_definitions_match_recbole() -> None:
    # user 0 ranking (train item 0 and valid item 2 masked): 4, 3, 1, 5 -> hits at ranks 1 and 3.
    # user 1 ranking (train item 1 masked): 0, 2, 3, 4, 5 -> hit at rank 5.
    scores = np.array([[9, 3, 8, 5, 6, 1], [9, 9, 8, 7, 6, 5]], dtype=np.float32)
    metrics = ranking_metrics(FixedScores(scores).fit(hand_split().train), hand_split(), "test", k=3)
    dcg0 = 1 + 1 / np.log2(4)
    idcg0 = 1 + 1 / np.log2(3)
    assert metrics["recall@3"] == pytest.approx((2 / 2 + 0) / 2)
    assert metrics["precision@3"] == pytest.approx((2 / 3 + 0) / 2)
    assert metrics["hit@3"] == pytest.approx(0.5)
    assert metrics["mrr@3"] == pytest.approx((1.0 + 0) / 2)
    assert metrics["ndcg@3"] == pytest.approx((dcg0 / idcg0 + 0) / 2)
    assert metrics["coverage@3"] == pytest.approx(5 / 6)  # items 4, 3, 1 and 0, 2, 3


def test_validation_masks_train_only() -> None:
    scores = np.array([[9, 3, 8, 5, 6, 1], [9, 9, 8, 7, 6, 5]], dtype=np.float32)
    metrics = ranking_metrics(FixedScores(scores).fit(hand_split().train), hand_split(), "valid", k=1)
    assert metrics["hit@1"] == pytest.approx(1.0)  # only user 0 has a valid item (2), ranked first


def test_grid_points() -> None:
    assert grid_points({}) == [{}]
    assert grid_points({"a": [1, 2], "b": [3]}) == [{"a": 1, "b": 3}, {"a": 2, "b": 3}]


def test_compare_models_report_shape() -> None:
    report = compare_models(
        small_dataset(), ["popularity", "itemknn"], Protocol(core=5), default_model="itemknn"
    )
    assert report["dataset"] == "tiny" and report["default_model"] == "itemknn"
    assert report["protocol"]["core_used"] == 5 and report["protocol"]["tuned_on"] == "valid"
    for model in ("popularity", "itemknn"):
        entry = report["models"][model]
        for key in ("ndcg@10", "recall@10", "mrr@10", "hit@10", "precision@10", "coverage@10", "fit_seconds"):
            assert 0.0 <= entry[key] <= 1.0 or key == "fit_seconds"
    assert isinstance(report["default_beats_others"], bool)


@pytest.mark.slow
def test_ease_beats_the_baselines_on_movielens(movielens_dir) -> None:  # type: ignore[no-untyped-def]
    from cf_engine.data.movielens import load_movielens

    report = compare_models(load_movielens(movielens_dir), ["ease", "popularity", "itemknn"])
    models = report["models"]
    assert report["protocol"]["core_used"] == 10
    assert models["ease"]["ndcg@10"] > models["itemknn"]["ndcg@10"] > models["popularity"]["ndcg@10"]
