"""The one translation of library errors into what a person at a terminal sees.

Library code raises precise exceptions; every ``recbot`` command wraps its work in
:func:`user_errors`, which prints ``error: <message>`` and exits with code 2 instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

EXIT_USER_ERROR = 2


def _user_error_types() -> tuple[type[BaseException], ...]:
    # Imported on use: `recbot --help` must not load chromadb or torch.
    from pydantic import ValidationError

    from bot.errors import RecbotError
    from cf_engine.base import RecommenderError
    from cf_engine.data.catalog import UnknownItemError, UnknownUserError
    from cf_engine.data.errors import DataError
    from retrieval.embeddings import EmbeddingModelError
    from retrieval.index import IndexNotReadyError
    from retrieval.store import ChromaConnectionError

    return (
        RecbotError,
        DataError,
        RecommenderError,
        UnknownItemError,
        UnknownUserError,
        EmbeddingModelError,
        IndexNotReadyError,
        ChromaConnectionError,
        ValidationError,
        FileNotFoundError,
    )


@contextmanager
def user_errors(types: tuple[type[BaseException], ...] | None = None) -> Iterator[None]:
    """Turn the library's precise exceptions into ``error: <message>`` and exit code 2.

    ``types``: the exceptions that count as the user's (default: the library's precise errors).
    """
    types = _user_error_types() if types is None else types
    try:
        yield
    except types as exc:
        # KeyError's str() adds quotes around the message; show the message itself.
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(EXIT_USER_ERROR) from None
