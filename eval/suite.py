"""Wiring of the dialogue and simulation runs to the real agent.

Evaluations run in their own home (``<home>/eval-runs/<name>-<UTC time>-<random>``, a new folder per
run) so that their sessions never land in the chat's database and two runs at once (or one after
another) never delete or overwrite each other's sessions; the Chroma index and the CF artifacts of
the main home are linked in, not rebuilt. The simulation builds its whole agent from the training
split instead (:class:`eval.held_out_runtime.HeldOutRuntime`), with its own index in its run folder.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.chat_agent import ChatAgent
from bot.settings import Settings
from cf_engine.data.catalog import Dataset
from eval.components import CFScorer, load_dataset, load_runtime, train_cf
from eval.dialogue_runner import run_dialogues, validate_against_catalog
from eval.dialogue_spec import load_dialogues
from eval.held_out import read_tags

Progress = Callable[[str], None]
SHARED_DIRS = ("chroma", "models", "data")


def eval_settings(settings: Settings, name: str, shared: Sequence[str] = SHARED_DIRS) -> Settings:
    """Settings whose home is a new ``eval-runs/<name>-...`` folder sharing the main index and models.

    The folder is created atomically and never reused: an earlier or concurrent run keeps its own.
    ``shared``: the main home's folders linked in (a folder left out is the run's own).
    """
    runs = settings.home / "eval-runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    home = Path(tempfile.mkdtemp(prefix=f"{name}-{stamp}-", dir=runs))
    for sub in shared:
        source = settings.home / sub
        source.mkdir(parents=True, exist_ok=True)
        (home / sub).symlink_to(source, target_is_directory=True)
    update: dict[str, Any] = {"home": home}
    if settings.data_dir is None:
        update["data_dir"] = settings.dataset_dir  # the dataset stays where the main home has it
    return settings.model_copy(update=update)


def run_dialogue_suite(settings: Settings, path: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Load and check the dialogue files, then play them against a fresh agent."""
    specs = load_dialogues(Path(path))  # bad files fail before anything heavy loads
    run_settings = eval_settings(settings, "dialogues")
    runtime = load_runtime(run_settings)
    dataset = getattr(runtime, "dataset", None) or load_dataset(settings)
    validate_against_catalog(specs, dataset)
    result = run_dialogues(runtime.agent, specs, progress=progress)
    result["llm_backend"] = settings.llm_backend
    result["run_home"] = str(run_settings.home)  # this run's sessions (recbot.db), kept after the run
    return result


def held_out_settings(settings: Settings, name: str) -> Settings:
    """Settings of a held-out run: a new ``eval-runs/<name>-...`` home with its own index folder."""
    from eval.held_out_runtime import simulation_settings

    return simulation_settings(eval_settings(settings, name, shared=("models", "data")))


def held_out_agent(settings: Settings, run_settings: Settings, training: Dataset) -> ChatAgent:
    """The served agent of a :class:`~eval.held_out_runtime.HeldOutRuntime` over ``training`` in
    ``run_settings``' home (the chat's index, from ``settings``, only lends unchanged vectors)."""
    from eval.held_out_runtime import HeldOutRuntime
    from retrieval.index import ItemIndex

    return HeldOutRuntime(run_settings, training, reuse_index=ItemIndex(settings.retrieval_config())).agent


def run_simulation(
    settings: Settings, users: int, seed: int, progress: Progress | None = None
) -> dict[str, Any]:
    """Held-out simulated users against the served agent, the agent without critiques, and CF only.

    The agent is a :class:`~eval.held_out_runtime.HeldOutRuntime` over the training split (its own
    Chroma folder in the run's home; the chat's index only lends unchanged vectors), audited by
    :func:`~eval.held_out_runtime.leak_audit` before the first user speaks.
    """
    from eval.held_out_runtime import leak_audit
    from eval.simulate import evaluate_simulation

    dataset = load_dataset(settings)
    run_settings = held_out_settings(settings, "simulate")

    def make_agent(training: Dataset) -> ChatAgent:
        return held_out_agent(settings, run_settings, training)

    def make_cf(training: Dataset) -> CFScorer:
        return CFScorer(train_cf(training, settings), dataset)

    result = evaluate_simulation(
        dataset,
        make_agent,
        make_cf,
        users,
        seed,
        per_turn=settings.n_recommendations,
        progress=progress,
        tags=read_tags(settings.dataset_dir),
        audit=leak_audit,
    )
    result["llm_backend"] = settings.llm_backend
    result["dialogue_model"] = settings.dialogue_model
    result["run_home"] = str(run_settings.home)
    return result


def run_explanations(
    settings: Settings,
    path: Path,
    users: int,
    seed: int,
    progress: Progress | None = None,
    labelled: Path | None = None,
) -> tuple[dict[str, Any], list[Any], dict[str, Any]]:
    """Explanations shown in the scripted dialogues and to ``users`` simulated users (eval/explanations.py).

    Returns the figures, every shown explanation (:class:`eval.explanations.Shown`) and, per run, the
    data its claims are checked against (:class:`eval.claim_check.MovieLens`: the simulation's agent is
    built without the simulated users, so its counts are checked without them).
    """
    import random

    from eval.claim_check import MovieLens
    from eval.explanations import LABELLED, RecordingAgent, evaluate_explanations, load_labelled
    from eval.simulate import held_out_split, run_agent_episode
    from eval.simulated_user import SimulatedUser

    specs = load_dialogues(Path(path))
    dataset = load_dataset(settings)
    validate_against_catalog(specs, dataset)
    dialogue_agent = load_runtime(eval_settings(settings, "explanations")).agent if specs else None
    sim_agent = None
    profiles: list[Any] = []
    if users > 0:
        training, profiles = held_out_split(dataset, users, seed, tags=read_tags(settings.dataset_dir))
        sim_agent = held_out_agent(settings, held_out_settings(settings, "explanations-sim"), training)

    def simulation(agent: RecordingAgent) -> None:
        for k, profile in enumerate(profiles):
            agent.name = f"user {profile.user_id}"
            run_agent_episode(agent, SimulatedUser(profile, rng=random.Random(seed * 1000 + k)))  # type: ignore[arg-type]

    ml = MovieLens.load(settings.dataset_dir)
    # The simulation's agent never saw the simulated users: its figures are checked against that data.
    held = frozenset(p.user_id for p in profiles)
    sim_ml = MovieLens.load(settings.dataset_dir, held) if profiles else None
    result, shown = evaluate_explanations(
        dialogue_agent,
        specs,
        simulation if profiles else None,
        sim_agent,
        ml,
        load_labelled(labelled or LABELLED),
        progress,
        sim_ml=sim_ml,
    )
    result.update(
        {
            "llm_backend": settings.llm_backend,
            # off: free text, validated afterwards (finite-choice decoding or GBNF when on)
            "llm_grammar": settings.llm_grammar,
            "n_dialogues": len(specs),
            "n_users": len(profiles),
            "seed": seed,
            "simulate_checked_without_users": sorted(p.user_id for p in profiles),
        }
    )
    return result, shown, {"dialogues": ml, "simulate": sim_ml or ml}
