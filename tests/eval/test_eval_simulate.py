"""The simulated user never names its target; the split and the episodes are deterministic."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from eval_fakes import FakeAgent, recommendation

from bot.settings import Settings
from cf_engine.data.catalog import Item
from eval.components import load_dataset
from eval.paired import paired_success, sign_test
from eval.simulate import MAX_TURNS, evaluate_simulation, held_out_split, run_agent_episode
from eval.simulated_user import SimulatedUser, UserProfile, leaks

HEAT = Item(
    6,
    "Heat",
    1995,
    ("Action", "Crime", "Thriller"),
    tags=("heat", "Al Pacino", "heist"),
    aliases=("Heat 1995",),
)


@pytest.fixture(scope="module")
def dataset(movielens_dir: Path):
    return load_dataset(Settings(data_dir=movielens_dir))


def test_leaks_matches_whole_title_phrases() -> None:
    assert leaks("have you got Heat?", HEAT)
    assert leaks("something like HEAT (1995)", HEAT)
    assert not leaks("something with a heated debate", HEAT)
    assert not leaks("Something with heist.", HEAT)


def test_hints_that_would_name_the_target_are_skipped() -> None:
    seed = Item(1, "Casino", 1995, ("Crime", "Drama"))
    profile = UserProfile(1, [seed], set(), HEAT, hint_tags=HEAT.tags)  # "heat" is left to the leak check
    user = SimulatedUser(profile, rng=random.Random(0))
    user.opening()
    for _ in range(8):
        user.reply("What kind of movie are you in the mood for?", [recommendation(seed)])
        user.reply(None, [recommendation(seed)])
    assert user.messages and not any(leaks(m, HEAT) for m in user.messages)
    assert any("al pacino" in m.lower() or "heist" in m.lower() for m in user.messages)


def test_split_holds_users_out_of_training(dataset) -> None:
    training, profiles = held_out_split(dataset, 20, seed=3)
    again, profiles_again = held_out_split(dataset, 20, seed=3)
    assert [(p.user_id, p.target.item_id) for p in profiles] == [
        (p.user_id, p.target.item_id) for p in profiles_again
    ]
    held = {p.user_id for p in profiles}
    assert len(profiles) == 20
    assert held.isdisjoint(set(training.interactions["user_id"]))
    for p in profiles:
        assert p.target.item_id not in {s.item_id for s in p.seeds}
        assert not any(leaks(s.display_title, p.target) for s in p.seeds)


def test_no_simulated_message_names_the_target(dataset) -> None:
    _, profiles = held_out_split(dataset, 40, seed=7)
    catalog_items = list(dataset.catalog)
    rng = random.Random(0)

    def reply(message: str, rejected: set[int]):
        shown = [i for i in rng.sample(catalog_items, 6) if i.item_id not in rejected][:3]
        return shown, ("Which decade do you prefer?" if rng.random() < 0.3 else None)

    checked = 0
    for k, profile in enumerate(profiles):
        for critiques in (True, False):
            user = SimulatedUser(profile, critiques=critiques, rng=random.Random(k))
            episode = run_agent_episode(FakeAgent(reply), user)
            assert episode.error is None and 1 <= episode.turns <= MAX_TURNS
            for message in episode.messages:
                assert not leaks(message, profile.target), (message, profile.target.title)
                checked += 1
    assert checked > 100


def test_episode_succeeds_when_the_target_is_shown(dataset) -> None:
    _, (profile, *_) = held_out_split(dataset, 1, seed=0)
    calls = []

    def reply(message: str, rejected: set[int]):
        calls.append(message)
        return ([profile.target] if len(calls) == 2 else [HEAT]), None

    episode = run_agent_episode(FakeAgent(reply), SimulatedUser(profile))
    assert episode.success and episode.turns == 2


def test_sign_test_and_paired_success_by_hand() -> None:
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 0) == pytest.approx(2 / 32)  # 5 discordant pairs, all one way
    assert sign_test(3, 3) == 1.0
    a = [True, True, True, False, True, False]
    b = [False, True, False, False, True, True]
    out = paired_success(a, b, np.random.default_rng(0), resamples=2000)
    assert out["n"] == 6 and out["a_only"] == 2 and out["b_only"] == 1
    assert out["success_a"] == pytest.approx(4 / 6) and out["success_b"] == pytest.approx(3 / 6)
    assert out["difference"] == pytest.approx(1 / 6)
    assert out["ci95"][0] <= out["difference"] <= out["ci95"][1]
    assert out["sign_test_p"] == pytest.approx(sign_test(2, 1))
    with pytest.raises(ValueError):
        paired_success([True], [True, False], np.random.default_rng(0))


def test_simulation_reports_the_served_system_first_with_paired_comparisons(dataset) -> None:
    training, profiles = held_out_split(dataset, 8, seed=5)
    targets = {p.target.item_id: p.target for p in profiles}

    def make_agent(_training):
        def reply(message: str, rejected: set[int]):
            # Shows the target of every other user at once: a success rate the report must carry.
            wanted = [t for t in targets.values() if t.item_id % 2 == 0]
            return wanted[:3], None

        return FakeAgent(reply)

    class NoCF:
        def __init__(self, dataset):
            self.dataset = dataset

        def scores(self, liked_ids, disliked_ids=()):
            return np.zeros(len(self.dataset.catalog), dtype=np.float32)

    audits = []

    def audit(agent, training_split, simulated):
        audits.append((training_split, [p.user_id for p in simulated]))
        return {"agent_dataset_ratings": 0}

    result = evaluate_simulation(
        dataset, make_agent, lambda t: NoCF(dataset), 8, seed=5, per_turn=3, audit=audit
    )
    assert result["served_system"] == "agent" == next(iter(result["systems"]))
    assert audits and audits[0][1] == [p.user_id for p in profiles]
    assert set(result["comparisons"]) == {"agent - cf_only", "agent - agent_no_critiques"}
    served = [e["success"] for e in result["episodes"]["agent"]]
    assert result["systems"]["agent"]["success_rate"] == pytest.approx(sum(served) / 8)
    vs_cf = result["comparisons"]["agent - cf_only"]
    cf = [e["success"] for e in result["episodes"]["cf_only"]]
    assert vs_cf["difference"] == pytest.approx((sum(served) - sum(cf)) / 8)
    assert result["protocol"]["max_user_messages"] == MAX_TURNS
    assert result["training_users"] == training.interactions["user_id"].nunique()
    counts = training.interactions.groupby("item_id").size()
    assert [t["target_ratings"] for t in result["targets"]] == [counts[p.target.item_id] for p in profiles]
    bins = result["by_target_ratings"]
    assert sum(b["users"] for b in bins.values()) == 8
    found = sum(round(b["success_rate"] * b["users"]) for b in bins.values() if b["users"])
    assert found == sum(served)
