"""``recbot eval redial``: replay ReDial dialogues and score every system side by side.

Settings reported per system:

* ``all`` – every (recommender message, named movie) sample; context movies stay in the ranking;
* ``fresh`` – only targets neither speaker named earlier;
* ``all_context_removed`` – all samples, context movies removed from the ranking (a repeated
  target then counts as a miss), the setting most CRS papers use.

Learned parts (the mention prior) only ever see training dialogues: with ``--split dev`` they are
fitted by k-fold cross-validation inside dev; with another split they are fitted on ``dev_data.jsonl``
from the same folder when it is there (else cross-validated inside that split too).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.settings import Settings
from cf_engine.data.catalog import Dataset
from cf_engine.data.redial import Conversation, Sample, build_samples, read_conversations, read_movies
from cf_engine.data.redial_mapping import map_movies
from eval import redial_prior as prior
from eval import redial_systems as systems
from eval.components import ComponentUnavailable, load_blender, load_cf, load_dataset, load_item_vectors
from eval.metrics import summarise

log = logging.getLogger(__name__)
SERVED = "served"  # the chat as served: Agent.turn's state, blend and dialogue model (eval/redial_served.py)
ALL_SYSTEMS = (SERVED, "popularity", "cf", "semantic", "blend", "mention_prior", "agent")
DEFAULT_SYSTEMS = (SERVED, "popularity", "cf", "semantic", "mention_prior")
# Systems nothing in bot/ or ui/ serves: reported for comparison only, labelled so in every table.
EVAL_ONLY = ("mention_prior", "agent")
Progress = Callable[[str], None]


@dataclass
class RedialInputs:
    dataset: Dataset
    conversations: list[Conversation]
    train_conversations: list[Conversation] | None
    dropped_in_training: int  # dialogues of the split whose conversationId is also in the training file
    samples: list[Sample]
    train_samples: list[Sample] | None  # None: cross-validate inside ``samples``
    titles: dict[int, str]
    item_of: dict[int, int]  # ReDial id -> catalog item id
    column_of: dict[int, int]  # ReDial id -> catalog column
    mapping_how: dict[str, int]


def load_inputs(settings: Settings, data_dir: Path, split: str) -> RedialInputs:
    """Read the split (and dev, as training data, when scoring another split) and map the movies."""
    dataset = load_dataset(settings)
    movies = read_movies(data_dir / "movies_with_mentions.csv")
    conversations = read_conversations(data_dir / f"{split}_data.jsonl")
    titles = {k: name for k, (name, _) in movies.items()}
    train_conversations = None
    dropped = 0
    if split != "dev" and (data_dir / "dev_data.jsonl").is_file():
        train_conversations = read_conversations(data_dir / "dev_data.jsonl")
        # A scored dialogue that is also a training dialogue would be learned from: drop and count it.
        seen = {c.conversation_id for c in train_conversations}
        dropped = sum(c.conversation_id in seen for c in conversations)
        conversations = [c for c in conversations if c.conversation_id not in seen]
    for conv in [*conversations, *(train_conversations or [])]:
        for movie_id, name in conv.titles.items():
            titles.setdefault(movie_id, name)
    mapping = map_movies(titles, dataset.catalog)
    how: dict[str, int] = {}
    for value in mapping.how.values():
        how[value] = how.get(value, 0) + 1
    how["unmapped"] = len(mapping.unmapped)
    return RedialInputs(
        dataset=dataset,
        conversations=conversations,
        train_conversations=train_conversations,
        dropped_in_training=dropped,
        samples=build_samples(conversations),
        train_samples=build_samples(train_conversations) if train_conversations is not None else None,
        titles=titles,
        item_of=mapping.item_of,
        column_of={k: dataset.catalog.index_of(v) for k, v in mapping.item_of.items()},
        mapping_how=how,
    )


def fold_of(conversation_id: str, folds: int, seed: int) -> int:
    """Stable fold of a dialogue (hash of its id and the seed)."""
    digest = hashlib.sha256(f"{seed}:{conversation_id}".encode()).hexdigest()
    return int(digest, 16) % folds


def evaluate_redial(
    settings: Settings,
    data_dir: Path,
    split: str,
    *,
    folds: int = 5,
    seed: int = 0,
    systems_wanted: Sequence[str] = DEFAULT_SYSTEMS,
    blend_samples: int = 600,
    max_samples: int | None = None,
    progress: Progress | None = None,
    lists_out: Path | None = None,
) -> dict[str, Any]:
    """Score every wanted system on ``split``; the result is the command's JSON.

    ``lists_out``: also write the served replay's list at every scored point (JSON), for
    ``recbot eval redial-api --compare`` to check the HTTP API against.
    """
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    inputs = load_inputs(settings, Path(data_dir), split)
    samples = inputs.samples
    if max_samples is not None and len(samples) > max_samples:
        samples = random.Random(seed).sample(samples, max_samples)
    if not samples:
        raise ValueError(
            f"{data_dir}/{split}_data.jsonl yields no samples (no recommender message names a movie)"
        )
    say(
        f"{len(samples)} samples ({sum(s.fresh for s in samples)} fresh), "
        f"{len(inputs.item_of)}/{len(inputs.titles)} movies mapped"
    )
    n_items = len(inputs.dataset.catalog)
    targets = np.array([inputs.column_of.get(s.target, -1) for s in samples], dtype=np.int64)
    pop = systems.popularity_vector(inputs.dataset)
    results: dict[str, Any] = {}
    notes: dict[str, str] = {}

    def record(name: str, scores: np.ndarray, subset: np.ndarray | None = None) -> None:
        rows = np.arange(len(samples)) if subset is None else subset
        if len(rows) < len(samples):
            say(f"{name}: scored on a subsample of {len(rows)} samples")
        results[name] = _settings_metrics(
            scores + systems.TIE_BREAK * pop, [samples[i] for i in rows], targets[rows], inputs.column_of
        )
        got = results[name]["all"]
        say(f"{name}: R@10 {got['recall@10']:.3f}  R@50 {got['recall@50']:.3f}")

    timings: dict[str, float] = {}
    served_info: dict[str, Any] = {}
    if SERVED in systems_wanted:
        t = time.perf_counter()
        try:
            from eval.redial_served import load_served, served_rows

            keep, served, served_info = served_rows(
                load_served(settings),
                inputs.conversations,
                samples,
                inputs.titles,
                lambda cid: fold_of(cid, folds, seed),
                folds,
                inputs.train_conversations,
                say,
                with_dialogue_model=settings.dialogue_model,
            )
            as_kept = _settings_metrics(keep + systems.TIE_BREAK * pop, samples, targets, inputs.column_of)
            as_served = _settings_metrics(
                served + systems.TIE_BREAK * pop, samples, targets, inputs.column_of
            )
            results[SERVED] = {
                "all": as_kept["all"],
                "fresh": as_served["fresh"],
                "all_context_removed": as_served["all_context_removed"],
                "all_as_served": as_served["all"],
            }
            lists = served_info.pop("lists")
            if lists_out is not None:
                write_lists(lists_out, lists, results[SERVED], settings, split)
            del keep, served
            got = results[SERVED]
            say(
                f"{SERVED}: all R@10 {got['all']['recall@10']:.3f} R@50 {got['all']['recall@50']:.3f}; "
                f"fresh R@10 {got['fresh']['recall@10']:.3f} R@50 {got['fresh']['recall@50']:.3f}"
            )
            learned = (
                "dev_data.jsonl" if inputs.train_conversations is not None else f"the other {folds - 1} folds"
            )
            notes[SERVED] = (
                "the chat as served: every dialogue replayed through Agent.turn (seeker messages, template "
                "explanations); each point is scored on the reply to the seeker's message before it: "
                "bot.recommend.served.served_scores of the request that turn ranked its list by (its "
                "shown items first), a reply without a list is a miss; 'all' keeps the session's movies "
                "rankable (keep_context), 'fresh', 'all_context_removed' and 'all_as_served' score "
                f"exactly the served request (n_recommendations={settings.n_recommendations}); "
                + (
                    f"with the dialogue model (RECBOT_DIALOGUE_MODEL=true) learned from {learned}"
                    if settings.dialogue_model
                    else "without the dialogue model (RECBOT_DIALOGUE_MODEL=false, the default)"
                )
            )
        except ComponentUnavailable as exc:
            notes[SERVED] = f"not run: {exc}"
        timings[SERVED] = time.perf_counter() - t
    cf = None
    cf_matrix = None
    if {"cf", "mention_prior", "blend", "agent"} & set(systems_wanted):
        t = time.perf_counter()
        cf = load_cf(inputs.dataset, settings)
        cf_matrix = systems.cf_rows(cf, samples, inputs.item_of)
        timings["cf"] = time.perf_counter() - t
    if "popularity" in systems_wanted:
        record("popularity", np.tile(pop, (len(samples), 1)))
    if "cf" in systems_wanted and cf_matrix is not None:
        record("cf", cf_matrix)
    if "semantic" in systems_wanted:
        t = time.perf_counter()
        try:
            vectors, embedder = load_item_vectors(settings, inputs.dataset)
            record("semantic", systems.semantic_rows(vectors, embedder, samples, inputs.titles))
        except ComponentUnavailable as exc:
            notes["semantic"] = f"not run: {exc}"
        timings["semantic"] = time.perf_counter() - t
    if "blend" in systems_wanted:
        t = time.perf_counter()
        try:
            blender = load_blender(inputs.dataset, cf, settings)
            subset = _subsample(len(samples), blend_samples, seed + 2)
            record(
                "blend",
                systems.blend_rows(
                    blender, [samples[i] for i in subset], inputs.item_of, inputs.titles, inputs.dataset
                ),
                subset,
            )
            if len(subset) < len(samples):
                notes["blend"] = (
                    f"bot.recommend.blend.Blender (~0.2 s a call) on a random subsample of {len(subset)} "
                    "samples; its top-100 list, then popularity"
                )
        except ComponentUnavailable as exc:
            notes["blend"] = f"not run: {exc}"
        timings["blend"] = time.perf_counter() - t
    if "mention_prior" in systems_wanted:
        t = time.perf_counter()
        scores, weights = _mention_prior_scores(inputs, samples, cf, cf_matrix, folds, seed, n_items, say)
        record("mention_prior", scores)
        notes["mention_prior"] = (
            "EVAL-ONLY (nothing in bot/ or ui/ serves it): learned from "
            + (
                "dev_data.jsonl"
                if inputs.train_samples is not None
                else f"the other {folds - 1} of {folds} folds"
            )
            + f"; weights per fold: {weights}"
        )
        timings["mention_prior"] = time.perf_counter() - t
    if "agent" in systems_wanted:
        t = time.perf_counter()
        try:
            from eval.redial_agent import chat_rows, load_chat

            chat_agent = load_chat(settings)

            def chat_of(rows: list[Sample]) -> np.ndarray:
                return chat_rows(chat_agent, rows, inputs.titles, settings.max_message_chars)

            scores, weights = _mention_prior_scores(
                inputs, samples, cf, cf_matrix, folds, seed, n_items, say, chat_of=chat_of
            )
            record("agent", scores)
            notes["agent"] = (
                "EVAL-ONLY: the chat's parser + dialogue state + Blender.score_all over the whole catalog, "
                "combined "
                "with the mention prior's features; weights learned on training folds only "
                f"(the chat's weight per fold: {[w.get('chat', 0.0) for w in weights]})"
            )
        except ComponentUnavailable as exc:
            notes["agent"] = f"not run: {exc}"
        timings["agent"] = time.perf_counter() - t
    all_targets = [s.target for s in samples]
    return {
        "split": split,
        "data_dir": str(data_dir),
        "samples": {"all": len(samples), "fresh": int(sum(s.fresh for s in samples))},
        "mapping_coverage": _coverage(all_targets, inputs.item_of),
        "mapping_coverage_fresh": _coverage([s.target for s in samples if s.fresh], inputs.item_of),
        "mapping": inputs.mapping_how,
        "catalog_items": n_items,
        "protocol": "one sample per (recommender message, named movie), non-empty context; whole catalog "
        "ranked; unmapped target = miss",
        "training": "dev_data.jsonl"
        if inputs.train_samples is not None
        else f"{folds}-fold CV inside {split}",
        "served_system": SERVED if SERVED in results else None,
        "eval_only_systems": [name for name in results if name in EVAL_ONLY],
        "dropped_dialogues_in_training": inputs.dropped_in_training,
        "systems": {name: results[name] for name in sorted(results, key=lambda n: n != SERVED)},
        "served_replay": served_info,
        "notes": notes,
        "seconds": {
            **{k: round(v, 1) for k, v in timings.items()},
            "total": round(time.perf_counter() - started, 1),
        },
    }


def write_lists(
    path: Path, lists: dict[str, list[int]], metrics: dict[str, Any], settings: Settings, split: str
) -> None:
    """The served replay's per-point lists, with the settings that shape them and the served row."""
    payload = {
        "split": split,
        "n_recommendations": settings.n_recommendations,
        "dialogue_model": settings.dialogue_model,
        "served": metrics,
        "lists": lists,
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload), encoding="utf-8")


