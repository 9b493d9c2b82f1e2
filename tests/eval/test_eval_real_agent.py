"""The dialogue runner and the simulator against the real agent (CF trained here, no index: fast enough)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.runtime import Runtime
from bot.settings import Settings
from eval.dialogue_runner import run_dialogues, validate_against_catalog
from eval.dialogue_spec import load_dialogues
from eval.simulate import held_out_split, run_agent_episode
from eval.simulated_user import SimulatedUser, leaks

REPO = Path(__file__).resolve().parents[2]
FILES = ("01_scifi_less_violence.yaml", "09_more_no_repeats.yaml", "24_horror_fan.yaml")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, movielens_dir: Path) -> Runtime:
    settings = Settings(home=tmp_path_factory.mktemp("home"), data_dir=movielens_dir, llm_backend="template")
    rt = Runtime.from_settings(settings)
    rt.index = None  # CF only: building the Chroma index takes minutes on 2 cores
    return rt


@pytest.mark.slow
def test_dialogues_end_to_end_with_the_real_agent(runtime: Runtime, tmp_path: Path) -> None:
    specs = [s for f in FILES for s in load_dialogues(REPO / "eval" / "dialogues" / f)]
    validate_against_catalog(specs, runtime.dataset)
    result = run_dialogues(runtime.agent, specs)
    assert result["dialogues"] == 3
    assert all(d["error"] is None for d in result["per_dialogue"]), result["per_dialogue"]
    # Every explanation the real agent wrote passes bot.explain.validator, and feedback is honoured.
    assert result["per_key"]["grounded"]["rate"] == 1.0
    assert result["per_key"]["excludes_feedback"]["rate"] == 1.0
    turns = sum(len(d["latency_ms"]) for d in result["per_dialogue"])
    assert result["latency_ms"]["turns"] == turns == 8
    # The agent recorded the feedback the scripts gave.
    assert any(t.get("feedback") == "seen" for d in result["per_dialogue"] for t in d["transcript"])


@pytest.mark.slow
def test_simulated_users_never_name_the_target_to_the_real_agent(runtime: Runtime) -> None:
    _, profiles = held_out_split(runtime.dataset, 6, seed=1)
    for k, profile in enumerate(profiles):
        user = SimulatedUser(profile, rng=random.Random(k))
        episode = run_agent_episode(runtime.agent, user)
        assert episode.error is None
        assert episode.messages and not any(leaks(m, profile.target) for m in episode.messages)
