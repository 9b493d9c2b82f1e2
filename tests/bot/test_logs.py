"""Structured logs: one JSON object per line, with the request id of the turn that wrote it."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import accept_request_id, current_request_id, request_context, setup_logging
from bot.runtime import Runtime
from tests.bot.reliability_support import copy_of_small_home, small_settings


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = setup_logging("INFO", "json", stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_the_request_id_and_extras(captured: io.StringIO) -> None:
    log = logging.getLogger("recbot.test")
    with request_context("req-123"):
        log.info("hello %s", "world", extra={"session_id": "s1", "ms": 1.5})
    log.warning("outside")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    first, second, third = lines(captured)
    assert first["msg"] == "hello world" and first["request_id"] == "req-123"
    assert first["session_id"] == "s1" and first["ms"] == 1.5 and first["level"] == "INFO"
    assert second["request_id"] is None
    assert "ValueError: boom" in str(third["exc"])


def test_request_ids_do_not_leak_between_threads() -> None:
    seen: dict[str, str | None] = {}

    def work(name: str) -> None:
        with request_context(name):
            threading.Event().wait(0.05)
            seen[name] = current_request_id()

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {f"t{i}": f"t{i}" for i in range(8)}
    assert current_request_id() is None


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("x\ny", False),
        ('"quoted"', False),
        ("", False),
        (None, False),
    ],
)
def test_only_safe_client_ids_are_kept(sent: str | None, kept: bool) -> None:
    got = accept_request_id(sent)
    assert (got == sent) is kept and got


@pytest.mark.slow
def test_every_turn_writes_one_structured_line(tmp_path: Path, captured: io.StringIO) -> None:
    runtime = Runtime.from_settings(small_settings(copy_of_small_home(tmp_path / "home")))
    try:
        agent = runtime.agent
        sid = agent.create_session()
        with request_context("turn-req-1"):
            result = agent.turn(sid, "I loved Toy Story")
        agent.turn(sid, "more")  # no request around it (CLI): the turn gets an id of its own
    finally:
        runtime.close()
    turns = [line for line in lines(captured) if line["msg"] == "turn"]
    assert len(turns) == 2
    assert turns[0]["request_id"] == "turn-req-1" and turns[0]["session_id"] == sid
    assert turns[0]["turn_id"] == result.turn_id and turns[0]["shown"] == [
        r.item_id for r in result.recommendations
    ]
    assert turns[1]["request_id"] and turns[1]["request_id"] != "turn-req-1"
    assert set(turns[0]["latency_ms"]) >= {"parse", "candidates", "explain", "total"}
