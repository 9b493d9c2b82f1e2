"""Bad input anywhere gets a clear 4xx (or a clear chat message), never a 500 or a traceback.

Against the real app and agent (template LLM) on the session's built home; plus broken data files
(CSV) and broken evaluation dialogues (YAML), whose errors must name the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from ui.app import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(built_settings: Settings, real_runtime: Any) -> Iterator[TestClient]:
    settings = built_settings.model_copy(update={"rate_limit_per_session_per_minute": 0})
    with TestClient(
        create_app(settings, real_runtime, with_gradio=False), raise_server_exceptions=False
    ) as c:
        yield c


@pytest.fixture(scope="module")
def shown(client: TestClient) -> tuple[str, list[int]]:
    sid = client.post("/api/v1/sessions", json={}).json()["session_id"]
    r = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": "I loved Toy Story"})
    assert r.status_code == 200, r.text
    return sid, [rec["item_id"] for rec in r.json()["recommendations"]]


def assert_clear_4xx(r: Any, status: int | tuple[int, ...], *needles: str) -> None:
    """A 4xx with a JSON ``detail`` that explains, and no traceback or internals."""
    statuses = (status,) if isinstance(status, int) else status
    assert r.status_code in statuses, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json")
    body = r.text
    assert "Traceback" not in body and 'File "' not in body
    detail = json.dumps(r.json()["detail"]).lower()
    for needle in needles:
        assert needle.lower() in detail, (needle, detail[:500])


# --- messages -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("message", "needle"),
    [
        ("", "message"),
        ("   \n\t  ", "empty"),
        ("\x00\x01\x02\x1b\x7f\u200b", "empty"),  # only control characters: nothing left after cleaning
        ("x" * 100_000, "limit"),  # 100 kB
        ("x" * 100_001, "message"),  # past the body's outer bound
        ("I loved Toy Story " * 500, "limit"),  # just long, and real words
    ],
    ids=["empty", "whitespace", "control-only", "100kB", "over-100kB", "long-words"],
)
def test_bad_messages_are_422(
    client: TestClient, shown: tuple[str, list[int]], message: str, needle: str
) -> None:
    sid, _ = shown
    for accept in ("application/json", "text/event-stream"):
        r = client.post(
            f"/api/v1/sessions/{sid}/messages", json={"message": message}, headers={"Accept": accept}
        )
        assert_clear_4xx(r, 422, needle)


def test_control_characters_inside_a_real_message_are_stripped(
    client: TestClient, shown: tuple[str, list[int]]
) -> None:
    sid, _ = shown
    r = client.post(
        f"/api/v1/sessions/{sid}/messages", json={"message": "some\x00thing\x07 funny\u202e please"}
    )
    assert r.status_code == 200, r.text
    assert "\x00" not in r.json()["reply"] and "\x07" not in r.json()["reply"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"message": "\xff\xfe bad utf-8"}',
        b"\xc3\x28",
        b'{"message": "unterminated',
        b"",
        b"null",
        b"[]",
        b'{"message": "a", "extra": 1}',
        b'{"message": 42}',
        b'{"message": null}',
        b'{"message": ["a"]}',
        b'{"message": {"text": "a"}}',
        b'{"message": "\\ud800 lone surrogate"}',
    ],
    ids=[
        "bad-utf8",
        "bad-utf8-bare",
        "truncated",
        "no-body",
        "null",
        "list",
        "extra-field",
        "int",
        "json-null",
        "list-field",
        "object-field",
        "lone-surrogate",
    ],
)
def test_malformed_message_bodies_are_4xx(
    client: TestClient, shown: tuple[str, list[int]], raw: bytes
) -> None:
    sid, _ = shown
    r = client.post(
        f"/api/v1/sessions/{sid}/messages", content=raw, headers={"Content-Type": "application/json"}
    )
    if r.status_code == 200:  # a lone surrogate may be accepted and cleaned: then it is a normal turn
        assert "reply" in r.json()
        return
    assert_clear_4xx(r, (400, 422))


def test_wrong_content_type_is_4xx(client: TestClient, shown: tuple[str, list[int]]) -> None:
    sid, _ = shown
    r = client.post(
        f"/api/v1/sessions/{sid}/messages",
        content=b"message=hi",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_clear_4xx(r, (415, 422))


# --- unknown ids ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body", "status", "needle"),
    [
        ("get", "/api/v1/sessions/nope-not-a-session", None, 404, "unknown session"),
        ("post", "/api/v1/sessions/nope-not-a-session/messages", {"message": "hi"}, 404, "unknown session"),
        (
            "post",
            "/api/v1/sessions/nope-not-a-session/feedback",
            {"item_id": 1, "kind": "up"},
            404,
            "unknown session",
        ),
        ("get", "/api/v1/sessions/" + "x" * 129, None, 422, ""),
        ("get", "/api/v1/sessions/%00%01", None, (404, 422), ""),
        ("get", "/api/v1/items/999999999", None, 404, "999999999"),
        ("get", "/api/v1/items/-1", None, 404, ""),
        ("get", "/api/v1/items/abc", None, 422, "item_id"),
        ("get", "/api/v1/items/99999999999999999999999", None, (404, 422), ""),
        ("post", "/api/v1/sessions", {"user_id": "alice"}, 422, "user_id"),
        ("post", "/api/v1/sessions", {"user_id": -5}, 422, "user_id"),
        ("post", "/api/v1/sessions", {"user_id": 1.5}, 422, "user_id"),
        ("post", "/api/v1/sessions", {"usr": 1}, 422, "usr"),
        ("get", "/api/v1/no-such-route", None, 404, ""),
    ],
)
def test_unknown_ids_and_wrong_types(
    client: TestClient, method: str, path: str, body: Any, status: int | tuple[int, ...], needle: str
) -> None:
    r = client.request(method.upper(), path, json=body)
    assert_clear_4xx(r, status, needle)


def test_unknown_movielens_user_is_a_new_visitor(client: TestClient) -> None:
    r = client.post("/api/v1/sessions", json={"user_id": 987654321})
    assert r.status_code == 201, r.text
    turn = client.post(f"/api/v1/sessions/{r.json()['session_id']}/messages", json={"message": "a comedy"})
    assert turn.status_code == 200 and turn.json()["recommendations"]


# --- feedback -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"item_id": "abc", "kind": "up"}, "item_id"),
        ({"item_id": None, "kind": "up"}, "item"),
        ({"kind": "up"}, "item"),
        ({"item_id": 1, "kind": "love"}, "kind"),
        ({"item_id": 1}, "kind"),
        ({"item_id": 1, "kind": "up", "event_id": ""}, "event_id"),
        ({"item_id": 1, "kind": "up", "event_id": "e" * 129}, "event_id"),
        ({"item_id": 1, "kind": "up", "event_id": 5}, "event_id"),
        ({"item_id": 1, "kind": "rating", "value": "five"}, "value"),
        ({"item_id": 1, "kind": "up", "colour": "red"}, "colour"),
    ],
)
def test_bad_feedback_is_422(
    client: TestClient, shown: tuple[str, list[int]], body: dict[str, Any], needle: str
) -> None:
    sid, items = shown
    if body.get("item_id") == 1:
        body = {**body, "item_id": items[0]}  # a shown item, so only the named field is wrong
    r = client.post(f"/api/v1/sessions/{sid}/feedback", json=body)
    assert_clear_4xx(r, 422, needle)


@pytest.mark.parametrize("body", [{"item_id": 999999999, "kind": "up"}, {"item_id": 2, "kind": "down"}])
def test_feedback_on_an_item_never_shown_is_409(
    client: TestClient, shown: tuple[str, list[int]], body: dict[str, Any]
) -> None:
    """Well-formed (the schema allows it), refused by the session's state: 409, as documented."""
    sid, _ = shown
    r = client.post(f"/api/v1/sessions/{sid}/feedback", json=body)
    assert_clear_4xx(r, 409, "never shown")


