"""Two stateless API replicas on one PostgreSQL, one Chroma server and one LLM server (docs/deploy.md).

Everything runs on loopback as subprocesses (tests/ui/replica_stack.py): a private PostgreSQL
cluster, ``chroma run`` on a copy of the built index, llama-cpp-python's OpenAI-compatible server
and two ``recbot serve --no-ui`` processes whose homes hold no index and no database. Then:

1. both replicas report the shared store (kind postgresql), the Chroma server and the openai LLM;
2. one session's turns alternate between the replicas and the conversation continues: what one
   replica learned (liked titles, a year bound, feedback on an item the other one showed) is what
   the other one works from;
3. 20 sessions take a first turn at once across both replicas, then two writers per session (one
   per replica) send feedback with client event ids, and a turn, concurrently; one replica is
   SIGKILLed mid-burst and the writers retry whatever had no answer on the survivor, with the SAME
   event id. Afterwards, read from the survivor: every acknowledged event is there exactly once,
   every acknowledged turn is there, no concurrent update was lost (the two writers' first events
   both show in the session's state: the per-session lock holds across processes), no answer was a
   500, and every session reads back.

What the LLM path validates: the openai backend sends no grammar (servers spell it differently), so
explanations are the LLM's free text checked sentence by sentence by the same validator as every
backend, replaced by the template when any claim is not in the evidence. The test checks that the
LLM server was actually asked, and that every explanation shown is either validated LLM text or
the template.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bot.explain.llm.models import packaged_model_path
from bot.settings import Settings
from tests.pg_cluster import PostgresCluster
from tests.ui.recbot_server import RecbotServer, copy_home
from tests.ui.replica_stack import Service, chroma_server, llm_server

pytestmark = pytest.mark.slow

N_SESSIONS = 20
CLICKS_PER_WRITER = 6
KILL_AFTER_ACKS = 90  # of 20 sessions x 2 writers x (1 + 6) events = 280
DEADLINE_S = 240.0


@dataclass
class Stack:
    replicas: list[RecbotServer]
    chroma: Service
    llm: Service
    database_url: str


@pytest.fixture(scope="module")
def stack(
    built_settings: Settings, postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The whole deployment, started once for this module's tests (a minute or so on 2 cores)."""
    tmp_path = tmp_path_factory.mktemp("replicas")
    database_url = postgres_cluster.create_database("replicas")
    shutil.copytree(built_settings.home / "chroma", tmp_path / "chroma-server")
    chroma = chroma_server(tmp_path / "chroma-server", tmp_path / "chroma.log")
    llm = llm_server(packaged_model_path("smollm2", built_settings), tmp_path / "llm.log")
    replicas: list[RecbotServer] = []
    try:
        chroma.start()
        llm.start()
        env = {
            "RECBOT_DATABASE_URL": database_url,
            "RECBOT_CHROMA_URL": chroma.url,
            "RECBOT_LLM_BACKEND": "openai",
            "RECBOT_OPENAI_BASE_URL": f"{llm.url}/v1",
            "RECBOT_OPENAI_MODEL": "local",
            "RECBOT_RATE_LIMIT_PER_SESSION_PER_MINUTE": "100000",
        }
        assert built_settings.data_dir is not None
        for name in ("a", "b"):
            home = copy_home(built_settings.home, tmp_path / f"home-{name}")
            shutil.rmtree(home / "chroma")  # the replica must use the Chroma server
            replicas.append(
                RecbotServer(home, built_settings.data_dir, tmp_path / f"serve-{name}.log", env=env)
            )
        errors: list[BaseException] = []

        def start(server: RecbotServer) -> None:
            try:
                server.start()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        starters = [threading.Thread(target=start, args=(r,)) for r in replicas]  # both migrate at once
        for t in starters:
            t.start()
        for t in starters:
            t.join()
        assert not errors, errors
        yield Stack(replicas, chroma, llm, database_url)
    finally:
        for replica in replicas:
            replica.stop()
        llm.stop()
        chroma.stop()


