"""Evidence for blended candidates: liked neighbours, matched genres and words, rating statistics.

Everything here is read from the data (interactions, catalog, item vectors), never guessed, so that
an explanation written from :class:`~bot.types.Evidence` can only state true things. Co-rating
evidence ("people who liked X rated it 4.1 on average, 37 people") and item-item CF similarity come
from sparse products on the interaction matrix: a few milliseconds per request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from bot.recommend.constraints import ItemStats
from bot.types import Constraints, Evidence, Neighbour
from cf_engine.data.catalog import Catalog, Dataset, Item

MAX_NEIGHBOURS = 3
MIN_CF_SIMILARITY = 0.05  # cosine of co-liking below this is noise, not "close to"
MIN_EMBEDDING_SIMILARITY = 0.35  # MiniLM cosines below this are unrelated texts
LIKED_RATING = 4.0  # "people who liked X" in an explanation: rated X 4 stars or more
MIN_CO_RATERS = 3  # a mean rating from fewer people is an anecdote
MAX_CO_RATINGS = 3
MAX_HISTORY_SEEDS = 2  # a known user's liked items shown as linked to one candidate
HISTORY_POOL = 10  # ... chosen among their this many closest liked items
MAX_SHARED_TAGS = 4
MAX_ITEM_TAGS = 3
MAX_AVOIDED_TAGS = 2
# Tags about someone's watch list or wording, not about the film: never shown as its tags.
NOISE_TAGS = frozenset({"in netflix queue", "mindfuck", "seen more than once", "bd-r", "dvd-video"})

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
        self._user_ratings: sp.csr_matrix | None = None

    def user_items(self, user_id: int) -> np.ndarray:
        """Catalog columns the user interacted with (empty for an unknown user)."""
        row = self.user_row.get(int(user_id))
        if row is None:
            return np.empty(0, dtype=np.int64)
        return self._user_items[row].indices.astype(np.int64)

    def user_ratings(self, user_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(catalog columns, ratings) of the user's rated items (empty for an unknown user)."""
        row = self.user_row.get(int(user_id))
        if row is None:
            return np.empty(0, dtype=np.int64), np.empty(0)
        if self._user_ratings is None:
            self._user_ratings = sp.csr_matrix(self.ratings)
        r = self._user_ratings[row]
        return r.indices.astype(np.int64), r.data.astype(np.float64)

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


@dataclass(frozen=True)
class SeedScores:
    """One liked item's link to one candidate: similarities and the co-rating of its fans."""

    col: int
    cf_sim: float | None
    emb_sim: float | None
    co_count: float
    co_mean: float
    user_rating: float | None = None  # the known user's rating of the seed (their history)


def avoided_tags(item: Item, excluded: Iterable[str]) -> list[str]:
    """The excluded tags no tag of ``item`` contains, one per word stem ("violent" for violent and
    violence), "violent" first: what "nothing tagged violent" may say about it."""
    tags = " | ".join(item.tags)
    free = sorted(
        (t for t in excluded if t.casefold() not in tags),
        key=lambda t: (not t.startswith("violen"), len(t), t),
    )
    stems: dict[str, str] = {}
    for tag in free:
        stems.setdefault(tag[:4], tag)
    return list(stems.values())[:MAX_AVOIDED_TAGS]


def shared_with(item: Item, seed: Item) -> tuple[list[str], list[str]]:
    """(genres, tags) that ``item`` and ``seed`` both have, in ``item``'s order."""
    seed_genres = set(seed.genres)
    seed_tags = set(seed.tags)
    genres = [g for g in item.genres if g in seed_genres and not g.startswith("(")]
    tags = [t for t in item.tags if t in seed_tags and t not in NOISE_TAGS][:MAX_SHARED_TAGS]
    return genres, tags


