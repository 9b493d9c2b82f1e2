"""Item-based k-nearest-neighbours: cosine similarity between item columns, top-k neighbours kept.

A user's score for item j is the sum of the similarities between j and the items in the profile,
counting only pairs where j is among the item's ``k`` nearest neighbours. ``shrink`` damps
similarities supported by few co-occurrences.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cf_engine.base import Ids, Recommender, Scores, check_finite, profile_row

_CHUNK = 1024  # rows of the similarity matrix computed densely at a time (n_items floats each)


class ItemKNN(Recommender):
    """Cosine item-item neighbourhood model."""

    name = "itemknn"

    def __init__(self, k: int = 10, shrink: float = 10.0, dislike_weight: float = 1.0) -> None:
        # k=10, shrink=10: best of the validation grid on ml-latest-small (recbot eval cf).
        super().__init__(k=k, shrink=shrink, dislike_weight=dislike_weight)
        self.similarity: sp.csr_matrix | None = None  # (n_items, n_items): row i = i's neighbours

    def _fit(self, matrix: sp.csr_matrix) -> None:
        k = max(1, int(self.params["k"]))
        shrink = float(self.params["shrink"])
        by_item = matrix.T.tocsr()  # items x users
        norms = np.sqrt(np.asarray(by_item.multiply(by_item).sum(axis=1)).ravel()).astype(np.float32)
        n_items = matrix.shape[1]
        rows, cols, vals = [], [], []
        for start in range(0, n_items, _CHUNK):
            stop = min(start + _CHUNK, n_items)
            co = (by_item[start:stop] @ matrix).toarray()  # (chunk, n_items) co-occurrence counts
            denom = norms[start:stop, None] * norms[None, :] + shrink
            sim = np.divide(co, denom, out=np.zeros_like(co, dtype=np.float32), where=denom > 0)
            sim[np.arange(stop - start), np.arange(start, stop)] = 0.0
            kk = min(k, n_items - 1)
            top = (
                np.argpartition(-sim, kk - 1, axis=1)[:, :kk] if kk > 0 else np.empty((stop - start, 0), int)
            )
            top_vals = np.take_along_axis(sim, top, axis=1)
            keep = top_vals > 0
            rows.append(np.repeat(np.arange(start, stop), keep.sum(axis=1)))
            cols.append(top[keep])
            vals.append(top_vals[keep])
        similarity = sp.csr_matrix(
            (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_items, n_items),
        )
        check_finite(self.name, similarity.data)
        self.similarity = similarity

    def _sim(self) -> sp.csr_matrix:
        if self.similarity is None:
            self._matrix()  # raises NotFittedError
        assert self.similarity is not None
        return self.similarity

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray((self._matrix()[rows] @ self._sim()).toarray(), dtype=np.float32)

    def _score_profile(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        row = profile_row(self.n_items, liked, disliked, self.params["dislike_weight"])
        return np.asarray((row @ self._sim()).toarray(), dtype=np.float32)[0]

    def similar_items(self, item: int, k: int = 10) -> tuple[Ids, Scores]:
        self._check_items([item])
        neighbours = self._sim()[item]
        scores = np.full(self.n_items, -np.inf, dtype=np.float32)
        scores[neighbours.indices] = neighbours.data
        return self.top_k(scores, k, exclude=[item])
