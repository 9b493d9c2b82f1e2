"""UI fixtures: one real runtime on the shared MovieLens data, built once per test session.

Building the CF artifact and the Chroma index of all 9,742 movies takes minutes on a small CPU, so
every end-to-end and browser test of tests/ui shares one built home instead of the per-test
``settings`` fixture's fresh one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.settings import Settings
from tests.ui.live import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Read at import (the autouse fixture clears RECBOT_* later). Local runs only; CI builds from scratch.
PREBUILT_HOME = os.environ.get("RECBOT_TEST_BUILT_HOME")
OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
}


@pytest.fixture(scope="session")
def built_settings(tmp_path_factory: pytest.TempPathFactory, movielens_dir: Path) -> Settings:
    """Template-LLM settings whose home has the CF artifact and the index built (once)."""
    from bot.runtime import Runtime

    settings = Settings(
        home=tmp_path_factory.mktemp("ui_home"), data_dir=movielens_dir, llm_backend="template"
    )
    if PREBUILT_HOME:  # a home built earlier for the same data: copied, so local runs skip the build
        shutil.copytree(
            PREBUILT_HOME, settings.home, dirs_exist_ok=True, ignore=shutil.ignore_patterns("recbot.db*")
        )
    with pytest.MonkeyPatch.context() as mp:
        for key, value in OFFLINE.items():
            mp.setenv(key, value)
        runtime = Runtime.from_settings(settings)
        health = runtime.health()
        runtime.close()
    assert all(part["status"] == "ok" for part in health.values()), health
    return settings


@pytest.fixture(scope="session")
def real_runtime(built_settings: Settings) -> Iterator[Any]:
    """The real runtime (template explanations) on the built home."""
    from bot.runtime import Runtime

    runtime = Runtime.from_settings(built_settings)
    runtime.agent  # noqa: B018 - load now, not inside the first timed request
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def llm_runtime(built_settings: Settings) -> Iterator[Any]:
    """The real runtime with the default LLM backend (the 4-bit GGUF via llama.cpp)."""
    from bot.runtime import Runtime

    settings = Settings(home=built_settings.home, data_dir=built_settings.data_dir)  # default llm_backend
    runtime = Runtime.from_settings(settings)
    yield runtime
    runtime.close()


# --- a real browser (Debian's chromium, headless, driven by Playwright) ---------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()
