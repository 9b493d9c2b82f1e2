"""What every LLM backend shares: the error type, the registry and a deadline-aware text stream.

A backend is a function ``settings -> BaseChatModel`` registered under a name; the model it
returns is an ordinary LangChain chat model, so prompts are LangChain templates and ``.stream``
works everywhere. :func:`stream_text` is how recbot calls any of them: it turns every failure and
an overrun of ``timeout_s`` into :class:`LLMError`, so the caller can fall back to templates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from bot.settings import Settings

LLMErrorKind = Literal["load", "timeout", "failure"]


class LLMError(RuntimeError):
    """The LLM could not be loaded, failed, or ran past its deadline. ``kind`` says which."""

    def __init__(self, message: str, kind: LLMErrorKind = "failure", backend: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.backend = backend


class ChatModel(Protocol):
    """What recbot calls on an LLM backend's model (a LangChain chat model).

    What a backend can do beyond plain text is declared on the model as class attributes, read by
    :func:`supports_grammar` and :func:`supports_choices`: ``accepts_grammar`` (a per-call GBNF
    ``grammar=``) and ``accepts_choices`` (a per-call ``choices=[...]``).
    """

    def stream(
        self, input: Any, config: Any = None, *, stop: list[str] | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """The reply as message chunks (``.content`` text)."""
        ...

    def invoke(self, input: Any, config: Any = None, *, stop: list[str] | None = None, **kwargs: Any) -> Any:
        """The whole reply as one message."""
        ...


@dataclass(frozen=True)
class Backend:
    """One registered backend: its name and its loader."""

    name: str
    load: Callable[[Settings], BaseChatModel]


_BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> None:
    """Add (or replace) a backend; the built-in ones register through this same call."""
    _BACKENDS[backend.name] = backend


def backends() -> dict[str, Backend]:
    return dict(_BACKENDS)


def supports_grammar(llm: ChatModel) -> bool:
    """True when ``llm.stream(..., grammar=gbnf_text)`` constrains generation."""
    return bool(getattr(llm, "accepts_grammar", False))


def supports_choices(llm: ChatModel) -> bool:
    """True when ``llm.stream(..., choices=[text, ...])`` replies with exactly one of the texts."""
    return bool(getattr(llm, "accepts_choices", False))


def stream_text(
    llm: ChatModel,
    messages: Sequence[BaseMessage],
    *,
    timeout_s: float,
    **kwargs: Any,
) -> Iterator[str]:
    """Yield the text chunks of ``llm``'s reply; raise :class:`LLMError` on failure or timeout.

    The deadline is checked between chunks and generation is stopped (the stream is closed) when it
    passes; backends with a network call also get ``timeout_s`` as their own request timeout.
    """
    name = getattr(llm, "_llm_type", type(llm).__name__)
    deadline = time.monotonic() + timeout_s
    try:
        stream = llm.stream(list(messages), **kwargs)
    except Exception as exc:  # noqa: BLE001 - any backend failure becomes one precise error
        raise LLMError(
            f"{name}: could not start generation: {type(exc).__name__}: {exc}", "failure", name
        ) from exc
    try:
        for chunk in stream:
            text = chunk.content if isinstance(chunk.content, str) else str(chunk.content)
            if text:
                yield text
            if time.monotonic() > deadline:
                raise LLMError(f"{name}: no complete reply within {timeout_s:.2f} s", "timeout", name)
    except LLMError:
        raise
    except Exception as exc:  # noqa: BLE001
        kind: LLMErrorKind = "timeout" if "timeout" in type(exc).__name__.lower() else "failure"
        raise LLMError(f"{name}: generation failed: {type(exc).__name__}: {exc}", kind, name) from exc
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def complete_text(llm: ChatModel, messages: Sequence[BaseMessage], *, timeout_s: float, **kwargs: Any) -> str:
    """The whole reply of :func:`stream_text` as one string."""
    return "".join(stream_text(llm, messages, timeout_s=timeout_s, **kwargs))


def chat_result(text: str) -> ChatResult:
    """A one-message ``ChatResult``: what a backend's ``_generate`` returns for ``text``."""
    return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def joined(chunks: Iterable[ChatGenerationChunk]) -> ChatResult:
    """``_generate`` of a backend that streams: the chunks of its ``_stream`` joined into one reply."""
    return chat_result("".join(str(c.message.content) for c in chunks))
