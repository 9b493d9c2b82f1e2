"""The dialogue model: what people in movie conversations name next, learned from dialogues.

A product component next to the CF artifact. It learns from *examples*: the movies named so far in a
conversation (liked / disliked by the person asking), the words that person typed, and the movie the
recommender named next (:class:`DialogueExample`). Examples come from a dialogue corpus (ReDial's
JSONL, :mod:`cf_engine.dialogue_corpus`) and from recbot's own recorded sessions (what was named next,
what got up / click after being recommended: :mod:`bot.recommend.dialogue_examples`).

Features per catalog item (each scaled to [0, 1] per request by its maximum):

* ``target_pop`` - how often recommenders named the movie (log count);
* ``mention_pop`` - how many dialogues name it at all (log count);
* ``co_mention`` - cosine-normalised co-occurrence with the session's movies in the same dialogue;
* ``next`` - how often it was named right after one of the session's movies had been named
  ("what recommenders tend to suggest at this point");
* ``text`` - TF-IDF of the person's words against the words that preceded its recommendation;
* ``again`` - the session named the movie itself (ReDial's recommenders often come back to it);
* ``base`` - the chat's own blend score, given by the caller (:meth:`DialogueModel.combine`).

The weights are tuned at training time by coordinate ascent on cross-validated features of the
training examples only (objective Recall@10 + Recall@50 + 0.1 MRR), with the chat's blend as the
``base`` feature when the caller passes a scorer. Saved as a versioned artifact (pickle + JSON
summary) in ``<models_dir>/dialogue``; loading one built for another catalog is an error.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from cf_engine.data.catalog import Catalog

FORMAT_VERSION = 1
FEATURES = ("target_pop", "mention_pop", "co_mention", "next", "text", "again", "base")
GRID = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
LIKED, DISLIKED = 1, -1
_SPACE = re.compile(r"\s+")
Progress = Callable[[int, int], None]
# Examples -> (the examples as the chat sees them, the chat's blend score of each: (n, n_items)).
ServedView = Callable[[Sequence["DialogueExample"]], tuple[list["DialogueExample"], np.ndarray]]


class DialogueModelError(RuntimeError):
    """No usable dialogue model (none built, a broken file, or one built for another catalog)."""


@dataclass(frozen=True)
class DialogueExample:
    """Predict ``target`` (a catalog item id) from what the conversation said before it.

    ``context``: (item id, sentiment) of the movies the person asking named, in order; sentiment is
    :data:`LIKED` (liked or not said) or :data:`DISLIKED`. ``text``: their words so far.
    ``dialogue_items``: every movie the whole dialogue names (both speakers), for co-mentions.
    """

    dialogue_id: str
    context: tuple[tuple[int, int], ...]
    text: str
    target: int
    fresh: bool = True
    dialogue_items: tuple[int, ...] = ()
    source: str = "corpus"


@dataclass
class DialogueModel:
    """Counts in catalog-column space plus the tuned feature weights."""

    item_ids: np.ndarray  # catalog item ids in column order (checked on load)
    target_pop: np.ndarray
    mention_pop: np.ndarray
    co: sp.csr_matrix
    nxt: sp.csr_matrix  # (n, n): row = named before, column = named next by the recommender
    vectorizer: TfidfVectorizer | None
    profiles: sp.csr_matrix | None  # (n, vocab), rows L2-normalised
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FEATURES, 1.0))
    summary: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    # --- building -------------------------------------------------------------------------
    @classmethod
    def count(cls, examples: Sequence[DialogueExample], catalog: Catalog) -> DialogueModel:
        """The counts of ``examples`` (weights left at 1; :meth:`train` tunes them)."""
        n = len(catalog)
        col = {int(i): c for c, i in enumerate(catalog.item_ids)}
        pop = np.zeros(n, np.float32)
        dialogues: dict[str, set[int]] = {}
        pairs: dict[tuple[int, int], float] = {}
        texts: list[str] = []
        labels: list[int] = []
        for ex in examples:
            bag = dialogues.setdefault(ex.dialogue_id, set())
            bag.update(col[i] for i in ex.dialogue_items if i in col)
            ctx = [col[i] for i, _ in ex.context if i in col]
            bag.update(ctx)
            t = col.get(ex.target)
            if t is None:
                continue
            bag.add(t)
            pop[t] += 1.0
            for c in ctx[-3:]:  # the latest movies named: what the next suggestion answers
                if c != t:
                    pairs[(c, t)] = pairs.get((c, t), 0.0) + 1.0
            if ex.text.strip():
                texts.append(ex.text)
                labels.append(t)
        rows = [d for d, items in enumerate(dialogues.values()) for _ in items]
        cols = [c for items in dialogues.values() for c in items]
        x = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(max(1, len(dialogues)), n))
        co = (x.T @ x).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        degree = np.sqrt(np.asarray(x.sum(axis=0)).ravel()) + 1e-6
        co = sp.csr_matrix(sp.diags(1 / degree) @ co @ sp.diags(1 / degree), dtype=np.float32)
        if pairs:
            (r, c), v = zip(*pairs.keys(), strict=True), list(pairs.values())
            nxt = sp.csr_matrix((np.asarray(v, np.float32), (r, c)), shape=(n, n))
            out_degree = np.asarray(nxt.sum(axis=1)).ravel() + 1.0
            nxt = sp.csr_matrix(sp.diags(1 / np.sqrt(out_degree)) @ nxt, dtype=np.float32)
        else:
            nxt = sp.csr_matrix((n, n), dtype=np.float32)
        vectorizer, profiles = _text_profiles(texts, labels, n)
        return cls(
            item_ids=np.asarray(catalog.item_ids, dtype=np.int64),
            target_pop=np.log1p(pop),
            mention_pop=np.log1p(np.asarray(x.sum(axis=0), dtype=np.float32).ravel()),
            co=co,
            nxt=nxt,
            vectorizer=vectorizer,
            profiles=profiles,
        )

    @classmethod
    def train(
        cls,
        examples: Sequence[DialogueExample],
        catalog: Catalog,
        served: ServedView | None = None,
        *,
        folds: int = 3,
        tune_rows: int = 900,
        seed: int = 0,
        sources: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> DialogueModel:
        """Count all ``examples`` and tune the weights on out-of-fold features of them.

        ``served`` re-reads each tuning example as the chat would (its parser's movies and words) and
        gives the chat's blend for it, the ``base`` feature: the weights then say how much the dialogue
        model should move the served ranking. The counts always come from the corpus's own ids.
        """
        started = time.perf_counter()
        tick = progress or (lambda _done, _total: None)
        examples = list(examples)
        if not examples:
            raise DialogueModelError("no dialogue examples to learn from")
        col = {int(i): c for c, i in enumerate(catalog.item_ids)}
        fold = np.array([_fold(ex.dialogue_id, folds, seed) for ex in examples])
        rng = np.random.default_rng(seed)
        parts: dict[str, list[np.ndarray]] = {}
        targets: list[np.ndarray] = []
        fresh: list[np.ndarray] = []
        for g in range(folds):
            tick(g, folds + 1)
            val = np.flatnonzero(fold == g)
            fit = np.flatnonzero(fold != g)
            if not len(val) or not len(fit):
                continue
            keep = np.sort(rng.permutation(val)[: max(1, tune_rows // folds)])
            model = cls.count([examples[i] for i in fit], catalog)
            rows = [examples[i] for i in keep]
            if served is not None:
                rows, base = served(rows)
                feats = model.features(rows)
                feats["base"] = _scaled(base)
            else:
                feats = model.features(rows)
            for name, values in feats.items():
                parts.setdefault(name, []).append(values)
            targets.append(np.array([col.get(ex.target, -1) for ex in rows], dtype=np.int64))
            fresh.append(np.array([ex.fresh for ex in rows], dtype=bool))
        final = cls.count(examples, catalog)
        if targets:
            feats_all = {name: np.concatenate(chunks) for name, chunks in parts.items()}
            y = np.concatenate(targets)
            final.weights = {**dict.fromkeys(FEATURES, 0.0), **tune_weights(feats_all, y)}
            ranks = target_ranks(combine(feats_all, final.weights), y)
            is_fresh = np.concatenate(fresh)
            metrics = _metrics(ranks)
            metrics.update({f"fresh_{k}": v for k, v in _metrics(ranks[is_fresh]).items()})
        else:
            metrics = {}
        tick(folds + 1, folds + 1)
        by_source: dict[str, int] = {}
        for ex in examples:
            by_source[ex.source] = by_source.get(ex.source, 0) + 1
        final.summary = {
            "format_version": FORMAT_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "catalog_items": len(catalog),
            "catalog_sha": catalog_hash(catalog),
            "examples": len(examples),
            "examples_by_source": by_source,
            "dialogues": len({ex.dialogue_id for ex in examples}),
            "targets_in_catalog": int(sum(ex.target in col for ex in examples)),
            "sources": sources or {},
            "weights": final.weights,
            "tuned_with_base": served is not None,
            "cv_metrics": metrics,
            "cv_folds": folds,
            "fit_seconds": round(time.perf_counter() - started, 2),
        }
        return final

    # --- scoring --------------------------------------------------------------------------
    def features(self, examples: Sequence[DialogueExample]) -> dict[str, np.ndarray]:
        """Per feature a (len(examples), n_items) float32 array, rows scaled to [0, 1]."""
        n, m = len(examples), len(self.item_ids)
        col = self._col()
        r_idx, c_idx, vals = [], [], []
        again = np.zeros((n, m), np.float32)
        for r, ex in enumerate(examples):
            ctx = [(col[i], s) for i, s in ex.context if i in col]
            for position, (c, s) in enumerate(ctx):
                recent = 2.0 if position >= len(ctx) - 2 else 1.0  # the topic moves on
                r_idx.append(r)
                c_idx.append(c)
                vals.append(recent * (0.5 if s == DISLIKED else 1.0))
                again[r, c] = 1.0
        ctx_m = sp.csr_matrix((np.asarray(vals, np.float32), (r_idx, c_idx)), shape=(n, m))
        out = {
            "target_pop": np.tile(self.target_pop, (n, 1)),
            "mention_pop": np.tile(self.mention_pop, (n, 1)),
            "co_mention": np.asarray((ctx_m @ self.co).todense(), dtype=np.float32),
            "next": np.asarray((ctx_m @ self.nxt).todense(), dtype=np.float32),
            "text": np.zeros((n, m), np.float32),
            "again": again,
        }
        if self.vectorizer is not None and self.profiles is not None:
            query = self.vectorizer.transform([clean_text(ex.text) for ex in examples])
            out["text"] = np.asarray((query @ self.profiles.T).todense(), dtype=np.float32)
        return {k: _scaled(v) for k, v in out.items()}

    def combine(self, feats: dict[str, np.ndarray], base: np.ndarray | None) -> np.ndarray:
        """The weighted score; ``base`` (the chat's blend, any scale) is scaled to [0, 1] first."""
        if base is not None:
            feats = {**feats, "base": _scaled(np.asarray(base, dtype=np.float32))}
        return combine(feats, self.weights)

    def contributions(self, example: DialogueExample, cols: Sequence[int]) -> list[dict[str, Any]]:
        """For each column: the session's movies it was co-named with / named after (evidence)."""
        col = self._col()
        ctx = [col[i] for i, s in example.context if i in col and s != DISLIKED]
        out = []
        for c in cols:
            with_items = []
            for k in dict.fromkeys(ctx):
                co = float(self.co[k, c])
                nx = float(self.nxt[k, c])
                if co > 0 or nx > 0:
                    with_items.append({"item_id": int(self.item_ids[k]), "co": round(co, 4), "next": nx > 0})
            out.append(
                {"co_mentioned_with": with_items, "times_suggested": int(round(np.expm1(self.target_pop[c])))}
            )
        return out

    def _col(self) -> dict[int, int]:
        cached = getattr(self, "_col_cache", None)
        if cached is None:
            cached = {int(i): c for c, i in enumerate(self.item_ids)}
            self._col_cache = cached
        return cached

    # --- artifact -------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        """Write ``dialogue-<UTC time>.pkl`` and its ``.json`` summary; returns the pickle's path."""
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = folder / f"dialogue-{stamp}.pkl"
        state = {k: v for k, v in self.__dict__.items() if k not in ("path", "_col_cache")}
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump({"format_version": FORMAT_VERSION, "model": state}, fh)
        tmp.replace(path)
        path.with_suffix(".json").write_text(json.dumps(self.summary, indent=2, default=str))
        self.path = path
        return path

    @classmethod
    def load(cls, path: Path, catalog: Catalog) -> DialogueModel:
        try:
            with open(path, "rb") as fh:
                raw = pickle.load(fh)  # noqa: S301 - our own artifact in the user's models folder
        except Exception as exc:  # noqa: BLE001 - reported with the file's name
            raise DialogueModelError(f"{path}: unreadable dialogue model ({exc})") from exc
        if raw.get("format_version") != FORMAT_VERSION:
            raise DialogueModelError(f"{path}: format {raw.get('format_version')}, expected {FORMAT_VERSION}")
        model = cls(**raw["model"])
        if len(model.item_ids) != len(catalog) or not np.array_equal(model.item_ids, catalog.item_ids):
            raise DialogueModelError(f"{path}: built for another catalog ({len(model.item_ids)} items)")
        model.path = path
        return model

    @classmethod
    def load_latest(cls, folder: Path, catalog: Catalog) -> DialogueModel:
        paths = sorted(folder.glob("dialogue-*.pkl")) if folder.is_dir() else []
        if not paths:
            raise DialogueModelError(f"no dialogue model in {folder}; run `recbot train --dialogue`")
        return cls.load(paths[-1], catalog)


# --- helpers ----------------------------------------------------------------------------------
def clean_text(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def catalog_hash(catalog: Catalog) -> str:
    return hashlib.sha256(np.asarray(catalog.item_ids, dtype=np.int64).tobytes()).hexdigest()[:16]


def _fold(dialogue_id: str, folds: int, seed: int) -> int:
    return int(hashlib.sha256(f"{seed}:{dialogue_id}".encode()).hexdigest(), 16) % max(1, folds)


def _text_profiles(texts: list[str], labels: list[int], n: int) -> tuple[Any, Any]:
    if len(texts) < 2:
        return None, None
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english", ngram_range=(1, 2))
    try:
        docs = vectorizer.fit_transform([clean_text(t) for t in texts])
    except ValueError:  # empty vocabulary (tiny corpora)
        return None, None
    labels_m = sp.csr_matrix(
        (np.ones(len(labels), np.float32), (labels, np.arange(len(labels)))), shape=(n, len(labels))
    )
    profiles = (labels_m @ docs).tocsr()
    norms = np.sqrt(np.asarray(profiles.multiply(profiles).sum(axis=1)).ravel()) + 1e-12
    return vectorizer, sp.csr_matrix(sp.diags(1 / norms) @ profiles, dtype=np.float32)


def _scaled(values: np.ndarray) -> np.ndarray:
    """Rows scaled to [0, 1]: minus the row minimum, over the row range (zeros stay zeros)."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 1:
        return _scaled(values[None, :])[0]
    lo = np.minimum(values.min(axis=1, keepdims=True), 0.0)
    span = values.max(axis=1, keepdims=True) - lo
    return ((values - lo) / np.where(span > 0, span, 1.0)).astype(np.float32)


def combine(feats: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    total: np.ndarray | None = None
    for name, values in feats.items():
        w = weights.get(name, 0.0)
        if w:
            total = values * w if total is None else total + values * w
    return np.zeros_like(next(iter(feats.values()))) if total is None else total


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based pessimistic rank of each row's target column; 10**9 where the target is unmapped."""
    ranks = np.full(len(targets), 10**9, dtype=np.int64)
    ok = targets >= 0
    if ok.any():
        rows = np.flatnonzero(ok)
        ranks[ok] = (scores[rows] >= scores[rows, targets[ok]][:, None]).sum(axis=1)
    return ranks


def _metrics(ranks: np.ndarray) -> dict[str, float]:
    if not len(ranks):
        return {}
    return {f"recall@{k}": round(float((ranks <= k).mean()), 4) for k in (1, 10, 50)}


def tune_weights(feats: dict[str, np.ndarray], targets: np.ndarray, rounds: int = 3) -> dict[str, float]:
    """Coordinate ascent over :data:`GRID` per feature from all ones (R@10 + R@50 + 0.1 MRR)."""

    def objective(total: np.ndarray) -> float:
        ranks = target_ranks(total, targets)
        return float((ranks <= 10).mean() + (ranks <= 50).mean() + 0.1 * (1.0 / ranks).mean())

    weights = dict.fromkeys(feats, 1.0)
    total = combine(feats, weights)
    best = objective(total)
    for _ in range(rounds):
        improved = False
        for name in feats:
            for value in GRID:
                current = weights[name]
                if value == current or not any({**weights, name: value}.values()):
                    continue
                trial = total + (value - current) * feats[name]
                score = objective(trial)
                if score > best + 1e-9:
                    best, total, improved = score, trial, True
                    weights[name] = value
        if not improved:
            break
    return weights