def test_rating_out_of_range_on_a_shown_item(client: TestClient, shown: tuple[str, list[int]]) -> None:
    sid, items = shown
    for value in (0, 9, -1, None):
        r = client.post(
            f"/api/v1/sessions/{sid}/feedback", json={"item_id": items[0], "kind": "rating", "value": value}
        )
        assert_clear_4xx(r, 422, "rating")


def test_nothing_bad_was_recorded(client: TestClient, shown: tuple[str, list[int]]) -> None:
    sid, _ = shown
    session = client.get(f"/api/v1/sessions/{sid}").json()
    assert all(
        e["kind"] in ("up", "down", "seen", "not_interested", "click", "rating", "reply_up", "reply_down")
        for e in session["feedback"]
    )
    assert all(t["message"].strip() for t in session["turns"])


# --- broken files: the error names the file and the line ------------------------------------
def test_malformed_dialogue_yaml_names_file_and_line(tmp_path: Path) -> None:
    from eval.dialogue_spec import DialogueSpecError, load_dialogues

    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nturns:\n  - user: hi\n    expect: {recommends: [\n  - user: oops\n")
    with pytest.raises(DialogueSpecError) as err:
        load_dialogues(path)
    message = str(err.value)
    assert "broken.yaml:5" in message or ("broken.yaml" in message and "line 5" in message), message


def test_malformed_ratings_csv_names_file_and_line(tmp_path: Path) -> None:
    from cf_engine.data import load_dataset
    from cf_engine.data.errors import DataError

    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n1,Toy Story (1995),Comedy\n2,Heat (1995),Crime\n"
    )
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,not-a-number,2\n")
    with pytest.raises(DataError) as err:
        load_dataset(Settings(home=tmp_path / "home", data_dir=folder).cf_config())
    message = str(err.value)
    assert "ratings.csv" in message and "3" in message