def _subsample(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted random rows (all rows when ``size`` >= ``n``)."""
    if size >= n:
        return np.arange(n)
    return np.array(sorted(random.Random(seed).sample(range(n), size)))


def _coverage(ids: list[int], item_of: dict[int, int]) -> float:
    return sum(i in item_of for i in ids) / len(ids) if ids else 0.0


def _settings_metrics(
    scores: np.ndarray, samples: Sequence[Sample], targets: np.ndarray, column_of: dict[int, int]
) -> dict[str, dict[str, float]]:
    ranks = prior.target_ranks(scores, targets)
    fresh = np.array([s.fresh for s in samples], dtype=bool)
    removed = scores.copy()
    for r, s in enumerate(samples):
        cols = [column_of[m] for m in s.context_movie_ids if m in column_of]
        if cols:
            removed[r, cols] = -np.inf
    ranks_removed = prior.target_ranks(removed, targets)
    ranks_removed[~np.isfinite(removed[np.arange(len(samples)), np.maximum(targets, 0)])] = 10**9

    def as_list(values: np.ndarray) -> list[int | None]:
        return [int(v) if v < 10**9 else None for v in values]

    return {
        "all": summarise(as_list(ranks)),
        "fresh": summarise(as_list(ranks[fresh])),
        "all_context_removed": summarise(as_list(ranks_removed)),
    }


def _mention_prior_scores(
    inputs: RedialInputs,
    samples: list[Sample],
    cf: Any,
    cf_matrix: np.ndarray | None,
    folds: int,
    seed: int,
    n_items: int,
    say: Progress,
    chat_of: Callable[[list[Sample]], np.ndarray] | None = None,
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """Out-of-fold (or train-on-dev) mention-prior scores for ``samples``.

    With ``chat_of`` (samples -> the chat's blend scores) the chat is one more feature whose weight
    is tuned with the others on the training folds only.
    """
    column_of = inputs.column_of
    side = prior.catalog_side(inputs.dataset)
    scores = np.zeros((len(samples), n_items), dtype=np.float32)
    weights_used: list[dict[str, float]] = []
    if inputs.train_samples is not None:
        train = inputs.train_samples
        train_cf = systems.cf_rows(cf, train, inputs.item_of) if cf is not None else None
        train_chat = chat_of(train) if chat_of is not None else None
        weights = _tuned_weights(train, train_cf, column_of, n_items, folds, seed, side, train_chat)
        model = prior.fit_prior(train, column_of, n_items, side)
        chat = chat_of(samples) if chat_of is not None else None
        scores[:] = prior.combine(prior.features(model, samples, column_of, cf_matrix, chat), weights)
        return scores, [weights]
    # Cross-validation over every dialogue of the split, even when only a subset is scored: the
    # training folds are the same as in a full run, so a subset's numbers estimate the full ones.
    pool = inputs.samples
    if samples is pool:
        pool_cf = cf_matrix
    else:
        pool_cf = systems.cf_rows(cf, pool, inputs.item_of) if cf is not None else None
    pool_chat = chat_of(pool) if chat_of is not None else None
    row_of = {id(s): i for i, s in enumerate(pool)}
    sample_chat = pool_chat[[row_of[id(s)] for s in samples]] if pool_chat is not None else None
    pool_fold = np.array([fold_of(s.conversation_id, folds, seed) for s in pool])
    fold = np.array([fold_of(s.conversation_id, folds, seed) for s in samples])
    for f in range(folds):
        test_rows = np.flatnonzero(fold == f)
        train_rows = np.flatnonzero(pool_fold != f)
        if not len(test_rows):
            continue
        train = [pool[i] for i in train_rows]
        train_cf = pool_cf[train_rows] if pool_cf is not None else None
        train_chat = pool_chat[train_rows] if pool_chat is not None else None
        weights = _tuned_weights(train, train_cf, column_of, n_items, folds - 1, seed + 1, side, train_chat)
        model = prior.fit_prior(train, column_of, n_items, side)
        test_cf = cf_matrix[test_rows] if cf_matrix is not None else None
        test_chat = sample_chat[test_rows] if sample_chat is not None else None
        scores[test_rows] = prior.combine(
            prior.features(model, [samples[i] for i in test_rows], column_of, test_cf, test_chat), weights
        )
        weights_used.append(weights)
        say(f"mention_prior fold {f + 1}/{folds}: weights {weights}")
    return scores, weights_used


def _tuned_weights(
    train: list[Sample],
    train_cf: np.ndarray | None,
    column_of: dict[int, int],
    n_items: int,
    folds: int,
    seed: int,
    side: prior.CatalogSide,
    train_chat: np.ndarray | None = None,
    max_rows: int = 1200,
) -> dict[str, float]:
    """Feature weights tuned on out-of-fold features of ``train`` (never on the scored samples)."""
    folds = max(2, folds)
    fold = np.array([fold_of(s.conversation_id, folds, seed) for s in train])
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {}
    targets: list[np.ndarray] = []
    for g in range(folds):
        val = np.flatnonzero(fold == g)
        fit = np.flatnonzero(fold != g)
        if not len(val) or not len(fit):
            continue
        keep = rng.permutation(val)[: max(1, max_rows // folds)]
        model = prior.fit_prior([train[i] for i in fit], column_of, n_items, side)
        feats = prior.features(
            model,
            [train[i] for i in keep],
            column_of,
            train_cf[keep] if train_cf is not None else None,
            train_chat[keep] if train_chat is not None else None,
        )
        for name, values in feats.items():
            parts.setdefault(name, []).append(values.astype(np.float16))
        targets.append(np.array([column_of.get(train[i].target, -1) for i in keep], dtype=np.int64))
    if not targets:
        return dict.fromkeys(prior.FEATURES, 1.0)
    feats_all = {name: np.concatenate(chunks).astype(np.float32) for name, chunks in parts.items()}
    return prior.tune_weights(feats_all, np.concatenate(targets))
