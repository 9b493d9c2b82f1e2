"""The JSON API over a fake agent: routes, SSE, errors, site keys, CORS, rate limits, the turn pool."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from tests.ui.fakes import FakeRuntime
from ui.app import create_app

SITE = "http://shop.example:8080"
OTHER_SITE = "http://evil.example"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": tmp_path / "home",
        "llm_backend": "template",
        "site_keys": {"key-a": [SITE], "key-b": ["http://blog.example"]},
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture
def client(tmp_path: Path, runtime: FakeRuntime) -> TestClient:
    app = create_app(make_settings(tmp_path), runtime, with_gradio=False)
    with TestClient(app) as c:
        yield c


def new_session(client: TestClient, **kwargs: Any) -> str:
    r = client.post("/api/v1/sessions", **kwargs)
    assert r.status_code == 201, r.text
    return r.json()["session_id"]


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_session_turn_and_history(client: TestClient, runtime: FakeRuntime) -> None:
    r = client.post("/api/v1/sessions", json={"user_id": 7})
    assert r.status_code == 201 and r.json()["user_id"] == 7
    sid = r.json()["session_id"]
    r = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": "a funny movie"})
    assert r.status_code == 200, r.text
    turn = r.json()
    assert turn["session_id"] == sid and turn["turn_id"] == 1
    assert [rec["title"] for rec in turn["recommendations"]] == ["Toy Story", "Heat", "Alien"]
    assert "funny" in turn["recommendations"][0]["explanation"]
    history = client.get(f"/api/v1/sessions/{sid}").json()
    assert history["user_id"] == 7 and history["turns"][0]["message"] == "a funny movie"


def test_session_body_is_optional(client: TestClient) -> None:
    assert client.post("/api/v1/sessions").json()["user_id"] is None


def test_sse_streams_tokens_then_result(client: TestClient) -> None:
    sid = new_session(client)
    with client.stream(
        "POST",
        f"/api/v1/sessions/{sid}/messages",
        json={"message": "sci-fi"},
        headers={"Accept": "text/event-stream"},
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(r.read().decode())
    kinds = [k for k, _ in events]
    assert kinds[-1] == "result" and len(kinds) > 2
    streamed = "".join(d["text"] for k, d in events if k == "token")
    result = events[-1][1]
    assert streamed.strip() == result["reply"]
    assert len(result["recommendations"]) == 3
    # the ranked list before any card, then one card per recommendation, in order, before the result
    assert kinds.count("ranked") == 1 and kinds.index("ranked") < kinds.index("card")
    ranked = next(d for k, d in events if k == "ranked")
    cards = [d for k, d in events if k == "card"]
    assert [c["index"] for c in cards] == [0, 1, 2]
    assert [c["recommendation"] for c in cards] == result["recommendations"]
    assert [i["item_id"] for i in ranked["items"]] == [r["item_id"] for r in result["recommendations"]]
    assert {c["turn_id"] for c in cards} == {ranked["turn_id"], result["turn_id"]}


def test_openapi_documents_each_stream_event(client: TestClient) -> None:
    """Every SSE event is named in the document with a schema its data validates against."""
    from ui.api.schemas import SSE_EVENTS

    doc = client.get("/api/v1/openapi.json").json()
    stream = doc["paths"]["/sessions/{session_id}/messages"]["post"]["responses"]["200"]["content"]
    events = stream["text/event-stream"]["x-sse-events"]
    assert set(events) == {"token", "ranked", "card", "result", "error"}
    for name, ref in events.items():
        assert ref["$ref"].rsplit("/", 1)[-1] in doc["components"]["schemas"], name
    card = doc["components"]["schemas"]["CardEventOut"]
    assert set(card["required"]) == {"session_id", "turn_id", "index", "recommendation"}
    sid = new_session(client)
    with client.stream(
        "POST",
        f"/api/v1/sessions/{sid}/messages",
        json={"message": "sci-fi"},
        headers={"Accept": "text/event-stream"},
    ) as r:
        sent = parse_sse(r.read().decode())
    assert {k for k, _ in sent} == {"token", "ranked", "card", "result"}
    for name, data in sent:
        SSE_EVENTS[name].model_validate(data)


def test_feedback_is_idempotent_and_changes_next_turn(client: TestClient) -> None:
    sid = new_session(client)
    first = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": "hi"}).json()
    disliked = first["recommendations"][0]["item_id"]
    body = {"item_id": disliked, "kind": "down", "event_id": "evt-1"}
    r1 = client.post(f"/api/v1/sessions/{sid}/feedback", json=body)
    r2 = client.post(f"/api/v1/sessions/{sid}/feedback", json=body)
    assert r1.status_code == r2.status_code == 200
    assert r1.json()["event_id"] == r2.json()["event_id"] == "evt-1"
    events = client.get(f"/api/v1/sessions/{sid}").json()["feedback"]
    assert [e["event_id"] for e in events] == ["evt-1"]
    for _ in range(3):
        nxt = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": "more"}).json()
        assert disliked not in [rec["item_id"] for rec in nxt["recommendations"]]


def test_reply_feedback_without_item(client: TestClient) -> None:
    sid = new_session(client)
    r = client.post(f"/api/v1/sessions/{sid}/feedback", json={"kind": "reply_up", "value": 1})
    assert r.status_code == 200 and r.json()["kind"] == "reply_up"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/sessions/nope/messages", {"message": "hi"}),
        ("post", "/api/v1/sessions/nope/feedback", {"item_id": 1, "kind": "up"}),
        ("get", "/api/v1/sessions/nope", None),
        ("get", "/api/v1/items/999999", None),
    ],
)
def test_unknown_ids_are_404(client: TestClient, method: str, path: str, body: Any) -> None:
    r = client.request(method, path, json=body)
    assert r.status_code == 404
    assert "nope" in r.json()["detail"] or "999999" in r.json()["detail"]


def test_unknown_session_stream_is_404_not_a_broken_stream(client: TestClient) -> None:
    r = client.post(
        "/api/v1/sessions/nope/messages", json={"message": "hi"}, headers={"Accept": "text/event-stream"}
    )
    assert r.status_code == 404 and "nope" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"message": ""}, "message"),
        ({"message": "   "}, "empty"),
        ({"message": "x" * 4001}, "4000"),
        ({"text": "hi"}, "message"),
        ({"message": 5}, "message"),
    ],
)
def test_bad_message_is_422_with_a_clear_reason(client: TestClient, body: Any, needle: str) -> None:
    sid = new_session(client)
    r = client.post(f"/api/v1/sessions/{sid}/messages", json=body)
    assert r.status_code == 422
    assert needle in json.dumps(r.json())


def test_malformed_json_is_422(client: TestClient) -> None:
    sid = new_session(client)
    r = client.post(
        f"/api/v1/sessions/{sid}/messages", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"item_id": 1, "kind": "love"},
        {"item_id": 1, "kind": "up", "event_id": ""},
        {"item_id": 1, "kind": "rating", "value": 7},
        {"kind": "up"},
    ],
)
def test_bad_feedback_is_422(client: TestClient, body: dict[str, Any]) -> None:
    sid = new_session(client)
    assert client.post(f"/api/v1/sessions/{sid}/feedback", json=body).status_code == 422


def test_feedback_on_an_item_never_shown_is_409(client: TestClient) -> None:
    sid = new_session(client)
    r = client.post(f"/api/v1/sessions/{sid}/feedback", json={"item_id": 424242, "kind": "up"})
    assert r.status_code == 409 and "never shown" in r.json()["detail"]


def test_bad_user_id_is_422(client: TestClient) -> None:
    assert client.post("/api/v1/sessions", json={"user_id": -3}).status_code == 422
    r = client.post("/api/v1/sessions", json={"user_id": 5000})
    assert r.status_code == 422 and "5000" in r.json()["detail"]


def test_items_and_health(client: TestClient) -> None:
    item = client.get("/api/v1/items/3").json()
    assert (
        item["title"] == "Alien"
        and item["display_title"] == "Alien (1979)"
        and item["genres"] == ["Horror", "Sci-Fi"]
    )
    assert client.get("/api/v1/items/abc").status_code == 422
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok" and health["components"]["cf"]["status"] == "ok"
    assert health["components"]["turn_pool"]["workers"] == 1


def test_openapi_documents_every_route(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/sessions",
        "/sessions/{session_id}",
        "/sessions/{session_id}/messages",
        "/sessions/{session_id}/feedback",
        "/items/{item_id}",
        "/health",
    ):
        assert path in paths, path
    assert "MessageIn" in spec["components"]["schemas"]


def test_widget_demo_page_is_served(client: TestClient) -> None:
    r = client.get("/widget/demo.html")
    assert r.status_code == 200 and 'src="/widget/recbot.js"' in r.text


def test_widget_script_is_served_and_small(client: TestClient) -> None:
    r = client.get("/widget/recbot.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert len(r.content) <= 30 * 1024
    assert "innerHTML" not in r.text  # model output goes in with textContent only


# --- site keys and CORS ----------------------------------------------------------------------
def test_preflight_allowed_origin(client: TestClient) -> None:
    r = client.options(
        "/api/v1/sessions",
        headers={
            "Origin": SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-recbot-key",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == SITE
    assert "x-recbot-key" in r.headers["access-control-allow-headers"].lower()


def test_preflight_unknown_origin_refused(client: TestClient) -> None:
    r = client.options(
        "/api/v1/sessions", headers={"Origin": OTHER_SITE, "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers


def test_cross_origin_with_right_key(client: TestClient) -> None:
    headers = {"Origin": SITE, "X-Recbot-Key": "key-a"}
    sid = new_session(client, headers=headers)
    r = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": "hi"}, headers=headers)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == SITE


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({"Origin": SITE, "X-Recbot-Key": "nope"}, "unknown site key"),
        ({"Origin": SITE, "X-Recbot-Key": "key-b"}, "not allowed for this site key"),
        ({"Origin": SITE}, "need a site key"),
        ({"Origin": OTHER_SITE, "X-Recbot-Key": "key-a"}, "not allowed"),
    ],
)
def test_cross_origin_refused(client: TestClient, headers: dict[str, str], needle: str) -> None:
    r = client.post("/api/v1/sessions", headers=headers)
    assert r.status_code == 403 and needle in r.json()["detail"]
    if headers["Origin"] == OTHER_SITE:
        assert "access-control-allow-origin" not in r.headers


def test_same_origin_needs_no_key(client: TestClient) -> None:
    r = client.post("/api/v1/sessions", headers={"Origin": "http://testserver"})
    assert r.status_code == 201 and "access-control-allow-origin" not in r.headers


def test_session_is_bound_to_its_key(client: TestClient) -> None:
    sid = new_session(client, headers={"Origin": SITE, "X-Recbot-Key": "key-a"})
    other = {"Origin": "http://blog.example", "X-Recbot-Key": "key-b"}
    r = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": "hi"}, headers=other)
    assert r.status_code == 403 and "another site key" in r.json()["detail"]
    assert client.get(f"/api/v1/sessions/{sid}").status_code == 403  # keyless caller
    keyless = new_session(client)
    r = client.get(f"/api/v1/sessions/{keyless}", headers={"Origin": SITE, "X-Recbot-Key": "key-a"})
    assert r.status_code == 403


def test_session_rate_limit(tmp_path: Path) -> None:
    app = create_app(
        make_settings(tmp_path, rate_limit_per_session_per_minute=2), FakeRuntime(), with_gradio=False
    )
    with TestClient(app) as c:
        sid = new_session(c)
        codes = [
            c.post(f"/api/v1/sessions/{sid}/messages", json={"message": "hi"}).status_code for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        r = c.post(f"/api/v1/sessions/{sid}/feedback", json={"item_id": 1, "kind": "up"})
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
        assert (
            c.post(f"/api/v1/sessions/{new_session(c)}/messages", json={"message": "hi"}).status_code == 200
        )


def test_key_rate_limit_is_readable_cross_origin(tmp_path: Path) -> None:
    app = create_app(
        make_settings(tmp_path, rate_limit_per_key_per_minute=2), FakeRuntime(), with_gradio=False
    )
    headers = {"Origin": SITE, "X-Recbot-Key": "key-a"}
    with TestClient(app) as c:
        codes = [c.post("/api/v1/sessions", headers=headers).status_code for _ in range(3)]
        assert codes == [201, 201, 429]
        r = c.post("/api/v1/sessions", headers=headers)
        assert r.headers["access-control-allow-origin"] == SITE and int(r.headers["retry-after"]) >= 1
        assert c.post("/api/v1/sessions").status_code == 201  # keyless callers are not in that bucket


# --- the turn pool ----------------------------------------------------------------------------
async def _burst(app: Any, n: int, stream: bool) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as c:
        sids = [(await c.post("/api/v1/sessions")).json()["session_id"] for _ in range(n)]
        headers = {"Accept": "text/event-stream"} if stream else {}

        async def one(sid: str) -> int:
            r = await c.post(f"/api/v1/sessions/{sid}/messages", json={"message": "hi"}, headers=headers)
            if stream and r.status_code == 200:
                assert parse_sse(r.text)[-1][0] == "result"
            return r.status_code

        return list(await asyncio.gather(*(one(s) for s in sids)))


@pytest.mark.parametrize("stream", [False, True])
def test_twenty_concurrent_sessions_queue_instead_of_failing(tmp_path: Path, stream: bool) -> None:
    runtime = FakeRuntime(delay_s=0.02)
    app = create_app(make_settings(tmp_path), runtime, with_gradio=False)
    codes = asyncio.run(_burst(app, 20, stream))
    assert codes == [200] * 20
    assert runtime.agent.turn_calls == 20
    assert runtime.agent.max_parallel == 1  # api_turn_workers=1: turns ran one at a time
    # Load shedding (api_llm_max_queue=2): only turns that found fewer than 2 ahead used the LLM.
    flags = runtime.agent.template_only_flags
    assert flags.count(False) >= 1 and flags.count(True) >= 15, flags


def test_a_lone_turn_uses_the_llm_and_zero_queue_never_does(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    client = TestClient(create_app(make_settings(tmp_path), runtime, with_gradio=False))
    sid = new_session(client)
    reply = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": "I loved Alien"})
    assert reply.status_code == 200
    shedding = FakeRuntime()
    client = TestClient(create_app(make_settings(tmp_path, api_llm_max_queue=0), shedding, with_gradio=False))
    sid = new_session(client)
    reply = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": "I loved Alien"})
    assert reply.status_code == 200
    assert runtime.agent.template_only_flags == [False]
    assert shedding.agent.template_only_flags == [True]


def test_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    runtime = FakeRuntime(delay_s=0.2)
    app = create_app(make_settings(tmp_path, api_queue_size=2), runtime, with_gradio=False)
    codes = asyncio.run(_burst(app, 6, stream=False))
    assert codes.count(200) == 3 and codes.count(503) == 3
