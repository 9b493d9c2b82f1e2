"""Plain data objects that travel between the turn's steps: constraints, evidence, candidates, replies.

They are the contract between ``retrieval`` / ``cf_engine`` (which produce candidates and evidence),
``bot`` (which blends, explains and records) and ``ui`` / ``eval`` (which show and score replies).
All are JSON-serialisable through :func:`dataclasses.asdict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal


@dataclass(frozen=True)
class Constraints:
    """Hard filters: a candidate that violates one is never shown."""

    genres_in: frozenset[str] = frozenset()  # item must have at least one of these (empty: any)
    genres_out: frozenset[str] = frozenset()  # item must have none of these
    year_min: int | None = None
    year_max: int | None = None
    min_rating: float | None = None  # minimum mean rating in the interactions
    excluded_tags: frozenset[str] = frozenset()  # e.g. "zombies" from "nothing with zombies"
    # Filters on the catalog's metadata fields, as AttributeFilter strings (JSON-friendly):
    # "out:director:Scorsese", "in:director|cast:Tom Hanks", "max:runtime:90", "in:language:French|fr".
    attributes: frozenset[str] = frozenset()

    def is_empty(self) -> bool:
        return self == Constraints()

    def to_dict(self) -> dict[str, Any]:
        return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class AttributeFilter:
    """One filter on catalog metadata (``Item.metadata``), kept in :attr:`Constraints.attributes`.

    ``op``: "in" (an item must have one of ``values`` in one of ``keys``), "out" (must not), "max" /
    "min" (a number bound on the first of ``keys`` the item has). ``values[0]`` is the user's words
    (the constraint line shows it); the others are other spellings ("fr" for French).
    """

    op: Literal["in", "out", "max", "min"]
    keys: tuple[str, ...]
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.op}:{'|'.join(self.keys)}:{'|'.join(self.values)}"

    @classmethod
    def parse(cls, text: str) -> AttributeFilter:
        op, keys, values = text.split(":", 2)
        if op not in ("in", "out", "max", "min"):
            raise ValueError(f"unknown attribute filter {text!r}")
        return cls(op, tuple(keys.split("|")), tuple(values.split("|")))  # type: ignore[arg-type]


@dataclass
class Neighbour:
    """A liked item that a candidate is close to, and how we know."""

    item_id: int
    title: str
    similarity: float
    source: Literal["cf", "embedding"]
    # What the two items have in common in the catalog: genres and user tags both carry.
    shared_genres: list[str] = field(default_factory=list)
    shared_tags: list[str] = field(default_factory=list)
    # The known user's own rating of this liked item (their history), None for the session's likes.
    user_rating: float | None = None


@dataclass
class Evidence:
    """Facts about one candidate that an explanation may use. Nothing outside it may be claimed."""

    neighbours: list[Neighbour] = field(default_factory=list)  # liked items it is close to
    matched_genres: list[str] = field(default_factory=list)  # its genres the user asked for / liked
    asked_genres: list[str] = field(default_factory=list)  # its genres the request itself asked for
    matched_tags: list[str] = field(default_factory=list)  # its tags that match the request
    item_tags: list[str] = field(default_factory=list)  # its own most used tags (a few)
    # Tags the request ruled out ("less violent": violent, gore, ...) that none of its tags contains.
    avoided_tags: list[str] = field(default_factory=list)
    query_terms: list[str] = field(default_factory=list)  # words of the request it matched
    genres: list[str] = field(default_factory=list)  # all its genres
    year: int | None = None
    n_ratings: int = 0
    mean_rating: float | None = None
    # "People who liked <seed> rated it <mean> on average (<n> people)": co-rating evidence.
    co_ratings: list[dict[str, Any]] = field(default_factory=list)
    from_user_history: bool = False  # CF scores included the logged-in user's history
    # The dialogue model's part (cf_engine/dialogue_model.py): {"named_with": [{"item_id", "title"}],
    # "times_suggested": n, "corpus": "..."}: in recorded movie conversations, people who named those
    # movies were recommended this one; empty without a dialogue model.
    dialogue: dict[str, Any] = field(default_factory=dict)


@dataclass
class Candidate:
    """One blended candidate with its per-source scores and its evidence."""

    item_id: int
    title: str
    score: float
    cf_score: float = 0.0  # normalised to [0, 1] within the request
    semantic_score: float = 0.0  # normalised to [0, 1] within the request
    evidence: Evidence = field(default_factory=Evidence)


class FeedbackKind(StrEnum):
    UP = "up"
    DOWN = "down"
    SEEN = "seen"
    NOT_INTERESTED = "not_interested"
    CLICK = "click"
    RATING = "rating"
    REPLY_UP = "reply_up"  # thumbs on a whole reply
    REPLY_DOWN = "reply_down"


@dataclass
class Recommendation:
    """One shown recommendation, as the UI and the JSON output present it."""

    item_id: int
    title: str
    year: int | None
    genres: list[str]
    explanation: str
    explanation_source: Literal["llm", "template"]
    score: float
    evidence: dict[str, Any]


@dataclass
class TurnResult:
    """What one turn returns; ``recbot chat --json`` prints :meth:`to_dict`."""

    session_id: str
    turn_id: int
    reply: str
    question: str | None
    recommendations: list[Recommendation]
    latency_ms: dict[str, float]
    intent: str = "recommend"  # what the parser understood: recommend, ask, why, greeting, off_topic, ...

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RankedItem:
    """One item of a turn's ranked list, as known before its explanation is written."""

    item_id: int
    title: str
    year: int | None


@dataclass
class RankedList:
    """A streamed turn's first event about cards: what will be shown, in order (``Agent.turn_events``).

    The turn is already recorded when this is sent, so feedback on any of these items is accepted.
    """

    session_id: str
    turn_id: int
    items: list[RankedItem]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CardReady:
    """One recommendation whose explanation has passed the validator: the card can be shown now.

    ``index`` counts from 0 in the order of :class:`RankedList`; ``recommendation`` is the same
    object the turn's :class:`TurnResult` will hold at that index.
    """

    session_id: str
    turn_id: int
    index: int
    recommendation: Recommendation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# What ``Agent.turn_events`` yields: reply text chunks, the ranked list, each card, then the result.
TurnEvent = str | RankedList | CardReady | TurnResult
