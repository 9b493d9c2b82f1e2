"""The blend: collaborative-filtering and semantic candidates merged, filtered, diversified, with evidence.

One request (liked / disliked / excluded items, free text, hard constraints, optional known user)
becomes a short list of :class:`~bot.types.Candidate`:

1. candidates only among items that satisfy the constraints and are not seen / disliked / shown;
2. CF scores (fold-in of the session's items plus the known user's history) and semantic scores
   (cosine to the request text, or to the liked items when there is no text) for the union of both
   sources' top candidates;
3. per-source min-max normalisation over that pool, then ``score = a*CF + (1-a)*semantic`` where
   ``a = n / (n + blend_half_saturation)`` grows with how much CF knows (n: the liked items, each
   counted fully once CF_CONFIDENT_AT people liked it, plus the known user's rated items), capped at
   0.5 when there is text, whose semantic side also carries a quality prior (popular, well rated
   films first among those that match the text); nothing known means that side alone, and no signal
   at all means popularity;
   a session known only by liked items (no text, no account) is scored instead by the learned
   fusion of bot/recommend/fusion.py over CF, semantic, popularity, rating and genre features (the most liked
   items join its pool); then soft genre gates (the liked items' and requested genres) scale the
   score (Blender._score);
4. maximal marginal relevance on item embeddings for diversity, then evidence for each pick.

Degrades: no CF artifact -> semantic only; no index -> CF only; neither -> popularity.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from bot.recommend.constraints import CatalogFilter, ItemStats, satisfies
from bot.recommend.evidence import InteractionEvidence, build_evidence, query_words
from bot.recommend.fusion import FusionModel, candidate_features, shrunk_ratings
from bot.recommend.ranking import dot_rows, minmax, mmr, top_columns
from bot.recommend.request import BlendRequest, Signals
from bot.settings import Settings
from bot.types import Candidate
from cf_engine.data.catalog import Dataset

if TYPE_CHECKING:
    from retrieval.index import ItemIndex

log = logging.getLogger(__name__)

INDEX_RETRY_S = 60.0  # an unreachable index is tried again after this long
MMR_POOL_FACTOR = 10  # MMR re-ranks the best k * factor blended candidates
CF_CONFIDENT_AT = 30.0  # positives after which a liked item counts fully in the CF weight (validation-tuned)
# Below this many items the semantic pool is an exact scan of the in-memory vectors, not a Chroma query.
EXACT_SCAN_MAX_ITEMS = 50_000
TEXT_CF_CAP = 0.5  # most CF may weigh when the request has text (see Blender.cf_weight)
# Soft taste signals (see Blender._score); chosen with ``recbot eval retrieval`` and the dialogues.
# score *= 1 - GENRE_GATE * mismatch, mismatch = 1 - cos(item genres, session genre profile) / GENRE_MATCH_AT
# (clipped to [0, 1]): an item that shares little of the session's genres loses up to GENRE_GATE of
# its score; one whose genre cosine reaches GENRE_MATCH_AT keeps all of it.
GENRE_GATE = 0.5
GENRE_MATCH_AT = 0.3
# The learned fusion weighs popularity more than the fixed mix does, so it needs a firmer genre gate
# to keep "The Matrix and Inception" from getting The Shawshank Redemption: 0.5 at a cosine of 0.5
# cost 0.016 validation NDCG@10 (0.372 -> 0.356; 0.8 at 0.7: 0.310) and fixed those lists.
FUSION_GENRE_GATE = 0.5
FUSION_GENRE_MATCH_AT = 0.5
REQUESTED_GATE = 0.6  # score *= 1 - gate + gate * (share of the requested genres an item has)
# Quality prior of a typed request: the text side of the score is (semantic + w * quality) / (1 + w),
# quality = log(1 + likes) * (shrunk mean rating - the catalog's lowest), divided by the catalog's
# best. With semantics alone a film one person rated won whenever its document matched a request word
# ("dark psychological thriller" -> Darkman). w < 1 keeps the prior's range below the text's: the
# catalog's best film at the bottom of the pool never beats the pool's best match. On the text
# benchmark (docs/benchmarks.md) 0.25, 0.5 and 0.75 tied on the half of the queries used to choose
# (1 and 1.5 scored higher on both halves); in the chat, with the parser's genres and MMR, 0.75 already
# put Forrest Gump into "gritty war drama" (in the bare blend 1.5 put American Beauty into "something
# romantic and light").
TEXT_QUALITY_WEIGHT = 0.5


class FusionLoader(Protocol):
    """Fits or loads the learned fusion for a blender (``bot.recommend.fusion_fit.load_or_fit``)."""

    def __call__(self, blender: Blender, /) -> FusionModel | None: ...


class Blender:
    """Turns a :class:`BlendRequest` into diversified, constraint-respecting candidates with evidence."""

    def __init__(
        self,
        dataset: Dataset,
        cf: Any | None,
        index: ItemIndex | None,
        settings: Settings,
        vectors: np.ndarray | None = None,
        fusion_loader: FusionLoader | None = None,
    ) -> None:
        """``vectors`` (catalog order, normalised) replace loading them from ``index`` (fusion fitting).

        ``fusion_loader`` fits or loads the learned fusion on first use; without one the blend uses the
        fixed CF/semantic mix (``bot.recommend.fusion_fit.build_blender`` passes it).
        """
        self.dataset = dataset
        self.cf = cf
        self.index = index
        self.settings = settings
        catalog = dataset.catalog
        table = dataset.item_stats()
        counts = table["count"].to_numpy(dtype=np.int64)
        means = table["mean_rating"].to_numpy(dtype=np.float64)
        self.stats = [
            ItemStats(int(c), None if np.isnan(m) else float(m)) for c, m in zip(counts, means, strict=True)
        ]
        self.filter = CatalogFilter(catalog, self.stats)
        self.interactions = InteractionEvidence(dataset, settings.positive_threshold)
        # Popularity (number of positive interactions) is the fallback and the tie-breaker.
        self.popularity = self.interactions.positive_counts.astype(np.float64)
        self.catalog_genres = sorted({g for item in catalog for g in item.genres})
        # Item x genre indicator matrix (rows L2-normalised) for the soft genre-affinity term.
        genre_col = {g: j for j, g in enumerate(self.catalog_genres)}
        genres = np.zeros((len(catalog), max(1, len(genre_col))), dtype=np.float64)
        for row, item in enumerate(catalog):
            for g in item.genres:
                genres[row, genre_col[g]] = 1.0
        self._genre_col = {g.lower(): j for g, j in genre_col.items()}
        self.genres = genres
        self.genres_unit = genres / np.maximum(np.linalg.norm(genres, axis=1, keepdims=True), 1e-12)
        self.shrunk_rating = shrunk_ratings(dataset)
        # Popular and well rated: the quality prior of typed requests (TEXT_QUALITY_WEIGHT).
        # Scaled by the catalog's best, not per pool, so that an item's prior does not depend on
        # which other items the request let in (a pool of obscure films keeps small priors).
        lowest = float(self.shrunk_rating.min()) if self.shrunk_rating.size else 0.0
        quality = np.log1p(self.popularity) * (self.shrunk_rating - lowest)
        self.quality = quality / max(float(quality.max(initial=0.0)), 1e-12)
        self._vectors: np.ndarray | None = vectors
        self._vectors_loaded = vectors is not None
        self._fusion_loader = fusion_loader
        self._fusion: FusionModel | None = None
        self._fusion_ready = False
        self._fusion_lock = threading.Lock()
        self._embed = lru_cache(maxsize=256)(self._embed_uncached)

    # --- item vectors (catalog order) -------------------------------------------------------
    def vectors(self) -> np.ndarray | None:
        """Normalised item vectors in catalog order (zeros for unindexed items), or None without an index."""
        if not self._vectors_loaded and time.monotonic() >= getattr(self, "_vectors_retry_at", 0.0):
            self._vectors_loaded = True
            if self.index is not None:
                try:
                    ids, matrix = self.index.vectors()
                except Exception as exc:  # noqa: BLE001 - Chroma down: CF only, retried a minute later
                    log.warning("item index unavailable (%s): recommending from CF only", exc)
                    self._vectors_loaded = False
                    self._vectors_retry_at = time.monotonic() + INDEX_RETRY_S
                    return None
                cols = np.array(
                    [
                        self.dataset.catalog.index_of(int(i)) if int(i) in self.dataset.catalog else -1
                        for i in ids
                    ],
                    dtype=np.int64,
                )
                full = np.zeros((len(self.dataset.catalog), matrix.shape[1]), dtype=np.float32)
                ok = cols >= 0
                full[cols[ok]] = matrix[ok]
                self._vectors = full
        return self._vectors

    def warm_up(self) -> None:
        """Load the item vectors and the embedding model now, so the first request is not the slow one."""
        if self.vectors() is not None:
            self._embed_uncached("warm up")
        self.fusion()

    def fusion(self) -> FusionModel | None:
        """The learned cold-start fusion (bot/recommend/fusion.py), fitted or loaded on first use, or None.

        Needs CF and item vectors; fitting takes seconds once per CF artifact (then cached next to it).
        """
        if not self.settings.blend_fusion or self.cf is None or self._fusion_loader is None:
            return None
        with self._fusion_lock:
            if not self._fusion_ready and self.vectors() is not None:
                try:
                    self._fusion = self._fusion_loader(self)
                except Exception as exc:  # noqa: BLE001 - a failed fit degrades to the fixed mix
                    log.warning("learned fusion unavailable (%s): fixed CF/semantic mix", exc)
                    self._fusion = None
                self._fusion_ready = True
            return self._fusion

    def _embed_uncached(self, text: str) -> np.ndarray:
        from retrieval.embeddings import embed_query

        return embed_query(self.settings.retrieval_config(), text)

    # --- the blend --------------------------------------------------------------------------
    def cf_evidence(self, liked_cols: Sequence[int]) -> float:
        """How much CF knows about the liked items: each counts fully once CF_CONFIDENT_AT people liked it.

        A liked item that few people rated gives CF little to fold in, so it moves less weight to CF.
        """
        if not len(liked_cols):
            return 0.0
        counts = self.popularity[np.asarray(liked_cols, dtype=np.int64)]
        return float(np.minimum(1.0, counts / CF_CONFIDENT_AT).sum())

    def cf_weight(self, n_known: float, has_semantic: bool, has_cf: bool, has_text: bool = False) -> float:
        """Share of CF in the blend: n / (n + half), 1 without semantics, 0 without CF signal.

        With a typed request the text is the user's intent of the moment, so CF gets at most
        :data:`TEXT_CF_CAP` of the vote however long the history is.
        """
        if not has_cf:
            return 0.0
        if not has_semantic:
            return 1.0
        a = n_known / (n_known + self.settings.blend_half_saturation)
        return min(a, TEXT_CF_CAP) if has_text else a

    def genre_profile(self, liked_cols: Sequence[int], requested: Sequence[str] = ()) -> np.ndarray | None:
        """Unit vector over genres: the liked items' genres, plus each requested genre weighted as strongly.

        A requested genre ("more crime") counts as much as all liked items together, so a request
        steers the list while the liked items still decide among the requested genre's films.
        """
        profile = np.zeros(self.genres.shape[1], dtype=np.float64)
        if len(liked_cols):
            profile += self.genres_unit[np.asarray(liked_cols, dtype=np.int64)].sum(axis=0)
        req = [self._genre_col[g.lower()] for g in requested if g.lower() in self._genre_col]
        if req:
            profile[req] += max(1.0, float(profile.sum()) / max(1, len(req)))
        norm = float(np.linalg.norm(profile))
        return None if norm < 1e-12 else profile / norm

    def _fusion_for(self, s: Signals) -> FusionModel | None:
        """The learned fusion when it scores this request (liked items, no text, no known user)."""
        if not s.liked or s.text or s.user_known or s.cf_scores is None or s.query is None:
            return None
        return self.fusion()

    def _requested_cols(self, request: BlendRequest) -> list[int]:
        """Genre columns of the request's ``genres_in`` (sorted, unknown genres dropped)."""
        return sorted(
            self._genre_col[g.lower()] for g in request.constraints.genres_in if g.lower() in self._genre_col
        )

    def _signals(self, request: BlendRequest) -> Signals:
        """What the request gives the blend: allowed columns, liked items, CF scores, semantic query."""
        catalog = self.dataset.catalog
        liked = [catalog.index_of(i) for i in dict.fromkeys(request.liked)]
        disliked = [catalog.index_of(i) for i in dict.fromkeys(request.disliked)]
        excluded = [catalog.index_of(i) for i in request.exclude if i in catalog]
        text = (request.text or "").strip()

        allowed = self.filter.mask(request.constraints)
        allowed[liked + disliked + excluded] = False
        user_known = (
            request.user_id is not None and self.cf is not None and self.cf.knows_user(request.user_id)
        )
        user_cols = (
            self.interactions.user_items(request.user_id) if request.user_id is not None else np.empty(0)
        )
        allowed[user_cols.astype(np.int64)] = False  # a known user's rated items are already seen
        signals = Signals(allowed=allowed, liked=liked, text=text, user_known=user_known)
        if not allowed.any():
            return signals

        # CF: fold-in of the session, plus the known user's history.
        signals.n_known = self.cf_evidence(liked)
        if self.cf is not None and (liked or user_known):
            ids = catalog.item_ids
            signals.cf_scores = np.asarray(
                self.cf.score_for(
                    [int(ids[c]) for c in liked],
                    [int(ids[c]) for c in disliked],
                    user_id=request.user_id if user_known else None,
                ),
                dtype=np.float64,
            )
            if user_known:
                signals.n_known += len(user_cols)

        # Semantics: the text's vector, else the liked items' centroid.
        vectors = self.vectors()
        if vectors is not None:
            query = None
            if text:
                query = self._embed(text)
                if liked and self.cf is None:  # without CF, the liked items steer the semantics too
                    query = query + vectors[liked].mean(axis=0)
            elif liked:
                query = vectors[liked].mean(axis=0)
            if query is not None:
                signals.query = query / max(float(np.linalg.norm(query)), 1e-12)
        return signals

    def _score(
        self, request: BlendRequest, s: Signals, cols: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(score, CF part, semantic part, CF weight ``a``) of the columns ``cols``.

        ``a * CF + (1 - a) * semantic`` (each min-max scaled over ``cols``; with a typed request the
        semantic side includes the quality prior, :data:`TEXT_QUALITY_WEIGHT`), or for a session known
        only by liked items the learned fusion's score (bot/recommend/fusion.py, min-max scaled), then two
        soft taste gates: the cosine between an item's genres and the session's genre profile (the
        liked items' genres plus the requested ones; :data:`GENRE_GATE`, firmer with the fusion:
        :data:`FUSION_GENRE_MATCH_AT`) and, when several genres were
        asked for, the share of them an item has (:data:`REQUESTED_GATE`). CF fold-in alone pulls
        in everyone's favourites (Forrest Gump for "The Matrix and Inception"); the gates keep the
        list in the session's taste without filtering anything out.
        """
        vectors = self.vectors()
        cf_part = minmax(s.cf_scores[cols]) if s.cf_scores is not None else np.zeros(cols.size)
        if s.query is not None and vectors is not None:
            sem_part = minmax(dot_rows(vectors[cols], s.query))
        else:
            sem_part = np.zeros(cols.size)
        a = self.cf_weight(s.n_known, s.query is not None, s.cf_scores is not None, has_text=bool(s.text))
        pop_part = minmax(np.log1p(self.popularity[cols]))
        fusion = self._fusion_for(s)
        if s.cf_scores is None and s.query is None:
            score = pop_part
        elif fusion is not None:
            score = minmax(fusion.score(candidate_features(self, s, cols))) + 1e-3 * pop_part
        else:
            text_part = sem_part
            if s.text and s.query is not None:  # typed request: popular, well rated films first among equals
                w = TEXT_QUALITY_WEIGHT
                text_part = (sem_part + w * self.quality[cols]) / (1.0 + w)
            score = a * cf_part + (1.0 - a) * text_part + 1e-3 * pop_part  # popularity only breaks ties
        if s.cf_scores is not None or s.query is not None:
            gate, match_at = (
                (FUSION_GENRE_GATE, FUSION_GENRE_MATCH_AT)
                if fusion is not None
                else (GENRE_GATE, GENRE_MATCH_AT)
            )
            profile = self.genre_profile(s.liked, sorted(request.constraints.genres_in))
            if profile is not None:
                mismatch = np.clip(1.0 - (self.genres_unit[cols] @ profile) / match_at, 0.0, 1.0)
                score = score * (1.0 - gate * mismatch)
        requested = self._requested_cols(request)
        if len(requested) > 1:  # "more crime" then "more drama": crime dramas first
            share = self.genres[cols][:, requested].mean(axis=1)
            score = score * (1.0 - REQUESTED_GATE + REQUESTED_GATE * share)
        return score, cf_part, sem_part, a

    def blend(self, request: BlendRequest) -> list[Candidate]:
        """The best ``request.k`` candidates (fewer when the constraints leave fewer items)."""
        k = max(0, int(request.k))
        s = self._signals(request)
        if k == 0 or not s.allowed.any():
            return []
        cols = self.pool(request, s)
        if cols.size == 0:
            return []
        score, cf_part, sem_part, a = self._score(request, s, cols)
        vectors = self.vectors()
        top = np.argsort(-score, kind="stable")[: max(k * MMR_POOL_FACTOR, k)]
        picks = mmr(score[top], None if vectors is None else vectors[cols[top]], k, self.settings.mmr_lambda)
        chosen = [int(i) for i in top[picks]]
        return self._candidates(
            request, cols, chosen, score, cf_part, sem_part, s.liked, vectors, s.user_known and a > 0
        )

    def pool(self, request: BlendRequest, s: Signals, popular: bool | None = None) -> np.ndarray:
        """Candidate columns: each source's ``candidate_pool`` best allowed items (sorted, unique).

        ``popular``: add the most liked items too (default: when the learned fusion scores the request).
        """
        pool_n = self.settings.candidate_pool
        pool: list[np.ndarray] = []
        if s.cf_scores is not None:
            pool.append(top_columns(s.cf_scores, s.allowed, pool_n))
        if s.query is not None:
            pool.append(self._semantic_pool(s.query, s.allowed, pool_n))
        requested = self._requested_cols(request)
        if len(requested) > 1:  # several genres asked for: the items that have most of them join the pool
            share = self.genres[:, requested].sum(axis=1)
            pool.append(top_columns(share + minmax(np.log1p(self.popularity)), s.allowed, pool_n))
        # No signal at all: the most liked items. With the fusion too: it learned how much popularity
        # is worth (validation NDCG@10 0.348 -> 0.372 with them in the pool; docs/benchmarks.md).
        if popular is None:
            popular = self._fusion_for(s) is not None
        if not pool or popular:
            pool.append(top_columns(self.popularity, s.allowed, pool_n))
        cols = np.unique(np.concatenate(pool)).astype(np.int64)
        return cols[s.allowed[cols]]

    def score_all(self, request: BlendRequest) -> np.ndarray:
        """The blend's score of every catalog item (catalog order); 0 where the request rules it out.

        The same signals and formula as :meth:`blend`, scaled over the whole catalog instead of the
        candidate pool and without MMR: for evaluations that rank the full catalog (ReDial).
        """
        s = self._signals(request)
        out = np.zeros(len(self.dataset.catalog), dtype=np.float64)
        cols = np.flatnonzero(s.allowed)
        if cols.size:
            out[cols] = self._score(request, s, cols)[0]
        return out

    def _semantic_pool(self, query: np.ndarray, allowed: np.ndarray, n: int) -> np.ndarray:
        """Nearest allowed items: exact for small catalogs, else Chroma's HNSW topped up exactly.

        Up to EXACT_SCAN_MAX_ITEMS items a dot product with every loaded vector (under 1 ms for
        ml-latest-small) is both exact and faster than a Chroma query (6-16 ms for 200 results).
        Constraints are not pushed into Chroma's ``where``: a filtered HNSW query measured ~100 ms.
        """
        catalog = self.dataset.catalog
        vectors = self.vectors()
        if vectors is not None and (self.index is None or len(catalog) <= EXACT_SCAN_MAX_ITEMS):
            return top_columns(dot_rows(vectors, query), allowed, n)
        assert self.index is not None
        try:
            hits = self.index.search_vector(query, n)
        except Exception as exc:  # noqa: BLE001 - Chroma went away: the exact pass below still works
            log.warning("index search failed (%s): exact search over the loaded vectors", exc)
            hits = []
        cols = np.array([catalog.index_of(i) for i, _ in hits if i in catalog], dtype=np.int64)
        cols = cols[allowed[cols]] if cols.size else cols
        if cols.size < min(n, int(allowed.sum())) // 2:
            vectors = self.vectors()
            assert vectors is not None
            cols = np.union1d(cols, top_columns(dot_rows(vectors, query), allowed, n))
        return cols

    def _candidates(
        self,
        request: BlendRequest,
        cols: np.ndarray,
        chosen: list[int],
        score: np.ndarray,
        cf_part: np.ndarray,
        sem_part: np.ndarray,
        liked: list[int],
        vectors: np.ndarray | None,
        from_user: bool,
    ) -> list[Candidate]:
        catalog = self.dataset.catalog
        picked_cols = [int(cols[i]) for i in chosen]
        cf_sim = self.interactions.cf_similarity(liked, picked_cols) if liked else None
        co_counts, co_means = self.interactions.co_ratings(liked, picked_cols) if liked else (None, None)
        emb_sim = vectors[liked] @ vectors[picked_cols].T if (liked and vectors is not None) else None
        words = query_words(request.text)
        liked_genres = {g for c in liked for g in catalog.at(c).genres}
        out: list[Candidate] = []
        for j, (i, col) in enumerate(zip(chosen, picked_cols, strict=True)):
            item = catalog.at(col)
            if not satisfies(item, self.stats[col], request.constraints):  # the one exact check, again
                raise AssertionError(f"blend picked item {item.item_id} that violates {request.constraints}")
            evidence = build_evidence(
                dataset=self.dataset,
                col=col,
                stats=self.stats[col],
                liked_cols=liked,
                cf_sim=None if cf_sim is None else cf_sim[:, j],
                emb_sim=None if emb_sim is None else emb_sim[:, j],
                co_counts=None if co_counts is None else co_counts[:, j],
                co_means=None if co_means is None else co_means[:, j],
                constraints=request.constraints,
                words=words,
                liked_genres=liked_genres,
                from_user_history=from_user,
            )
            out.append(
                Candidate(
                    item_id=int(item.item_id),
                    title=item.display_title,
                    score=round(float(score[i]), 6),
                    cf_score=round(float(cf_part[i]), 6),
                    semantic_score=round(float(sem_part[i]), 6),
                    evidence=evidence,
                )
            )
        return out
