"""Ranking metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval.metrics import ndcg_at, rank_of, recall_at, reciprocal_rank, summarise


def test_rank_of_counts_ties_pessimistically_and_respects_exclusions() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.5, -np.inf])
    assert rank_of(scores, 1) == 1
    assert rank_of(scores, 2) == 3  # tied with column 3: ranked last among equals
    assert rank_of(scores, 0) == 4
    assert rank_of(scores, 0, exclude=[1]) == 3
    assert rank_of(scores, 1, exclude=[1]) is None  # an excluded target cannot be found
    assert rank_of(scores, 4) is None  # filtered (-inf)
    assert rank_of(scores, None) is None


def test_single_sample_metrics() -> None:
    assert recall_at(1, 1) == 1.0 and recall_at(2, 1) == 0.0 and recall_at(None, 50) == 0.0
    assert reciprocal_rank(4) == 0.25 and reciprocal_rank(None) == 0.0
    assert ndcg_at(1, 10) == 1.0
    assert ndcg_at(3, 10) == pytest.approx(0.5)  # 1 / log2(4)
    assert ndcg_at(11, 10) == 0.0


def test_summarise_by_hand() -> None:
    ranks = [1, 3, 12, 60, None]
    out = summarise(ranks)
    assert out["n"] == 5
    assert out["recall@1"] == pytest.approx(1 / 5)
    assert out["recall@10"] == pytest.approx(2 / 5)
    assert out["recall@50"] == pytest.approx(3 / 5)
    assert out["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 12 + 1 / 60) / 5)
    assert out["ndcg@10"] == pytest.approx((1 + 1 / math.log2(4)) / 5)


def test_summarise_empty() -> None:
    assert summarise([])["recall@10"] == 0.0
