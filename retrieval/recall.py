"""How close Chroma's approximate (HNSW) search is to exact cosine search on the real item vectors.

Queries are item vectors themselves (a "more like this" search, the blend's commonest query) plus
optional text queries; the exact answer is a numpy dot product over every item vector.
"""

from __future__ import annotations

import numpy as np

from retrieval.index import ItemIndex


def exact_top_k(matrix: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    """Ids of the ``k`` rows of ``matrix`` with the highest cosine to ``query`` (rows normalised)."""
    scores = matrix @ query
    k = min(k, len(ids))
    top = np.argpartition(-scores, k - 1)[:k]
    return [int(i) for i in ids[top[np.argsort(-scores[top])]]]


def hnsw_recall(
    index: ItemIndex,
    k: int = 20,
    n_queries: int = 200,
    seed: int = 0,
    extra_queries: np.ndarray | None = None,
) -> float:
    """Mean recall@k of ``index.search_vector`` against exact search, over sampled item vectors."""
    ids, matrix = index.vectors()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(ids), size=min(n_queries, len(ids)), replace=False)
    queries = [matrix[r] for r in rows]
    if extra_queries is not None:
        queries.extend(extra_queries)
    recalls = []
    for query in queries:
        truth = set(exact_top_k(matrix, ids, query, k))
        found = {item_id for item_id, _ in index.search_vector(query, k)}
        recalls.append(len(truth & found) / len(truth))
    return float(np.mean(recalls))
