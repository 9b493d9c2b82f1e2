"""The LLM's process dies during a burst of API turns: no 5xx, every turn answered, the LLM comes back.

A real ``recbot serve --no-ui`` (subprocess) with the default llama.cpp backend and the packaged
default model, in its supervised worker. 20 visitors post a turn at the same time; once the first
answers have come back the test SIGKILLs the worker (found by its command line,
``--recbot-llm-worker``, as a child of the server). Every turn must answer 200; the health endpoint
must say the LLM is degraded with the reason, then ok again; and turns after the restart must be
explained by the LLM again.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.bot.reliability_support import copy_of_small_home, small_movielens
from tests.ui.recbot_server import RecbotServer

pytestmark = pytest.mark.slow

VISITORS = 20
MESSAGE = "I loved Toy Story and The Matrix, something funny"


def llm_workers(parent: int) -> list[int]:
    """Pids of recbot LLM workers whose parent is ``parent`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"--recbot-llm-worker" in argv:
            found.append(int(entry.name))
    return found


def llm_health(client: httpx.Client) -> dict[str, str]:
    response = client.get("/api/v1/health")
    assert response.status_code == 200, response.text
    return dict(response.json()["components"]["llm"])


def wait_for(client: httpx.Client, status: str, timeout_s: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        health = llm_health(client)
        if health["status"] == status:
            return health
        time.sleep(0.1)
    raise AssertionError(f"llm never became {status}: {llm_health(client)}")


def turn(client: httpx.Client) -> httpx.Response:
    sid = client.post("/api/v1/sessions", json={}).json()["session_id"]
    return client.post(f"/api/v1/sessions/{sid}/messages", json={"message": MESSAGE})


def test_killing_the_llm_worker_mid_burst(tmp_path: Path) -> None:
    server = RecbotServer(
        copy_of_small_home(tmp_path / "home"),
        small_movielens(),
        tmp_path / "serve.log",
        env={
            "RECBOT_LLM_BACKEND": "llamacpp",
            "RECBOT_API_LLM_MAX_QUEUE": str(VISITORS + 5),  # every turn asks the LLM (no shedding)
            "RECBOT_RATE_LIMIT_PER_SESSION_PER_MINUTE": "0",
            "RECBOT_EXPLAIN_TIMEOUT_S": "20",
        },
    )
    server.start(timeout_s=600)
    try:
        assert server.proc is not None
        with httpx.Client(base_url=server.url, timeout=300) as client:
            assert llm_health(client)["status"] == "ok"
            workers = llm_workers(server.proc.pid)
            assert len(workers) == 1, workers
            before = turn(client)
            assert before.status_code == 200
            assert any(r["explanation_source"] == "llm" for r in before.json()["recommendations"])

            answers: list[httpx.Response | Exception] = []
            lock = threading.Lock()
            first_answers = threading.Event()

            def visitor() -> None:
                try:
                    with httpx.Client(base_url=server.url, timeout=600) as own:
                        response = turn(own)
                except Exception as exc:  # noqa: BLE001 - counted as an unanswered turn below
                    response = exc  # type: ignore[assignment]
                with lock:
                    answers.append(response)
                    if len(answers) >= 2:
                        first_answers.set()

            threads = [threading.Thread(target=visitor) for _ in range(VISITORS)]
            for thread in threads:
                thread.start()
            assert first_answers.wait(600), "no turn of the burst answered"
            os.kill(workers[0], signal.SIGKILL)  # mid-burst: the queued turns are still running
            degraded = wait_for(client, "degraded", 30)
            assert "SIGKILL" in degraded["detail"], degraded
            for thread in threads:
                thread.join(timeout=900)

            statuses = [a.status_code if isinstance(a, httpx.Response) else repr(a) for a in answers]
            assert len(answers) == VISITORS and statuses == [200] * VISITORS, statuses
            for answer in answers:
                assert isinstance(answer, httpx.Response) and answer.json()["recommendations"]

            back = wait_for(client, "ok", 300)
            assert "restarted 1x, last: worker died with SIGKILL" in back["detail"], back
            new_workers = llm_workers(server.proc.pid)
            assert len(new_workers) == 1 and new_workers != workers
            after = turn(client)
            assert after.status_code == 200
            sources = [r["explanation_source"] for r in after.json()["recommendations"]]
            assert "llm" in sources, after.json()
            assert server.proc.poll() is None  # the server never went down
    finally:
        server.stop()
    log = server.log_tail(200_000)
    assert "worker died with SIGKILL" in log
