"""The ``recbot`` command. Each command group lives in its own module and registers itself on the
apps of :mod:`ui.cli.apps`.

Heavy libraries (torch, chromadb, gradio) are imported inside the commands, so ``recbot --help``
stays fast.
"""

from __future__ import annotations

from ui.cli.apps import app, eval_app

__all__ = ["app", "eval_app", "main"]


def _register() -> None:
    # The command modules register themselves on the apps when imported.
    from ui.cli import chat_cmds, data_cmds, eval_cmds, index_cmds, serve_cmds  # noqa: F401


def main() -> None:
    """Console entry point."""
    _register()
    app()