def build_evidence(
    *,
    dataset: Dataset,
    col: int,
    stats: ItemStats,
    seeds: Sequence[SeedScores],
    constraints: Constraints,
    words: list[str],
    liked_genres: set[str],
    from_user_history: bool,
) -> Evidence:
    """The :class:`Evidence` of catalog column ``col`` for one request."""
    catalog = dataset.catalog
    item = catalog.at(col)
    neighbours: list[Neighbour] = []
    for seed in seeds:
        seed_item = catalog.at(int(seed.col))
        title = seed_item.display_title
        seed_id = int(catalog.item_ids[seed.col])
        genres, tags = shared_with(item, seed_item)
        extra = {"shared_genres": genres, "shared_tags": tags, "user_rating": seed.user_rating}
        if seed.cf_sim is not None and seed.cf_sim >= MIN_CF_SIMILARITY:
            neighbours.append(Neighbour(seed_id, title, round(float(seed.cf_sim), 4), "cf", **extra))
        if seed.emb_sim is not None and seed.emb_sim >= MIN_EMBEDDING_SIMILARITY:
            neighbours.append(Neighbour(seed_id, title, round(float(seed.emb_sim), 4), "embedding", **extra))
    neighbours.sort(key=lambda n: -n.similarity)

    co: list[dict[str, object]] = []
    for seed in sorted(seeds, key=lambda x: -x.co_count):
        if seed.co_count >= MIN_CO_RATERS and len(co) < MAX_CO_RATINGS:
            co.append(
                {
                    "seed_item_id": int(catalog.item_ids[seed.col]),
                    "seed_title": catalog.at(int(seed.col)).display_title,
                    "mean": float(seed.co_mean),  # rounded once, where it is shown
                    "n": int(seed.co_count),
                    "min_rating": LIKED_RATING,
                }
            )

    requested = {g.casefold() for g in constraints.genres_in}
    word_set = set(words)
    wanted = requested | {g.casefold() for g in liked_genres} | {g for g in word_set}
    matched_genres = [g for g in item.genres if g.casefold() in wanted or _forms(g.casefold()) & word_set]
    matched_genres.sort(key=lambda g: g.casefold() not in requested)
    asked = [g for g in item.genres if g.casefold() in requested or _forms(g.casefold()) & word_set]

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
        asked_genres=asked,
        matched_tags=matched_tags,
        item_tags=[t for t in item.tags if t not in NOISE_TAGS][:MAX_ITEM_TAGS],
        avoided_tags=avoided_tags(item, constraints.excluded_tags),
        query_terms=query_terms,
        genres=list(item.genres),
        year=item.year,
        n_ratings=int(stats.n_ratings),
        # Unrounded: rounding here and again to one decimal where shown printed 4.149 as "4.2".
        mean_rating=None if stats.mean_rating is None else float(stats.mean_rating),
        co_ratings=co,
        from_user_history=from_user_history,
    )


def history_seeds(
    interactions: InteractionEvidence, catalog: Catalog, user_id: int, picked_cols: Sequence[int]
) -> list[list[tuple[int, float]]]:
    """Per picked column, the known user's liked items (4+ stars) closest to it by co-liking.

    (catalog column, the user's rating) pairs, at most :data:`MAX_HISTORY_SEEDS`, closest first: the
    part of the user's own history that links them to the candidate ("you gave Heat 5 stars").
    """
    cols, ratings = interactions.user_ratings(user_id)
    keep = ratings >= LIKED_RATING
    cols, ratings = cols[keep], ratings[keep]
    if not cols.size or not len(picked_cols):
        return [[] for _ in picked_cols]
    sim = interactions.cf_similarity(cols.tolist(), picked_cols)  # (history, picked)
    out = []
    for j, col in enumerate(picked_cols):
        # closest first; among equals the higher rating, then the catalog order (deterministic)
        order = np.lexsort((cols, -ratings, -sim[:, j]))
        close = [int(i) for i in order[:HISTORY_POOL] if sim[i, j] >= MIN_CF_SIMILARITY]
        # of the closest few, those that share a genre with the candidate first: a link a reader sees
        genres = set(catalog.at(int(col)).genres)
        close.sort(key=lambda i: not genres & set(catalog.at(int(cols[i])).genres))
        out.append([(int(cols[i]), float(ratings[i])) for i in close[:MAX_HISTORY_SEEDS]])
    return out


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
    user_id: int | None = None,
) -> list[Evidence]:
    """The :class:`Evidence` of each picked column (``stats[j]`` is ``picked_cols[j]``'s) for one request.

    ``user_id`` (with ``from_user_history``): the known user's history joins the session's liked
    items as seeds, the few of their liked items closest to each candidate.
    """
    liked = list(dict.fromkeys(int(c) for c in liked))
    history = (
        history_seeds(interactions, dataset.catalog, user_id, picked_cols)
        if from_user_history and user_id is not None
        else [[] for _ in picked_cols]
    )
    user_rating = {c: r for rows in history for c, r in rows}
    seeds = liked + [c for c in dict.fromkeys(c for rows in history for c, _ in rows) if c not in liked]
    index = {c: i for i, c in enumerate(seeds)}
    cf_sim = interactions.cf_similarity(seeds, picked_cols) if seeds else None
    co_counts, co_means = interactions.co_ratings(seeds, picked_cols) if seeds else (None, None)
    emb_sim = vectors[seeds] @ vectors[list(picked_cols)].T if (seeds and vectors is not None) else None
    words = query_words(text)
    liked_genres = {g for c in liked for g in dataset.catalog.at(c).genres}
    out = []
    for j, col in enumerate(picked_cols):
        mine = liked + [c for c, _ in history[j] if c not in liked]
        scores = [
            SeedScores(
                col=c,
                cf_sim=None if cf_sim is None else float(cf_sim[index[c], j]),
                emb_sim=None if emb_sim is None else float(emb_sim[index[c], j]),
                co_count=0.0 if co_counts is None else float(co_counts[index[c], j]),
                co_mean=0.0 if co_means is None else float(co_means[index[c], j]),
                user_rating=user_rating.get(c) if c not in liked else None,
            )
            for c in mine
        ]
        out.append(
            build_evidence(
                dataset=dataset,
                col=col,
                stats=stats[j],
                seeds=scores,
                constraints=constraints,
                words=words,
                liked_genres=liked_genres,
                from_user_history=from_user_history,
            )
        )
    return out
