"""Runtime.warm_up: one pass through the LLM and the blend at start-up, never fatal."""

from __future__ import annotations

import pytest

from bot.explain.explainer import Explainer
from bot.explain.facts import facts_from
from bot.explain.llm.fake import FakeChatModel
from bot.explain.sentences import explanation_choices
from bot.runtime import Runtime
from bot.settings import Settings
from bot.types import Candidate
from tests.bot.llm_cases import ronin


class _Blender:
    def __init__(self) -> None:
        self.warmed = 0

    def warm_up(self) -> None:
        self.warmed += 1


def _runtime(settings: Settings, llm: FakeChatModel | None) -> tuple[Runtime, _Blender]:
    runtime = Runtime(settings)
    blender = _Blender()
    # Pre-seed the lazily built parts (cached properties) so no model or index is built here.
    runtime.__dict__.update(llm=llm, blender=blender, agent=object())
    return runtime, blender


def test_warm_up_runs_the_llm_and_the_blend_once(settings: Settings) -> None:
    llm = FakeChatModel(replies=["ok"])
    runtime, blender = _runtime(settings, llm)
    runtime.warm_up()
    assert blender.warmed == 1
    assert len(llm.calls) == 1


def test_a_failing_llm_does_not_stop_the_start(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    llm = FakeChatModel(error=RuntimeError("model file vanished"))
    runtime, blender = _runtime(settings, llm)
    runtime.warm_up()
    assert blender.warmed == 1
    assert "LLM warm-up failed" in caplog.text


class _BlenderWithPicks(_Blender):
    def blend(self, request: object) -> list[Candidate]:
        return [ronin()]


def test_warm_up_explains_one_candidate_when_the_blend_gives_one(settings: Settings) -> None:
    """The explanation path itself is warmed (its prompt prefix is what the first turn reuses)."""
    llm = FakeChatModel(replies=["Ronin is a crime film."], accepts_choices=True)
    runtime = Runtime(settings)
    blender = _BlenderWithPicks()
    runtime.__dict__.update(llm=llm, blender=blender, agent=object(), explainer=Explainer(llm, settings))
    runtime.warm_up()
    assert blender.warmed == 1 and len(llm.calls) == 1
    assert llm.calls[0]["kwargs"]["choices"] == explanation_choices(facts_from(ronin()))
