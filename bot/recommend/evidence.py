"""Evidence for blended candidates: liked neighbours, matched genres and words, rating statistics.

Everything here is read from the data (interactions, catalog, item vectors), never guessed, so that
an explanation written from :class:`~bot.types.Evidence` can only state true things. Co-rating
evidence ("people who liked X rated it 4.1 on average, 37 people") and item-item CF similarity come
from sparse products on the interaction matrix: a few milliseconds per request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from bot.recommend.constraints import ItemStats
from bot.types import Constraints, Evidence, Neighbour
from cf_engine.data.catalog import Dataset

MAX_NEIGHBOURS = 3
MIN_CF_SIMILARITY = 0.05  # cosine of co-liking below this is noise, not "close to"
MIN_EMBEDDING_SIMILARITY = 0.35  # MiniLM cosines below this are unrelated texts
LIKED_RATING = 4.0  # "people who liked X" in an explanation: rated X 4 stars or more
MIN_CO_RATERS = 3  # a mean rating from fewer people is an anecdote
MAX_CO_RATINGS = 3

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
STOPWORDS = frozenset(
    """a an the and or but of in on at to for with without from by about as is are was were be been
    some something anything any more less very really quite movie movies film films show me i i'm im
    want like likes liked love would could should please that this these those it its not no nothing
    into than then there their them they we you your my mood feel get give good great one ones kind
    sort type watch watching seen tonight today maybe also just so too what which who how""".split()
)


def query_words(text: str | None) -> list[str]:
    """Content words of a request, lower-cased, in order, without stopwords."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.casefold()):
        if len(word) >= 3 and word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def _forms(word: str) -> set[str]:
    return {word, word[:-1]} if word.endswith("s") and len(word) > 3 else {word, word + "s"}


