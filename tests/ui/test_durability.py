"""An acknowledged feedback event is on disk: it survives SIGKILL of the server, exactly once.

The real ``recbot serve`` runs as a subprocess on a copy of the session's built home. Fifty writer
threads post feedback over HTTP, each event with its own client ``event_id``; the server is killed
with SIGKILL mid-run and restarted; writers retry whatever had no answer with the SAME event id.
Afterwards every event that got a 2xx is in the session exactly once, and no answer was a 5xx.

Also: a database held locked by another process is waited out (busy timeout + retries), and a lock
that outlasts every retry is a 503 with Retry-After, never a 500.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import bot.store as store_module
from bot.agent import Agent
from bot.settings import Settings
from bot.store import Store
from tests.ui.recbot_server import RecbotServer, copy_home
from ui.app import create_app

pytestmark = pytest.mark.slow

N_SESSIONS = 5
N_WRITERS = 50
EVENTS_PER_WRITER = 12
KILL_AFTER_ACKS = 150  # SIGKILL once this many events were acknowledged
KINDS = ("click", "up", "seen")


def _session_with_shown_items(client: httpx.Client) -> tuple[str, list[int]]:
    sid = client.post("/api/v1/sessions", json={}).json()["session_id"]
    turn = client.post(
        f"/api/v1/sessions/{sid}/messages", json={"message": "I loved Toy Story, something funny"}
    )
    assert turn.status_code == 200, turn.text
    items = [r["item_id"] for r in turn.json()["recommendations"]]
    assert items
    return sid, items


class Writers:
    """N_WRITERS threads, each sending its events until acknowledged (retrying with the same id)."""

    def __init__(self, url: str, sessions: list[tuple[str, list[int]]]) -> None:
        self.url = url
        self.sessions = sessions
        self.lock = threading.Lock()
        self.acked: dict[str, str] = {}  # event_id -> session id
        self.duplicate_acks = 0
        self.server_errors: list[tuple[int, str]] = []
        self.other_errors: list[tuple[int, str]] = []
        self.connection_failures = 0
        self.deadline = time.monotonic() + 600

    def run(self, writer: int) -> None:
        sid, items = self.sessions[writer % len(self.sessions)]
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for n in range(EVENTS_PER_WRITER):
                event = {
                    "item_id": items[n % len(items)],
                    "kind": KINDS[(writer + n) % len(KINDS)],
                    "event_id": f"w{writer:02d}-e{n:02d}",
                }
                self._send_until_acked(client, sid, event)
                if n % 5 == 0:  # a client retry after a lost answer: must not double-count
                    self._send_until_acked(client, sid, event, expect_duplicate=True)

    def _send_until_acked(
        self, client: httpx.Client, sid: str, event: dict[str, Any], expect_duplicate: bool = False
    ) -> None:
        while time.monotonic() < self.deadline:
            try:
                r = client.post(f"/api/v1/sessions/{sid}/feedback", json=event)
            except httpx.TransportError:  # the server is down (killed): same event id again later
                with self.lock:
                    self.connection_failures += 1
                time.sleep(0.2)
                continue
            with self.lock:
                if r.status_code >= 500:
                    self.server_errors.append((r.status_code, r.text))
                elif 200 <= r.status_code < 300:
                    self.acked[event["event_id"]] = sid
                    if expect_duplicate:
                        self.duplicate_acks += int(r.json()["duplicate"] is True)
                    return
                else:
                    self.other_errors.append((r.status_code, r.text))
                    return
            time.sleep(0.2)
        raise AssertionError(f"event {event['event_id']} was never acknowledged")


def test_acknowledged_feedback_survives_sigkill_exactly_once(
    built_settings: Settings, tmp_path: Path
) -> None:
    home = copy_home(built_settings.home, tmp_path / "home")
    server = RecbotServer(
        home,
        built_settings.dataset_dir,
        tmp_path / "serve.log",
        env={"RECBOT_RATE_LIMIT_PER_SESSION_PER_MINUTE": "0"},
    )
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            sessions = [_session_with_shown_items(client) for _ in range(N_SESSIONS)]
        writers = Writers(server.url, sessions)
        threads = [threading.Thread(target=writers.run, args=(w,), daemon=True) for w in range(N_WRITERS)]
        for t in threads:
            t.start()
        while len(writers.acked) < KILL_AFTER_ACKS:
            assert any(t.is_alive() for t in threads), "writers finished before the kill"
            time.sleep(0.01)
        acked_before_kill = len(writers.acked)
        assert server.kill() == -9
        server.start()  # same home, same port: the writers' retries reach the new process
        for t in threads:
            t.join(timeout=600)
        assert not any(t.is_alive() for t in threads)

        assert writers.server_errors == [], writers.server_errors[:3]
        assert writers.other_errors == [], writers.other_errors[:3]
        assert acked_before_kill < N_WRITERS * EVENTS_PER_WRITER  # the kill happened mid-run
        assert writers.connection_failures > 0  # and writers really saw the server gone
        assert len(writers.acked) == N_WRITERS * EVENTS_PER_WRITER
        assert writers.duplicate_acks == N_WRITERS * len(range(0, EVENTS_PER_WRITER, 5))

        stored: Counter[str] = Counter()
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for sid, _ in sessions:
                r = client.get(f"/api/v1/sessions/{sid}")
                assert r.status_code == 200, r.text
                stored.update(e["event_id"] for e in r.json()["feedback"])
        assert set(stored) == set(writers.acked)  # every acknowledged event, and nothing else
        assert all(count == 1 for count in stored.values()), stored.most_common(3)
    finally:
        server.stop()


def test_store_is_wal_with_full_sync(tmp_path: Path) -> None:
    store = Store(tmp_path / "recbot.db")
    conn = store.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


@pytest.fixture
def locked_app(
    real_runtime: Any, built_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """The real agent over a fresh database whose busy timeout is short (so the test is short)."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 200)
    store = Store(tmp_path / "recbot.db")
    agent = Agent(
        real_runtime.dataset,
        real_runtime.blender,
        real_runtime.explainer,
        store,
        built_settings,
        cf=real_runtime.cf,
    )
    runtime = SimpleNamespace(agent=agent, dataset=real_runtime.dataset, health=lambda: {})
    settings = built_settings.model_copy(update={"rate_limit_per_session_per_minute": 0})
    with TestClient(create_app(settings, runtime, with_gradio=False)) as client:
        yield client, store
    store.close()


