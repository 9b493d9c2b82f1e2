"""``recbot eval simulate``: simulated users chase a hidden target through the chat.

Protocol (deterministic for a seed):

* a user-level split: ``n_users`` MovieLens users with enough likes are held out; the whole agent
  (dataset, CF, popularity, ratings, quality prior, evidence, fusion, index, dialogue model) is built
  without any of their ratings or tags (:mod:`eval.held_out_runtime`, audited before the run);
* each held-out user's likes (rating >= ``LIKE_RATING``) are ordered in time; the last fifth is their
  "future", and the target is drawn from it (among items with at least ``MIN_TARGET_RATINGS`` ratings
  from the training users: a film nobody else rated cannot be found by any recommender);
* the user opens with one or two earlier likes (sharing a genre with the target when possible),
  answers questions and critiques toward the target (:mod:`eval.simulated_user`);
* success = the target is shown within ``MAX_TURNS`` user messages.

Systems: the served agent (``"served_system"``, first); the agent with a user who never critiques
(only answers questions and asks for something else); CF only (fold-in on the opening likes, the
next ``n`` unseen items per turn). The served system is compared with each baseline on the same users
(paired: bootstrap interval of the success difference and an exact sign test, :mod:`eval.paired`).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bot.chat_agent import ChatAgent
from bot.types import Recommendation
from cf_engine.data.catalog import Dataset, Item
from eval.components import CFScorer
from eval.held_out import catalog_without_tags_of, hint_tags, tag_film_counts
from eval.paired import paired_success
from eval.simulated_user import SimulatedUser, UserProfile, leaks, natural_title

MAX_TURNS = 5
LIKE_RATING = 4.0
MIN_LIKES = 10
MIN_TARGET_RATINGS = 5
Progress = Callable[[str], None]


@dataclass
class Episode:
    user_id: int
    target: str
    success: bool
    turns: int  # user messages sent (MAX_TURNS when the target never came)
    messages: list[str] = field(default_factory=list)
    shown: list[list[str]] = field(default_factory=list)
    error: str | None = None


def held_out_split(
    dataset: Dataset, n_users: int, seed: int, tags: pd.DataFrame | None = None
) -> tuple[Dataset, list[UserProfile]]:
    """(training dataset without the held-out users, their profiles with a hidden target each).

    The held-out users are removed entirely (not only their targets): the chat meets each of them as a
    new visitor, so no part of the agent may have seen any of their ratings, whose co-occurrences
    with the seeds would otherwise point at their other future likes. With ``tags`` (MovieLens
    ``tags.csv``) the training catalog's tags are recounted without theirs too, and each profile's
    hint tags are read from that catalog.
    """
    rng = random.Random(seed)
    frame = dataset.interactions
    likes = frame[frame["rating"] >= LIKE_RATING]
    like_counts = likes.groupby("user_id").size()
    eligible = sorted(int(u) for u in like_counts[like_counts >= MIN_LIKES].index)
    if not eligible:
        raise ValueError(f"no user has {MIN_LIKES} likes (rating >= {LIKE_RATING}) to simulate")
    chosen = rng.sample(eligible, min(len(eligible), max(n_users * 2, n_users + 10)))
    # Target popularity is counted without every candidate user, so no target is findable only
    # because of another held-out user's ratings.
    counts = frame[~frame["user_id"].isin(chosen)].groupby("item_id").size()
    profiles: list[UserProfile] = []
    for user in chosen:
        if len(profiles) == n_users:
            break
        mine = likes[likes["user_id"] == user].sort_values(["timestamp", "item_id"])
        ids = [int(i) for i in mine["item_id"]]
        cut = max(1, int(len(ids) * 0.8))
        past, future = ids[:cut], ids[cut:]
        candidates = [i for i in future if counts.get(i, 0) >= MIN_TARGET_RATINGS]
        if not candidates:
            continue
        target = dataset.catalog.get(rng.choice(candidates))
        seeds = _pick_seeds(dataset, past, target, rng)
        if not seeds:
            continue
        rated = set(int(i) for i in frame.loc[frame["user_id"] == user, "item_id"])
        profiles.append(UserProfile(user_id=user, seeds=seeds, rated_ids=rated, target=target))
    held = [p.user_id for p in profiles]
    catalog = dataset.catalog if tags is None else catalog_without_tags_of(dataset.catalog, tags, held)
    film_counts = tag_film_counts(catalog)
    for p in profiles:
        p.hint_tags = hint_tags(catalog.get(p.target.item_id), film_counts)
    training = Dataset(
        name=f"{dataset.name}-sim-train",
        catalog=catalog,
        interactions=frame[~frame["user_id"].isin(held)].reset_index(drop=True),
    )
    return training, profiles


def _pick_seeds(dataset: Dataset, past: Sequence[int], target: Item, rng: random.Random) -> list[Item]:
    """One or two earlier likes, preferring ones that share a genre with the target; never leaking it."""
    items = [dataset.catalog.get(i) for i in past if i != target.item_id]
    items = [i for i in items if not leaks(i.display_title, target) and not leaks(natural_title(i), target)]
    if not items:
        return []
    related = [i for i in items if set(i.genres) & set(target.genres)]
    pool = related or items
    return rng.sample(pool, min(len(pool), rng.choice((1, 2))))


def run_agent_episode(agent: ChatAgent, user: SimulatedUser) -> Episode:
    """Chat until the target is shown or ``MAX_TURNS`` messages were sent."""
    target = user.profile.target
    episode = Episode(user_id=user.profile.user_id, target=target.display_title, success=False, turns=0)
    try:
        session = agent.create_session(user_id=None)
        message = user.opening()
        for turn in range(1, MAX_TURNS + 1):
            episode.turns = turn
            result = agent.turn(session, message)
            shown: list[Recommendation] = list(result.recommendations)
            episode.shown.append([r.title for r in shown])
            if any(r.item_id == target.item_id for r in shown):
                episode.success = True
                break
            for item_id, kind in user.feedback_for(shown):
                agent.feedback(session, item_id, kind)
            if turn < MAX_TURNS:
                message = user.reply(result.question, shown)
    except Exception as exc:  # noqa: BLE001 - one crash is recorded, the run goes on
        episode.error = f"{type(exc).__name__}: {exc}"
    episode.messages = list(user.messages)
    return episode


def run_cf_episode(cf: CFScorer, profile: UserProfile, per_turn: int) -> Episode:
    """CF only: fold in the opening likes, show the next ``per_turn`` best unseen items each turn."""
    scores = cf.scores([s.item_id for s in profile.seeds]).copy()
    catalog = cf.dataset.catalog
    for seed in profile.seeds:
        scores[catalog.index_of(seed.item_id)] = -np.inf
    order = np.argsort(-scores, kind="stable")
    target_col = catalog.index_of(profile.target.item_id)
    position = int(np.flatnonzero(order == target_col)[0])
    turn = position // per_turn + 1
    success = turn <= MAX_TURNS
    return Episode(
        user_id=profile.user_id,
        target=profile.target.display_title,
        success=success,
        turns=turn if success else MAX_TURNS,
    )


def summarise(episodes: Sequence[Episode]) -> dict[str, Any]:
    wins = [e for e in episodes if e.success]
    return {
        "users": len(episodes),
        "success_rate": len(wins) / len(episodes) if episodes else 0.0,
        "avg_turns": statistics.fmean(e.turns for e in episodes) if episodes else 0.0,
        "avg_turns_when_found": statistics.fmean(e.turns for e in wins) if wins else None,
        "errors": sum(e.error is not None for e in episodes),
        "success_by_turn": [
            sum(e.success and e.turns <= t for e in episodes) / max(1, len(episodes))
            for t in range(1, MAX_TURNS + 1)
        ],
    }


AgentFactory = Callable[[Dataset], ChatAgent]
# (agent, training dataset, profiles) -> what of the held-out users' data the agent holds (0 = none)
LeakAudit = Callable[[ChatAgent, Dataset, Sequence[UserProfile]], dict[str, int]]
SERVED = "agent"  # the system a person chatting gets: the agent, with a user who critiques
BASELINES = ("cf_only", "agent_no_critiques")


class SimulationLeakError(ValueError):
    """The simulation's agent holds data of a simulated user: its figures would not be held out."""