def _health(url: str) -> dict[str, Any]:
    r = httpx.get(url + "/api/v1/health", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["components"]


def test_replicas_report_the_shared_servers(stack: Stack) -> None:
    for replica in stack.replicas:
        parts = _health(replica.url)
        assert parts["store"]["status"] == "ok" and parts["store"]["kind"] == "postgresql", parts["store"]
        assert parts["index"]["status"] == "ok" and not (replica.home / "chroma").exists(), parts["index"]
        assert parts["llm"]["status"] == "ok" and "openai" in parts["llm"]["detail"], parts["llm"]

    # --- one conversation, its turns alternating between the replicas -----------------------------
    a, b = (httpx.Client(base_url=r.url + "/api/v1", timeout=120) for r in stack.replicas)
    with a, b:
        sid = a.post("/sessions", json={}).json()["session_id"]
        first = a.post(f"/sessions/{sid}/messages", json={"message": "I loved Toy Story and Finding Nemo"})
        assert first.status_code == 200, first.text
        shown_by_a = [r["item_id"] for r in first.json()["recommendations"]]
        assert shown_by_a
        # b accepts feedback on what a showed (it would be a 409 if b did not see a's turn)
        up = b.post(f"/sessions/{sid}/feedback", json={"item_id": shown_by_a[0], "kind": "up"})
        assert up.status_code == 200, up.text
        second = b.post(f"/sessions/{sid}/messages", json={"message": "something from the 90s"})
        assert second.status_code == 200, second.text
        shown_by_b = [r["item_id"] for r in second.json()["recommendations"]]
        no = a.post(f"/sessions/{sid}/feedback", json={"item_id": shown_by_b[0], "kind": "not_interested"})
        assert no.status_code == 200, no.text
        third = a.post(f"/sessions/{sid}/messages", json={"message": "a comedy please"})
        assert third.status_code == 200, third.text
        assert shown_by_b[0] not in [r["item_id"] for r in third.json()["recommendations"]]

        for client in (a, b):
            session = client.get(f"/sessions/{sid}").json()
            state = session["state"]
            assert [t["message"] for t in session["turns"]] == [
                "I loved Toy Story and Finding Nemo",
                "something from the 90s",
                "a comedy please",
            ]
            assert {1, 6377} <= set(state["liked"]) and shown_by_a[0] in state["liked"], state
            assert state["constraints"]["year_min"] == 1990, state["constraints"]
            assert shown_by_b[0] in state["not_interested"], state
            for turn in (first, second, third):
                for rec in turn.json()["recommendations"]:
                    assert rec["explanation"] and rec["explanation_source"] in ("llm", "template")
    asked = stack.llm.log_tail(200_000).count("POST /v1/chat/completions")
    assert asked > 0, "the replicas never asked the LLM server"


# --- the burst and the SIGKILL ------------------------------------------------------------------
@dataclass
class Burst:
    urls: list[str]
    alive: list[bool]
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked_events: dict[str, str] = field(default_factory=dict)  # event id -> session id
    acked_turns: dict[int, str] = field(default_factory=dict)  # turn id -> session id
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    acks_at_kill: int | None = None

    def send(self, prefer: int, path: str, body: dict[str, Any], deadline: float) -> httpx.Response | None:
        """POST to the preferred replica, else (connection gone, or 503) again on the other one."""
        target = prefer
        while time.monotonic() < deadline:
            if not self.alive[target]:
                target = 1 - target
            try:
                r = httpx.post(self.urls[target] + path, json=body, timeout=60)
            except httpx.TransportError:
                target = 1 - target  # killed mid-request: the same body goes to the other replica
                time.sleep(0.05)
                continue
            with self.lock:
                self.statuses[r.status_code] += 1
            if r.status_code == 503:
                time.sleep(0.5)
                continue
            return r
        return None

    def writer(self, prefer: int, sid: str, items: list[int], first_kind: str, deadline: float) -> None:
        events = [(first_kind, items[prefer])] + [("click", items[-1])] * CLICKS_PER_WRITER
        for n, (kind, item) in enumerate(events):
            event_id = f"{sid[:8]}-{prefer}-{n}-{uuid.uuid4().hex[:6]}"
            body = {"item_id": item, "kind": kind, "event_id": event_id}
            r = self.send(prefer, f"/sessions/{sid}/feedback", body, deadline)
            if r is None or r.status_code != 200:
                self.failures.append(f"feedback {event_id}: {None if r is None else (r.status_code, r.text)}")
                return
            with self.lock:
                self.acked_events[event_id] = sid
            if n == 0 and prefer == 0:  # a turn in the middle of the other writer's feedback
                turn = self.send(
                    prefer, f"/sessions/{sid}/messages", {"message": "something lighter"}, deadline
                )
                if turn is None or turn.status_code != 200:
                    self.failures.append(
                        f"turn {sid}: {None if turn is None else (turn.status_code, turn.text)}"
                    )
                    return
                with self.lock:
                    self.acked_turns[turn.json()["turn_id"]] = sid


def test_twenty_sessions_survive_a_replica_killed_mid_burst(stack: Stack) -> None:
    survivor, victim = stack.replicas
    burst = Burst([survivor.url + "/api/v1", victim.url + "/api/v1"], [True, True])
    deadline = time.monotonic() + DEADLINE_S

    # 20 sessions, half created on each replica, take their first turn at the same time
    sessions: dict[str, list[int]] = {}

    def open_session(n: int) -> None:
        base = burst.urls[n % 2]
        sid = httpx.post(base + "/sessions", json={}, timeout=60).json()["session_id"]
        r = httpx.post(base + f"/sessions/{sid}/messages", json={"message": "I loved Toy Story"}, timeout=180)
        assert r.status_code == 200, r.text
        items = [rec["item_id"] for rec in r.json()["recommendations"]]
        assert len(items) >= 3, items
        with burst.lock:
            sessions[sid] = items

    openers = [threading.Thread(target=open_session, args=(n,)) for n in range(N_SESSIONS)]
    for t in openers:
        t.start()
    for t in openers:
        t.join()
    assert len(sessions) == N_SESSIONS

    def killer() -> None:
        while time.monotonic() < deadline:
            with burst.lock:
                acks = len(burst.acked_events)
            if acks >= KILL_AFTER_ACKS:
                burst.alive[1] = False
                victim.kill()
                burst.acks_at_kill = acks
                return
            time.sleep(0.02)

    writers = [
        threading.Thread(target=burst.writer, args=(prefer, sid, items, kind, deadline))
        for sid, items in sessions.items()
        for prefer, kind in ((0, "up"), (1, "not_interested"))
    ]
    watcher = threading.Thread(target=killer)
    watcher.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    watcher.join()

    expected = N_SESSIONS * 2 * (1 + CLICKS_PER_WRITER)
    assert not burst.failures, burst.failures[:5]
    assert burst.acks_at_kill is not None and burst.acks_at_kill < expected, "the kill was not mid-burst"
    assert victim.proc is not None and victim.proc.returncode == -9
    assert len(burst.acked_events) == expected
    assert not [s for s in burst.statuses if s >= 500 and s != 503], burst.statuses

    with httpx.Client(base_url=burst.urls[0], timeout=60) as client:
        for sid, items in sessions.items():
            r = client.get(f"/sessions/{sid}")
            assert r.status_code == 200, r.text
            session = r.json()
            counts = Counter(e["event_id"] for e in session["feedback"])
            mine = [e for e, s in burst.acked_events.items() if s == sid]
            assert all(counts[e] == 1 for e in mine), {e: counts[e] for e in mine if counts[e] != 1}
            assert max(counts.values()) == 1
            turn_ids = {t["turn_id"] for t in session["turns"]}
            assert {t for t, s in burst.acked_turns.items() if s == sid} <= turn_ids
            # both writers' first events changed the state: neither update overwrote the other
            state = session["state"]
            assert items[0] in state["liked"] and items[1] in state["not_interested"], (sid, state)
