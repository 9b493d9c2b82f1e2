"""Real-browser tests (Debian's chromium, driven headless by Playwright): the Gradio page and the
embedded widget on a page from another origin, including refusals and hostile text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.settings import Settings
from tests.ui.fakes import HOSTILE, FakeRuntime
from tests.ui.live import free_port, host_page, serve_app, serve_page
from ui.app import create_app

pytestmark = pytest.mark.slow

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture
def screenshot_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """docs/img with --update-screenshots, else a temporary folder: a test run leaves the tree clean."""
    return DOCS_IMG if request.config.getoption("--update-screenshots") else tmp_path


def gradio_send(page: Page, text: str) -> None:
    page.locator("#recbot-input textarea").fill(text)
    page.locator("#recbot-send").click()


def card_titles(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("#recbot-cards .rb-card:visible .rb-title").all_inner_texts()]


def wait_for_cards(page: Page, previous: list[str] | None = None) -> list[str]:
    """The cards once the turn has ended: they stream in one by one, and the status line says
    "Thinking…" until the last one is on the page. ``previous``: the cards before this turn, to
    wait for until the new turn's first card replaced them."""
    expect(page.locator("#recbot-card-0 .rb-card")).to_be_visible()
    if previous is not None:
        page.wait_for_function(
            "prev => { const t = [...document.querySelectorAll('#recbot-cards .rb-card .rb-title')]"
            ".filter(e => e.offsetParent !== null).map(e => e.innerText.trim());"
            " return t.length > 0 && JSON.stringify(t) !== JSON.stringify(prev); }",
            arg=previous,
        )
    expect(page.locator("#recbot-status")).not_to_contain_text("Thinking", timeout=20_000)
    return card_titles(page)


# --- the Gradio page -----------------------------------------------------------------------------
def run_gradio_flow(page: Page, base: str, screenshot: Path | None = None) -> None:
    """Chat, see cards with explanations, thumbs down one, see it gone and new items next turn."""
    page.goto(base + "/")
    gradio_send(page, "I loved Toy Story, something funny please")
    first = wait_for_cards(page)
    assert first, "no recommendation cards"
    explanation = page.locator("#recbot-card-0 .rb-explanation").inner_text()
    assert len(explanation.strip()) > 10
    page.locator("#recbot-card-0 .recbot-why").click()  # the evidence accordion opens
    expect(page.locator("#recbot-card-0 .rb-why")).to_be_visible()
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    gone = first[0]
    page.locator("#recbot-card-0 button.recbot-fb-down").click()
    expect(page.locator("#recbot-status")).to_contain_text("won't be suggested")
    assert gone not in card_titles(page)
    gradio_send(page, "more like that")
    second = wait_for_cards(page, previous=[t for t in first if t != gone])
    assert gone not in second and second != first
    # The session survives a reload: the conversation comes back from the agent's record.
    page.reload()
    expect(page.locator("#recbot-chat")).to_contain_text("more like that")
    expect(page.locator("#recbot-card-0 .rb-card")).to_be_visible()  # the last cards come back too
    assert card_titles(page) == second


def test_gradio_chat_cards_and_feedback_fake(tmp_path: Path, page: Page) -> None:
    settings = Settings(home=tmp_path / "home", llm_backend="template")
    runtime = FakeRuntime()
    with serve_app(create_app(settings, runtime)) as base:
        run_gradio_flow(page, base)
        # The Chatbot's own thumbs on a whole reply are recorded as reply feedback for that turn.
        page.locator("#recbot-chat button[aria-label='Dislike']").last.click()
        expect(page.locator("#recbot-status")).to_contain_text("Thanks for the feedback")
        (state,) = runtime.agent.sessions.values()
        assert [(e["kind"], e["value"]) for e in state["feedback"] if e["item_id"] is None] == [
            ("reply_down", 2.0)
        ]


def test_gradio_chat_cards_and_feedback_real_agent(
    built_settings: Settings, real_runtime: Any, page: Page, screenshot_dir: Path
) -> None:
    """The same flow over the real agent on MovieLens; --update-screenshots saves docs/img/ui.png."""
    with serve_app(create_app(built_settings, real_runtime)) as base:
        run_gradio_flow(page, base, screenshot=screenshot_dir / "ui.png")


