"""The llama.cpp backend: LangChain's ``ChatLlamaCpp`` on a local GGUF, with per-call constraints.

Each call may constrain the reply: ``grammar=<GBNF text>`` (llama.cpp's own grammar sampler) or
``choices=[text, ...]`` (the reply is exactly one of the texts, decoded by :mod:`bot.explain.llm.choices`
with forced tokens evaluated in batches: several times faster than the grammar for the same
sentences).

Two things in ``ChatLlamaCpp`` need care: it ignores a ``chat_format=`` argument (it goes in
``model_kwargs``), and it passes ``rope_freq_base=10000`` to ``Llama`` unless told otherwise, which
overrides the GGUF's own value (Gemma 3 uses 1e6) and quietly degrades the model; 0 means "from the
file". Its default ``n_batch=8`` also makes prompt evaluation several times slower than needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from langchain_community.chat_models import ChatLlamaCpp
from langchain_community.chat_models.llamacpp import _convert_message_to_dict
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from bot.explain.llm.base import LLMError
from bot.explain.llm.choices import Choice, TokenTrie, decode_choice
from bot.explain.llm.formats import FEWSHOT_STOP, render_fewshot
from bot.explain.llm.models import chat_format, model_path
from bot.settings import Settings

FEWSHOT_FORMAT = "recbot-fewshot"


def _format_fewshot(messages: list[dict[str, Any]], **_: Any) -> Any:
    """llama.cpp chat format for base (non-chat) models; see :mod:`bot.explain.llm.formats`.

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


class _PromptCaptured(Exception):
    def __init__(self, prompt: list[int]) -> None:
        super().__init__("prompt captured")
        self.prompt = prompt


class _PromptRecorder:
    """Stands in for the model inside a llama.cpp chat handler: keeps the prompt, generates nothing.

    The handlers render the chat template and tokenize it, then call ``create_completion``; this
    is how the choice decoder gets exactly the prompt that ordinary generation would use, for any
    chat format (built-in, registered or the GGUF's own template).
    """

    verbose = False

    def __init__(self, llama: Any) -> None:
        self._llama = llama

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(self._llama.tokenize(text, add_bos=add_bos, special=special))

    def create_completion(self, prompt: list[int], **_: Any) -> Any:
        raise _PromptCaptured(list(prompt))


def chat_prompt_tokens(llama: Any, messages: list[dict[str, Any]]) -> list[int]:
    """The tokens llama.cpp would evaluate for ``messages`` under the model's chat format."""
    from llama_cpp import llama_chat_format

    handler = (
        llama.chat_handler
        or getattr(llama, "_chat_handlers", {}).get(llama.chat_format)  # a GGUF-embedded template
        or llama_chat_format.get_chat_completion_handler(llama.chat_format)
    )
    try:
        handler(llama=_PromptRecorder(llama), messages=messages)
    except _PromptCaptured as captured:
        return captured.prompt
    raise LLMError(f"chat format {llama.chat_format!r} produced no prompt", "failure", "llama.cpp")


class _LlamaLogits:
    """:class:`bot.explain.llm.choices.LogitsModel` over a ``llama_cpp.Llama`` holding ``prompt``.

    The prompt's longest prefix already in the KV cache is reused (the static instructions and
    examples come first in every explanation prompt), as ``Llama.generate`` does; at least the last
    prompt token is evaluated so that its logits are live.
    """

    def __init__(self, llama: Any, prompt: Sequence[int]) -> None:
        if len(prompt) >= llama.n_ctx():
            raise LLMError(f"prompt of {len(prompt)} tokens exceeds n_ctx", "failure", "llama.cpp")
        common = min(llama.longest_token_prefix(llama.input_ids[: llama.n_tokens], prompt), len(prompt) - 1)
        llama.n_tokens = common
        llama.eval(list(prompt[common:]))
        self.llama = llama
        self.prompt_evaluated = len(prompt) - common

    def extend(self, tokens: Sequence[int]) -> None:
        if self.llama.n_tokens + len(tokens) > self.llama.n_ctx():
            raise LLMError("reply does not fit the context window", "failure", "llama.cpp")
        self.llama.eval(list(tokens))

    def logits(self) -> np.ndarray:
        import llama_cpp

        pointer = llama_cpp.llama_get_logits_ith(self.llama.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self.llama.n_vocab(),))


class GrammarChatLlamaCpp(ChatLlamaCpp):
    """``ChatLlamaCpp`` that also accepts ``grammar=<GBNF text>`` or ``choices=[...]`` on each call."""

    accepts_grammar: bool = True
    accepts_choices: bool = True

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if kwargs.get("choices") is not None:
            text = "".join(c.text for c in self._stream(messages, stop, run_manager, **kwargs))
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])
        return super()._generate(messages, stop, run_manager, **_with_grammar(kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        choices = kwargs.pop("choices", None)
        if choices is not None:
            yield from self._stream_choice(messages, list(choices), run_manager)
            return
        yield from super()._stream(messages, stop, run_manager, **_with_grammar(kwargs))

    def _stream_choice(
        self,
        messages: list[BaseMessage],
        choices: list[str],
        run_manager: CallbackManagerForLLMRun | None,
    ) -> Iterator[ChatGenerationChunk]:
        """Stream the one of ``choices`` the model prefers (see :mod:`bot.explain.llm.choices`)."""
        if not choices:
            raise LLMError("choices is empty", "failure", "llama.cpp")
        llama = self.client
        sequences = [llama.tokenize(text.encode("utf-8"), add_bos=False, special=False) for text in choices]
        try:
            trie = TokenTrie.build(sequences)
        except ValueError as exc:
            raise LLMError(f"invalid choices: {exc}", "failure", "llama.cpp") from exc
        # The same message conversion ChatLlamaCpp uses, so the prompt is the ordinary path's.
        message_dicts = [_convert_message_to_dict(m) for m in messages]
        model = _LlamaLogits(llama, chat_prompt_tokens(llama, message_dicts))
        emitted, raw = "", b""
        temperature = float(self.temperature or 0.0)
        for step in decode_choice(
            model, trie, end_token=llama.token_eos(), temperature=temperature, seed=self.seed
        ):
            if isinstance(step, Choice):
                text = choices[step.option]
                piece = text[len(emitted) :] if text.startswith(emitted) else ""
            else:
                raw += llama.detokenize(step)
                decoded = raw.decode("utf-8", errors="ignore")
                piece = decoded[len(emitted) :]
            if piece:
                emitted += piece
                if run_manager is not None:
                    run_manager.on_llm_new_token(piece)
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


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
                "n_threads_batch": settings.llm_batch_threads or settings.llm_threads,
            },
        )
    except (ValueError, ImportError) as exc:
        raise LLMError(f"could not load {path} with llama.cpp: {exc}", "load", "llama.cpp") from exc
