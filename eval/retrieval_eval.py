"""Offline benchmarks of retrieval and the blend (``recbot eval retrieval``).

(a) Text queries from MovieLens tags: the query is a tag a held-out user applied, the relevant items
    are the items that user tagged with it. The tags of every held-out user (text and cold-start)
    are removed from the indexed documents and their ratings from CF training, so no method can
    read the answer (:func:`retrieval_split`). Compared:
    semantic search (MiniLM), a TF-IDF baseline over the same documents, and the blend (the text
    alone, and the text plus three of the user's other liked items, as a chat would know them).
(b) Cold start: a held-out user is known by 1-3 liked items (rating >= LIKE_THRESHOLD); the
    relevant items are their other likes. Compared: CF fold-in, semantic neighbours of the liked
    items, item popularity (context), and the blend (as shipped, with MMR, and without MMR), plus a
    paired bootstrap interval of blend minus CF. The blend's learned fusion (bot/recommend/fusion.py) is
    fitted inside the Blender from the training users only.

Metrics: NDCG@10 and Recall@10 (hits / number of relevant items), averaged over queries / users.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bot.settings import Settings
from cf_engine.data.catalog import Dataset
from eval.held_out import catalog_without_tags_of, read_tags

LIKE_THRESHOLD = 4.0  # a "liked" item in the cold-start protocol
K = 10
TEXT_SEEDS = 3
BOOTSTRAP_RESAMPLES = 10_000


def ndcg_recall(ranked: Sequence[int], relevant: set[int], k: int = K) -> tuple[float, float]:
    """NDCG@k and Recall@k of a ranked id list against a set of relevant ids."""
    if not relevant:
        return 0.0, 0.0
    gains = [1.0 / math.log2(r + 2) for r, item in enumerate(ranked[:k]) if item in relevant]
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(k, len(relevant))))
    hits = sum(1 for item in ranked[:k] if item in relevant)
    return sum(gains) / ideal, hits / len(relevant)


def top_ids(scores: np.ndarray, item_ids: np.ndarray, exclude_cols: Sequence[int], k: int = K) -> list[int]:
    """Ids of the ``k`` best columns of ``scores`` without ``exclude_cols``."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    if len(exclude_cols):
        scores[np.asarray(exclude_cols, dtype=np.int64)] = -np.inf
    top = np.argpartition(-scores, k)[:k]
    return [int(item_ids[c]) for c in top[np.argsort(-scores[top], kind="stable")]]


