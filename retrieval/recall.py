"""How close Chroma's approximate (HNSW) search is to exact cosine search on the real item vectors.

Queries are item vectors themselves (a "more like this" search, the blend's commonest query) plus
optional text queries; the exact answer is a numpy dot product over every item vector, and an item
whose cosine ties the exact k-th best counts as found.
"""

from __future__ import annotations

import numpy as np

from retrieval.index import ItemIndex

TIE_TOLERANCE = 1e-5  # cosines this close to the k-th best count as tied with it (float32 vectors)


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores, best first."""
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top])]


def exact_top_k(matrix: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    """Ids of the ``k`` rows of ``matrix`` with the highest cosine to ``query`` (rows normalised)."""
    return [int(i) for i in ids[top_rows(matrix @ query, k)]]


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
    row_of = {int(i): r for r, i in enumerate(ids)}
    recalls = []
    for query in queries:
        scores = matrix @ query
        truth = top_rows(scores, k)
        # Items tied with the k-th best share its place: documents without a title make identical
        # vectors for films with the same genres, year and no tags, and any of them is a right answer.
        kth = float(scores[truth[-1]])
        found = {item_id for item_id, _ in index.search_vector(query, k)}
        hits = sum(1 for i in found if i in row_of and scores[row_of[i]] >= kth - TIE_TOLERANCE)
        recalls.append(min(hits, len(truth)) / len(truth))
    return float(np.mean(recalls))
