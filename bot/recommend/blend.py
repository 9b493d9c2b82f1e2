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
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from bot.recommend.evidence import evidence_for
from bot.recommend.fusion import FusionModel, candidate_features
from bot.recommend.item_features import ItemFeatures, ItemVectors
from bot.recommend.ranking import dot_rows, minmax, mmr, top_columns
from bot.recommend.request import BlendRequest, DialogueContext, Signals
from bot.recommend.sources import CFScorer, ItemSearch
from bot.settings import Settings
from bot.types import Candidate
from cf_engine.data.catalog import Dataset
from cf_engine.dialogue_model import DialogueExample, DialogueModel

log = logging.getLogger(__name__)

MMR_POOL_FACTOR = 10  # MMR pick j (0-based) chooses among the (j + 1) * factor best blended candidates
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
# "Something like Up": an item that shares one generic genre with every liked item (Drama for The
# Dark Knight or The King's Speech next to Up; Thriller for The Fugitive next to Jurassic Park) passes
# the cosine gate above when it has few genres. The coverage gate asks instead whether it shares two
# genres with one liked item (all of them, for a liked item with fewer): score *= 1 - COVERAGE_GATE *
# (1 - coverage), coverage = max over liked items of |shared| / min(|liked item's genres|, 2), at most 1.
# Two, not a share of all: Inception has seven genres, and The Avengers shares three of them.
COVERAGE_GATE = 0.5
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
# "a movie about toys": documents describe content without the title (DOC_FORMAT 2), so a request
# word that is a title word ("toys" ~ Toy Story) adds this much (times the share of the request's
# words it is) to the text side, and those titles join the pool. The quality prior still orders them,
# so Toy Story comes before the obscure Toys (1992).
TITLE_WORD_WEIGHT = 0.5
# With the dialogue model on, a request that asks for something (words, genres, any constraint) keeps
# the final score times 1 - gate + gate * (the blend's own score, min-max scaled): what people in
# ReDial named next re-orders the items that fit the request instead of replacing them.
REQUEST_RELEVANCE_GATE = 0.5


class FusionLoader(Protocol):
    """Fits or loads the learned fusion for a blender (``bot.recommend.fusion_fit.load_or_fit``)."""

    def __call__(self, blender: Blender, /) -> FusionModel | None: ...