def test_gradio_known_user_and_filters_survive_reload(
    built_settings: Settings, real_runtime: Any, page: Page
) -> None:
    """Side panel: a known MovieLens user with a genre filter; the choice and chat survive a reload."""
    with serve_app(create_app(built_settings, real_runtime)) as base:
        page.goto(base + "/")
        page.locator("#recbot-sidebar button.toggle-button").click()
        page.locator("#recbot-visitor label", has_text="MovieLens user").click()
        page.locator("#recbot-user-id input").fill("5")
        page.locator("#recbot-genres label", has_text="Horror").click()
        gradio_send(page, "something good tonight")
        wait_for_cards(page)
        genres = page.locator("#recbot-cards .rb-card:visible .rb-genres").all_inner_texts()
        assert genres and all("Horror" in g for g in genres)
        page.reload()
        expect(page.locator("#recbot-chat")).to_contain_text("something good tonight")
        page.locator("#recbot-sidebar button.toggle-button").click()
        expect(page.locator("#recbot-user-id input")).to_have_value("5")
        gradio_send(page, "another one")
        expect(page.locator("#recbot-chat")).to_contain_text("another one")
        wait_for_cards(page)
        # Still one conversation: both messages are in the same session of user 5.
        sessions = real_runtime.store.all_sessions()
        mine = [s for s in sessions if s["user_id"] == "5"]
        assert len(mine) == 1
        turns = real_runtime.agent.session(mine[0]["id"])["turns"]
        assert [t["message"].split(" (filters")[0] for t in turns] == [
            "something good tonight",
            "another one",
        ]


def test_gradio_renders_hostile_text_as_text(tmp_path: Path, page: Page) -> None:
    settings = Settings(home=tmp_path / "home", llm_backend="template")
    with serve_app(create_app(settings, FakeRuntime(hostile_title=True, hostile_reply=True))) as base:
        page.goto(base + "/")
        gradio_send(page, f"hello {HOSTILE}")
        wait_for_cards(page)
        expect(page.locator("#recbot-card-0 .rb-title")).to_contain_text("<img src=x")
        expect(page.locator("#recbot-chat")).to_contain_text("onerror")
        assert page.locator("#recbot-cards img, #recbot-chat img[src=x]").count() == 0
        assert page.evaluate("window.__pwned") is None


def test_gradio_is_usable_at_phone_width(tmp_path: Path, browser: Browser) -> None:
    settings = Settings(home=tmp_path / "home", llm_backend="template")
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    pg = context.new_page()
    try:
        with serve_app(create_app(settings, FakeRuntime())) as base:
            pg.goto(base + "/")
            gradio_send(pg, "something funny")
            wait_for_cards(pg)
            width = pg.evaluate("document.documentElement.scrollWidth")
            assert width <= 375 + 2, f"page scrolls sideways at phone width ({width}px)"
            box = pg.locator("#recbot-card-0 button.recbot-fb-down").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 377
    finally:
        context.close()


# --- the widget on another origin ---------------------------------------------------------------
def open_widget(page: Page, url: str) -> Any:
    page.goto(url)
    widget = page.locator("#recbot-widget")
    widget.locator(".bubble").click()
    return widget


def widget_send(widget: Any, text: str) -> None:
    widget.locator("input").fill(text)
    widget.locator("form button").click()


def widget_wait_for_turn(widget: Any) -> None:
    """Cards stream in one by one; the send button is enabled again once the turn has ended."""
    expect(widget.locator(".card").first).to_be_visible()
    expect(widget.locator("form button")).to_be_enabled(timeout=20_000)


def test_widget_cross_origin_chat_streams(tmp_path: Path, page: Page) -> None:
    app_port = free_port()
    with serve_page(host_page(f"http://127.0.0.1:{app_port}/widget/recbot.js", "shop-key")) as site:
        settings = Settings(home=tmp_path / "home", llm_backend="template", site_keys={"shop-key": [site]})
        runtime = FakeRuntime(token_delay_s=0.15)
        with serve_app(create_app(settings, runtime, with_gradio=False), port=app_port):
            widget = open_widget(page, site + "/")
            # Record every text the reply bubble shows, to see tokens arrive before the result.
            page.evaluate("""() => { window.__seen = [];
                const log = document.querySelector('#recbot-widget').shadowRoot.querySelector('.log');
                new MutationObserver(() => { const b = log.querySelectorAll('.bot');
                if (b.length) window.__seen.push(b[b.length - 1].textContent); })
                .observe(log, {subtree: true, childList: true, characterData: true}); }""")
            widget_send(widget, "something funny")
            widget_wait_for_turn(widget)
            assert widget.locator(".card").count() == 3
            seen = page.evaluate("window.__seen")
            partial = [s for s in seen if s and s != "…" and s.strip() != "Here are a few picks for you."]
            assert partial, f"no partial text was streamed: {seen}"
            # The page's CSS does not reach into the widget (red 40px text, hidden .card) ...
            assert widget.locator(".card").first.evaluate("e => getComputedStyle(e).display") != "none"
            assert widget.locator(".title").first.evaluate("e => getComputedStyle(e).fontSize") != "40px"
            # ... and the widget's CSS does not reach the page.
            assert page.locator("#shop-card").evaluate("e => getComputedStyle(e).display") == "none"
            # Feedback: thumbs down removes the card; the session is in localStorage and survives a reload.
            title = widget.locator(".card .title").first.inner_text()
            widget.locator(".card .fb-down").first.click()
            expect(widget.locator(".card")).to_have_count(2)
            sid = runtime.agent.sessions and next(iter(runtime.agent.sessions))
            assert runtime.agent.sessions[sid]["feedback"][0]["kind"] == "down"
            stored = page.evaluate("Object.keys(localStorage).map(k => localStorage.getItem(k))")
            assert sid in stored
            page.reload()
            widget = open_widget(page, site + "/")
            expect(widget.locator(".user").first).to_have_text("something funny")
            widget_send(widget, "more")
            expect(widget.locator(".card").first).to_be_visible()
            assert len(runtime.agent.sessions) == 1
            assert title not in widget.locator(".card .title").all_inner_texts()


