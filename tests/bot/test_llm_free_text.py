"""Issue 15 item 3, the free-text path: a configured model writes its own sentences (no grammar, no
finite choices), and nothing reaches the user unless it parses into the same bound facts.

No larger model exists offline, so the path runs with the packaged ones: the packaged Gemma GGUF
in-process through llama.cpp with ``llm_grammar`` off, and the packaged SmolLM2 behind llama.cpp's
own OpenAI-compatible server (``python -m llama_cpp.server``) through the openai backend, which never
sends a grammar. Either way every explanation shown as the LLM's passes the validator against its
candidate's facts, and every other one is a template with the reason recorded (the validator's
first problem, or the LLM failure).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.explain.explainer import Explainer, Explanation
from bot.explain.facts import facts_from
from bot.explain.llm import load_llm
from bot.explain.llm.models import packaged_model_path
from bot.explain.validator import validate_facts
from bot.settings import Settings
from bot.types import Candidate
from tests.bot.llm_cases import amelie, bare, real_llamacpp_settings, ronin, ronin_for_user, terminator
from tests.ui.replica_stack import llm_server

pytestmark = pytest.mark.slow

TIMEOUT_S = 120.0  # generous: the point is what is shown, not how fast (2 shared cores)


def candidates() -> list[Candidate]:
    return [ronin(), ronin_for_user(), amelie(), terminator(), bare()]


def check_free_text(explainer: Explainer, shown: Sequence[Candidate]) -> list[Explanation]:
    assert explainer.constraint is None and explainer.llm_path == "llm"  # free text, no grammar
    results = [explainer.explain(c) for c in shown]
    for candidate, result in zip(shown, results, strict=True):
        facts = facts_from(candidate)
        check = validate_facts(result.text, facts)
        assert check.ok, (result.text, check.problems)
        if result.source == "llm":
            assert result.path == "llm" and result.reason is None and result.llm_text
            assert " ".join(result.text.split()) in " ".join(result.llm_text.split())  # the model's own words
        else:
            # a template, and why: the validator's first problem, or how the LLM failed
            assert result.reason and result.reason.startswith(("invalid:", "llm_error:")), result.reason
            if result.reason.startswith("invalid:"):
                assert result.llm_text and result.problems, result
                assert not validate_facts(result.llm_text.strip(), facts).ok
    assert any(r.llm_text for r in results), "the model was never asked"
    for r in results:
        print(f"  {r.source:8} {r.reason or '':32} {r.text!r}  <- {r.llm_text!r}")
    return results


def test_packaged_gguf_free_text_is_shown_only_when_it_validates(settings: Settings) -> None:
    real = real_llamacpp_settings(settings, "gemma", timeout_s=TIMEOUT_S)
    real = real.model_copy(update={"llm_grammar": False})
    llm = load_llm(real)
    assert llm is not None
    check_free_text(Explainer(llm, real), candidates())


def test_openai_backend_against_llamacpp_server_free_text(settings: Settings, tmp_path: Path) -> None:
    server = llm_server(packaged_model_path("smollm2", settings), tmp_path / "llm.log", threads=2)
    server.start()
    try:
        real = settings.model_copy(
            update={
                "llm_backend": "openai",
                "openai_base_url": f"{server.url}/v1",
                "openai_model": "local",
                "llm_timeout_s": TIMEOUT_S,
                "explain_timeout_s": TIMEOUT_S,
            }
        )
        llm = load_llm(real)
        assert llm is not None
        results = check_free_text(Explainer(llm, real), candidates())
    finally:
        server.stop()
    assert "POST /v1/chat/completions" in server.log_path.read_text(errors="replace"), "server not asked"
    assert len(results) == len(candidates())
