"""What the blend needs from the lower layers: a CF scorer and an item index, as declared interfaces.

``cf_engine.artifact.CFArtifact`` and ``retrieval.index.ItemIndex`` are the product's implementations;
tests pass small fakes. Nothing else of either is called by :mod:`bot.recommend`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class CFScorer(Protocol):
    """A fitted CF model over the catalog's columns (``cf_engine.artifact.CFArtifact``)."""

    path: Path | None  # where it is saved (the learned fusion is cached next to it); None: not saved

    @property
    def engine_name(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]: ...

    def knows_user(self, user_id: int | None) -> bool:
        """True when the model has the user's own history."""
        ...

    def score_for(
        self, liked_ids: Iterable[int], disliked_ids: Iterable[int] = (), user_id: int | None = None
    ) -> np.ndarray:
        """Scores over the catalog (catalog order) for a session profile and/or a known user."""
        ...


class ItemSearch(Protocol):
    """The semantic index of the items (``retrieval.index.ItemIndex``)."""

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(item ids, normalised vectors) of every indexed item."""
        ...

    def search_vector(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[int, float]]:
        """(item id, cosine) of the ``k`` nearest items, best first."""
        ...
