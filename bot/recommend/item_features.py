"""What is known about every catalog item, computed once from the dataset and shared.

One :class:`ItemFeatures` per dataset holds the rating statistics, the two popularity counts, the
genre matrix, the rating prior and the quality prior. The blend scores with it, the learned fusion
reads its features from it (and its fitting builds one for its training part), and the agent's
parser and policy take their tie-breaking popularity from it. Item vectors come from the index, not
the dataset: :class:`ItemVectors` loads them once and :func:`align_vectors` puts them into catalog order.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from bot.recommend.constraints import CatalogFilter, ItemStats
from bot.recommend.evidence import InteractionEvidence
from bot.recommend.sources import ItemSearch
from cf_engine.data.catalog import Catalog, Dataset

log = logging.getLogger("bot.recommend.blend")  # the blend's degradation warnings keep their logger

# A possessive stays one word: "Ocean's Eleven" is no film about the ocean.
_TITLE_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
COVERAGE_GENRES = 2  # genre_coverage: sharing this many of a liked item's genres counts fully
TITLE_WORD_MIN = 4  # shorter request words ("the", "man", "war") name too many titles to mean one
TITLE_WORD_MAX_SHARE = 0.005  # a word in more of the catalog's titles than this is too common to count
RATING_PRIOR = 10.0  # pseudo-ratings at the catalog mean in the shrunk mean rating
INDEX_RETRY_S = 60.0  # an unreachable index is tried again after this long


@dataclass
class ItemFeatures:
    """Per-item arrays in catalog order (column ``c`` is ``catalog.at(c)``), plus a few lookups."""

    catalog: Catalog
    stats: list[ItemStats]  # ratings per item (count, mean; None when nobody rated it)
    # Interactions per item id, every rating counted: how well known a title is (the parser's and the
    # policy's tie-breaker). Not the same count as ``popularity``, which counts positives only.
    rating_counts: dict[int, int]
    interactions: InteractionEvidence  # sparse views for co-rating and item-item evidence
    popularity: np.ndarray  # positive interactions per column (float64): fallback and tie-breaker
    filter: CatalogFilter  # the hard constraints over the whole catalog at once
    catalog_genres: list[str]  # sorted genre names
    genre_col: dict[str, int]  # lower-case genre -> column of ``genres``
    genres: np.ndarray  # item x genre indicator matrix
    genres_unit: np.ndarray  # the same, rows L2-normalised (the soft genre-affinity term)
    shrunk_rating: np.ndarray  # mean rating shrunk toward the catalog mean (RATING_PRIOR ratings)
    quality: np.ndarray  # popular and well rated, in [0, 1]: the quality prior of typed requests
    years: dict[int, int | None]  # item id -> year
    max_year: int  # the catalog's latest year ("recent" is relative to it)

    @classmethod
    def from_dataset(cls, dataset: Dataset, positive_threshold: float) -> ItemFeatures:
        catalog = dataset.catalog
        table = dataset.item_stats()
        counts = table["count"].to_numpy(dtype=np.int64)
        means = table["mean_rating"].to_numpy(dtype=np.float64)
        stats = [
            ItemStats(int(c), None if np.isnan(m) else float(m)) for c, m in zip(counts, means, strict=True)
        ]
        by_item = dataset.interactions.groupby("item_id").size()
        interactions = InteractionEvidence(dataset, positive_threshold)
        popularity = interactions.positive_counts.astype(np.float64)
        catalog_genres = sorted({g for item in catalog for g in item.genres})
        col = {g: j for j, g in enumerate(catalog_genres)}
        genres = np.zeros((len(catalog), max(1, len(col))), dtype=np.float64)
        for row, item in enumerate(catalog):
            for g in item.genres:
                genres[row, col[g]] = 1.0
        shrunk = shrunk_ratings(dataset)
        # Scaled by the catalog's best, not per pool, so that an item's prior does not depend on
        # which other items the request let in (a pool of obscure films keeps small priors).
        lowest = float(shrunk.min()) if shrunk.size else 0.0
        quality = np.log1p(popularity) * (shrunk - lowest)
        years = {item.item_id: item.year for item in catalog}
        return cls(
            catalog=catalog,
            stats=stats,
            rating_counts={int(k): int(v) for k, v in by_item.items()},
            interactions=interactions,
            popularity=popularity,
            filter=CatalogFilter(catalog, stats),
            catalog_genres=catalog_genres,
            genre_col={g.lower(): j for g, j in col.items()},
            genres=genres,
            genres_unit=genres / np.maximum(np.linalg.norm(genres, axis=1, keepdims=True), 1e-12),
            shrunk_rating=shrunk,
            quality=quality / max(float(quality.max(initial=0.0)), 1e-12),
            years=years,
            max_year=max((y for y in years.values() if y), default=2018),
        )

    def stats_of(self, item_id: int) -> ItemStats:
        """The rating statistics of a catalog item id (empty ones for an id not in the catalog)."""
        return self.stats[self.catalog.index_of(item_id)] if item_id in self.catalog else ItemStats()

    def genre_columns(self, genres: Sequence[str]) -> list[int]:
        """Genre columns of ``genres`` (sorted; genres the catalog does not have are dropped)."""
        return sorted(self.genre_col[g.lower()] for g in genres if g.lower() in self.genre_col)

    def genre_coverage(self, liked_cols: Sequence[int], cols: np.ndarray) -> np.ndarray:
        """Per column of ``cols``, in [0, 1]: the genres it shares with one liked item, out of two.

        (Out of all of them for a liked item with one genre; 1 when no liked item has genres.)
        """
        liked = self.genres[np.asarray(liked_cols, dtype=np.int64)]
        sizes = liked.sum(axis=1)
        if not (sizes > 0).any():
            return np.ones(len(cols))
        shared = self.genres[cols] @ liked[sizes > 0].T
        return np.minimum(1.0, shared / np.minimum(sizes[sizes > 0], COVERAGE_GENRES)).max(axis=1)

    @cached_property
    def _title_words(self) -> dict[str, np.ndarray]:
        """Title word (lower case, as written) -> the columns whose title has it; common words left out."""
        by_word: dict[str, list[int]] = {}
        for col, item in enumerate(self.catalog):
            for word in {w.casefold() for w in _TITLE_WORD.findall(item.title)}:
                by_word.setdefault(word, []).append(col)
        limit = max(3, int(TITLE_WORD_MAX_SHARE * len(self.catalog)))
        return {w: np.array(c, dtype=np.int64) for w, c in by_word.items() if len(c) <= limit}

    def title_word_hits(self, text: str) -> np.ndarray | None:
        """Per column, the share of ``text``'s words (4+ letters) in its title ("toys" ~ "Toy Story")."""
        words = [w for w in dict.fromkeys(_TITLE_WORD.findall(text.casefold())) if len(w) >= TITLE_WORD_MIN]
        if not words:
            return None
        hits = np.zeros(len(self.catalog), dtype=np.float64)
        for word in words:
            forms = {word, word[:-1] if word.endswith("s") else word + "s"}
            if word.endswith("es"):
                forms.add(word[:-2])
            cols = [self._title_words[f] for f in forms if f in self._title_words]
            if cols:
                hits[np.unique(np.concatenate(cols))] += 1.0 / len(words)
        return hits if hits.any() else None

    def genre_profile(self, liked_cols: Sequence[int], requested: Sequence[str] = ()) -> np.ndarray | None:
        """Unit vector over genres: the liked items' genres, plus each requested genre weighted as strongly.

        A requested genre ("more crime") counts as much as all liked items together, so a request
        steers the list while the liked items still decide among the requested genre's films.
        """
        profile = np.zeros(self.genres.shape[1], dtype=np.float64)
        if len(liked_cols):
            profile += self.genres_unit[np.asarray(liked_cols, dtype=np.int64)].sum(axis=0)
        req = [self.genre_col[g.lower()] for g in requested if g.lower() in self.genre_col]
        if req:
            profile[req] += max(1.0, float(profile.sum()) / max(1, len(req)))
        norm = float(np.linalg.norm(profile))
        return None if norm < 1e-12 else profile / norm


