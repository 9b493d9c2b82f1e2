"""recbot commands for the dialogue agent: chat, feedback, retrain, doctor.

``recbot chat`` is an interactive terminal chat (streamed replies, numbered picks, ``/up 2``,
``/down 2``, ``/seen 2`` for feedback on the last list). ``recbot chat --session S --json "message"``
runs one turn and prints ``TurnResult.to_dict()`` as one JSON object; the session lives in the
database, so the next call with the same ``--session`` continues it. A ``--session`` name that does
not exist yet creates a session under that name (CLI only: the API always issues unguessable ids).

Errors from the library become one ``error: ...`` line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ui.cli.apps import app
from ui.cli.errors import user_errors

if TYPE_CHECKING:
    from bot.chat_agent import ChatAgent
    from bot.runtime import Runtime

FEEDBACK_SHORTCUTS = {
    "/up": "up",
    "/down": "down",
    "/seen": "seen",
    "/skip": "not_interested",
    "/click": "click",
}


def _runtime(progress: bool) -> Runtime:
    import logging

    from bot.runtime import Runtime
    from bot.settings import load_settings

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return Runtime.from_settings(load_settings(), progress=progress)


def _open_session(agent: ChatAgent, session: str | None, user: str | None) -> str:
    if session is None:
        return str(agent.create_session(user_id=user))
    if agent.has_session(session):
        return session
    return str(agent.create_session(user_id=user, session_id=session))


@app.command()
def chat(
    message: Annotated[
        str | None, typer.Argument(help="One message (with --json); omit for an interactive chat")
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", "-s", help="Session id to continue (created if new)")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="User id (MovieLens ids get CF from history)")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Run one turn and print the TurnResult as JSON")
    ] = False,
) -> None:
    """Chat with recbot in the terminal, or run one turn with --json."""
    with user_errors():
        from bot.store import check_session_id

        if as_json and message is None:
            raise typer.BadParameter("--json needs a message")
        if session is not None:
            check_session_id(session)  # before loading anything
        runtime = _runtime(progress=not as_json)
        agent = runtime.agent
        session_id = _open_session(agent, session, user)
        if message is not None:
            result = agent.turn(session_id, message)
            if as_json:
                typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
            else:
                typer.echo(result.reply)
            return
        _interactive(agent, session_id)


def _interactive(agent: ChatAgent, session_id: str) -> None:
    from bot.errors import InvalidInputError
    from bot.types import TurnResult

    typer.echo(
        f"recbot (session {session_id}). Type a message; /up N, /down N, /seen N, /skip N for "
        "feedback on the last list; /quit to leave.\n"
    )
    last: list[int] = []
    while True:
        try:
            line = input("you> ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            return
        text = line.strip()
        if not text:
            continue
        if text in ("/quit", "/exit", "quit", "exit"):
            return
        command, _, arg = text.partition(" ")
        if command in FEEDBACK_SHORTCUTS:
            try:
                item = last[int(arg) - 1]
                agent.feedback(session_id, item, FEEDBACK_SHORTCUTS[command])
                typer.echo(f"recbot> noted ({FEEDBACK_SHORTCUTS[command]}).")
            except (ValueError, IndexError):
                typer.echo("recbot> say e.g. /down 2 for the second pick of the last list.")
            except InvalidInputError as exc:
                typer.echo(f"recbot> {exc}")
            continue
        sys.stdout.write("recbot> ")
        try:
            for chunk in agent.turn_stream(session_id, text):
                if isinstance(chunk, TurnResult):
                    if chunk.recommendations:
                        last = [r.item_id for r in chunk.recommendations]
                else:
                    sys.stdout.write(chunk)
                    sys.stdout.flush()
        except InvalidInputError as exc:
            sys.stdout.write(str(exc))
        sys.stdout.write("\n\n")


@app.command()
def feedback(
    session: Annotated[str, typer.Option("--session", "-s", help="Session id")],
    item: Annotated[int, typer.Option("--item", help="Item id that was shown in the session")],
    kind: Annotated[str, typer.Option("--kind", help="up, down, seen, not_interested, click or rating")],
    value: Annotated[float | None, typer.Option("--value", help="Rating value for --kind rating")] = None,
    event_id: Annotated[str | None, typer.Option("--event-id", help="Idempotency key")] = None,
) -> None:
    """Record feedback on a shown item; it changes the session's next turn at once."""
    with user_errors():
        # The store alone: recording an event loads no dataset, CF model, index or LLM.
        recorder = _runtime(progress=False).feedback
        result = recorder.feedback(session, item, kind, event_id=event_id, value=value)
        typer.echo(json.dumps(result))


@app.command()
def retrain() -> None:
    """Fold chat feedback into the CF model and the dialogue model (new artifact versions under models/)."""
    with user_errors():
        from bot.retrain import retrain as run_retrain
        from bot.settings import load_settings

        settings = load_settings()
        report = run_retrain(settings)
        typer.echo(
            f"retrained {report.engine} on {report.n_interactions} feedback interactions from "
            f"{report.n_users} users ({report.n_new_users} new): {report.path}"
        )
        if settings.dialogue_model:  # the dialogue model learns from the recorded sessions too
            from ui.cli.data_cmds import train_dialogue

            train_dialogue(settings, None)


@app.command()
def doctor() -> None:
    """Check the installation (data, CF model, index vs embedding model, LLM, database) and say what to do.

    Builds, trains and migrates nothing. Exit code 1 when a part is missing.
    """
    from bot.doctor import run_checks
    from bot.settings import load_settings

    with user_errors():
        checks = run_checks(load_settings())
    width = max(len(c.name) for c in checks)
    for c in checks:
        typer.echo(f"{c.name:<{width}}  {c.status:<9} {c.detail}")
        if c.fix:
            typer.echo(f"{'':<{width}}  {'':<9} -> {c.fix}")
    raise typer.Exit(1 if any(c.status == "missing" for c in checks) else 0)
