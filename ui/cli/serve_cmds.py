"""``recbot serve``: build what is missing (dataset, CF artifact, index) with progress bars, then serve
the chat page, the JSON API and the widget from one uvicorn process."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ui.cli.apps import app, eval_app  # noqa: F401


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (default: settings.host, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings.port, 7860).")] = None,
    llm_backend: Annotated[
        str | None, typer.Option(help="llamacpp, transformers, openai or template (no LLM).")
    ] = None,
    no_ui: Annotated[bool, typer.Option("--no-ui", help="Serve only the API and the widget.")] = False,
) -> None:
    """Serve Gradio at /, the JSON API at /api/v1 and the widget at /widget/recbot.js."""
    # Gradio phones home at import time unless told not to; this is the library's own switch
    # (not recbot configuration), so it is set here before gradio is imported.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    from bot.runtime import Runtime
    from bot.settings import load_settings
    from ui.app import create_app

    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if llm_backend is not None:
        overrides["llm_backend"] = llm_backend
    try:
        settings = load_settings(**overrides)
    except Exception as exc:  # pydantic's message names the bad field
        raise typer.BadParameter(str(exc)) from exc

    from bot.logs import setup_logging

    setup_logging(settings.log_level, settings.log_format)  # JSON lines with a request id per request
    typer.echo(f"recbot: preparing data, models and index under {settings.home} ...")
    runtime = Runtime.from_settings(settings, progress=True)
    warm_up(runtime)
    application = create_app(settings, runtime, with_gradio=not no_ui)
    url = f"http://{settings.host}:{settings.port}"
    typer.echo(f"recbot: serving on {url}/  (API: {url}/api/v1, widget: {url}/widget/recbot.js)")
    # log_config=None: uvicorn's loggers go through the structured handler set up above.
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,
    )


def warm_up(runtime: object) -> None:
    """Load or build every component now, so the first visitor does not wait for a training run.

    ``Runtime`` loads lazily; asking for its health touches each component. A runtime that offers
    an explicit ``prepare()`` is asked for that instead.
    """
    prepare = getattr(runtime, "prepare", None)
    if callable(prepare):
        prepare()
        return
    health = getattr(runtime, "health", None)
    if callable(health):
        for name, state in health().items():
            typer.echo(f"  {name}: {state}")
    # The agent too (explainer, title index): a mistake there shows now, not as the first visitor's 500;
    # and one pass through the LLM and the blend, so the first turn is as fast as the others.
    runtime_warm_up = getattr(runtime, "warm_up", None)
    if callable(runtime_warm_up):
        runtime_warm_up()
    else:
        getattr(runtime, "agent", None)
