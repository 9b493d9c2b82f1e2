"""The ``recbot`` command. Each command group lives in its own module and registers itself here.

Heavy libraries (torch, chromadb, gradio) are imported inside the commands, so ``recbot --help``
stays fast.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="recbot",
    help="Conversational recommendation chatbot: chat, train, index, evaluate, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Evaluate the CF engines, retrieval, dialogues, ReDial and simulated users.",
                       no_args_is_help=True)
app.add_typer(eval_app, name="eval")


def _register() -> None:
    # Imported here so each module can `from ui.cli import app, eval_app`.
    from ui.cli import chat_cmds, data_cmds, eval_cmds, index_cmds, serve_cmds  # noqa: F401


def main() -> None:
    """Console entry point."""
    _register()
    app()
