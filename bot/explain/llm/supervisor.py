"""Keep recbot's LLM worker (:mod:`bot.explain.llm.worker`) running, and talk to it.

:class:`LLMSupervisor` starts the worker, sends it one generation request at a time and streams the
reply back chunk by chunk (a pickled tuple per chunk over a socket pair: tens of microseconds, no
process start per call). When the worker dies (SIGSEGV in llama.cpp, SIGKILL from the OOM killer
or an operator) the request in progress raises :class:`~bot.explain.llm.base.LLMError`, so the explainer
uses templates for that turn; a background thread starts a new worker after a back-off (0.5 s,
doubling to 30 s while it keeps dying) and the next turns use the LLM again once it is ready.
Calls while it is restarting fail at once (templates), never wait.

:class:`WorkerChatModel` is the LangChain chat model the rest of recbot sees: it accepts
``choices=`` and ``grammar=`` like the in-process llama.cpp model, so :mod:`bot.explain` does not
know the difference.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

import bot
from bot.explain.llm.base import LLMError
from bot.explain.llm.worker import WORKER_ARG

log = logging.getLogger("recbot.explain.llm.supervisor")

BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # wait before restart n (the last one repeats)
CRASH_WINDOW_S = 300.0
CRASH_LOOP = 3  # this many deaths within CRASH_WINDOW_S: "keeps dying"
NAME = "llama.cpp worker"


def worker_command() -> list[str]:
    """The real worker's command line (its file descriptor is appended by the supervisor)."""
    return [sys.executable, "-m", "bot.explain.llm.worker", WORKER_ARG]


def death_reason(returncode: int | None) -> str:
    """'worker died with SIGSEGV' / 'worker exited with status 1' from a Popen return code."""
    if returncode is None:
        return "worker stopped answering"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"worker died with {name}"
    return f"worker exited with status {returncode}"


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    conn: Connection
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid


