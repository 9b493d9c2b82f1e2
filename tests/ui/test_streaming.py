"""Cards stream as their explanations are validated: with a deliberately slow explainer the first
card reaches the client (an SSE reader, the Gradio page, the widget in a browser) before the last
card's explanation is written.

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
from playwright.sync_api import Page, expect

from bot.agent import Agent
from bot.explain.explainer import Explainer
from bot.settings import Settings
from bot.store import Store
from tests.bot.agent_support import GatedExplainer, SpyBlender, movielens
from tests.ui.live import free_port, host_page, serve_app, serve_page
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


# --- in a real browser ---------------------------------------------------------------------------
# How long a browser step may take on a busy machine: under the gate's 30 s, so a page that held the
# cards back until the gate timed out cannot pass by waiting.
STEP_MS = 20_000


@pytest.fixture
def gated(tmp_path: Path) -> tuple[Settings, GatedRuntime, threading.Event]:
    settings = Settings(home=tmp_path / "home", llm_backend="template")
    gate = threading.Event()
    return settings, GatedRuntime(settings, gate), gate


@pytest.mark.slow
def test_gradio_page_shows_the_first_card_before_the_last_is_explained(
    gated: tuple[Settings, GatedRuntime, threading.Event], page: Page
) -> None:
    settings, runtime, gate = gated
    with serve_app(create_app(settings, runtime)) as base:
        page.goto(base + "/")
        page.locator("#recbot-input textarea").fill("I loved Heat and want a comedy")
        page.locator("#recbot-send").click()
        expect(page.locator("#recbot-card-0 .rb-card")).to_be_visible(timeout=STEP_MS)
        # the third explanation is held until now: its card cannot be on the page yet
        expect(page.locator("#recbot-card-2 .rb-card")).not_to_be_visible()
        assert page.locator("#recbot-card-0 .rb-explanation").inner_text().strip()
        gate.set()
        expect(page.locator("#recbot-card-2 .rb-card")).to_be_visible(timeout=STEP_MS)
        expect(page.locator("#recbot-status")).to_have_text("", timeout=STEP_MS)
    assert runtime.explainer.gate_opened == [True], (
        "the first card was not shown before the last was explained"
    )


@pytest.mark.slow
def test_widget_renders_each_card_as_its_event_arrives(
    gated: tuple[Settings, GatedRuntime, threading.Event], page: Page
) -> None:
    settings, runtime, gate = gated
    app_port = free_port()
    with serve_page(host_page(f"http://127.0.0.1:{app_port}/widget/recbot.js", "k")) as site:
        app_settings = Settings(home=settings.home, llm_backend="template", site_keys={"k": [site]})
        with serve_app(create_app(app_settings, runtime, with_gradio=False), port=app_port):
            page.goto(site + "/")
            widget = page.locator("#recbot-widget")
            widget.locator(".bubble").click()
            widget.locator("input").fill("I loved Heat and want a comedy")
            widget.locator("form button").click()
            # two explained, the third held back (a client that waits for the result never shows 2)
            expect(widget.locator(".card")).to_have_count(2, timeout=STEP_MS)
            first = widget.locator(".card .title").first.inner_text()
            # Liking the first card while the turn still streams: the server takes it once the turn ends.
            widget.locator(".card .fb-up").first.click()
            gate.set()
            expect(widget.locator(".card")).to_have_count(3, timeout=STEP_MS)
            expect(widget.locator(".card .note").first).to_have_text(
                "Noted, more like this.", timeout=STEP_MS
            )
            assert widget.locator(".card .title").first.inner_text() == first
    assert runtime.explainer.gate_opened == [True], (
        "the widget did not show a card before the last was explained"
    )
    (event,) = runtime.agent.session(runtime.agent.store.all_sessions()[0]["id"])["feedback"]
    assert event["kind"] == "up"
