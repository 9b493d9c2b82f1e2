"""Issue 13 item 3: every evaluator is held out, and each check here fails when its leak comes back.

* the simulation's agent (dataset, CF, popularity, shrunk ratings, quality prior, evidence, fusion
  users, catalog tags, dialogue model) is built from the training split only; the audit that guards
  the run fires on an agent over the full dataset (the old ``agent_with_cf`` wiring);
* simulated tag hints are tags of several films without a word of the target's title;
* ``recbot eval retrieval`` removes the tags of every held-out user, cold-start users included;
* ``--split test`` drops (and counts) dialogues whose conversationId is also a training dialogue.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bot.recommend.blend import Blender
from bot.recommend.fusion_fit import validation_split
from bot.recommend.item_features import ItemFeatures
from bot.runtime import Runtime
from bot.settings import Settings
from cf_engine.data.catalog import Dataset, Item
from eval.components import load_dataset
from eval.held_out import MIN_TAG_FILMS, hint_tags, read_tags, tag_film_counts, tags_only_of, title_words
from eval.held_out_runtime import HeldOutRuntime, leak_audit
from eval.redial_eval import load_inputs
from eval.retrieval_eval import retrieval_split
from eval.simulate import SimulationLeakError, evaluate_simulation, held_out_split
from eval.simulated_user import leaks

USERS = 40  # enough held-out users that some of them tagged films (58 of 610 users tag)


@pytest.fixture(scope="module")
def dataset(movielens_dir: Path) -> Dataset:
    return load_dataset(Settings(data_dir=movielens_dir))


@pytest.fixture(scope="module")
def tags(movielens_dir: Path):
    frame = read_tags(movielens_dir)
    assert frame is not None
    return frame


@pytest.fixture(scope="module")
def split(dataset: Dataset, tags):
    return held_out_split(dataset, USERS, seed=0, tags=tags)


def _pairs(dataset: Dataset) -> set[tuple[int, str]]:
    return {(item.item_id, t) for item in dataset.catalog for t in item.tags}


# --- tags and hints ----------------------------------------------------------------------------------
def test_hint_tags_skip_rare_tags_and_title_words() -> None:
    heat = Item(6, "Heat", 1995, ("Action",), tags=("heat", "heist", "one of a kind", "al pacino"))
    counts = tag_film_counts_of({"heat": 5, "heist": 4, "one of a kind": 1, "al pacino": MIN_TAG_FILMS})
    assert hint_tags(heat, counts) == ("heist", "al pacino")
    toy = Item(1, "Toy Story", 1995, ("Animation",), tags=("toys", "toy", "pixar"))
    assert title_words(toy) == {"toy", "story"}
    assert hint_tags(toy, tag_film_counts_of({"toys": 9, "toy": 9, "pixar": 9})) == ("pixar",)
    heroes = Item(2, "Heroes", 2000, ("Drama",), tags=("hero", "superhero", "stories"))
    assert hint_tags(heroes, tag_film_counts_of({"hero": 9, "superhero": 9, "stories": 9})) == (
        "superhero",
        "stories",
    )


def tag_film_counts_of(counts: dict[str, int]) -> Counter[str]:
    return Counter(counts)


def test_simulation_catalog_has_no_tag_only_a_simulated_user_wrote(dataset: Dataset, tags, split) -> None:
    training, profiles = split
    theirs = tags_only_of(tags, {p.user_id for p in profiles})
    assert theirs, "no simulated user tagged a film: the check below would test nothing"
    assert theirs <= _pairs(dataset)  # the full catalog has them: the leak this guards against
    assert not theirs & _pairs(training)


def test_profiles_hint_only_shared_tags_without_title_words(split) -> None:
    training, profiles = split
    counts = tag_film_counts(training.catalog)
    hinted = [p for p in profiles if p.hint_tags]
    assert hinted
    for p in profiles:
        target = training.catalog.get(p.target.item_id)
        assert set(p.hint_tags) <= set(target.tags)
        for tag in p.hint_tags:
            assert counts[tag] >= MIN_TAG_FILMS
            assert not set(tag.split()) & title_words(p.target)
            assert not leaks(f"Something {tag}.", p.target)


def test_retrieval_split_removes_tags_of_every_held_out_user(dataset: Dataset, tags) -> None:
    text_users, cold_users, train = retrieval_split(dataset, tags, np.random.default_rng(42), 200)
    held = text_users | cold_users
    assert not held & set(train.interactions["user_id"])
    theirs = tags_only_of(tags, held)
    assert theirs and theirs <= _pairs(dataset)  # the full catalog has them: the leak guarded against
    assert not theirs & _pairs(train)
    # Cold-start users tag nothing, so the other taggers' tags stay for the text queries to search.
    assert not cold_users & set(int(u) for u in tags["userId"])
    kept = tags[~tags["userId"].isin(held)]
    assert {(int(m), t) for m, t in zip(kept["movieId"], kept["tag"], strict=True)} <= _pairs(train)


# --- ReDial --split test -------------------------------------------------------------------------------
def _conversation(cid: str) -> dict:
    return {
        "conversationId": cid,
        "initiatorWorkerId": 1,
        "respondentWorkerId": 2,
        "movieMentions": {"10": "Heat (1995)", "20": "Alien (1979)"},
        "initiatorQuestions": {"10": {"suggested": 0, "seen": 1, "liked": 1}},
        "respondentQuestions": {},
        "messages": [
            {"text": "I loved @10", "senderWorkerId": 1, "messageId": 1},
            {"text": "Try @20", "senderWorkerId": 2, "messageId": 2},
        ],
    }


def test_test_split_drops_and_counts_dialogues_of_the_training_file(
    tmp_path: Path, movielens_dir: Path
) -> None:
    (tmp_path / "movies_with_mentions.csv").write_text("movieId,movieName,nbMentions\n10,Heat (1995),1\n")

    def write(name: str, ids: list[str]) -> None:
        (tmp_path / name).write_text("".join(json.dumps(_conversation(c)) + "\n" for c in ids))

    write("test_data.jsonl", ["a", "b", "c"])
    write("dev_data.jsonl", ["b", "d"])
    inputs = load_inputs(Settings(data_dir=movielens_dir, home=tmp_path / "home"), tmp_path, "test")
    assert inputs.dropped_in_training == 1
    assert [c.conversation_id for c in inputs.conversations] == ["a", "c"]
    assert {s.conversation_id for s in inputs.samples} == {"a", "c"}
    assert [c.conversation_id for c in inputs.train_conversations or []] == ["b", "d"]


# --- the simulation's agent ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def held_out_runtime(tmp_path_factory: pytest.TempPathFactory, movielens_dir: Path, split) -> HeldOutRuntime:
    training, _ = split
    settings = Settings(home=tmp_path_factory.mktemp("home"), data_dir=movielens_dir, llm_backend="template")
    runtime = HeldOutRuntime(settings, training)
    runtime.index = None  # CF only: building the Chroma index takes minutes on 2 cores
    return runtime


@pytest.mark.slow
def test_simulation_agent_is_built_from_training_users_only(
    held_out_runtime: HeldOutRuntime, dataset: Dataset, split
) -> None:
    training, profiles = split
    agent = held_out_runtime.agent
    held = {p.user_id for p in profiles}
    assert agent.dataset is training and agent.blender.dataset is training
    assert not held & set(int(u) for u in agent.cf.user_ids)
    assert not held & set(agent.features.interactions.user_row)
    # Each target was liked by its simulated user: the full data count that like, the agent must not.
    full = ItemFeatures.from_dataset(dataset, agent.settings.positive_threshold)
    cols = [dataset.catalog.index_of(p.target.item_id) for p in profiles]
    assert (agent.features.popularity[cols] < full.popularity[cols]).all()
    # The fusion's validation users are drawn from the blender's dataset: never a simulated user.
    users, rest = validation_split(agent.blender.dataset, agent.settings.seed)
    assert len(users) and not held & set(int(u) for u in users)
    assert not held & set(rest.interactions["user_id"])
    audit = leak_audit(agent, training, profiles)
    assert audit and not any(audit.values()), audit


@pytest.mark.slow
def test_audit_fires_when_the_simulated_users_ratings_come_back(
    held_out_runtime: HeldOutRuntime, dataset: Dataset, split
) -> None:
    """The old wiring: only CF trained on the split, everything else over the full dataset."""
    training, profiles = split
    leaky = Runtime(held_out_runtime.settings)
    leaky.dataset = dataset
    leaky.cf = held_out_runtime.cf
    leaky.index = None
    audit = leak_audit(leaky.agent, training, profiles)
    for part in (
        "agent_dataset_ratings",
        "evidence_users",
        "fusion_validation_users",
        "agent_popularity_columns_off",
        "agent_quality_columns_off",
        "catalog_tags_off",
    ):
        assert audit[part] > 0, (part, audit)
    assert audit["agent_cf_users"] == 0

    def no_cf(_training: Dataset):
        raise AssertionError("the run must stop before CF only is scored")

    with pytest.raises(SimulationLeakError, match="agent_dataset_ratings"):
        evaluate_simulation(
            dataset,
            lambda _training: leaky.agent,
            no_cf,
            USERS,
            seed=0,
            per_turn=3,
            tags=read_tags(held_out_runtime.settings.dataset_dir),
            audit=leak_audit,
        )


def test_dialogue_model_is_trained_through_the_training_blender(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, movielens_dir: Path, split
) -> None:
    """With the dialogue model on, it is learned now from the corpus through the split's blender."""
    import bot.dialogue_training as training_module

    training, _ = split
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps(_conversation("x")) + "\n")
    settings = Settings(
        home=tmp_path / "home",
        data_dir=movielens_dir,
        llm_backend="template",
        dialogue_model=True,
        dialogue_corpus=corpus,
    )
    seen: dict = {}

    def fake_train(settings, parser, blender, features, corpus_path, store=None, **_kw):
        seen.update(blender=blender, features=features, corpus=corpus_path, store=store)
        return "model"

    monkeypatch.setattr(training_module, "train_dialogue_model", fake_train)
    runtime = HeldOutRuntime(settings, training)
    # The agent's parts the training reads (a stand-in: no CF model is trained for this check).
    blender = Blender(runtime.dataset, None, None, settings, features=runtime.features)
    agent = SimpleNamespace(parser=object(), blender=blender)
    assert runtime.dialogue_model(agent) == "model"
    assert seen["blender"].dataset is training and seen["features"] is runtime.features
    assert seen["corpus"] == corpus and seen["store"] is None
