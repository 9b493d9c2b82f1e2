"""Popularity: every user gets the most-interacted items. The floor every other engine must beat,
and the fallback when nothing is known about a user."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from cf_engine.base import Ids, Recommender, Scores


class Popularity(Recommender):
    """Scores are the share of training users who interacted with the item (0..1)."""

    name = "popularity"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.popularity: np.ndarray | None = None

    def _fit(self, matrix: sp.csr_matrix) -> None:
        counts = np.asarray(matrix.getnnz(axis=0)).ravel().astype(np.float32)
        self.popularity = counts / max(1, matrix.shape[0])

    def _scores(self) -> np.ndarray:
        if self.popularity is None:
            self._matrix()  # raises NotFittedError
        assert self.popularity is not None
        return self.popularity

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return np.tile(self._scores(), (len(rows), 1))

    def _score_profile(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        return self._scores().copy()

    def similar_items(self, item: int, k: int = 10) -> tuple[Ids, Scores]:
        """No notion of similarity: the most popular other items."""
        self._check_items([item])
        return self.top_k(self._scores(), k, exclude=[item])
