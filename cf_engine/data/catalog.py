"""The generic catalog: items (title, text, metadata) and the users' interactions with them.

Nothing here knows about movies. A loader (``cf_engine.data.movielens``, ``cf_engine.data.generic``)
turns a dataset's files into a :class:`Dataset`; everything downstream (CF, retrieval, the agent)
only sees these types.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp


class UnknownItemError(KeyError):
    """An item id that is not in the catalog."""


class UnknownUserError(KeyError):
    """A user id that has no interactions in the dataset."""


@dataclass(frozen=True)
class Item:
    """One catalog entry. ``item_id`` is the dataset's own id (MovieLens ``movieId``)."""

    item_id: int
    title: str  # display title without the year, e.g. "Toy Story"
    year: int | None = None
    genres: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # user tags, most frequent first
    text: str = ""  # any free text the catalog has (overview, description)
    links: Mapping[str, str] = field(default_factory=dict)  # e.g. {"imdb": "0114709"}
    # Other names people use: "The American President" for "American President, The", a.k.a. titles.
    aliases: tuple[str, ...] = ()
    # Any other fields the catalog has, by the catalog's own names, every value as strings:
    # {"director": ("Martin Scorsese",), "cast": ("Robert De Niro", ...), "runtime": ("112",)}.
    # Which of them answer "not Scorsese" or "under 90 minutes" is configuration
    # (Settings.catalog_fields, bot/understand/catalog_fields.py), not code.
    metadata: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def display_title(self) -> str:
        """Title with the year, as people write it: "Toy Story (1995)"."""
        return f"{self.title} ({self.year})" if self.year else self.title


INTERACTION_COLUMNS = ("user_id", "item_id", "rating", "timestamp")


class Catalog:
    """Items by id, with the dense index that matrices and vectors use for their columns."""

    def __init__(self, items: Iterable[Item]) -> None:
        self._items: list[Item] = list(items)
        self._index: dict[int, int] = {}
        for position, item in enumerate(self._items):
            if item.item_id in self._index:
                raise ValueError(f"duplicate item id {item.item_id} in catalog")
            self._index[item.item_id] = position
        self.item_ids: np.ndarray = np.array([i.item_id for i in self._items], dtype=np.int64)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._index

    def get(self, item_id: int) -> Item:
        """The item with this id; :class:`UnknownItemError` if there is none."""
        try:
            return self._items[self._index[int(item_id)]]
        except (KeyError, ValueError, TypeError):
            raise UnknownItemError(f"unknown item id {item_id!r}") from None

    def index_of(self, item_id: int) -> int:
        """Column of this item in matrices and vector arrays."""
        try:
            return self._index[int(item_id)]
        except (KeyError, ValueError, TypeError):
            raise UnknownItemError(f"unknown item id {item_id!r}") from None

    def at(self, index: int) -> Item:
        """The item in column ``index``."""
        return self._items[index]


@dataclass
class Dataset:
    """A catalog plus the interactions on it.

    ``interactions`` has the columns ``user_id, item_id, rating, timestamp``; ``rating`` is the
    explicit rating or, for implicit data, a weight (1.0 for a plain interaction).
    """

    name: str
    catalog: Catalog
    interactions: pd.DataFrame
    # False for implicit data (clicks, purchases: rating is a weight, 1.0 by default): then every
    # interaction is a positive and a rating threshold does not apply.
    explicit_ratings: bool = True

    def __post_init__(self) -> None:
        missing = set(INTERACTION_COLUMNS) - set(self.interactions.columns)
        if missing:
            raise ValueError(f"interactions lack columns {sorted(missing)}")

    @property
    def user_ids(self) -> np.ndarray:
        """Sorted distinct user ids."""
        return np.sort(self.interactions["user_id"].unique())

    def item_stats(self) -> pd.DataFrame:
        """Per item (indexed by item_id): ``count`` of interactions and ``mean_rating``."""
        grouped = self.interactions.groupby("item_id")["rating"]
        stats = pd.DataFrame({"count": grouped.size(), "mean_rating": grouped.mean()})
        return stats.reindex(self.catalog.item_ids).fillna({"count": 0})

    def user_matrix(
        self, positive_threshold: float | None = None, user_ids: np.ndarray | None = None
    ) -> tuple[sp.csr_matrix, np.ndarray]:
        """Binary users x items CSR matrix of positive interactions, and the row -> user id array.

        Rows follow ``user_ids`` (default: every user); columns follow the catalog's index. The
        threshold is ignored for implicit data (``explicit_ratings`` False).
        """
        frame = self.interactions
        if positive_threshold is not None and self.explicit_ratings:
            frame = frame[frame["rating"] >= positive_threshold]
        users = self.user_ids if user_ids is None else np.asarray(user_ids)
        row_of = pd.Series(np.arange(len(users)), index=users)
        frame = frame[frame["user_id"].isin(row_of.index)]
        rows = row_of.loc[frame["user_id"].to_numpy()].to_numpy()
        cols = pd.Index(self.catalog.item_ids).get_indexer(frame["item_id"].to_numpy())
        if (cols < 0).any():
            unknown = frame["item_id"].to_numpy()[cols < 0][0]
            raise UnknownItemError(f"interactions mention unknown item id {unknown!r}")
        data = np.ones(len(frame), dtype=np.float32)
        matrix = sp.csr_matrix((data, (rows, cols)), shape=(len(users), len(self.catalog)), dtype=np.float32)
        matrix.data[:] = 1.0  # duplicates collapse to a single positive
        return matrix, users
