"""The one recommender interface that every collaborative-filtering engine implements.

Engines work on dense indices: rows are users of the training matrix, columns are catalog items in
``Catalog`` order. Every query returns ``(ids, scores)``: int64 item columns and float32 scores, best
first. Scores are comparable within one fitted model (the blend normalises them per request).

An engine implements ``fit``, ``_score_rows`` (known users) and ``_score_profile`` (fold-in of an
ad-hoc list of liked / disliked items: a new or in-session user) and ``similar_items``; filtering,
top-k and save/load live here once.
"""

from __future__ import annotations

import json
import pickle
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp


class RecommenderError(Exception):
    """Base class of the engine errors below."""


class NotFittedError(RecommenderError):
    """A query on an engine that has not been fitted or loaded."""


class UnknownIndexError(RecommenderError, IndexError):
    """A user row or item column outside the fitted matrix."""


class FitError(RecommenderError):
    """Fitting produced unusable parameters (NaN, inf) or got an unusable matrix."""


class ArtifactMismatchError(RecommenderError):
    """A saved model that does not match what loads it (other engine, other format version)."""


Ids = np.ndarray
Scores = np.ndarray

FORMAT_VERSION = 1
# Fitted arrays this large are saved as their own .npy and memory-mapped read-only on load: EASE's
# 12k x 12k weights (576 MB) are then pages of a shared file, of which a turn reads the rows of the
# liked items; replicas on one host share them, and a serving process does not hold them all.
MAPPED_ARRAY_BYTES = 64 * 2**20


@dataclass(frozen=True)
class _MappedArray:
    """Stands in ``state.pkl`` for an array saved beside it as ``file``."""

    file: str


