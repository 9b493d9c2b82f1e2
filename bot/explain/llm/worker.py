"""recbot's LLM worker: a process of its own that owns the llama.cpp model and answers over a pipe.

A native crash in llama.cpp (a segfault in a CPU kernel, an abort) kills the process it happens
in. Here that is this worker, not the web server or the CLI: :mod:`bot.explain.llm.supervisor` starts it
as a fresh interpreter (``python -m bot.explain.llm.worker --recbot-llm-worker --fd N``; never a fork of
the server), sees it die, turns the call in progress into :class:`~bot.explain.llm.base.LLMError` (template
explanations for that turn) and starts a new one.

Protocol: pickled tuples over a :class:`multiprocessing.connection.Connection` on one end of a
socket pair (fd ``N``), one request at a time:

* supervisor -> worker: ``("init", settings_fields)`` once, then ``("generate", id, messages,
  kwargs)``, ``("cancel", id)`` (the caller stopped reading), ``("echo", id, messages, kwargs)``
  (answered with ``end`` at once: the transport's own cost) and ``("stop",)``;
* worker -> supervisor: ``("ready", info)`` or ``("load_error", message)`` once, then per request
  ``("chunk", id, text)``... and ``("end", id)`` or ``("error", id, kind, message)``.

Generation runs the ordinary chat model in here (:class:`~bot.explain.llm.llamacpp.GrammarChatLlamaCpp`:
finite-choice decoding, GBNF grammars, free text), so the worker and the in-process path answer
alike. The worker exits when the supervisor's end of the pipe closes (the parent died).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from langchain_core.language_models import BaseChatModel

WORKER_ARG = "--recbot-llm-worker"  # in the command line, so `ps` shows what the process is


def serve_requests(conn: Connection, model: BaseChatModel) -> int:
    """Answer generation requests with ``model`` until told to stop or the pipe closes; 0."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return 0
        if message[0] == "stop":
            return 0
        if message[0] == "echo":  # the transport alone, for bench/bench_turn.py's IPC cost
            conn.send(("end", message[1]))
            continue
        if message[0] != "generate":
            continue  # a "cancel" for a request that had already ended
        _, request_id, messages, kwargs = message
        if _answer(conn, model, request_id, messages, kwargs) == "stop":
            return 0


def _answer(conn: Connection, model: BaseChatModel, request_id: int, messages: Any, kwargs: dict) -> str:
    """Stream one reply; "stop" when the supervisor asked the worker to exit meanwhile."""
    from bot.explain.llm.base import LLMError

    stream: Iterator[Any] = iter(())
    try:
        stream = model.stream(messages, **kwargs)
        for chunk in stream:
            text = chunk.content if isinstance(chunk.content, str) else str(chunk.content)
            if text:
                conn.send(("chunk", request_id, text))
            if conn.poll():  # the caller stopped reading (or the supervisor wants us gone)
                order = conn.recv()
                if order[0] == "stop":
                    return "stop"
                if order[0] == "cancel" and order[1] == request_id:
                    break
        conn.send(("end", request_id))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return "stop"
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller as its error
        kind = exc.kind if isinstance(exc, LLMError) else "failure"
        conn.send(("error", request_id, kind, f"{type(exc).__name__}: {exc}"))
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return "ok"


def load_model(fields: dict[str, Any]) -> tuple[BaseChatModel, dict[str, Any]]:
    """The llama.cpp chat model for these settings, warmed up, and what was loaded (for health)."""
    from bot.explain.llm.extra_buffers import has_amx, loaded_with_extra_buffers, read_cpuinfo
    from bot.explain.llm.llamacpp import load_llamacpp
    from bot.settings import Settings

    settings = Settings(**fields)
    model = load_llamacpp(settings)
    # The first generation maps buffers and builds the compute graph (seconds); it is also where
    # a broken CPU kernel crashes. Both happen here, before the worker says it is ready.
    model.invoke("Hello", max_tokens=4)
    info = {
        "model": str(model.model_path),
        "extra_buffers": loaded_with_extra_buffers(model.client),
        "amx": has_amx(read_cpuinfo()),
    }
    return model, info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="recbot LLM worker (see bot.explain.llm.supervisor)")
    parser.add_argument(WORKER_ARG, dest="worker", action="store_true", required=True)
    parser.add_argument("--fd", type=int, required=True, help="this end of the supervisor's socket pair")
    args = parser.parse_args(argv)
    conn = Connection(args.fd)
    try:
        kind, fields = conn.recv()
    except (EOFError, OSError):
        return 0
    if kind != "init":
        return 2
    try:
        model, info = load_model(fields)
    except Exception as exc:  # noqa: BLE001 - reported to the supervisor, which does not retry it
        conn.send(("load_error", f"{type(exc).__name__}: {exc}"))
        return 1
    conn.send(("ready", info))
    return serve_requests(conn, model)


if __name__ == "__main__":
    sys.exit(main())
