"""A chat session with the dialogue model: it is built on first start, its evidence reaches "Why this?",
and what the person asked for still rules the list (the real agent, ReDial's dev dialogues as corpus)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from ui.cards import evidence_html
from ui.chat_logic import NEW_VISITOR, ChatController, Filters

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dialogue_runtime(built_settings: Settings, movielens_dir: Path) -> Iterator[Any]:
    from bot.runtime import Runtime

    corpus = movielens_dir.parent / "redial" / "dev_data.jsonl"
    if not corpus.exists():
        pytest.fail(f"{corpus} is missing: the dialogue model's corpus")
    settings = built_settings.model_copy(update={"dialogue_model": True, "dialogue_corpus": corpus})
    runtime = Runtime.from_settings(settings)
    runtime.agent  # noqa: B018 - builds the dialogue model now (no artifact in the built home yet)
    yield runtime
    runtime.close()


def turn(runtime: Any, message: str) -> Any:
    controller = ChatController(runtime.agent, n_cards=3)
    return list(controller.respond(message, [], None, {}, NEW_VISITOR, None, Filters()))[-1]


def test_the_dialogue_model_is_built_and_serves(dialogue_runtime: Any) -> None:
    health = dialogue_runtime.health()
    assert health["dialogue"]["status"] == "ok", health["dialogue"]
    assert dialogue_runtime.agent.blender.dialogue_model is not None


def test_why_this_shows_what_people_named_in_conversations(dialogue_runtime: Any) -> None:
    final = turn(dialogue_runtime, "I loved The Avengers and Iron Man")
    assert final.recs, final.history
    whys = [evidence_html(r.get("evidence") or {}) for r in final.recs]
    assert any("ReDial conversations" in w for w in whys), whys


@pytest.mark.parametrize(
    ("message", "check"),
    [
        ("somethign funy for tonight, a comdy", lambda r: "Comedy" in r["genres"]),
        (
            "nothing depressing please, I just want to laugh",
            lambda r: "Comedy" in r["genres"] and not {"Horror", "War"} & set(r["genres"]),
        ),
        ("a horror movie", lambda r: "Horror" in r["genres"]),
    ],
)
def test_explicit_requests_still_rule(dialogue_runtime: Any, message: str, check: Any) -> None:
    """ReDial's recommenders named Avengers: Infinity War a lot; it is still no comedy."""
    final = turn(dialogue_runtime, message)
    assert final.recs and all(check(r) for r in final.recs), [(r["title"], r["genres"]) for r in final.recs]


def test_a_topic_is_served_before_what_conversations_name_most(dialogue_runtime: Any) -> None:
    final = turn(dialogue_runtime, "something with dinosaurs in it")
    titles = [r["title"] for r in final.recs]
    assert any("Jurassic" in t or "Land Before Time" in t or "Dinosaur" in t for t in titles), titles


def test_a_changed_corpus_is_learned_again_at_start(
    dialogue_runtime: Any, movielens_dir: Path, tmp_path: Path
) -> None:
    """RECBOT_DIALOGUE_CORPUS naming another file, or the file changing, rebuilds at the next start;
    the same file unchanged loads the saved model."""
    from bot.runtime import Runtime

    lines = (movielens_dir.parent / "redial" / "dev_data.jsonl").read_text(encoding="utf-8").splitlines()
    small = tmp_path / "small.jsonl"
    small.write_text("\n".join(lines[:30]) + "\n", encoding="utf-8")
    settings = dialogue_runtime.settings.model_copy(update={"dialogue_corpus": small})

    def start() -> tuple[str, dict[str, Any]]:
        runtime = Runtime.from_settings(settings)
        try:
            runtime.agent  # noqa: B018 - loads (or builds) the dialogue model
            model = runtime.agent.blender.dialogue_model
            return runtime.health()["dialogue"]["detail"], model.summary["sources"]["corpus"]
        finally:
            runtime.close()

    detail, corpus = start()
    assert detail.startswith(f"built now from {small}") and corpus["dialogues"] == 30
    detail, _ = start()
    assert "examples from" in detail  # loaded, not learned again
    small.write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    detail, corpus = start()
    assert detail.startswith(f"built now from {small}") and corpus["dialogues"] == 40