class Recommender(ABC):
    """Fit on a users x items matrix; recommend for known users or for an ad-hoc profile."""

    name: ClassVar[str]

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)
        self.train_matrix: sp.csr_matrix | None = None

    # --- what an engine implements ---------------------------------------------------------
    @abstractmethod
    def _fit(self, matrix: sp.csr_matrix) -> None:
        """Learn parameters from a binary (or weighted) users x items CSR matrix."""

    @abstractmethod
    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        """Scores (len(rows), n_items) for known users."""

    @abstractmethod
    def _score_profile(self, liked: np.ndarray, disliked: np.ndarray) -> np.ndarray:
        """Scores (n_items,) for a user described only by liked / disliked item columns."""

    @abstractmethod
    def similar_items(self, item: int, k: int = 10) -> tuple[Ids, Scores]:
        """The ``k`` items most similar to column ``item`` (itself excluded)."""

    # --- the shared part -------------------------------------------------------------------
    @property
    def n_items(self) -> int:
        return self._matrix().shape[1]

    @property
    def n_users(self) -> int:
        return self._matrix().shape[0]

    def fit(self, matrix: sp.csr_matrix) -> Self:
        """Fit on ``matrix`` (users x items). Returns self."""
        matrix = sp.csr_matrix(matrix, dtype=np.float32)
        if matrix.shape[0] == 0 or matrix.shape[1] == 0:
            raise FitError(f"cannot fit on an empty matrix of shape {matrix.shape}")
        self.train_matrix = matrix
        self._fit(matrix)
        return self

    def score_users(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Raw scores (len(rows), n_items) for known user rows."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_users):
            raise UnknownIndexError(f"user rows out of range 0..{self.n_users - 1}")
        return self._score_rows(rows)

    def score_profile(
        self, liked: Sequence[int] | np.ndarray, disliked: Sequence[int] | np.ndarray = ()
    ) -> np.ndarray:
        """Raw scores (n_items,) for an ad-hoc profile (fold-in)."""
        liked_arr = self._check_items(liked)
        disliked_arr = self._check_items(disliked)
        return self._score_profile(liked_arr, disliked_arr)

    def recommend(
        self,
        user: int,
        k: int = 10,
        exclude: Sequence[int] | None = None,
        allow: Sequence[int] | None = None,
        filter_seen: bool = True,
    ) -> tuple[Ids, Scores]:
        """Top ``k`` items for known user row ``user``."""
        scores = self.score_users([user])[0]
        seen = self._matrix()[user].indices if filter_seen else np.empty(0, dtype=np.int64)
        return self.top_k(
            scores, k, exclude=np.concatenate([seen, np.asarray(exclude or [], np.int64)]), allow=allow
        )

    def recommend_profile(
        self,
        liked: Sequence[int],
        disliked: Sequence[int] = (),
        k: int = 10,
        exclude: Sequence[int] | None = None,
        allow: Sequence[int] | None = None,
    ) -> tuple[Ids, Scores]:
        """Top ``k`` items for an ad-hoc profile; the profile's own items are excluded."""
        scores = self.score_profile(liked, disliked)
        own = np.asarray(list(liked) + list(disliked), dtype=np.int64)
        return self.top_k(
            scores, k, exclude=np.concatenate([own, np.asarray(exclude or [], np.int64)]), allow=allow
        )

    @staticmethod
    def top_k(
        scores: np.ndarray,
        k: int,
        exclude: Sequence[int] | np.ndarray | None = None,
        allow: Sequence[int] | np.ndarray | None = None,
    ) -> tuple[Ids, Scores]:
        """Best ``k`` columns of ``scores`` restricted to ``allow`` and without ``exclude``."""
        scores = np.asarray(scores, dtype=np.float32).copy()
        if allow is not None:
            mask = np.full(scores.shape, -np.inf, dtype=np.float32)
            allow_arr = np.asarray(allow, dtype=np.int64)
            mask[allow_arr] = 0.0
            scores += mask
        if exclude is not None and len(exclude):
            scores[np.asarray(exclude, dtype=np.int64)] = -np.inf
        k = min(k, int(np.isfinite(scores).sum()))
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return top.astype(np.int64), scores[top]

    # --- persistence -----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the fitted engine to ``path`` (a folder): params as JSON, state pickled."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {"engine": self.name, "format_version": FORMAT_VERSION, "params": self.params}
        (path / "engine.json").write_text(json.dumps(meta, indent=2, default=str))
        state = dict(self.__dict__)
        for key, value in self.__dict__.items():
            if isinstance(value, np.ndarray) and value.dtype != object and value.nbytes >= MAPPED_ARRAY_BYTES:
                np.save(path / f"{key}.npy", value)
                state[key] = _MappedArray(f"{key}.npy")
        with open(path / "state.pkl", "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read an engine written by :meth:`save`; refuses another engine or format version."""
        path = Path(path)
        meta = json.loads((path / "engine.json").read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise ArtifactMismatchError(
                f"{path}: format {meta.get('format_version')}, expected {FORMAT_VERSION}"
            )
        if meta.get("engine") != cls.name:
            raise ArtifactMismatchError(f"{path}: holds engine {meta.get('engine')!r}, not {cls.name!r}")
        engine = cls.__new__(cls)
        with open(path / "state.pkl", "rb") as fh:
            state = pickle.load(fh)
        for key, value in state.items():
            if isinstance(value, _MappedArray):
                state[key] = np.load(path / value.file, mmap_mode="r")
        engine.__dict__.update(state)
        return engine

    # --- helpers ---------------------------------------------------------------------------
    def _matrix(self) -> sp.csr_matrix:
        if self.train_matrix is None:
            raise NotFittedError(f"{self.name} is not fitted")
        return self.train_matrix

    def _check_items(self, items: Sequence[int] | np.ndarray) -> np.ndarray:
        arr = np.asarray(list(items), dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= self.n_items):
            raise UnknownIndexError(f"item columns out of range 0..{self.n_items - 1}")
        return arr


def profile_row(
    n_items: int, liked: np.ndarray, disliked: np.ndarray, dislike_weight: float
) -> sp.csr_matrix:
    """One-row CSR for an ad-hoc profile: +1 per liked column, ``-dislike_weight`` per disliked one.

    The negative weight is what makes a dislike push down the items close to it in linear engines
    (EASE, item-kNN) and, for ALS, gives a confident "preference 0" (implicit's convention).
    A column both liked and disliked counts as disliked: the later signal wins.
    """
    values = np.zeros(n_items, dtype=np.float32)
    values[liked] = 1.0
    values[disliked] = -float(dislike_weight)
    cols = np.flatnonzero(values)
    return sp.csr_matrix((values[cols], (np.zeros(len(cols), np.int64), cols)), shape=(1, n_items))


def check_finite(name: str, array: np.ndarray) -> None:
    """Raise :class:`FitError` when a fitted parameter array has NaN or inf."""
    if not np.isfinite(array).all():
        raise FitError(f"{name}: fitting produced non-finite values (NaN or inf)")
