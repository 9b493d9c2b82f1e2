"""The OpenAI-compatible backend: ``ChatOpenAI`` against a local llama.cpp server, vLLM, etc.

No grammar here (servers spell it differently); its output is validated like any other.
The request timeout is ``settings.llm_timeout_s`` and retries are off, so a dead server turns
into an :class:`~bot.explain.llm.base.LLMError` quickly and the caller falls back to templates.
"""

from __future__ import annotations

from langchain_openai import ChatOpenAI

from bot.explain.llm.base import LLMError
from bot.settings import Settings


def load_openai(settings: Settings) -> ChatOpenAI:
    if not settings.openai_base_url:
        raise LLMError(
            "llm_backend='openai' needs RECBOT_OPENAI_BASE_URL (e.g. http://127.0.0.1:8080/v1)",
            "load",
            "openai",
        )
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return ChatOpenAI(
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        api_key=key,  # type: ignore[arg-type]
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,  # type: ignore[call-arg]
        timeout=settings.llm_timeout_s,
        max_retries=0,
        streaming=True,  # .stream() yields tokens; .invoke() collects them
    )
