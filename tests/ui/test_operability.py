"""Operability of the API: a request id on every answer and in the logs, and a health report per component."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.logs import setup_logging
from bot.settings import Settings
from ui.app import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(built_settings: Settings, real_runtime: Any) -> Iterator[TestClient]:
    settings = built_settings.model_copy(update={"site_keys": {"k": ["https://shop.example"]}})
    with TestClient(create_app(settings, real_runtime, with_gradio=False)) as c:
        yield c


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = setup_logging("INFO", "json", stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def test_request_id_is_returned_and_logged_for_the_turn(client: TestClient, log_lines: io.StringIO) -> None:
    sid = client.post("/api/v1/sessions").json()["session_id"]
    r = client.post(
        f"/api/v1/sessions/{sid}/messages",
        json={"message": "I loved Toy Story"},
        headers={"X-Request-ID": "abc-42"},
    )
    assert r.status_code == 200 and r.headers["x-request-id"] == "abc-42"
    records = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    turn = [x for x in records if x["msg"] == "turn"]
    assert turn and turn[-1]["request_id"] == "abc-42" and turn[-1]["session_id"] == sid  # via the turn pool
    access = [x for x in records if x["msg"] == "request" and x["request_id"] == "abc-42"]
    assert access and access[-1]["status"] == 200 and access[-1]["path"].endswith("/messages")


def test_generated_ids_are_unique_and_unsafe_ones_replaced(client: TestClient) -> None:
    ids = {client.get("/api/v1/health").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5
    r = client.get("/api/v1/health", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"
    refused = client.post("/api/v1/sessions", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and refused.headers["x-request-id"]  # refusals carry one too


def test_health_reports_every_component(client: TestClient) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    for part in ("dataset", "cf", "index", "llm", "store"):
        assert body["components"][part]["status"] == "ok", body
    assert body["components"]["turn_pool"]["workers"] >= 1
