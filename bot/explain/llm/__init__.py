"""LLM backends behind one interface: ``load_llm(settings)`` returns a LangChain chat model or None.

Backends (``settings.llm_backend``): "llamacpp" (local GGUF, per-call GBNF grammar or list of
choices), "transformers" (any local model in bitsandbytes nf4, CUDA or CPU), "openai" (an
OpenAI-compatible server) and "template" (no LLM: explanations come from templates). Heavy
libraries are imported only by the backend that is used. Every failure surfaces as :class:`LLMError`.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from bot.explain.llm.base import (
    Backend,
    LLMError,
    backends,
    complete_text,
    register_backend,
    stream_text,
    supports_choices,
    supports_grammar,
)
from bot.settings import Settings


def _llamacpp(settings: Settings) -> BaseChatModel:
    from bot.explain.llm.llamacpp import load_llamacpp

    return load_llamacpp(settings)


def _transformers(settings: Settings) -> BaseChatModel:
    from bot.explain.llm.transformers_backend import load_transformers

    return load_transformers(settings)


def _openai(settings: Settings) -> BaseChatModel:
    from bot.explain.llm.openai_backend import load_openai

    return load_openai(settings)


register_backend(Backend("llamacpp", _llamacpp, supports_grammar=True))
register_backend(Backend("transformers", _transformers))
register_backend(Backend("openai", _openai))


def load_llm(settings: Settings) -> BaseChatModel | None:
    """The chat model named by ``settings.llm_backend``; None for "template".

    Raises :class:`LLMError` (kind "load") when the backend is unknown or its model cannot load.
    """
    name = settings.llm_backend
    if name == "template":
        return None
    registered = backends()
    if name not in registered:
        raise LLMError(
            f"unknown llm_backend {name!r}; known: template, {', '.join(sorted(registered))}", "load", name
        )
    try:
        return registered[name].load(settings)
    except LLMError:
        raise
    except ImportError as exc:
        message = f"backend {name!r} needs a package that is not installed: {exc}"
        raise LLMError(message, "load", name) from exc


__all__ = [
    "Backend",
    "LLMError",
    "backends",
    "complete_text",
    "load_llm",
    "register_backend",
    "stream_text",
    "supports_choices",
    "supports_grammar",
]
