"""The widget's API in front of anyone: site keys, origins, session binding, rate limits, escaping.

Against the real app and agent (template LLM). The browser side (shadow DOM, textContent) is
tested by tests/ui/test_browser.py; here the server side: every route the widget calls enforces the
key/origin pair (preflight included), sessions are unguessable and bound to their key, limits
answer 429 with Retry-After, and nothing from the catalog or the model becomes markup in ui/cards.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from ui.app import create_app
from ui.cards import card_html, escape_markdown, evidence_html

pytestmark = pytest.mark.slow

SITE, BLOG, EVIL = "https://shop.example", "https://blog.example", "https://evil.example"
KEYS = {"key-shop": [SITE], "key-blog": [BLOG]}
SHOP = {"Origin": SITE, "X-Recbot-Key": "key-shop"}
BLOG_H = {"Origin": BLOG, "X-Recbot-Key": "key-blog"}


@pytest.fixture(scope="module")
def client(built_settings: Settings, real_runtime: Any) -> Iterator[TestClient]:
    settings = built_settings.model_copy(
        update={"site_keys": KEYS, "rate_limit_per_session_per_minute": 0, "rate_limit_per_key_per_minute": 0}
    )
    with TestClient(create_app(settings, real_runtime, with_gradio=False)) as c:
        yield c


@pytest.fixture(scope="module")
def shop_session(client: TestClient) -> tuple[str, int]:
    sid = client.post("/api/v1/sessions", headers=SHOP).json()["session_id"]
    r = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": "I loved Toy Story"}, headers=SHOP)
    assert r.status_code == 200, r.text
    return sid, r.json()["recommendations"][0]["item_id"]


def widget_routes(sid: str, item: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every (method, path, json) the widget calls."""
    return [
        ("POST", "/api/v1/sessions", {}),
        ("GET", f"/api/v1/sessions/{sid}", None),
        ("POST", f"/api/v1/sessions/{sid}/messages", {"message": "more"}),
        ("POST", f"/api/v1/sessions/{sid}/feedback", {"item_id": item, "kind": "click"}),
        ("GET", f"/api/v1/items/{item}", None),
        ("GET", "/api/v1/health", None),
    ]


@pytest.mark.parametrize("route", range(6))
def test_every_widget_route_enforces_key_and_origin(
    client: TestClient, shop_session: tuple[str, int], route: int
) -> None:
    sid, item = shop_session
    method, path, body = widget_routes(sid, item)[route]
    refused = [
        ({"Origin": SITE}, "need a site key"),
        ({"Origin": EVIL, "X-Recbot-Key": "key-shop"}, "not allowed"),
        ({"Origin": SITE, "X-Recbot-Key": "key-blog"}, "not allowed for this site key"),
        ({"Origin": SITE, "X-Recbot-Key": "stolen"}, "unknown site key"),
        ({"X-Recbot-Key": "stolen"}, "unknown site key"),
    ]
    for headers, needle in refused:
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code == 403 and needle in r.json()["detail"], (headers, r.status_code, r.text)
        if headers.get("Origin") == EVIL:
            assert "access-control-allow-origin" not in r.headers
    ok = client.request(method, path, json=body, headers=SHOP)
    assert ok.status_code < 400, ok.text
    assert ok.headers["access-control-allow-origin"] == SITE

    # Preflight: answered for origins some key allows, refused (without CORS headers) otherwise.
    pre = {
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type,x-recbot-key",
    }
    good = client.options(path, headers={"Origin": SITE, **pre})
    assert good.status_code == 204 and good.headers["access-control-allow-origin"] == SITE
    assert "x-recbot-key" in good.headers["access-control-allow-headers"].lower()
    bad = client.options(path, headers={"Origin": EVIL, **pre})
    assert bad.status_code == 403 and "access-control-allow-origin" not in bad.headers


def test_same_origin_and_originless_callers_need_no_key(client: TestClient) -> None:
    assert client.post("/api/v1/sessions", headers={"Origin": "http://testserver"}).status_code == 201
    assert client.post("/api/v1/sessions").status_code == 201


def test_session_ids_are_unguessable(client: TestClient) -> None:
    ids = [client.post("/api/v1/sessions", headers=SHOP).json()["session_id"] for _ in range(200)]
    assert len(set(ids)) == len(ids)
    for sid in ids:  # secrets.token_urlsafe(24): 192 random bits
        assert re.fullmatch(r"[A-Za-z0-9_\-]{32,}", sid), sid
    # No shared prefix or counter: the ids' first characters spread over the alphabet.
    assert len({sid[:2] for sid in ids}) > 150


