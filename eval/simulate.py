"""``recbot eval simulate``: simulated users chase a hidden target through the chat.

Protocol (deterministic for a seed):

* a user-level split: ``n_users`` MovieLens users with enough likes are held out; the CF model the
  agent uses is trained without any of their interactions;
* each held-out user's likes (rating >= ``LIKE_RATING``) are ordered in time; the last fifth is their
  "future", and the target is drawn from it (among items with at least ``MIN_TARGET_RATINGS`` ratings
  from the training users: a film nobody else rated cannot be found by any recommender);
* the user opens with one or two earlier likes (sharing a genre with the target when possible),
  answers questions and critiques toward the target (:mod:`eval.simulated_user`);
* success = the target is shown within ``MAX_TURNS`` user messages.

Systems: the full agent; the agent with a user who never critiques (only answers questions and
asks for something else); CF only (fold-in on the opening likes, the next ``n`` unseen items per turn).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.chat_agent import ChatAgent
from bot.types import Recommendation
from cf_engine.data.catalog import Dataset, Item
from eval.components import CFScorer
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


def held_out_split(dataset: Dataset, n_users: int, seed: int) -> tuple[Dataset, list[UserProfile]]:
    """(training dataset without the held-out users, their profiles with a hidden target each)."""
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
    training = Dataset(
        name=f"{dataset.name}-sim-train",
        catalog=dataset.catalog,
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


def evaluate_simulation(
    dataset: Dataset,
    make_agent: AgentFactory | None,
    make_cf: Callable[[Dataset], CFScorer],
    n_users: int,
    seed: int,
    per_turn: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the agent (with and without critiques) and CF only on the same simulated users."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    training, profiles = held_out_split(dataset, n_users, seed)
    say(
        f"{len(profiles)} simulated users; CF trained on {training.interactions['user_id'].nunique()} "
        "other users"
    )
    systems: dict[str, Any] = {}
    episodes: dict[str, list[Episode]] = {}
    notes: dict[str, str] = {}
    cf = make_cf(training)
    episodes["cf_only"] = [run_cf_episode(cf, p, per_turn) for p in profiles]
    if make_agent is not None:
        agent = make_agent(training)
        for name, critiques in (("agent", True), ("agent_no_critiques", False)):
            runs = []
            for k, profile in enumerate(profiles):
                user = SimulatedUser(profile, critiques=critiques, rng=random.Random(seed * 1000 + k))
                runs.append(run_agent_episode(agent, user))
            episodes[name] = runs
            say(f"{name}: success {summarise(runs)['success_rate']:.2f}")
    else:
        notes["agent"] = "not run: the agent is not available"
    for name, runs in episodes.items():
        systems[name] = summarise(runs)
    leaked = [
        m
        for runs in episodes.values()
        for e in runs
        for m in e.messages
        if leaks(m, next(p.target for p in profiles if p.user_id == e.user_id))
    ]
    return {
        "users": len(profiles),
        "seed": seed,
        "max_turns": MAX_TURNS,
        "per_turn": per_turn,
        "systems": systems,
        "leaked_messages": len(leaked),
        "notes": notes,
        "episodes": {name: [e.__dict__ for e in runs] for name, runs in episodes.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
