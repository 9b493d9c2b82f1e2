"""The LLM worker's supervisor with a fake worker: streaming, real crashes, restarts, health.

The fake worker (tests/bot/fake_llm_worker.py) speaks the real protocol through the real
``serve_requests`` loop; its crashes are real (SIGSEGV raised on itself, SIGKILL from here), so
what is tested is what happens when llama.cpp dies inside the real worker.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from bot.explain.llm.base import LLMError, stream_text, supports_choices, supports_grammar
from bot.explain.llm.supervisor import LLMSupervisor, WorkerChatModel, death_reason
from tests.bot.fake_llm_worker import fake_worker_command

FAST = (0.05, 0.1, 0.2)


@pytest.fixture
def supervisors() -> Iterator[list[LLMSupervisor]]:
    made: list[LLMSupervisor] = []
    yield made
    for supervisor in made:
        supervisor.close()


def start(made: list[LLMSupervisor], fields: dict | None = None, **kwargs: object) -> LLMSupervisor:
    supervisor = LLMSupervisor(
        fields or {},
        command=fake_worker_command(),
        start_timeout_s=60,
        backoff_s=FAST,
        **kwargs,  # type: ignore[arg-type]
    )
    made.append(supervisor)
    supervisor.start()
    return supervisor


def ask(supervisor: LLMSupervisor, text: str = "hi", **kwargs: object) -> str:
    return "".join(supervisor.generate([HumanMessage(text)], dict(kwargs), timeout_s=5))


def wait_ok(supervisor: LLMSupervisor, timeout_s: float = 60) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        health = supervisor.health()
        if health["status"] == "ok":
            return health
        time.sleep(0.05)
    raise AssertionError(f"worker not back: {supervisor.health()}")


def test_streams_replies_from_a_process_named_as_the_llm_worker(supervisors: list[LLMSupervisor]) -> None:
    supervisor = start(supervisors)
    pid = supervisor.pid
    assert pid is not None and pid != os.getpid()
    assert "--recbot-llm-worker" in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    assert ask(supervisor) == f"pid {pid} says hello."
    assert ask(supervisor, choices=["It is one.", "Two."]) == "It is one."
    assert supervisor.health() == {"status": "ok", "detail": supervisor.health()["detail"]}
    assert f"worker pid {pid}" in supervisor.health()["detail"]


def test_a_segfault_mid_reply_is_an_llm_error_then_the_worker_comes_back(
    supervisors: list[LLMSupervisor],
) -> None:
    supervisor = start(supervisors)
    first = supervisor.pid
    chunks: list[str] = []
    with pytest.raises(LLMError, match="SIGSEGV"):
        for chunk in supervisor.generate([HumanMessage("crash please")], {}, timeout_s=5):
            chunks.append(chunk)
    assert chunks == ["pid"]  # the chunk before the crash arrived
    health = supervisor.health()
    assert health["status"] == "degraded" and "worker died with SIGSEGV" in health["detail"]
    with pytest.raises(LLMError, match="not available"):  # while restarting: at once, no waiting
        ask(supervisor)
    wait_ok(supervisor)
    assert supervisor.pid not in (None, first)
    assert ask(supervisor) == f"pid {supervisor.pid} says hello."
    assert "restarted 1x, last: worker died with SIGSEGV" in supervisor.health()["detail"]


def test_sigkill_between_calls_is_seen_by_health_and_repaired(supervisors: list[LLMSupervisor]) -> None:
    supervisor = start(supervisors)
    pid = supervisor.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    health = supervisor.health()
    assert health["status"] == "degraded" and "SIGKILL" in health["detail"], health
    wait_ok(supervisor)
    assert ask(supervisor).startswith(f"pid {supervisor.pid} ")


def test_a_model_that_does_not_load_is_a_load_error_and_not_retried(supervisors: list[LLMSupervisor]) -> None:
    supervisor = LLMSupervisor({"load": "error"}, command=fake_worker_command(), backoff_s=FAST)
    supervisors.append(supervisor)
    with pytest.raises(LLMError) as caught:
        supervisor.start()
    assert caught.value.kind == "load" and "no such model" in str(caught.value)
    time.sleep(0.3)
    assert supervisor.status == "failed" and supervisor.restarts == 0
    assert supervisor.health()["status"] == "degraded"


def test_a_worker_that_keeps_dying_is_reported_as_such(supervisors: list[LLMSupervisor]) -> None:
    supervisor = start(supervisors, {"load": "crash"})
    deadline = time.monotonic() + 60
    while "keeps dying" not in supervisor.health()["detail"] and time.monotonic() < deadline:
        time.sleep(0.05)
    health = supervisor.health()
    assert health["status"] == "degraded"
    assert "keeps dying" in health["detail"] and "SIGSEGV while loading" in health["detail"], health
    with pytest.raises(LLMError):
        ask(supervisor)


def test_a_reader_that_stops_early_leaves_no_stale_chunks(supervisors: list[LLMSupervisor]) -> None:
    supervisor = start(supervisors)
    stream = supervisor.generate([HumanMessage("slow")], {}, timeout_s=5)
    assert next(stream) == "pid"
    stream.close()  # cancel: the worker stops, the rest of that reply is drained
    assert ask(supervisor) == f"pid {supervisor.pid} says hello."


def test_a_hung_worker_is_killed_and_replaced(supervisors: list[LLMSupervisor]) -> None:
    supervisor = start(supervisors, reply_timeout_s=0.5)
    first = supervisor.pid
    with pytest.raises(LLMError) as caught:
        ask(supervisor, "hang")
    assert caught.value.kind == "timeout"
    assert "sent nothing" in supervisor.health()["detail"]
    wait_ok(supervisor)
    assert supervisor.pid != first


def test_the_chat_model_proxies_choices_through_stream_text(supervisors: list[LLMSupervisor]) -> None:
    model = WorkerChatModel(start(supervisors), timeout_s=5)
    assert supports_choices(model) and supports_grammar(model)
    text = "".join(stream_text(model, [HumanMessage("hi")], timeout_s=5, choices=["Because it is good."]))
    assert text == "Because it is good."
    with pytest.raises(LLMError):
        "".join(stream_text(model, [HumanMessage("crash")], timeout_s=5))
    assert model.worker_health()["status"] == "degraded"


def test_round_trip_measures_the_transport_alone(supervisors: list[LLMSupervisor]) -> None:
    supervisor = start(supervisors)
    seconds = supervisor.round_trip([HumanMessage("x" * 2000)], {"choices": ["A sentence."] * 300})
    assert 0 < seconds < 5
    assert ask(supervisor) == f"pid {supervisor.pid} says hello."


def test_death_reasons_name_the_signal() -> None:
    assert death_reason(-signal.SIGSEGV) == "worker died with SIGSEGV"
    assert death_reason(-signal.SIGKILL) == "worker died with SIGKILL"
    assert death_reason(1) == "worker exited with status 1"