class LLMSupervisor:
    """One supervised worker process for ``settings_fields`` (a dict of Settings fields).

    ``command`` is the worker's command line without ``--fd`` (tests pass a fake worker that
    speaks the same protocol); ``reply_timeout_s`` is how long a request may go without a message
    from the worker before it is considered hung, killed and restarted.
    """

    def __init__(
        self,
        settings_fields: dict[str, Any],
        *,
        command: Sequence[str] | None = None,
        start_timeout_s: float = 120.0,
        reply_timeout_s: float = 20.0,
        backoff_s: Sequence[float] = BACKOFF_S,
    ) -> None:
        self.settings_fields = dict(settings_fields)
        self.command = list(command or worker_command())
        self.start_timeout_s = start_timeout_s
        self.reply_timeout_s = reply_timeout_s
        self.backoff_s = tuple(backoff_s)
        self.status = "stopped"  # stopped | starting | ok | restarting | failed
        self.detail = "not started"
        self.restarts = 0
        self.deaths: deque[float] = deque(maxlen=50)
        self.last_death = ""
        self._worker: _Worker | None = None
        self._failures = 0  # deaths since the last answered request: chooses the back-off
        self._call_lock = threading.Lock()  # one request at a time: the worker has one model
        self._state_lock = threading.Lock()
        self._restart_thread: threading.Thread | None = None
        self._closed = False
        self._ids = itertools.count(1)
        atexit.register(self.close)

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker and wait until it is ready.

        Raises :class:`LLMError` (kind "load") when the worker reports that the model cannot load
        (a missing or broken file: restarting would not help). A worker that *dies* while loading
        (a native crash) is restarted in the background like any other death; this returns and
        the LLM reports degraded meanwhile.
        """
        self.status, self.detail = "starting", "starting the worker"
        try:
            worker = self._spawn()
        except _WorkerDied as died:
            self._on_death(None, died.reason)
            return
        self._set_ready(worker)

    def close(self) -> None:
        """Stop the worker (and any restart); safe to call twice."""
        self._closed = True
        with self._state_lock:
            worker, self._worker = self._worker, None
            self.status, self.detail = "stopped", "stopped"
        if worker is not None:
            _stop(worker)

    @property
    def pid(self) -> int | None:
        worker = self._worker
        return worker.pid if worker is not None else None

    def health(self) -> dict[str, str]:
        """{"status": "ok" | "degraded", "detail": ...}; notices a worker that died between calls."""
        worker = self._worker
        if worker is not None and worker.proc.poll() is not None:
            self._on_death(worker, death_reason(worker.proc.returncode))
        status = "ok" if self.status == "ok" else "degraded"
        return {"status": status, "detail": self.detail}

    # --- calls --------------------------------------------------------------------------------
    def generate(
        self, messages: list[BaseMessage], kwargs: dict[str, Any], timeout_s: float
    ) -> Iterator[str]:
        """Yield the reply's text chunks from the worker; :class:`LLMError` when it cannot answer."""
        if not self._call_lock.acquire(timeout=timeout_s):
            raise LLMError(f"{NAME}: busy for {timeout_s:.1f} s", "timeout", NAME)
        try:
            worker = self._worker
            if worker is None or self.status != "ok":
                raise LLMError(f"{NAME} not available: {self.detail}", "failure", NAME)
            yield from self._exchange(worker, messages, kwargs)
        finally:
            self._call_lock.release()

    def round_trip(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> float:
        """Seconds to send a request of this size to the worker and get its answer, no model work."""
        with self._call_lock:
            worker = self._worker
            if worker is None or self.status != "ok":
                raise LLMError(f"{NAME} not available: {self.detail}", "failure", NAME)
            request_id = next(self._ids)
            start = time.perf_counter()
            worker.conn.send(("echo", request_id, messages, kwargs))
            while self._receive(worker)[1] != request_id:
                pass
            return time.perf_counter() - start

    def _exchange(
        self, worker: _Worker, messages: list[BaseMessage], kwargs: dict[str, Any]
    ) -> Iterator[str]:
        request_id = next(self._ids)
        finished = False
        try:
            worker.conn.send(("generate", request_id, messages, kwargs))
            while True:
                message = self._receive(worker)
                if message[1] != request_id:
                    continue  # the tail of a request that was cancelled
                if message[0] == "chunk":
                    yield message[2]
                elif message[0] == "end":
                    finished = True
                    self._failures = 0
                    return
                elif message[0] == "error":
                    finished = True
                    raise LLMError(f"{NAME}: {message[3]}", message[2], NAME)
        finally:
            if not finished and self._worker is worker:
                self._cancel(worker, request_id)

    def _receive(self, worker: _Worker) -> tuple[Any, ...]:
        try:
            if worker.conn.poll(self.reply_timeout_s):
                return worker.conn.recv()  # type: ignore[no-any-return]
        except (EOFError, OSError):
            reason = death_reason(_wait(worker.proc))
            self._on_death(worker, reason)
            raise LLMError(f"{NAME}: {reason} during generation", "failure", NAME) from None
        _kill(worker)
        self._on_death(worker, f"worker sent nothing for {self.reply_timeout_s:.0f} s (killed)")
        raise LLMError(f"{NAME}: no answer within {self.reply_timeout_s:.0f} s", "timeout", NAME)

    def _cancel(self, worker: _Worker, request_id: int) -> None:
        """The caller stopped reading: tell the worker, and read until its request has ended."""
        try:
            worker.conn.send(("cancel", request_id))
            while True:
                message = self._receive(worker)
                if message[1] == request_id and message[0] in ("end", "error"):
                    return
        except (LLMError, OSError):
            return  # it died or hung meanwhile: already handled by _receive

    # --- workers --------------------------------------------------------------------------------
    def _spawn(self) -> _Worker:
        """A new worker process, loaded and ready; :class:`_WorkerDied` if it dies first."""
        mine, theirs = socket.socketpair()
        env = dict(os.environ)
        # The worker imports the same recbot code as this process, whatever put it on sys.path.
        code_root = str(Path(bot.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (code_root, env.get("PYTHONPATH", "")) if p)
        try:
            proc = subprocess.Popen(
                [*self.command, "--fd", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=2,  # never this process's stdout: `recbot chat --json` prints JSON there
                env=env,
            )
        finally:
            theirs.close()  # only the child holds it now: its death closes the pipe
        conn = Connection(mine.detach())
        worker = _Worker(proc, conn)
        try:
            conn.send(("init", self.settings_fields))
            if not conn.poll(self.start_timeout_s):
                _kill(worker)
                raise _WorkerDied(f"worker did not load within {self.start_timeout_s:.0f} s (killed)")
            message = conn.recv()
        except (EOFError, OSError):
            raise _WorkerDied(death_reason(_wait(proc)) + " while loading") from None
        if message[0] == "load_error":
            _stop(worker)
            self.status, self.detail = "failed", f"the model does not load: {message[1]}"
            raise LLMError(f"{NAME}: the model does not load: {message[1]}", "load", NAME)
        worker.info = dict(message[1])
        return worker

    def _set_ready(self, worker: _Worker) -> None:
        with self._state_lock:
            if self._closed:
                _stop(worker)
                return
            self._worker = worker
            self.status = "ok"
            buffers = worker.info.get("extra_buffers")
            what = f"{worker.info.get('model', '?')}, extra buffers {'on' if buffers else 'off'}"
            after = f"; restarted {self.restarts}x, last: {self.last_death}" if self.restarts else ""
            self.detail = f"llamacpp in worker pid {worker.pid} ({what}){after}"
        log.info("LLM worker ready: %s", self.detail)

    def _on_death(self, worker: _Worker | None, reason: str) -> None:
        """Record a death and start the restart thread (once per death)."""
        with self._state_lock:
            if worker is not None and self._worker is not worker:
                return  # this death was already handled
            self._worker = None
            if worker is not None:
                worker.conn.close()
            if self._closed:
                return
            now = time.monotonic()
            self.deaths.append(now)
            self._failures += 1
            self.last_death = reason
            recent = sum(1 for t in self.deaths if now - t <= CRASH_WINDOW_S)
            wait = self.backoff_s[min(self._failures - 1, len(self.backoff_s) - 1)]
            self.status = "restarting"
            if recent >= CRASH_LOOP:
                self.detail = (
                    f"worker keeps dying ({recent} times in {CRASH_WINDOW_S:.0f} s; last: {reason}); "
                    f"restarting in {wait:.1f} s; templates meanwhile"
                )
            else:
                self.detail = f"{reason}, restarting; templates meanwhile"
            log.error("LLM %s; restarting in %.1f s", reason, wait)
            if self._restart_thread is None or not self._restart_thread.is_alive():
                self._restart_thread = threading.Thread(
                    target=self._restart, args=(wait,), name="recbot-llm-restart", daemon=True
                )
                self._restart_thread.start()

    def _restart(self, wait: float) -> None:
        while not self._closed:
            time.sleep(wait)
            if self._closed:
                return
            self.restarts += 1
            try:
                worker = self._spawn()
            except LLMError as exc:
                log.error("LLM worker cannot restart: %s", exc)
                return  # a load error: status "failed", restarting would not help
            except _WorkerDied as died:
                with self._state_lock:
                    self._restart_thread = None
                self._on_death(None, died.reason)
                return
            self._set_ready(worker)
            return


class _WorkerDied(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _wait(proc: subprocess.Popen[bytes], timeout_s: float = 5.0) -> int | None:
    """The return code of a worker whose pipe closed (it is normally dead already)."""
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=timeout_s)


def _kill(worker: _Worker) -> None:
    if worker.proc.poll() is None:
        worker.proc.kill()
    worker.proc.wait(timeout=10)


def _stop(worker: _Worker) -> None:
    try:
        worker.conn.send(("stop",))
    except OSError:
        pass
    try:
        worker.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        _kill(worker)
    worker.conn.close()


class WorkerChatModel(BaseChatModel):
    """A LangChain chat model whose generations run in the supervised worker process."""

    accepts_grammar: bool = True
    accepts_choices: bool = True
    timeout_s: float = 20.0
    _supervisor: LLMSupervisor = PrivateAttr()

    def __init__(self, supervisor: LLMSupervisor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._supervisor = supervisor

    @property
    def _llm_type(self) -> str:
        return "llamacpp-worker"

    @property
    def supervisor(self) -> LLMSupervisor:
        return self._supervisor

    def worker_health(self) -> dict[str, str]:
        return self._supervisor.health()

    def stop_worker(self) -> None:
        self._supervisor.close()

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        if stop is not None:
            kwargs["stop"] = stop
        for text in self._supervisor.generate(list(messages), kwargs, self.timeout_s):
            if run_manager is not None:
                run_manager.on_llm_new_token(text)
            yield ChatGenerationChunk(message=AIMessageChunk(content=text))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))


def load_isolated(settings: Any) -> WorkerChatModel:
    """The llama.cpp model of ``settings`` in a supervised worker (started and ready on return).

    The model file is resolved here (a missing file is an immediate ``LLMError``; the packaged
    Gemma is assembled once, by this process) and handed to the worker as a path.
    """
    from bot.explain.llm.models import model_path

    path = model_path(settings)
    fields = settings.model_dump(exclude={"openai_api_key"})
    fields["llm_model_path"] = path
    supervisor = LLMSupervisor(
        fields,
        start_timeout_s=settings.llm_worker_start_timeout_s,
        reply_timeout_s=settings.llm_timeout_s,
    )
    supervisor.start()
    return WorkerChatModel(supervisor, timeout_s=settings.llm_timeout_s)
