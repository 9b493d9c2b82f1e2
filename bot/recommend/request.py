"""What the blend is asked (:class:`BlendRequest`) and what it reads from one request (:class:`Signals`).

Kept apart from :mod:`bot.recommend.blend` so that the learned fusion (:mod:`bot.recommend.fusion`)
and its fitting read the same types without importing the blend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from bot.types import Candidate, Constraints


@dataclass(frozen=True)
class DialogueContext:
    """What the dialogue model reads from a session: the movies named so far and the user's words.

    ``items``: (catalog item id, +1 liked or named / -1 disliked) in the order the user named them.
    """

    items: tuple[tuple[int, int], ...] = ()
    text: str = ""


@dataclass
class BlendRequest:
    """What the agent knows this turn. Item ids are catalog ids (MovieLens movieId)."""

    liked: Sequence[int] = ()
    disliked: Sequence[int] = ()
    exclude: Sequence[int] = ()  # already shown / seen / not interested
    text: str | None = None
    constraints: Constraints = field(default_factory=Constraints)
    user_id: int | None = None
    k: int = 3
    dialogue: DialogueContext | None = None  # for the dialogue model (cf_engine/dialogue_model.py)
    # Moods in effect (bot.understand.moods): bot.recommend.served re-ranks the blend's list by them.
    moods: tuple[str, ...] = ()
    # Evaluation only (ReDial's "all" protocol): liked / disliked items stay rankable.
    keep_context: bool = False


@dataclass
class Signals:
    """One request's inputs to the score (see ``Blender._signals``); liked items are catalog columns."""

    allowed: np.ndarray
    liked: list[int]
    text: str
    user_known: bool
    n_known: float = 0.0
    cf_scores: np.ndarray | None = None
    query: np.ndarray | None = None
    title_hits: np.ndarray | None = None  # per column: share of the text's words in its title, or None
    # The dialogue model's features of the session over the whole catalog, and their weighted sum.
    dialogue_feats: dict[str, np.ndarray] | None = None
    dialogue: np.ndarray | None = None


class CandidateSource(Protocol):
    """What the agent asks for candidates (:class:`~bot.recommend.blend.Blender`)."""

    def blend(self, request: BlendRequest) -> list[Candidate]:
        """The best ``request.k`` candidates that meet the request's constraints, with evidence."""
        ...
