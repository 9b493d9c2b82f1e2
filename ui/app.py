"""The one ASGI application ``recbot serve`` runs: Gradio at ``/``, the JSON API at ``/api/v1``,
the embeddable widget at ``/widget``."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.chat_agent import ServedRuntime
from bot.settings import Settings
from ui.api import API_PREFIX, build_api

WIDGET_DIR = Path(__file__).resolve().parent / "widget"


def create_app(
    settings: Settings, runtime: ServedRuntime | None = None, *, with_gradio: bool = True
) -> FastAPI:
    """Build the app. ``runtime`` defaults to ``Runtime.from_settings(settings)`` (lazy loading);
    ``with_gradio=False`` leaves out the chat page (API-only tests and deployments)."""
    if runtime is None:
        from bot.runtime import Runtime

        runtime = Runtime.from_settings(settings)
    api = build_api(settings, runtime)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        api.state.turn_pool.shutdown()

    app = FastAPI(title="recbot", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.api = api
    app.mount(API_PREFIX, api, name="api")
    app.mount("/widget", StaticFiles(directory=WIDGET_DIR), name="widget")
    if with_gradio:
        import gradio as gr

        from ui.chat_page import build_chat_page, page_css

        app = gr.mount_gradio_app(
            app,
            build_chat_page(settings, runtime),
            path="",
            css=page_css(),
            footer_links=[],
            theme=gr.themes.Soft(),
        )
    return app
