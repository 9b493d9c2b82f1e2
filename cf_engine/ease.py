"""EASE (Steck, 2019): a closed-form item-item linear model, usually the strongest simple baseline.

B = I - P · diag(1 / diag(P)), with P = (XᵀX + λI)⁻¹, and the diagonal forced to zero. Scores are
``x · B`` for a user's binary history row ``x``. Only items with at least ``min_item_count``
training positives get weights: the inverse is O(n³) and rarely seen items carry no signal anyway;
the others score 0.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from cf_engine.base import FitError, Ids, Recommender, Scores, check_finite, profile_row


class EASE(Recommender):
    """Embarrassingly shallow autoencoder."""

    name = "ease"

    def __init__(
        self,
        l2: float = 100.0,
        min_item_count: int = 2,
        max_items: int = 12000,
        dislike_weight: float = 1.0,
        blas_threads: int | None = 1,
    ) -> None:
        # l2=100: best of the validation grid on ml-latest-small (recbot eval cf; docs/benchmarks.md);
        # min_item_count=2: keeps ml-latest-small under 10 s (8.4k -> 5.3k columns, O(n³));
        # max_items=12000: the most popular columns only on big catalogs (ml-20m/32m), where the
        # weights would otherwise need n² floats (27k items: 2.9 GB) and minutes of inversion;
        # dislike_weight=1: a dislike cancels one like;
        # blas_threads=1: on a 2-core machine shared with the LLM (and other jobs), one BLAS thread
        # inverted ml-latest-small's Gram matrix in 5-7 s where two took 8-25 s (None: BLAS default).
        super().__init__(
            l2=l2,
            min_item_count=min_item_count,
            max_items=max_items,
            dislike_weight=dislike_weight,
            blas_threads=blas_threads,
        )
        self.active: np.ndarray | None = None  # columns that have weights
        self.weights: np.ndarray | None = None  # (n_active, n_active) float32, zero diagonal

    def _fit(self, matrix: sp.csr_matrix) -> None:
        counts = np.asarray(matrix.getnnz(axis=0)).ravel()
        active = np.flatnonzero(counts >= max(1, int(self.params["min_item_count"])))
        limit = max(1, int(self.params["max_items"]))
        if active.size > limit:
            active = np.sort(active[np.argsort(-counts[active], kind="stable")[:limit]])
        if active.size == 0:  # no item is frequent enough: every score is 0
            self.active, self.weights = active, np.zeros((0, 0), dtype=np.float32)
            return
        gram = gram_matrix(matrix[:, active].tocsc())  # float32 like x; LAPACK works on it in place
        gram[np.diag_indices_from(gram)] += float(self.params["l2"])
        # Cholesky inverse of the symmetric positive-definite Gram matrix: half the work of LU.
        # float32 is ~5x faster than float64 here and, with l2 >= 1 keeping it well conditioned,
        # agrees with it to ~1e-6 relative. LAPACK is handed gram.T: the same (symmetric) matrix
        # in Fortran order, so that overwrite_a really overwrites instead of copying 0.5 GiB.
        threads = self.params.get("blas_threads")
        with threadpool_limits(int(threads) if threads else None):
            factor, info = scipy.linalg.lapack.spotrf(gram.T, lower=False, overwrite_a=True)
            if info == 0:
                inverse, info = scipy.linalg.lapack.spotri(factor, lower=False, overwrite_c=True)
        if info != 0:
            raise FitError(f"ease: Gram matrix is not positive definite (LAPACK info {info}); raise l2")
        # potri filled one triangle; mirror it, then B = P / -diag(P) column-wise, all in place:
        # at 12k columns every full temporary is another 0.5 GiB.
        weights = mirror_upper(inverse).T  # symmetric: the C-ordered view is the same matrix
        weights /= -np.diag(weights).copy()[None, :]
        np.fill_diagonal(weights, 0.0)
        check_finite(self.name, weights)
        self.active, self.weights = active, weights

    def _state(self) -> tuple[np.ndarray, np.ndarray]:
        if self.active is None or self.weights is None:
            self._matrix()  # raises NotFittedError
        assert self.active is not None and self.weights is not None
        return self.active, self.weights

    def _expand(self, partial: np.ndarray) -> np.ndarray:
        active, _ = self._state()
        full = np.zeros((partial.shape[0], self.n_items), dtype=np.float32)
        full[:, active] = partial
        return full

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        active, weights = self._state()
        matrix = self._matrix()
        if len(rows) == 1:  # the interactive path: gather the history's rows of B, no sparse slicing
            start, stop = matrix.indptr[rows[0]], matrix.indptr[rows[0] + 1]
            return self._expand(self._combine(matrix.indices[start:stop], matrix.data[start:stop])[None, :])
        x = matrix[rows][:, active]
        return self._expand(np.asarray(x @ weights, dtype=np.float32))

    def _score_profile(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        row = profile_row(self.n_items, liked, disliked, self.params["dislike_weight"])
        return self._expand(self._combine(row.indices, row.data)[None, :])[0]

    def _combine(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``x · B`` for a sparse row given as full-catalog ``columns`` and their ``values``."""
        active, weights = self._state()
        positions = np.searchsorted(active, columns)
        positions = np.minimum(positions, max(len(active) - 1, 0))
        keep = (len(active) > 0) & (active[positions] == columns) if len(active) else np.zeros(0, bool)
        if not np.any(keep):
            return np.zeros(len(active), dtype=np.float32)
        # A one-row sparse product: dense BLAS (values @ weights[rows]) copies the rows and, with a
        # multi-threaded BLAS on a busy machine, is ~50x slower than scipy's single-threaded loop.
        row = sp.csr_matrix(
            (np.asarray(values[keep], dtype=np.float32), positions[keep], [0, int(keep.sum())]),
            shape=(1, len(active)),
        )
        return np.asarray(row @ weights, dtype=np.float32)[0]

    def similar_items(self, item: int, k: int = 10) -> tuple[Ids, Scores]:
        active, weights = self._state()
        self._check_items([item])
        position = np.searchsorted(active, item)
        if position >= len(active) or active[position] != item:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores = np.full(self.n_items, -np.inf, dtype=np.float32)
        scores[active] = weights[position]
        return self.top_k(scores, k, exclude=[item], allow=active)


GRAM_BLOCK = 1024  # columns of the Gram matrix computed at a time


def gram_matrix(x: sp.csc_matrix) -> np.ndarray:
    """Dense ``xᵀx`` (float32), GRAM_BLOCK columns at a time.

    One sparse product of a 12k-column matrix held its (nearly dense) sparse result, ~1 GiB of
    values and indices, beside the dense copy; blocks bound that to a few tens of MB.
    """
    n = x.shape[1]
    gram = np.empty((n, n), dtype=np.float32)
    xt = x.T.tocsr()
    for start in range(0, n, GRAM_BLOCK):
        stop = min(n, start + GRAM_BLOCK)
        gram[:, start:stop] = (xt @ x[:, start:stop]).toarray()
    return gram


def mirror_upper(a: np.ndarray, block: int = 512) -> np.ndarray:
    """Copy the upper triangle of the square ``a`` onto its lower one, in place, block by block."""
    n = a.shape[0]
    for start in range(0, n, block):
        stop = min(n, start + block)
        diagonal = a[start:stop, start:stop]
        diagonal[...] = np.triu(diagonal) + np.triu(diagonal, 1).T
        a[stop:, start:stop] = a[start:stop, stop:].T
    return a