def shrunk_ratings(dataset: Dataset) -> np.ndarray:
    """Mean rating per catalog item, shrunk toward the catalog mean by RATING_PRIOR pseudo-ratings."""
    table = dataset.item_stats()
    counts = table["count"].to_numpy(dtype=np.float64)
    means = np.nan_to_num(table["mean_rating"].to_numpy(dtype=np.float64))
    ratings = dataset.interactions["rating"].to_numpy(dtype=np.float64)
    prior = float(ratings.mean()) if ratings.size else 0.0
    return (means * counts + prior * RATING_PRIOR) / (counts + RATING_PRIOR)


def align_vectors(catalog: Catalog, ids: Sequence[int] | np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``matrix``'s rows (one per item id in ``ids``) in catalog order; zero rows for unindexed items.

    When ``ids`` already are the catalog's ids in its order (an index built from this catalog),
    ``matrix`` itself is returned: at 100k items a copy would hold another 150 MB for nothing.
    Callers only read it.
    """
    if len(ids) == len(catalog) and np.array_equal(np.asarray(ids), catalog.item_ids):
        return matrix
    cols = np.array([catalog.index_of(int(i)) if int(i) in catalog else -1 for i in ids], dtype=np.int64)
    full = np.zeros((len(catalog), matrix.shape[1]), dtype=np.float32)
    ok = cols >= 0
    full[cols[ok]] = matrix[ok]
    return full


class ItemVectors:
    """The index's item vectors in catalog order, loaded on first use.

    An index that cannot be read (Chroma down) gives None, and is tried again INDEX_RETRY_S later.
    """

    def __init__(self, catalog: Catalog, index: ItemSearch | None, vectors: np.ndarray | None = None) -> None:
        """``vectors`` (catalog order, normalised) replace loading them from ``index``."""
        self.catalog = catalog
        self.index = index
        self._vectors = vectors
        self._loaded = vectors is not None
        self._retry_at = 0.0

    def get(self) -> np.ndarray | None:
        if not self._loaded and time.monotonic() >= self._retry_at:
            self._loaded = True
            if self.index is not None:
                try:
                    ids, matrix = self.index.vectors()
                except Exception as exc:  # noqa: BLE001 - Chroma down: CF only, retried a minute later
                    log.warning("item index unavailable (%s): recommending from CF only", exc)
                    self._loaded = False
                    self._retry_at = time.monotonic() + INDEX_RETRY_S
                    return None
                self._vectors = align_vectors(self.catalog, ids, matrix)
        return self._vectors
