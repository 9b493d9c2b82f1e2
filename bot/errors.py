"""The agent's precise exceptions. The CLI and the API translate them at the edge (message / 4xx)."""

from __future__ import annotations


class RecbotError(Exception):
    """Base class of the errors the agent raises on purpose."""


class UnknownSessionError(RecbotError, KeyError):
    """A session id that the store does not know (API: 404)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown session"


class InvalidInputError(RecbotError, ValueError):
    """A message, item id or feedback kind the agent cannot accept (API: 400/422)."""


class ItemNotShownError(InvalidInputError):
    """Feedback on an item the session never showed: well-formed, refused by its state (API: 409)."""


class StoreError(RecbotError):
    """The store failed (a broken file, a migration that does not apply, a lock that never frees)."""
