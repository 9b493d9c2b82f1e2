"""Ranking metrics for one relevant item per sample (the ReDial and simulation protocols).

Every function takes the 1-based rank of the target in the full ranking, or ``None`` when the target
cannot be ranked (unmapped, filtered out): such a sample counts as a miss in every metric.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

CUTOFFS = (1, 10, 50)


def rank_of(scores: np.ndarray, target: int | None, exclude: Sequence[int] = ()) -> int | None:
    """1-based rank of column ``target`` under ``scores`` (higher first), ties counted pessimistically.

    ``exclude`` columns are removed from the ranking (the target itself never is, unless excluded:
    then the rank is ``None``). ``-inf`` scores (filtered items) rank after everything.
    """
    if target is None or target in set(exclude):
        return None
    value = scores[target]
    if not np.isfinite(value):
        return None
    better = scores >= value
    if len(exclude):
        better = better.copy()
        better[np.asarray(list(exclude), dtype=np.int64)] = False
    return int(better.sum())  # counts the target itself, so ties rank it last among equals


def recall_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    return 1.0 / rank if rank is not None else 0.0


def ndcg_at(rank: int | None, k: int) -> float:
    """NDCG@k with one relevant item: 1 / log2(rank + 1) inside the cut-off (ideal DCG is 1)."""
    return 1.0 / math.log2(rank + 1) if rank is not None and rank <= k else 0.0


def summarise(ranks: Iterable[int | None], cutoffs: Sequence[int] = CUTOFFS) -> dict[str, float]:
    """Mean Recall@k, MRR and NDCG@10 over samples, plus their count ``n``."""
    ranks = list(ranks)
    n = len(ranks)
    out: dict[str, float] = {}
    for k in cutoffs:
        out[f"recall@{k}"] = sum(recall_at(r, k) for r in ranks) / n if n else 0.0
    out["mrr"] = sum(reciprocal_rank(r) for r in ranks) / n if n else 0.0
    out["ndcg@10"] = sum(ndcg_at(r, 10) for r in ranks) / n if n else 0.0
    out["n"] = n
    return out