class Blender:
    """Turns a :class:`BlendRequest` into diversified, constraint-respecting candidates with evidence."""

    def __init__(
        self,
        dataset: Dataset,
        cf: CFScorer | None,
        index: ItemSearch | None,
        settings: Settings,
        vectors: np.ndarray | None = None,
        fusion_loader: FusionLoader | None = None,
        features: ItemFeatures | None = None,
        dialogue_model: DialogueModel | None = None,
    ) -> None:
        """``vectors`` (catalog order, normalised) replace loading them from ``index`` (fusion fitting).

        ``features``: the dataset's :class:`ItemFeatures` when the caller already has them (the
        runtime shares one with the agent); built here otherwise.

        ``fusion_loader`` fits or loads the learned fusion on first use; without one the blend uses the
        fixed CF/semantic mix (``bot.recommend.fusion_fit.build_blender`` passes it).

        ``dialogue_model`` (cf_engine/dialogue_model.py) re-scores every request that carries a
        :class:`~bot.recommend.request.DialogueContext`; the runtime sets it when one is built.
        """
        self.dataset = dataset
        self.cf = cf
        self.index = index
        self.settings = settings
        if features is None:
            features = ItemFeatures.from_dataset(dataset, settings.positive_threshold)
        self.features = features
        self.retrieval_config = settings.retrieval_config()
        self._vectors = ItemVectors(dataset.catalog, index, vectors)
        self._fusion_loader = fusion_loader
        self._fusion: FusionModel | None = None
        self._fusion_ready = False
        self._fusion_lock = threading.Lock()
        self._embed = lru_cache(maxsize=256)(self._embed_uncached)
        self.dialogue_model = dialogue_model

    def vectors(self) -> np.ndarray | None:
        """Normalised item vectors in catalog order (zeros for unindexed items), or None without an index."""
        return self._vectors.get()

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

        return embed_query(self.retrieval_config, text)

    # --- the blend --------------------------------------------------------------------------
    def cf_evidence(self, liked_cols: Sequence[int]) -> float:
        """How much CF knows about the liked items: each counts fully once CF_CONFIDENT_AT people liked it.

        A liked item that few people rated gives CF little to fold in, so it moves less weight to CF.
        """
        if not len(liked_cols):
            return 0.0
        counts = self.features.popularity[np.asarray(liked_cols, dtype=np.int64)]
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

    def _fusion_for(self, s: Signals) -> FusionModel | None:
        """The learned fusion when it scores this request (liked items, no text, no known user)."""
        if not s.liked or s.text or s.user_known or s.cf_scores is None or s.query is None:
            return None
        return self.fusion()

    def _signals(self, request: BlendRequest) -> Signals:
        """What the request gives the blend: allowed columns, liked items, CF scores, semantic query."""
        catalog = self.dataset.catalog
        liked = [catalog.index_of(i) for i in dict.fromkeys(request.liked)]
        disliked = [catalog.index_of(i) for i in dict.fromkeys(request.disliked)]
        excluded = [catalog.index_of(i) for i in request.exclude if i in catalog]
        text = (request.text or "").strip()

        allowed = self.features.filter.mask(request.constraints)
        allowed[excluded] = False
        if not request.keep_context:
            allowed[liked + disliked] = False
        user_known = (
            request.user_id is not None and self.cf is not None and self.cf.knows_user(request.user_id)
        )
        interactions = self.features.interactions
        user_cols = interactions.user_items(request.user_id) if request.user_id is not None else np.empty(0)
        allowed[user_cols.astype(np.int64)] = False  # a known user's rated items are already seen
        signals = Signals(allowed=allowed, liked=liked, text=text, user_known=user_known)
        if not allowed.any():
            return signals
        if text:
            signals.title_hits = self.features.title_word_hits(text)
        dm = self.dialogue_model
        if dm is not None and request.dialogue is not None:
            ctx = request.dialogue
            row = dm.features([DialogueExample("session", ctx.items, ctx.text, 0)])
            signals.dialogue_feats = {name: values[0] for name, values in row.items()}
            signals.dialogue = dm.combine(row, None)[0]

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
        pop_part = minmax(np.log1p(self.features.popularity[cols]))
        fusion = self._fusion_for(s)
        if s.cf_scores is None and s.query is None:
            score = pop_part
        elif fusion is not None:
            score = minmax(fusion.score(candidate_features(self, s, cols))) + 1e-3 * pop_part
        else:
            text_part = sem_part
            if s.text and s.query is not None:  # typed request: popular, well rated films first among equals
                w = TEXT_QUALITY_WEIGHT
                text_part = (sem_part + w * self.features.quality[cols]) / (1.0 + w)
                if s.title_hits is not None:
                    text_part = text_part + TITLE_WORD_WEIGHT * s.title_hits[cols]
            score = a * cf_part + (1.0 - a) * text_part + 1e-3 * pop_part  # popularity only breaks ties
        gates = self._taste_gates(request, s, cols, fusion is not None)
        score = score * gates
        if s.dialogue_feats is not None and self.dialogue_model is not None:
            # The dialogue model's learned weights put this blend (its "base" feature) beside what
            # people in movie conversations named next (cf_engine/dialogue_model.py). What it adds is
            # gated again, and by the request's own relevance when the person asked for something
            # (genres, a topic, a mood): it re-orders what fits the request and never lifts what
            # does not ("a comedy" -> Avengers: Infinity War because ReDial's recommenders named it).
            feats = {name: values[cols][None, :] for name, values in s.dialogue_feats.items()}
            base = score
            score = self.dialogue_model.combine(feats, base[None, :])[0].astype(np.float64) * gates
            if _asks_for_something(request, s):
                score = score * (1.0 - REQUEST_RELEVANCE_GATE + REQUEST_RELEVANCE_GATE * minmax(base))
        return score, cf_part, sem_part, a

    def _taste_gates(self, request: BlendRequest, s: Signals, cols: np.ndarray, fused: bool) -> np.ndarray:
        """The product of the soft taste gates of :meth:`_score` for ``cols`` (1 where none applies)."""
        gates = np.ones(cols.size, dtype=np.float64)
        if s.cf_scores is not None or s.query is not None:
            gate, match_at = (
                (FUSION_GENRE_GATE, FUSION_GENRE_MATCH_AT) if fused else (GENRE_GATE, GENRE_MATCH_AT)
            )
            profile = self.features.genre_profile(s.liked, sorted(request.constraints.genres_in))
            if profile is not None:
                mismatch = np.clip(1.0 - (self.features.genres_unit[cols] @ profile) / match_at, 0.0, 1.0)
                gates *= 1.0 - gate * mismatch
        if s.liked and (s.cf_scores is not None or s.query is not None):
            coverage = self.features.genre_coverage(s.liked, cols)
            gates *= 1.0 - COVERAGE_GATE * (1.0 - coverage)
        requested = self.features.genre_columns(sorted(request.constraints.genres_in))
        if len(requested) > 1:  # "more crime" then "more drama": crime dramas first
            share = self.features.genres[cols][:, requested].mean(axis=1)
            gates *= 1.0 - REQUESTED_GATE + REQUESTED_GATE * share
        return gates

    def ranked_ids(self, request: BlendRequest) -> list[int]:
        """The item ids :meth:`blend` would return, in order, without building their evidence."""
        picked = self._pick(request)
        if picked is None:
            return []
        cols, chosen = picked[1], picked[2]
        catalog = self.dataset.catalog
        return [int(catalog.at(int(cols[i])).item_id) for i in chosen]

    def _pick(self, request: BlendRequest) -> tuple[Signals, np.ndarray, list[int], tuple] | None:
        """(signals, pool columns, chosen pool positions in order, the score parts) or None."""
        k = max(0, int(request.k))
        s = self._signals(request)
        if k == 0 or not s.allowed.any():
            return None
        cols = self.pool(request, s)
        if cols.size == 0:
            return None
        parts = self._score(request, s, cols)
        score = parts[0]
        vectors = self.vectors()
        top = np.argsort(-score, kind="stable")[: max(k * MMR_POOL_FACTOR, k)]
        picks = mmr(
            score[top],
            None if vectors is None else vectors[cols[top]],
            k,
            self.settings.mmr_lambda,
            window=MMR_POOL_FACTOR,
        )
        return s, cols, [int(i) for i in top[picks]], parts

    def blend(self, request: BlendRequest) -> list[Candidate]:
        """The best ``request.k`` candidates (fewer when the constraints leave fewer items)."""
        picked = self._pick(request)
        if picked is None:
            return []
        s, cols, chosen, (score, cf_part, sem_part, a) = picked
        vectors = self.vectors()
        out = self._candidates(
            request, cols, chosen, score, cf_part, sem_part, s.liked, vectors, s.user_known and a > 0
        )
        if s.dialogue is not None and self.dialogue_model is not None and request.dialogue is not None:
            self._dialogue_evidence(request.dialogue, out)
        return out

    def _dialogue_evidence(self, ctx: DialogueContext, candidates: list[Candidate]) -> None:
        """Each candidate's dialogue-model evidence: the session's movies it was named with / after."""
        dm = self.dialogue_model
        assert dm is not None
        catalog = self.dataset.catalog
        cols = [catalog.index_of(c.item_id) for c in candidates]
        parts = dm.contributions(DialogueExample("session", ctx.items, ctx.text, 0), cols)
        for cand, part in zip(candidates, parts, strict=True):
            named = [w for w in part["co_mentioned_with"] if w["item_id"] in catalog][:3]
            if not named and not part["times_suggested"]:
                continue
            cand.evidence.dialogue = {
                "named_with": [
                    {"item_id": w["item_id"], "title": catalog.get(w["item_id"]).display_title} for w in named
                ],
                "times_suggested": part["times_suggested"],
                "corpus": dm.summary.get("corpus_name", "movie conversations"),
            }

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
        if s.title_hits is not None:  # titles with a request word ("toys": Toy Story) join the pool
            hits = s.allowed & (s.title_hits > 0)
            pool.append(top_columns(s.title_hits + self.features.quality, hits, pool_n))
        requested = self.features.genre_columns(sorted(request.constraints.genres_in))
        if len(requested) > 1:  # several genres asked for: the items that have most of them join the pool
            share = self.features.genres[:, requested].sum(axis=1)
            pool.append(top_columns(share + minmax(np.log1p(self.features.popularity)), s.allowed, pool_n))
        # No signal at all: the most liked items. With the fusion too: it learned how much popularity
        # is worth (validation NDCG@10 0.348 -> 0.372 with them in the pool; docs/benchmarks.md).
        if popular is None:
            popular = self._fusion_for(s) is not None
        if s.dialogue is not None:
            pool.append(top_columns(s.dialogue, s.allowed, pool_n))
        if not pool or popular:
            pool.append(top_columns(self.features.popularity, s.allowed, pool_n))
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
        evidence = evidence_for(
            self.dataset,
            self.features.interactions,
            [self.features.stats[c] for c in picked_cols],
            picked_cols,
            liked,
            vectors,
            request.text,
            request.constraints,
            from_user,
            user_id=request.user_id,
        )
        return [
            Candidate(
                item_id=int(catalog.at(col).item_id),
                title=catalog.at(col).display_title,
                score=round(float(score[i]), 6),
                cf_score=round(float(cf_part[i]), 6),
                semantic_score=round(float(sem_part[i]), 6),
                evidence=ev,
            )
            for i, col, ev in zip(chosen, picked_cols, evidence, strict=True)
        ]


def _asks_for_something(request: BlendRequest, s: Signals) -> bool:
    """The person asked for something beyond the movies named: words, genres or another constraint."""
    return bool(s.text) or not request.constraints.is_empty()
