"""A stand-in for recbot's LLM worker: the real protocol (``worker.serve_requests``), no model.

Started by :class:`bot.explain.llm.supervisor.LLMSupervisor` in the unit tests with
``command=fake_worker_command()``. What it does is chosen by the init fields and the last message:

* init ``{"load": "error"}``: reports a load error; ``{"load": "crash"}``: SIGSEGV while loading;
* a message containing "crash": sends one chunk, then raises SIGSEGV on itself (a real native
  crash: the process dies by the signal); "hang": sends one chunk and never answers again;
* otherwise it replies ``choices[0]`` when given choices, else "pid <pid> says hello." word by word.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from bot.explain.llm.worker import WORKER_ARG, serve_requests


def fake_worker_command() -> list[str]:
    return [sys.executable, "-m", "tests.bot.fake_llm_worker", WORKER_ARG]


class ScriptedModel(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        last = str(messages[-1].content)
        reply = kwargs["choices"][0] if kwargs.get("choices") else f"pid {os.getpid()} says hello."
        for n, piece in enumerate(re.findall(r"\s*\S+", reply)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if n == 0 and "crash" in last:
                os.kill(os.getpid(), signal.SIGSEGV)
            if n == 0 and "hang" in last:
                time.sleep(3600)
            if "slow" in last:
                time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(WORKER_ARG, action="store_true", required=True)
    parser.add_argument("--fd", type=int, required=True)
    args = parser.parse_args()
    conn = Connection(args.fd)
    _, fields = conn.recv()
    if fields.get("load") == "error":
        conn.send(("load_error", "ValueError: no such model"))
        return 1
    if fields.get("load") == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    conn.send(("ready", {"model": "scripted", "extra_buffers": False}))
    return serve_requests(conn, ScriptedModel())


if __name__ == "__main__":
    sys.exit(main())