class InteractionEvidence:
    """Sparse views of the interactions for co-rating and item-item evidence (built once per dataset)."""

    def __init__(self, dataset: Dataset, positive_threshold: float) -> None:
        catalog = dataset.catalog
        frame = dataset.interactions
        users = pd.Index(np.sort(frame["user_id"].unique()))
        rows = users.get_indexer(frame["user_id"].to_numpy())
        cols = pd.Index(catalog.item_ids).get_indexer(frame["item_id"].to_numpy())
        ok = cols >= 0
        rows, cols = rows[ok], cols[ok]
        ratings = frame["rating"].to_numpy(dtype=np.float64)[ok]
        shape = (len(users), len(catalog))
        # Duplicated (user, item) pairs would add up; keep the last rating of each pair.
        dedup = pd.DataFrame({"r": rows, "c": cols, "v": ratings}).drop_duplicates(["r", "c"], keep="last")
        rows, cols, ratings = dedup["r"].to_numpy(), dedup["c"].to_numpy(), dedup["v"].to_numpy()
        self.user_row = {int(u): i for i, u in enumerate(users)}
        self.ratings = sp.csc_matrix((ratings, (rows, cols)), shape=shape)
        self.rated = sp.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
        pos = ratings >= positive_threshold
        self.positive = sp.csc_matrix((np.ones(int(pos.sum())), (rows[pos], cols[pos])), shape=shape)
        self.positive_counts = np.asarray(self.positive.sum(axis=0)).ravel()
        # Co-ratings are stated as "the people who liked X": that word means 4 stars or more for a
        # reader, whatever the CF training threshold is (positive_threshold, 3.0 by default).
        fan = ratings >= LIKED_RATING
        self.liked = sp.csc_matrix((np.ones(int(fan.sum())), (rows[fan], cols[fan])), shape=shape)
        self._user_items = sp.csr_matrix(self.rated)

    def user_items(self, user_id: int) -> np.ndarray:
        """Catalog columns the user interacted with (empty for an unknown user)."""
        row = self.user_row.get(int(user_id))
        if row is None:
            return np.empty(0, dtype=np.int64)
        return self._user_items[row].indices.astype(np.int64)

    def cf_similarity(self, seeds: Sequence[int], cands: Sequence[int]) -> np.ndarray:
        """Cosine of co-liking (len(seeds), len(cands)): shared likers / sqrt(likers x likers)."""
        if not len(seeds) or not len(cands):
            return np.zeros((len(seeds), len(cands)))
        co = (self.positive[:, list(seeds)].T @ self.positive[:, list(cands)]).toarray()
        norm = np.sqrt(np.outer(self.positive_counts[list(seeds)], self.positive_counts[list(cands)]))
        return np.divide(co, norm, out=np.zeros_like(co), where=norm > 0)

    def co_ratings(self, seeds: Sequence[int], cands: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """For each (seed, cand): how many users who rated the seed LIKED_RATING or more rated the cand,
        and their mean rating (unrounded)."""
        if not len(seeds) or not len(cands):
            empty = np.zeros((len(seeds), len(cands)))
            return empty, empty
        likers = self.liked[:, list(seeds)].T  # seeds x users
        counts = (likers @ self.rated[:, list(cands)]).toarray()
        sums = (likers @ self.ratings[:, list(cands)]).toarray()
        means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        return counts, means


def build_evidence(
    *,
    dataset: Dataset,
    col: int,
    stats: ItemStats,
    liked_cols: Sequence[int],
    cf_sim: np.ndarray | None,  # (len(liked_cols),) for this candidate
    emb_sim: np.ndarray | None,  # (len(liked_cols),)
    co_counts: np.ndarray | None,
    co_means: np.ndarray | None,
    constraints: Constraints,
    words: list[str],
    liked_genres: set[str],
    from_user_history: bool,
) -> Evidence:
    """The :class:`Evidence` of catalog column ``col`` for one request."""
    catalog = dataset.catalog
    item = catalog.at(col)
    neighbours: list[Neighbour] = []
    for j, seed in enumerate(liked_cols):
        title = catalog.at(int(seed)).display_title
        seed_id = int(catalog.item_ids[seed])
        if cf_sim is not None and cf_sim[j] >= MIN_CF_SIMILARITY:
            neighbours.append(Neighbour(seed_id, title, round(float(cf_sim[j]), 4), "cf"))
        if emb_sim is not None and emb_sim[j] >= MIN_EMBEDDING_SIMILARITY:
            neighbours.append(Neighbour(seed_id, title, round(float(emb_sim[j]), 4), "embedding"))
    neighbours.sort(key=lambda n: -n.similarity)

    co: list[dict[str, object]] = []
    if co_counts is not None and co_means is not None:
        order = np.argsort(-co_counts)
        for j in order[:MAX_CO_RATINGS]:
            if co_counts[j] >= MIN_CO_RATERS:
                seed = int(liked_cols[j])
                co.append(
                    {
                        "seed_item_id": int(catalog.item_ids[seed]),
                        "seed_title": catalog.at(seed).display_title,
                        "mean": float(co_means[j]),  # rounded once, where it is shown
                        "n": int(co_counts[j]),
                        "min_rating": LIKED_RATING,
                    }
                )

    requested = {g.casefold() for g in constraints.genres_in}
    word_set = set(words)
    wanted = requested | {g.casefold() for g in liked_genres} | {g for g in word_set}
    matched_genres = [g for g in item.genres if g.casefold() in wanted or _forms(g.casefold()) & word_set]
    matched_genres.sort(key=lambda g: g.casefold() not in requested)

    matched_tags: list[str] = []
    for tag in item.tags:
        tag_words = set(_WORD.findall(tag.casefold()))
        if any(_forms(w) & tag_words for w in words) and tag not in matched_tags:
            matched_tags.append(tag)
    item_words = set(_WORD.findall(" ".join([item.title, *item.genres, *item.tags, item.text]).casefold()))
    query_terms = [w for w in words if _forms(w) & item_words]

    return Evidence(
        neighbours=neighbours[:MAX_NEIGHBOURS],
        matched_genres=matched_genres,
        matched_tags=matched_tags,
        query_terms=query_terms,
        genres=list(item.genres),
        year=item.year,
        n_ratings=int(stats.n_ratings),
        # Unrounded: rounding here and again to one decimal where shown printed 4.149 as "4.2".
        mean_rating=None if stats.mean_rating is None else float(stats.mean_rating),
        co_ratings=co,
        from_user_history=from_user_history,
    )


def evidence_for(
    dataset: Dataset,
    interactions: InteractionEvidence,
    stats: Sequence[ItemStats],
    picked_cols: Sequence[int],
    liked: Sequence[int],
    vectors: np.ndarray | None,
    text: str | None,
    constraints: Constraints,
    from_user_history: bool,
) -> list[Evidence]:
    """The :class:`Evidence` of each picked column (``stats[j]`` is ``picked_cols[j]``'s) for one request."""
    liked = list(liked)
    cf_sim = interactions.cf_similarity(liked, picked_cols) if liked else None
    co_counts, co_means = interactions.co_ratings(liked, picked_cols) if liked else (None, None)
    emb_sim = vectors[liked] @ vectors[list(picked_cols)].T if (liked and vectors is not None) else None
    words = query_words(text)
    liked_genres = {g for c in liked for g in dataset.catalog.at(c).genres}
    return [
        build_evidence(
            dataset=dataset,
            col=col,
            stats=stats[j],
            liked_cols=liked,
            cf_sim=None if cf_sim is None else cf_sim[:, j],
            emb_sim=None if emb_sim is None else emb_sim[:, j],
            co_counts=None if co_counts is None else co_counts[:, j],
            co_means=None if co_means is None else co_means[:, j],
            constraints=constraints,
            words=words,
            liked_genres=liked_genres,
            from_user_history=from_user_history,
        )
        for j, col in enumerate(picked_cols)
    ]
