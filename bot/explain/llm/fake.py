"""A chat model that replays queued replies: for unit tests of anything that calls the LLM.

Shared with other owners' tests (agent, UI): ``FakeChatModel(replies=["...", ...])``. Each call
takes the next reply (cycling when ``cycle=True``), streams it word by word, and records the
messages and keyword arguments it was called with. ``error`` makes every call raise it, and
``accepts_grammar=True`` / ``accepts_choices=True`` make the explainer send a grammar / a list of
choices (recorded in ``calls``; the replies are replayed as queued either way).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field


class FakeChatModel(BaseChatModel):
    """Replays ``replies`` in order; records every call in ``calls``."""

    replies: list[str] = Field(default_factory=list)
    cycle: bool = False
    error: Exception | None = None
    accepts_grammar: bool = False
    accepts_choices: bool = False
    calls: list[dict[str, Any]] = Field(default_factory=list)
    position: int = 0

    @property
    def _llm_type(self) -> str:
        return "fake-replay"

    def _next_reply(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
        self.calls.append({"messages": list(messages), "kwargs": dict(kwargs)})
        if self.error is not None:
            raise self.error
        if self.position >= len(self.replies):
            if not (self.cycle and self.replies):
                raise IndexError(f"FakeChatModel has no reply left (it had {len(self.replies)})")
            self.position = 0
        reply = self.replies[self.position]
        self.position += 1
        return reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._next_reply(messages, kwargs)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._next_reply(messages, kwargs)
        for piece in re.findall(r"\s*\S+", reply):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
