"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) through the ``implicit`` library's CPU solver.

New or in-session users are folded in with one least-squares solve against the fixed item factors
(what ``implicit``'s ``recalculate_user`` computes); a disliked item enters with a negative value,
which, as in ``implicit``, means a confident "preference 0".
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from cf_engine.base import Ids, Recommender, Scores, check_finite, profile_row


class ALS(Recommender):
    """Matrix factorisation with confidence weights."""

    name = "als"

    def __init__(
        self,
        factors: int = 16,
        regularization: float = 0.05,
        alpha: float = 4.0,
        iterations: int = 15,
        random_state: int = 42,
        num_threads: int = 0,
        dislike_weight: float = 1.0,
    ) -> None:
        # factors=16, alpha=4: best of the validation grid on ml-latest-small (recbot eval cf).
        super().__init__(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=random_state,
            num_threads=num_threads,
            dislike_weight=dislike_weight,
        )
        self.model: Any = None
        self.yty: np.ndarray | None = None  # YᵀY of the item factors (float64), cached for fold-in

    def _fit(self, matrix: sp.csr_matrix) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        # implicit parallelises itself; a multi-threaded BLAS underneath only oversubscribes the CPU
        # (implicit warns about it), so BLAS is limited to one thread while fitting.
        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model = AlternatingLeastSquares(
                factors=int(p["factors"]),
                regularization=float(p["regularization"]),
                alpha=float(p["alpha"]),
                iterations=int(p["iterations"]),
                random_state=int(p["random_state"]),
                num_threads=int(p["num_threads"]),
            )
            model.fit(matrix, show_progress=False)
        check_finite(self.name, model.item_factors)
        check_finite(self.name, model.user_factors)
        self.model = model
        self.yty = None

    def _model(self) -> Any:
        if self.model is None:
            self._matrix()  # raises NotFittedError
        return self.model

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        model = self._model()
        if len(rows) == 1:  # elementwise, not BLAS gemv: no thread start-up on the interactive path
            return (model.item_factors * model.user_factors[rows[0]]).sum(axis=1, dtype=np.float32)[None, :]
        return np.asarray(model.user_factors[rows] @ model.item_factors.T, dtype=np.float32)

    def _score_profile(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        model = self._model()
        if liked.size == 0 and disliked.size == 0:
            return np.zeros(self.n_items, dtype=np.float32)
        row = profile_row(self.n_items, liked, disliked, self.params["dislike_weight"])
        factors = self.fold_in(row.indices, row.data)
        return (model.item_factors * factors.astype(np.float32)).sum(axis=1, dtype=np.float32)

    def fold_in(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """User factors for one profile: the same least-squares solve as implicit's
        ``recalculate_user`` (a negative value is a confident 0), done in numpy because a
        factors x factors system is microseconds, while implicit's threaded solver pays
        thread start-up on every call (~40 ms on a busy 2-core machine)."""
        model = self._model()
        yty = getattr(self, "yty", None)  # getattr: also for engines pickled before the cache existed
        if yty is None:
            item_factors = model.item_factors.astype(np.float64)
            yty = self.yty = item_factors.T @ item_factors
        y = model.item_factors[columns].astype(np.float64)
        confidence = np.asarray(values, dtype=np.float64) * float(self.params["alpha"])
        weight = np.abs(confidence)
        a = (
            yty
            + float(self.params["regularization"]) * np.eye(y.shape[1])
            + (y * (weight - 1)[:, None]).T @ y
        )
        b = (y * np.maximum(confidence, 0.0)[:, None]).sum(axis=0)
        return np.linalg.solve(a, b)

    def similar_items(self, item: int, k: int = 10) -> tuple[Ids, Scores]:
        """Cosine similarity of item factors."""
        self._check_items([item])
        factors = self._model().item_factors
        norms = np.linalg.norm(factors, axis=1)
        norms[norms == 0] = 1.0
        scores = (factors * factors[item]).sum(axis=1) / (norms * norms[item])
        return self.top_k(scores.astype(np.float32), k, exclude=[item])
