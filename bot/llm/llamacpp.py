"""The llama.cpp backend: LangChain's ``ChatLlamaCpp`` on a local GGUF, with a per-call grammar.

Two things in ``ChatLlamaCpp`` need care: it ignores a ``chat_format=`` argument (it goes in
``model_kwargs``), and it passes ``rope_freq_base=10000`` to ``Llama`` unless told otherwise, which
overrides the GGUF's own value (Gemma 3 uses 1e6) and quietly degrades the model; 0 means "from the
file". Its default ``n_batch=8`` also makes prompt evaluation several times slower than needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from langchain_community.chat_models import ChatLlamaCpp
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from bot.llm.base import LLMError
from bot.llm.formats import FEWSHOT_STOP, render_fewshot
from bot.llm.models import chat_format, model_path
from bot.settings import Settings

FEWSHOT_FORMAT = "recbot-fewshot"


def _format_fewshot(messages: list[dict[str, Any]], **_: Any) -> Any:
    """llama.cpp chat format for base (non-chat) models; see :mod:`bot.llm.formats`.

    The base Gemma 270M answers its own turn markers with noise; as a continuation of
    "facts / Explanation: ..." lines it writes on-topic sentences.
    """
    from llama_cpp.llama_chat_format import ChatFormatterResponse

    pairs = [(str(m["role"]), str(m.get("content") or "")) for m in messages]
    return ChatFormatterResponse(prompt=render_fewshot(pairs), stop=[FEWSHOT_STOP])


def _register_fewshot_format() -> None:
    from llama_cpp import llama_chat_format

    registry = llama_chat_format.LlamaChatCompletionHandlerRegistry()
    if FEWSHOT_FORMAT not in registry._chat_handlers:  # noqa: SLF001 - no public lookup exists
        llama_chat_format.register_chat_format(FEWSHOT_FORMAT)(_format_fewshot)


@lru_cache(maxsize=64)
def _compiled_grammar(text: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


def _with_grammar(kwargs: dict[str, Any]) -> dict[str, Any]:
    grammar = kwargs.get("grammar")
    if isinstance(grammar, str):
        try:
            kwargs = {**kwargs, "grammar": _compiled_grammar(grammar)}
        except ValueError as exc:
            raise LLMError(f"invalid GBNF grammar: {exc}", "failure", "llama.cpp") from exc
    return kwargs


class GrammarChatLlamaCpp(ChatLlamaCpp):
    """``ChatLlamaCpp`` that also accepts ``grammar=<GBNF text>`` on each call (compiled once)."""

    accepts_grammar: bool = True

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return super()._generate(messages, stop, run_manager, **_with_grammar(kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from super()._stream(messages, stop, run_manager, **_with_grammar(kwargs))


def load_llamacpp(settings: Settings) -> GrammarChatLlamaCpp:
    """Load the GGUF named by the settings (default: the packaged model)."""
    path = model_path(settings)
    try:
        _register_fewshot_format()
        return GrammarChatLlamaCpp(
            model_path=str(path),
            n_ctx=settings.llm_context,
            n_threads=settings.llm_threads,
            n_batch=512,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            repeat_penalty=1.1,
            seed=settings.seed,
            verbose=False,
            model_kwargs={
                "chat_format": chat_format(settings, path),
                "rope_freq_base": 0.0,
                "rope_freq_scale": 0.0,
            },
        )
    except (ValueError, ImportError) as exc:
        raise LLMError(f"could not load {path} with llama.cpp: {exc}", "load", "llama.cpp") from exc