def protocol() -> dict[str, Any]:
    """The simulation's fixed protocol, stated in every result."""
    return {
        "split": "user-level: simulated users are removed from every part of the agent (ratings, tags)",
        "like_rating": LIKE_RATING,
        "min_likes": MIN_LIKES,
        "target": f"hidden, drawn from the last fifth of the user's likes in time, >= {MIN_TARGET_RATINGS} "
        "ratings from the other users",
        "max_user_messages": MAX_TURNS,
        "success": "the target is among the items shown within max_user_messages",
        "hint_tags": "only tags on several films of the training catalog, no word of the target's title",
    }


TARGET_RATING_BINS = (0, 20, 50, 100)  # lower edges: how well known a target is to the training users


def target_table(training: Dataset, profiles: Sequence[UserProfile]) -> list[dict[str, Any]]:
    """Per simulated user: the target, its ratings from the training users, seeds and hint tags."""
    counts = training.interactions.groupby("item_id").size()
    return [
        {
            "user_id": p.user_id,
            "target": p.target.display_title,
            "target_ratings": int(counts.get(p.target.item_id, 0)),
            "seeds": [s.display_title for s in p.seeds],
            "hint_tags": list(p.hint_tags),
        }
        for p in profiles
    ]


def by_target_ratings(targets: Sequence[dict[str, Any]], episodes: Sequence[Episode]) -> dict[str, Any]:
    """Success of ``episodes`` by how many training ratings the target has (what failures are made of)."""
    ratings = {t["user_id"]: t["target_ratings"] for t in targets}
    out: dict[str, Any] = {}
    edges = (*TARGET_RATING_BINS, None)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        runs = [e for e in episodes if ratings[e.user_id] >= lo and (hi is None or ratings[e.user_id] < hi)]
        name = f"{lo}+" if hi is None else f"{lo}-{hi - 1}"
        out[name] = {
            "users": len(runs),
            "success_rate": sum(e.success for e in runs) / len(runs) if runs else None,
        }
    return out


