"""The API and the chat page's logic over the REAL agent (shared MovieLens data, built index)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from tests.ui.test_api import parse_sse
from ui.app import create_app
from ui.chat_logic import NEW_VISITOR, ChatController, Filters

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(built_settings: Settings, real_runtime: Any) -> Iterator[TestClient]:
    with TestClient(create_app(built_settings, real_runtime, with_gradio=False)) as c:
        yield c


def new_session(client: TestClient, **body: Any) -> str:
    r = client.post("/api/v1/sessions", json=body)
    assert r.status_code == 201, r.text
    return r.json()["session_id"]


def say(client: TestClient, sid: str, message: str) -> dict[str, Any]:
    r = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": message})
    assert r.status_code == 200, r.text
    return r.json()


def test_turn_feedback_and_history(client: TestClient) -> None:
    sid = new_session(client)
    turn = say(client, sid, "I loved Toy Story, something funny please")
    recs = turn["recommendations"]
    assert recs and all(r["explanation"] for r in recs)
    assert "Toy Story" not in [r["title"] for r in recs]  # a title the user named is not recommended back
    down = recs[0]["item_id"]
    event = {"item_id": down, "kind": "down", "event_id": "e2e-down-" + sid}
    first = client.post(f"/api/v1/sessions/{sid}/feedback", json=event)
    again = client.post(f"/api/v1/sessions/{sid}/feedback", json=event)
    assert first.status_code == again.status_code == 200
    assert again.json()["duplicate"] is True
    nxt = say(client, sid, "more like that")
    shown_now = [r["item_id"] for r in nxt["recommendations"]]
    assert down not in shown_now and shown_now != [r["item_id"] for r in recs]
    history = client.get(f"/api/v1/sessions/{sid}").json()
    assert [t["message"] for t in history["turns"]] == [
        "I loved Toy Story, something funny please",
        "more like that",
    ]
    assert [(e["item_id"], e["kind"]) for e in history["feedback"]] == [(down, "down")]


def test_event_id_reused_in_another_session_is_a_new_event_there(client: TestClient) -> None:
    """Event ids are idempotency keys per session: reusing one elsewhere records a separate event
    in that session and never returns (or leaks) the first session's event."""
    sessions = []
    for _ in range(2):
        sid = new_session(client)
        item = say(client, sid, "I loved Heat")["recommendations"][0]["item_id"]
        sessions.append((sid, item))
    (a, item_a), (b, item_b) = sessions
    event_id = "shared-id-" + a
    assert (
        client.post(
            f"/api/v1/sessions/{a}/feedback", json={"item_id": item_a, "kind": "up", "event_id": event_id}
        ).status_code
        == 200
    )
    r = client.post(
        f"/api/v1/sessions/{b}/feedback", json={"item_id": item_b, "kind": "down", "event_id": event_id}
    )
    assert r.status_code == 200 and a not in r.text.replace(event_id, "")
    assert (r.json()["item_id"], r.json()["kind"], r.json()["duplicate"]) == (item_b, "down", False)
    history_a = client.get(f"/api/v1/sessions/{a}").json()["feedback"]
    history_b = client.get(f"/api/v1/sessions/{b}").json()["feedback"]
    assert [(e["event_id"], e["item_id"], e["kind"]) for e in history_a] == [(event_id, item_a, "up")]
    assert [(e["event_id"], e["item_id"], e["kind"]) for e in history_b] == [(event_id, item_b, "down")]
    again = client.post(
        f"/api/v1/sessions/{b}/feedback", json={"item_id": item_b, "kind": "down", "event_id": event_id}
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True


def test_sse_stream_matches_the_result(client: TestClient) -> None:
    sid = new_session(client)
    with client.stream(
        "POST",
        f"/api/v1/sessions/{sid}/messages",
        json={"message": "a scary movie from the 80s"},
        headers={"Accept": "text/event-stream"},
    ) as r:
        assert r.status_code == 200
        events = parse_sse(r.read().decode())
    assert events[-1][0] == "result" and {k for k, _ in events[:-1]} == {"token", "ranked", "card"}
    result = events[-1][1]
    assert "".join(d["text"] for k, d in events[:-1] if k == "token").strip() == result["reply"]
    # ranked names the cards to come; each card event is the result's card at its index
    (ranked,) = [d for k, d in events if k == "ranked"]
    cards = [d for k, d in events if k == "card"]
    assert [c["index"] for c in cards] == list(range(len(result["recommendations"])))
    assert [c["recommendation"] for c in cards] == result["recommendations"]
    assert [i["item_id"] for i in ranked["items"]] == [r["item_id"] for r in result["recommendations"]]
    for rec in result["recommendations"]:
        assert "Horror" in rec["genres"] and 1980 <= rec["year"] <= 1989


def test_real_errors_are_4xx(client: TestClient) -> None:
    sid = new_session(client)
    r = client.post(f"/api/v1/sessions/{sid}/feedback", json={"item_id": 1, "kind": "up"})
    assert r.status_code == 409 and "never shown" in r.json()["detail"]
    assert client.post("/api/v1/sessions/nope/messages", json={"message": "hi"}).status_code == 404
    assert client.get("/api/v1/items/1").json()["title"] == "Toy Story"
    assert client.get("/api/v1/items/0").status_code == 404
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["components"]["index"]["status"] == "ok"


def test_chat_page_filters_reach_the_agent(real_runtime: Any) -> None:
    controller = ChatController(real_runtime.agent, n_cards=3)
    filters = Filters(["Comedy"], 1990, 1999, (1902, 2018))
    final = list(controller.respond("something to watch tonight", [], None, {}, NEW_VISITOR, None, filters))[
        -1
    ]
    assert final.recs, final.history
    for rec in final.recs:
        assert "Comedy" in rec["genres"] and 1990 <= rec["year"] <= 1999
    gone = final.recs[0]["item_id"]
    controller.card_feedback(0, "not_interested", final.store, final.recs)
    nxt = list(
        controller.respond("others", final.history, final.store, final.turn_ids, NEW_VISITOR, None, filters)
    )[-1]
    assert gone not in [r["item_id"] for r in nxt.recs]
    restored = controller.restore(final.store)
    assert restored.history[0]["content"].startswith("something to watch tonight")
    assert restored.turn_ids == nxt.turn_ids  # reply likes after a reload still name the right turn
    assert [r["item_id"] for r in restored.recs] == [r["item_id"] for r in nxt.recs]


def test_default_llm_turn_through_the_api(built_settings: Settings, llm_runtime: Any, tmp_path: Path) -> None:
    """One turn with the real default LLM (llama.cpp GGUF), streamed over SSE."""
    settings = Settings(home=built_settings.home, data_dir=built_settings.data_dir)
    with TestClient(create_app(settings, llm_runtime, with_gradio=False)) as c:
        sid = new_session(c)
        with c.stream(
            "POST",
            f"/api/v1/sessions/{sid}/messages",
            json={"message": "I liked The Matrix, something similar"},
            headers={"Accept": "text/event-stream"},
        ) as r:
            assert r.status_code == 200
            events = parse_sse(r.read().decode())
        result = events[-1][1]
        assert events[-1][0] == "result" and result["recommendations"]
        assert all(rec["explanation"] for rec in result["recommendations"])
        health = c.get("/api/v1/health").json()["components"]
        assert health["llm"]["status"] in ("ok", "degraded")
        json.dumps(result)  # the whole turn is JSON
