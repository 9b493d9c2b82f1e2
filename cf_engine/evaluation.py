"""Offline evaluation of the CF engines with RecBole's ml-1m protocol, so numbers are comparable.

Protocol (RecBole's defaults for MovieLens): keep ratings >= 3 as positives; drop users and items
with fewer than 10 positives, repeatedly, until none is left (10-core; a smaller core only where the
dataset is too small for 10); split each user's positives at random 80/10/10 (fixed seed) into
train / validation / test; rank ALL items except those already seen (train for validation, train
+ validation for test); report Recall, NDCG, MRR, Hit and Precision at 10 averaged over users, plus
catalog coverage. Hyper-parameters are chosen on validation only (``cf_engine.model_selection``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cf_engine.base import Recommender
from cf_engine.data.catalog import Dataset
from cf_engine.data.errors import DataError

Phase = Literal["valid", "test"]


@dataclass(frozen=True)
class Protocol:
    """The knobs of the protocol, written into every report."""

    positive_threshold: float = 3.0
    core: int = 10
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 42
    k: int = 10

    def describe(self) -> dict[str, Any]:
        return {
            "name": "recbole-ml-1m",
            **asdict(self),
            "order": "random per user",
            "ranking": "full: every item not in train (valid) or train+valid (test)",
            "tuned_on": "valid",
        }


@dataclass
class Split:
    """Binary users x items matrices over the filtered (k-core) dataset."""

    train: sp.csr_matrix
    valid: sp.csr_matrix
    test: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    core_used: int
    stats: dict[str, int] = field(default_factory=dict)


def k_core(frame: pd.DataFrame, core: int) -> pd.DataFrame:
    """Drop users and items with fewer than ``core`` rows until every one left has at least ``core``."""
    while True:
        user_counts = frame["user_id"].map(frame["user_id"].value_counts())
        item_counts = frame["item_id"].map(frame["item_id"].value_counts())
        keep = (user_counts >= core) & (item_counts >= core)
        if keep.all():
            return frame
        frame = frame[keep]


def split_counts(total: int, ratios: tuple[float, ...]) -> list[int]:
    """How many of ``total`` rows go to each part: RecBole's ``_calcu_split_ids`` rule."""
    counts = [int(r * total) for r in ratios]
    counts[0] = total - sum(counts[1:])
    for i in range(1, len(ratios)):
        if counts[0] <= 1:
            break
        if 0 < ratios[-i] * total < 1:
            counts[-i] += 1
            counts[0] -= 1
    return counts


def prepare_split(dataset: Dataset, protocol: Protocol = Protocol()) -> Split:
    """Filter, k-core and split ``dataset`` as the protocol says."""
    frame = dataset.interactions
    if dataset.explicit_ratings:
        frame = frame[frame["rating"] >= protocol.positive_threshold]
    frame = frame[["user_id", "item_id"]]
    frame = frame.drop_duplicates()
    core_used, filtered = protocol.core, frame
    for core in sorted({protocol.core, 5, 2, 1}, reverse=True):
        if core > protocol.core:
            continue
        core_used, filtered = core, k_core(frame, core)
        if filtered["user_id"].nunique() >= 2 and filtered["item_id"].nunique() >= 2:
            break
    if filtered.empty:
        raise DataError(
            f"dataset {dataset.name!r} has no ratings >= {protocol.positive_threshold} to evaluate on"
        )
    user_ids = np.sort(filtered["user_id"].unique())
    item_ids = np.sort(filtered["item_id"].unique())
    rows = np.searchsorted(user_ids, filtered["user_id"].to_numpy())
    cols = np.searchsorted(item_ids, filtered["item_id"].to_numpy())
    rng = np.random.default_rng(protocol.seed)
    order = np.lexsort((rng.random(len(rows)), rows))  # users grouped, random order within each user
    rows, cols = rows[order], cols[order]
    part = np.empty(len(rows), dtype=np.int8)
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    ends = np.r_[starts[1:], len(rows)]
    for start, end in zip(starts, ends, strict=True):
        n_train, n_valid, _ = split_counts(int(end - start), protocol.ratios)
        part[start : start + n_train] = 0
        part[start + n_train : start + n_train + n_valid] = 1
        part[start + n_train + n_valid : end] = 2
    shape = (len(user_ids), len(item_ids))

    def matrix(which: int) -> sp.csr_matrix:
        mask = part == which
        data = np.ones(int(mask.sum()), dtype=np.float32)
        return sp.csr_matrix((data, (rows[mask], cols[mask])), shape=shape)

    train, valid, test = matrix(0), matrix(1), matrix(2)
    stats = {
        "n_users": shape[0],
        "n_items": shape[1],
        "n_interactions": len(rows),
        "n_train": train.nnz,
        "n_valid": valid.nnz,
        "n_test": test.nnz,
    }
    return Split(train, valid, test, user_ids, item_ids, core_used, stats)


def ranking_metrics(
    engine: Recommender, split: Split, phase: Phase = "test", k: int = 10, batch: int = 256
) -> dict[str, float]:
    """Mean Recall/NDCG/MRR/Hit/Precision@k over users with targets in ``phase``, and coverage@k.

    RecBole definitions: recall = hits / |targets|; precision = hits / k; NDCG's ideal DCG uses
    min(|targets|, k) hits; MRR is 1 / rank of the first hit (0 without one).
    """
    targets = split.valid if phase == "valid" else split.test
    seen = split.train if phase == "valid" else (split.train + split.valid).tocsr()
    users = np.flatnonzero(np.diff(targets.indptr) > 0)
    if users.size == 0:
        raise DataError(f"no user has {phase} interactions to evaluate")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)
    sums = dict.fromkeys(("recall", "ndcg", "mrr", "hit", "precision"), 0.0)
    recommended = np.zeros(split.train.shape[1], dtype=bool)
    for start in range(0, len(users), batch):
        rows = users[start : start + batch]
        scores = np.asarray(engine.score_users(rows), dtype=np.float32)
        seen_rows = seen[rows].tocoo()
        scores[seen_rows.row, seen_rows.col] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)
        recommended[top.ravel()] = True
        target_rows = targets[rows]
        hits = np.zeros(top.shape, dtype=bool)
        for i in range(len(rows)):
            wanted = target_rows.indices[target_rows.indptr[i] : target_rows.indptr[i + 1]]
            hits[i] = np.isin(top[i], wanted)
        n_targets = np.diff(target_rows.indptr)
        n_hits = hits.sum(axis=1)
        first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
        sums["recall"] += float((n_hits / n_targets).sum())
        sums["precision"] += float((n_hits / k).sum())
        sums["hit"] += float((n_hits > 0).sum())
        sums["mrr"] += float(np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0).sum())
        dcg = (hits * discounts).sum(axis=1)
        sums["ndcg"] += float((dcg / ideal[np.minimum(n_targets, k) - 1]).sum())
    result = {f"{name}@{k}": value / len(users) for name, value in sums.items()}
    result[f"coverage@{k}"] = float(recommended.mean())
    return result