def evaluate_simulation(
    dataset: Dataset,
    make_agent: AgentFactory | None,
    make_cf: Callable[[Dataset], CFScorer],
    n_users: int,
    seed: int,
    per_turn: int,
    progress: Progress | None = None,
    tags: pd.DataFrame | None = None,
    audit: LeakAudit | None = None,
) -> dict[str, Any]:
    """Run the agent (with and without critiques) and CF only on the same simulated users.

    The served system (:data:`SERVED`) comes first, with a paired comparison against each baseline.
    ``audit`` checks the agent before any user talks to it; a leak raises
    :class:`SimulationLeakError`.
    """
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    training, profiles = held_out_split(dataset, n_users, seed, tags)
    say(
        f"{len(profiles)} simulated users; the agent and CF are built from "
        f"{training.interactions['user_id'].nunique()} other users"
    )
    episodes: dict[str, list[Episode]] = {}
    notes: dict[str, str] = {}
    leaks_found: dict[str, int] = {}
    if make_agent is not None:
        agent = make_agent(training)
        if audit is not None:
            leaks_found = audit(agent, training, profiles)
            if any(leaks_found.values()):
                raise SimulationLeakError(
                    f"the simulation's agent holds simulated users' data: {leaks_found}"
                )
        for name, critiques in ((SERVED, True), ("agent_no_critiques", False)):
            runs = []
            for k, profile in enumerate(profiles):
                user = SimulatedUser(profile, critiques=critiques, rng=random.Random(seed * 1000 + k))
                runs.append(run_agent_episode(agent, user))
            episodes[name] = runs
            say(f"{name}: success {summarise(runs)['success_rate']:.2f}")
    else:
        notes[SERVED] = "not run: the agent is not available"
    cf = make_cf(training)
    episodes["cf_only"] = [run_cf_episode(cf, p, per_turn) for p in profiles]
    systems = {name: summarise(runs) for name, runs in episodes.items()}
    comparisons: dict[str, Any] = {}
    if SERVED in episodes:
        rng = np.random.default_rng(seed)
        served = [e.success for e in episodes[SERVED]]
        for name in BASELINES:
            other = [e.success for e in episodes[name]]
            comparisons[f"{SERVED} - {name}"] = paired_success(served, other, rng)
    targets = target_table(training, profiles)
    leaked = [
        m
        for runs in episodes.values()
        for e in runs
        for m in e.messages
        if leaks(m, next(p.target for p in profiles if p.user_id == e.user_id))
    ]
    return {
        "served_system": SERVED if SERVED in systems else None,
        "users": len(profiles),
        "seed": seed,
        "max_turns": MAX_TURNS,
        "per_turn": per_turn,
        "protocol": protocol(),
        "training_users": int(training.interactions["user_id"].nunique()),
        "leak_audit": leaks_found,
        "systems": systems,
        "comparisons": comparisons,
        "by_target_ratings": by_target_ratings(targets, episodes.get(SERVED, [])),
        "targets": targets,
        "leaked_messages": len(leaked),
        "notes": notes,
        "episodes": {name: [e.__dict__ for e in runs] for name, runs in episodes.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