def test_one_visitor_cannot_read_or_write_another_sites_session(
    client: TestClient, shop_session: tuple[str, int]
) -> None:
    sid, item = shop_session
    before = client.get(f"/api/v1/sessions/{sid}", headers=SHOP).json()
    for headers in (BLOG_H, {}):
        assert client.get(f"/api/v1/sessions/{sid}", headers=headers).status_code == 403
        r = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": "hi"}, headers=headers)
        assert r.status_code == 403
        r = client.post(
            f"/api/v1/sessions/{sid}/feedback", json={"item_id": item, "kind": "down"}, headers=headers
        )
        assert r.status_code == 403
    after = client.get(f"/api/v1/sessions/{sid}", headers=SHOP).json()
    assert len(after["turns"]) == len(before["turns"]) and after["feedback"] == before["feedback"]
    # A keyless (same-origin page / Gradio) session is not reachable with a key either.
    keyless = client.post("/api/v1/sessions").json()["session_id"]
    assert client.get(f"/api/v1/sessions/{keyless}", headers=SHOP).status_code == 403


def test_rate_limits_answer_429_with_retry_after(built_settings: Settings, real_runtime: Any) -> None:
    settings = built_settings.model_copy(
        update={"site_keys": KEYS, "rate_limit_per_key_per_minute": 6, "rate_limit_per_session_per_minute": 3}
    )
    with TestClient(create_app(settings, real_runtime, with_gradio=False)) as c:
        sid = c.post("/api/v1/sessions", headers=SHOP).json()["session_id"]  # key hit 1
        codes = [c.get(f"/api/v1/sessions/{sid}", headers=SHOP).status_code for _ in range(2)]  # 2, 3
        msgs = [
            c.post(f"/api/v1/sessions/{sid}/messages", json={"message": "a comedy"}, headers=SHOP)
            for _ in range(4)
        ]  # key hits 4..6 pass the key limit; the session allows 3 turns
        assert codes == [200, 200]
        assert [m.status_code for m in msgs[:3]] == [200, 200, 200]
        assert msgs[3].status_code == 429 and 1 <= int(msgs[3].headers["retry-after"]) <= 60
        r = c.post("/api/v1/sessions", headers=SHOP)  # the key's 7th request in the minute
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
        assert r.headers["access-control-allow-origin"] == SITE  # the widget can read why
        assert "retry-after" in r.headers["access-control-expose-headers"].lower()
        # Another key is not affected by the first key's limit.
        assert c.post("/api/v1/sessions", headers=BLOG_H).status_code == 201


# --- nothing from the catalog or the model becomes markup -----------------------------------
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "' onmouseover='alert(1)",
    "javascript:alert(1)",
    "</div><iframe src=//evil.example>",
    "[click](javascript:alert(1))",
    "<style>*{display:none}</style>",
]
ALLOWED_TAGS = {"div", "span", "p", "ul", "li", "b"}
URL_OR_CODE_ATTRS = {"href", "src", "srcdoc", "style", "action", "formaction", "xlink:href"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _markup(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.mark.parametrize("payload", HOSTILE)
def test_cards_render_catalog_and_model_text_as_text(payload: str) -> None:
    rec = {
        "item_id": payload,
        "title": payload,
        "year": payload,
        "genres": [payload, "Comedy"],
        "explanation": payload,
        "explanation_source": "llm",
    }
    evidence = {
        "neighbours": [{"title": payload, "similarity": payload, "source": "cf"}],
        "co_ratings": [{"seed_title": payload, "mean": payload, "n": payload}],
        "matched_genres": [payload],
        "matched_tags": [payload],
        "query_terms": [payload],
        "mean_rating": payload,
        "n_ratings": payload,
        "dialogue": {
            "named_with": [{"item_id": 1, "title": payload}],
            "times_suggested": payload,
            "corpus": payload,
        },
    }
    for html in (card_html(rec, note=payload), evidence_html(evidence)):
        for tag, attrs in _markup(html):
            assert tag in ALLOWED_TAGS, (tag, html)
            for name, _value in attrs:  # text only ever lands in inert attributes (class, title, data-*)
                assert not name.startswith("on") and name not in URL_OR_CODE_ATTRS, html
        assert payload not in html or not any(c in payload for c in "<>\"'")


@pytest.mark.parametrize("payload", HOSTILE)
def test_chat_text_is_escaped_for_the_markdown_renderer(payload: str) -> None:
    text = escape_markdown(payload)
    assert "<" not in text and ">" not in text.replace("&gt;", "")
    assert "](" not in text  # no Markdown link survives


def test_real_catalog_text_through_the_cards(real_runtime: Any) -> None:
    """Every title and genre of the real catalog renders without producing a tag of its own."""
    for item in real_runtime.dataset.catalog:
        rec = {
            "item_id": item.item_id,
            "title": item.title,
            "year": item.year,
            "genres": list(item.genres),
            "explanation": item.text[:200],
            "explanation_source": "template",
        }
        plain = dict(rec, title="T", explanation="E", genres=["G"] * len(item.genres))
        # The same tags as the card of plain text: the real text added no element of its own.
        assert _markup(card_html(rec)) == _markup(card_html(plain)), item.title
