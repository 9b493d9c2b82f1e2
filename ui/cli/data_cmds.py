"""recbot commands: data_cmds (filled in by its owner)."""

from __future__ import annotations

from ui.cli import app, eval_app  # noqa: F401