def _hold_write_lock(path: Path, seconds: float, started: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    started.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


@pytest.mark.parametrize(("hold_s", "expected"), [(0.6, 200), (8.0, 503)])
def test_a_locked_database_is_waited_out_or_a_503_never_a_500(
    locked_app: Any, hold_s: float, expected: int
) -> None:
    client, store = locked_app
    sid = client.post("/api/v1/sessions", json={}).json()["session_id"]
    item = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": "I loved Toy Story"}).json()[
        "recommendations"
    ][0]["item_id"]
    started = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(store.path, hold_s, started))
    holder.start()
    started.wait(10)
    r = client.post(
        f"/api/v1/sessions/{sid}/feedback", json={"item_id": item, "kind": "up", "event_id": "x1"}
    )
    holder.join()
    assert r.status_code == expected, r.text
    if expected == 503:
        assert int(r.headers["retry-after"]) > 0 and "locked" in r.json()["detail"]
        again = client.post(
            f"/api/v1/sessions/{sid}/feedback", json={"item_id": item, "kind": "up", "event_id": "x1"}
        )
        assert again.status_code == 200 and again.json()["duplicate"] is False  # the retry records it once
    events = client.get(f"/api/v1/sessions/{sid}").json()["feedback"]
    assert [e["event_id"] for e in events] == ["x1"]
