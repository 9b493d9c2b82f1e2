"""The ``recbot`` Typer apps that the command modules register on, and how a command reads the settings.

Kept apart from ``ui/cli/__init__.py`` so that a command module imports these without importing the
package that imports it (no import loop); the package only collects the modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from bot.settings import Settings

app = typer.Typer(
    name="recbot",
    help="Conversational recommendation chatbot: chat, train, index, evaluate, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(
    help="Evaluate the CF engines, retrieval, dialogues, ReDial and simulated users.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")


def cli_settings(**overrides: Any) -> Settings:
    """The settings with the command's options applied (an option left at None keeps the setting)."""
    from bot.settings import load_settings

    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def prepare_fusion(settings: Settings, dataset: Any) -> None:
    """Fit the learned fusion once CF artifact and index both exist (train and index call this).

    Done here, offline, so that ``recbot serve`` (every replica) only loads it from its cache.
    """
    import time

    from bot.recommend.fusion_fit import prepare_fusion as fit

    started = time.perf_counter()
    model = fit(settings, dataset)
    if model is not None:
        typer.echo(f"learned fusion ready in {time.perf_counter() - started:.1f} s (cached by the CF model)")