def test_widget_cross_origin_real_agent(
    built_settings: Settings, real_runtime: Any, page: Page, screenshot_dir: Path
) -> None:
    """The widget on another origin, over the real agent; --update-screenshots saves docs/img/widget.png."""
    app_port = free_port()
    with serve_page(
        host_page(f"http://127.0.0.1:{app_port}/widget/recbot.js", "demo-key", hostile_css=False)
    ) as site:
        settings = Settings(
            home=built_settings.home,
            data_dir=built_settings.data_dir,
            llm_backend="template",
            site_keys={"demo-key": [site]},
        )
        with serve_app(create_app(settings, real_runtime, with_gradio=False), port=app_port):
            page.set_viewport_size({"width": 900, "height": 760})
            widget = open_widget(page, site + "/")
            widget_send(widget, "I loved Alien, something scary please")
            widget_wait_for_turn(widget)
            titles = widget.locator(".card .title").all_inner_texts()
            assert titles and not any(t.startswith("Alien (") for t in titles)
            widget.locator(".card details.why").first.evaluate("e => e.open = true")
            screenshot_dir.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot_dir / "widget.png"))
            widget.locator(".card .fb-not_interested").first.click()
            expect(widget.locator(".card")).to_have_count(len(titles) - 1)
            widget_send(widget, "more")
            expect(widget.locator(".card")).not_to_have_count(len(titles) - 1)
            assert titles[0] not in widget.locator(".card .title").all_inner_texts()


@pytest.mark.parametrize(
    ("page_key", "allowed", "needle"),
    [("wrong-key", "page", "unknown site key"), ("shop-key", "elsewhere", "")],
)
def test_widget_with_wrong_key_or_origin_is_refused(
    tmp_path: Path, page: Page, page_key: str, allowed: str, needle: str
) -> None:
    app_port = free_port()
    with serve_page(host_page(f"http://127.0.0.1:{app_port}/widget/recbot.js", page_key)) as site:
        origins = [site] if allowed == "page" else ["http://elsewhere.example"]
        settings = Settings(home=tmp_path / "home", llm_backend="template", site_keys={"shop-key": origins})
        runtime = FakeRuntime()
        with serve_app(create_app(settings, runtime, with_gradio=False), port=app_port):
            widget = open_widget(page, site + "/")
            widget_send(widget, "hello")
            expect(widget.locator(".error")).to_be_visible()
            if needle:
                expect(widget.locator(".error")).to_contain_text(needle)
            assert widget.locator(".card").count() == 0
            assert runtime.agent.sessions == {} and runtime.agent.turn_calls == 0


def test_widget_renders_hostile_text_as_text(tmp_path: Path, page: Page) -> None:
    app_port = free_port()
    with serve_page(host_page(f"http://127.0.0.1:{app_port}/widget/recbot.js", "k")) as site:
        settings = Settings(home=tmp_path / "home", llm_backend="template", site_keys={"k": [site]})
        with serve_app(
            create_app(settings, FakeRuntime(hostile_title=True, hostile_reply=True), with_gradio=False),
            port=app_port,
        ):
            widget = open_widget(page, site + "/")
            widget_send(widget, "hi")
            expect(widget.locator(".card").first).to_be_visible()
            expect(widget.locator(".card .title").first).to_contain_text("<img src=x")
            expect(widget.locator(".bot").last).to_contain_text("onerror")
            assert widget.locator("img").count() == 0
            assert page.evaluate("window.__pwned") is None
