"""HNSW recall against exact search counts items tied with the k-th best as found (retrieval/recall.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from retrieval.recall import hnsw_recall


class _FakeIndex:
    """Six items: 10 is the query's own vector, 11-13 are identical copies of one other vector."""

    def __init__(self, answer: list[int]) -> None:
        self.ids = np.array([10, 11, 12, 13, 14, 15])
        self.matrix = np.array(
            [[1.0, 0.0], [0.8, 0.6], [0.8, 0.6], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32
        )
        self.answer = answer

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self.ids, self.matrix

    def search_vector(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        return [(i, 0.0) for i in self.answer[:k]]


def test_any_of_several_tied_items_counts_as_found() -> None:
    query = np.array([[1.0, 0.0]], dtype=np.float32)
    right: Any = _FakeIndex([10, 13])  # stands in for an ItemIndex (vectors + search_vector)
    wrong: Any = _FakeIndex([10, 14])
    # Exact top 2 is 10 plus one of the three identical 11-13: returning 13 instead of 11 is right.
    assert hnsw_recall(right, k=2, n_queries=0, extra_queries=query) == 1.0
    assert hnsw_recall(wrong, k=2, n_queries=0, extra_queries=query) == 0.5