def paired_bootstrap(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    rng: np.random.Generator,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict[str, Any]:
    """Mean of ``a - b`` (paired per user) and its 95% percentile-bootstrap interval."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if diff.size == 0:
        return {"mean": 0.0, "ci95": [0.0, 0.0], "resamples": 0, "n": 0}
    means = diff[rng.integers(0, diff.size, size=(resamples, diff.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {
        "mean": float(diff.mean()),
        "ci95": [float(lo), float(hi)],
        "resamples": resamples,
        "n": int(diff.size),
    }


def _summary(rows: list[tuple[float, float]]) -> dict[str, float]:
    arr = np.array(rows) if rows else np.zeros((0, 2))
    return {
        "ndcg@10": float(arr[:, 0].mean()) if len(arr) else 0.0,
        "recall@10": float(arr[:, 1].mean()) if len(arr) else 0.0,
        "n": len(rows),
    }


def retrieval_split(
    dataset: Dataset, tags: pd.DataFrame | None, rng: np.random.Generator, n_users: int
) -> tuple[set[int], set[int], Dataset]:
    """(text-query users, cold-start users, training dataset without either).

    Text users are half of the taggers; cold-start users a sample of the users with 8+ likes who tagged
    nothing. The training dataset has none of their ratings, and its catalog none of their tags. (Drawn
    among all users, cold-start users took two heavy taggers whose tags, about their own likes, were on
    most of the items still tagged once the text users' tags were gone: removing them left 107 tagged
    items of 9,742 and a text benchmark with almost no tags to search.)
    """
    frame = dataset.interactions
    taggers = np.array(sorted(tags["userId"].unique())) if tags is not None else np.array([], dtype=np.int64)
    text_users = (
        set(rng.choice(taggers, size=len(taggers) // 2, replace=False).tolist()) if len(taggers) else set()
    )
    likes = frame[frame["rating"] >= LIKE_THRESHOLD]
    like_counts = likes.groupby("user_id").size()
    taggers_set = set(int(u) for u in taggers)
    eligible = np.array(sorted(set(like_counts[like_counts >= 8].index) - taggers_set))
    cold_users = set(rng.choice(eligible, size=min(n_users, len(eligible)), replace=False).tolist())
    held_out = text_users | cold_users
    catalog = dataset.catalog if tags is None else catalog_without_tags_of(dataset.catalog, tags, held_out)
    train = Dataset(dataset.name, catalog, frame[~frame["user_id"].isin(held_out)].reset_index(drop=True))
    return text_users, cold_users, train


def run_retrieval_eval(
    settings: Settings,
    n_text_queries: int = 300,
    n_users: int = 200,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run both benchmarks; returns a JSON-ready dict (per method: ndcg@10, recall@10, n)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from bot.recommend.blend import TEXT_QUALITY_WEIGHT
    from bot.recommend.fusion_fit import build_blender
    from bot.recommend.request import BlendRequest
    from cf_engine.artifact import CFArtifact
    from cf_engine.data import load_dataset
    from retrieval.documents import DOC_FORMAT, item_document
    from retrieval.embeddings import embed_texts
    from retrieval.index import ItemIndex

    started = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    dataset = load_dataset(settings.cf_config())
    frame = dataset.interactions
    tags = read_tags(settings.dataset_dir)

    text_users, cold_users, train = retrieval_split(dataset, tags, rng, n_users)
    catalog = train.catalog
    likes = frame[frame["rating"] >= LIKE_THRESHOLD]
    log(
        f"held out {len(text_users)} tagging users and {len(cold_users)} cold-start users; "
        f"training CF ({settings.cf_model}) on {train.interactions['user_id'].nunique()} users"
    )
    cf = CFArtifact.train(train, settings.cf_config())
    eval_settings = settings.model_copy(update={"chroma_collection": settings.chroma_collection + "_eval"})
    index = ItemIndex(eval_settings.retrieval_config())
    # copy vectors of unchanged items from the chat's index, if built
    main_index = ItemIndex(settings.retrieval_config())
    report = index.build(train, progress=progress, reuse_from=main_index if main_index.is_ready() else None)
    log(
        f"eval index: {report.n_items} items, {report.embedded} embedded, {report.copied} copied "
        f"in {report.seconds:.1f} s"
    )
    blender = build_blender(train, cf, index, eval_settings)
    no_mmr = build_blender(train, cf, index, eval_settings.model_copy(update={"mmr_lambda": 1.0}))
    vectors = blender.vectors()
    assert vectors is not None
    item_ids = catalog.item_ids

    results: dict[str, Any] = {
        "settings": {
            "cf_model": settings.cf_model,
            "blend_half_saturation": settings.blend_half_saturation,
            "mmr_lambda": settings.mmr_lambda,
            "blend_fusion": settings.blend_fusion,
            "candidate_pool": settings.candidate_pool,
            "text_quality_weight": TEXT_QUALITY_WEIGHT,
            "doc_format": DOC_FORMAT,
            "like_threshold": LIKE_THRESHOLD,
            "k": K,
            "seed": settings.seed,
        }
    }

    # (a) text queries from tags ------------------------------------------------------------
    if tags is not None and text_users:
        user_tags = tags[tags["userId"].isin(text_users) & tags["movieId"].isin(item_ids)]
        groups = user_tags.groupby(["userId", "tag"])["movieId"].apply(lambda s: set(int(x) for x in s))
        keys = list(groups.index)
        order = rng.permutation(len(keys))[:n_text_queries]
        docs = [item_document(item) for item in catalog]
        tfidf = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)
        doc_matrix = tfidf.fit_transform(docs)
        queries = [(int(keys[i][0]), str(keys[i][1]), groups.iloc[i]) for i in order]
        query_vectors = embed_texts(settings.retrieval_config(), [q for _, q, _ in queries])
        rows: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for (user, text, relevant), qv in zip(queries, query_vectors, strict=True):
            user_likes = likes[(likes["user_id"] == user) & ~likes["item_id"].isin(relevant)][
                "item_id"
            ].tolist()
            seeds = [int(x) for x in rng.permutation(user_likes)[:TEXT_SEEDS]] if user_likes else []
            seed_cols = [catalog.index_of(s) for s in seeds]
            rows["semantic"].append(ndcg_recall(top_ids(vectors @ qv, item_ids, seed_cols), relevant))
            tf_scores = (doc_matrix @ tfidf.transform([text]).T).toarray().ravel()
            rows["tfidf"].append(ndcg_recall(top_ids(tf_scores, item_ids, seed_cols), relevant))
            # What a chat does with a typed request and nothing else known (semantic + quality prior).
            ranked = [c.item_id for c in no_mmr.blend(BlendRequest(text=text, k=K, exclude=seeds))]
            rows["blend (text only)"].append(ndcg_recall(ranked, relevant))
            if seeds:
                rows["cf (3 liked)"].append(
                    ndcg_recall(top_ids(cf.score_for(seeds), item_ids, seed_cols), relevant)
                )
                ranked = [c.item_id for c in no_mmr.blend(BlendRequest(liked=seeds, text=text, k=K))]
                rows["blend (text + 3 liked)"].append(ndcg_recall(ranked, relevant))
        results["text_queries"] = {name: _summary(r) for name, r in rows.items()}
        results["text_queries"]["n_queries"] = len(queries)
    else:
        results["text_queries"] = {"skipped": "no tags.csv in the dataset folder"}

    # (b) cold start ------------------------------------------------------------------------
    cold: dict[str, list[tuple[float, float]]] = defaultdict(list)
    per_seed: dict[str, dict[int, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for n, user in enumerate(sorted(cold_users)):
        user_likes = [int(i) for i in likes.loc[likes["user_id"] == user, "item_id"] if i in catalog]
        n_seed = 1 + n % 3
        seeds = [int(x) for x in rng.permutation(user_likes)[:n_seed]]
        relevant = set(user_likes) - set(seeds)
        seed_cols = [catalog.index_of(s) for s in seeds]
        centroid = vectors[seed_cols].mean(axis=0)
        ranked_by = {
            "cf": top_ids(cf.score_for(seeds), item_ids, seed_cols),
            "popularity": top_ids(blender.features.popularity, item_ids, seed_cols),
            "semantic": top_ids(vectors @ centroid, item_ids, seed_cols),
            "blend": [c.item_id for c in blender.blend(BlendRequest(liked=seeds, k=K))],
            "blend (no MMR)": [c.item_id for c in no_mmr.blend(BlendRequest(liked=seeds, k=K))],
        }
        for name, ranked in ranked_by.items():
            metric = ndcg_recall(ranked, relevant)
            cold[name].append(metric)
            per_seed[name][n_seed].append(metric)
    results["cold_start"] = {
        name: {**_summary(r), "by_n_liked": {str(s): _summary(v) for s, v in sorted(per_seed[name].items())}}
        for name, r in cold.items()
    }
    # Paired per user: the spread between users (~0.02 standard error) cancels out of a difference.
    results["cold_start_differences"] = {
        f"blend - {name}": paired_bootstrap(
            [m[0] for m in cold["blend"]], [m[0] for m in cold[name]], np.random.default_rng(settings.seed)
        )
        for name in ("cf", "semantic", "popularity")
    }
    fusion = blender.fusion()
    results["settings"]["fusion"] = None if fusion is None else fusion.info
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def format_results(results: dict[str, Any]) -> str:
    """The two benchmarks as text tables."""
    from eval.report import format_table

    out = []
    text = results.get("text_queries", {})
    if "skipped" in text:
        out.append(f"text queries: skipped ({text['skipped']})")
    else:
        rows = [
            [name, f"{m['ndcg@10']:.3f}", f"{m['recall@10']:.3f}", str(m["n"])]
            for name, m in text.items()
            if isinstance(m, dict)
        ]
        out += [
            "Text queries from MovieLens tags (held-out users)",
            format_table(["method", "NDCG@10", "Recall@10", "n"], rows),
        ]
    rows = []
    for name, m in results["cold_start"].items():
        by = m["by_n_liked"]
        rows.append(
            [
                name,
                f"{m['ndcg@10']:.3f}",
                f"{m['recall@10']:.3f}",
                *(f"{by[s]['ndcg@10']:.3f}" if s in by else "-" for s in ("1", "2", "3")),
                str(m["n"]),
            ]
        )
    out += [
        "",
        "Cold start: users known by 1-3 liked items",
        format_table(["method", "NDCG@10", "Recall@10", "NDCG 1 liked", "2 liked", "3 liked", "n"], rows),
    ]
    for name, diff in results.get("cold_start_differences", {}).items():
        lo, hi = diff["ci95"]
        out.append(
            f"{name} NDCG@10: {diff['mean']:+.3f} (95% paired bootstrap CI {lo:+.3f} .. {hi:+.3f}, "
            f"{diff['n']} users)"
        )
    return "\n".join(out)
