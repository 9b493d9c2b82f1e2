"""Cards stream over SSE as their explanations are validated: with a deliberately slow explainer the
first ``card`` event reaches the client before the last card's explanation is written.

The real agent (real catalog, blender and template explainer, wrapped in a gate that holds the last
explanation until the client has the first card) behind the real app, served by uvicorn on a
loopback port, read by an HTTP client as it arrives. No timing is asserted: the gate either opens
because the client saw card 1 early, or times out because the cards were held back.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.agent import Agent
from bot.explain.explainer import Explainer
from bot.settings import Settings
from bot.store import Store
from tests.bot.agent_support import GatedExplainer, SpyBlender, movielens
from tests.ui.live import serve_app
from ui.app import create_app


class GatedRuntime:
    """What the app uses of a runtime, around a real agent with a gated explainer."""

    def __init__(self, settings: Settings, gate: threading.Event) -> None:
        self.dataset = movielens()
        self.explainer = GatedExplainer(
            Explainer(None, settings), gate, gate_at=settings.n_recommendations - 1
        )
        store = Store(settings.db_path)
        self.agent = Agent(self.dataset, SpyBlender(self.dataset, settings), self.explainer, store, settings)

    def health(self) -> dict[str, Any]:
        return {
            part: {"status": "ok", "detail": "test"} for part in ("dataset", "cf", "index", "llm", "store")
        }


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, GatedRuntime, threading.Event]]:
    settings = Settings(home=tmp_path / "home", llm_backend="template")
    gate = threading.Event()
    runtime = GatedRuntime(settings, gate)
    with serve_app(create_app(settings, runtime, with_gradio=False)) as base:
        yield base, runtime, gate


def read_events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """SSE events as they arrive (not after the body ends)."""
    name = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name is not None:
            yield name, json.loads(line[len("data: ") :])
            name = None


def test_first_card_arrives_before_the_last_is_explained(
    served: tuple[str, GatedRuntime, threading.Event],
) -> None:
    base, runtime, gate = served
    with httpx.Client(base_url=base + "/api/v1", timeout=60) as client:
        sid = client.post("/sessions", json={}).json()["session_id"]
        events: list[tuple[str, dict[str, Any]]] = []
        feedback: dict[str, Any] = {}

        def send_feedback(item_id: int) -> None:
            body = {"item_id": item_id, "kind": "up", "event_id": "while-streaming"}
            feedback["response"] = httpx.post(f"{base}/api/v1/sessions/{sid}/feedback", json=body, timeout=60)

        sender = None
        with client.stream(
            "POST",
            f"/sessions/{sid}/messages",
            json={"message": "I loved Heat and want a comedy"},
            headers={"Accept": "text/event-stream"},
        ) as r:
            assert r.status_code == 200
            for name, data in read_events(r):
                events.append((name, data))
                if name == "card" and data["index"] == 0:
                    # The user likes the first card while the others are still being written ...
                    sender = threading.Thread(target=send_feedback, args=(data["recommendation"]["item_id"],))
                    sender.start()
                    gate.set()  # ... and only now may the last explanation be written
        assert sender is not None, [n for n, _ in events]
        sender.join(timeout=60)
    assert runtime.explainer.gate_opened == [True], (
        "the first card was not sent before the last was explained"
    )
    kinds = [n for n, _ in events]
    assert kinds[-1] == "result" and kinds.count("card") == 3
    result = events[-1][1]
    assert [d["recommendation"] for n, d in events if n == "card"] == result["recommendations"]
    # Feedback sent while the turn was still streaming was accepted (it waits for the turn's lock).
    answer = feedback["response"]
    assert answer.status_code == 200, answer.text
    assert answer.json()["item_id"] == result["recommendations"][0]["item_id"]
    history = httpx.get(f"{base}/api/v1/sessions/{sid}", timeout=60).json()
    assert [e["event_id"] for e in history["feedback"]] == ["while-streaming"]
    assert history["turns"][-1]["reply"] == result["reply"]


def test_plain_json_turn_is_unchanged(served: tuple[str, GatedRuntime, threading.Event]) -> None:
    """Without ``Accept: text/event-stream`` the answer is one JSON object, as before."""
    base, runtime, gate = served
    gate.set()
    with httpx.Client(base_url=base + "/api/v1", timeout=60) as client:
        sid = client.post("/sessions", json={}).json()["session_id"]
        r = client.post(f"/sessions/{sid}/messages", json={"message": "a comedy"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert len(r.json()["recommendations"]) == 3
