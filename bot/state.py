"""What the bot knows about one conversation, and how a parsed message changes it.

:class:`DialogueState` is a plain dataclass stored as JSON with the session, so a session continues
across processes. :func:`apply_message` resolves what the parser could not on its own: references
("the second one", "that one") against the last list shown, and relative critiques ("older",
"more recent") against the years of that list.

Merging rules: an explicit genre request replaces the previous one (moods change: "actually, I
want a drama"), but a critique ("funnier", "more romantic") or a message that says it adds ("more
drama", "also some crime", "and a thriller", "... too") keeps the earlier genres and adds the new
one; the blend then prefers items that match several requested genres. Negative genres and
excluded tags accumulate, a new year range or minimum rating replaces the old one, soft text is
replaced only when the message has its own content words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from statistics import median
from typing import Any

from bot.errors import InvalidInputError
from bot.types import Constraints
from bot.understand.moods import apply_moods
from bot.understand.parser import ParsedMessage
from bot.understand.vocabulary import CRITIQUES

RECENT_YEARS = 8  # "recent" with nothing shown yet: the catalog's last eight years
OLD_YEAR = 1989  # "older" with nothing shown yet: before 1990
RECENT_OPENINGS = 6  # explanation openings remembered: two replies of three cards
# Words that make a genre request add to the earlier ones instead of replacing them.
_ADDS_GENRES = re.compile(r"^\s*(and|plus)\b|\b(also|too|as well|more|add|plus|additionally)\b", re.I)
_GENRE_CRITIQUES = tuple(phrase for phrase, effect in CRITIQUES.items() if effect.get("in"))


@dataclass
class DialogueState:
    """One session's memory. Item ids are catalog ids; lists keep insertion order without repeats."""

    liked: list[int] = field(default_factory=list)
    disliked: list[int] = field(default_factory=list)
    seen: list[int] = field(default_factory=list)
    not_interested: list[int] = field(default_factory=list)
    shown: list[int] = field(default_factory=list)  # every item recommended in this session
    mentioned: list[int] = field(default_factory=list)  # titles the user named (never recommended back)
    constraints: Constraints = field(default_factory=Constraints)
    soft_text: str = ""
    last_shown: list[int] = field(default_factory=list)  # the last list ("the second one" points here)
    last_list_kind: str = "none"  # "recommendations", "options" (seed movies of a question), "none"
    focus_item: int | None = None  # the item "that one" means (last referenced, else the first shown)
    pending_choice: list[int] = field(default_factory=list)  # "Did you mean X or Y?" options
    pending_sentiment: str = "like"
    pending_assumed: int | None = None  # the popular pick made meanwhile ("Psycho" -> the 1960 one)
    user_id: str | None = None
    turn_count: int = 0
    questions_asked: int = 0
    offered_seeds: list[int] = field(default_factory=list)  # seed movies already offered in questions
    history_liked: list[int] = field(default_factory=list)  # from this user's earlier sessions
    history_disliked: list[int] = field(default_factory=list)
    # Moods in effect (labels of bot.understand.moods.MOODS) and requests the catalog could not apply, as
    # {"field", "words", "wanted", "applied_tag", "turn"}: see /work/notes/i14_constraints.md.
    moods: list[str] = field(default_factory=list)
    unsupported: list[dict[str, Any]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # the user's last messages (the dialogue model reads them)
    # How the last replies' explanations opened (bot.explain.templates.opening), newest last: the
    # next reply opens otherwise where it can. States stored before this field read it as empty.
    openings: list[str] = field(default_factory=list)

    # --- derived views -------------------------------------------------------------------------
    def all_liked(self) -> list[int]:
        return _unique([*self.history_liked, *self.liked], drop={*self.disliked, *self.not_interested})

    def all_disliked(self) -> list[int]:
        return _unique([*self.history_disliked, *self.disliked, *self.not_interested], drop=set(self.liked))

    def excluded(self) -> list[int]:
        """Items never to recommend: shown, seen, named by the user, rejected, known from history."""
        return _unique(
            [
                *self.shown,
                *self.seen,
                *self.mentioned,
                *self.disliked,
                *self.not_interested,
                *self.liked,
                *self.history_liked,
                *self.history_disliked,
            ]
        )

    def has_preference(self, known_user: bool = False) -> bool:
        """Enough to recommend from: a liked item, a genre, a description, a year or rating bound."""
        c = self.constraints
        return bool(
            self.all_liked()
            or self.soft_text
            or c.genres_in
            or c.year_min is not None
            or c.year_max is not None
            or c.min_rating is not None
            or any(a.startswith("in:") for a in c.attributes)  # "with Tom Hanks": the cast field
            or known_user
            or self.moods
        )

    # --- small mutations -----------------------------------------------------------------------
    def like(self, item_id: int) -> None:
        _add(self.liked, item_id)
        _remove(self.disliked, item_id)
        _remove(self.not_interested, item_id)

    def dislike(self, item_id: int) -> None:
        _add(self.disliked, item_id)
        _remove(self.liked, item_id)

    def mark_seen(self, item_id: int) -> None:
        _add(self.seen, item_id)

    def reject(self, item_id: int) -> None:
        _add(self.not_interested, item_id)
        _remove(self.liked, item_id)

    def reset(self) -> None:
        """Forget the conversation's preferences; keep the user id and what was already shown."""
        keep = DialogueState(
            user_id=self.user_id,
            turn_count=self.turn_count,
            shown=self.shown,
            history_liked=self.history_liked,
            history_disliked=self.history_disliked,
        )
        self.__dict__.update(keep.__dict__)

    # --- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["constraints"] = self.constraints.to_dict()
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DialogueState:
        data = dict(data)
        raw = data.pop("constraints", None) or {}
        fields: dict[str, Any] = {k: frozenset(v) if isinstance(v, list) else v for k, v in raw.items()}
        constraints = Constraints(**fields)
        known = {f for f in cls.__dataclass_fields__}
        return cls(constraints=constraints, **{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> DialogueState:
        return cls.from_dict(json.loads(text))


@dataclass
class StateChange:
    """What one message did to the state, for the reply's acknowledgement line and the logs."""

    liked: list[int] = field(default_factory=list)
    disliked: list[int] = field(default_factory=list)
    seen: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    why_items: list[int] = field(default_factory=list)
    constraints_changed: bool = False
    reset: bool = False
    chose: int | None = None  # answered a "Did you mean" question


def apply_message(
    state: DialogueState, parsed: ParsedMessage, years: dict[int, int | None], max_year: int
) -> StateChange:
    """Update ``state`` with ``parsed``; ``years`` maps item id -> year (for relative critiques)."""
    change = StateChange()
    state.turn_count += 1
    if parsed.intent == "reset":
        state.reset()
        change.reset = True
        return change
    # A pending "Did you mean X or Y?" is answered by an ordinal, a year or a title.
    if state.pending_choice:
        chosen = _answer_choice(state, parsed, years)
        assumed = state.pending_assumed
        if chosen is not None and assumed is not None and chosen != assumed:
            _remove(state.liked, assumed)  # the earlier popular guess was wrong
            _remove(state.mentioned, assumed)
        state.pending_assumed = None
        if chosen is not None:
            _apply_sentiment(state, chosen, state.pending_sentiment, change)
            _add(state.mentioned, chosen)
            change.chose = chosen
            parsed.references = []
        state.pending_choice = []
    for m in parsed.mentions:
        _add(state.mentioned, m.item_id)
        _apply_sentiment(state, m.item_id, m.sentiment, change)
        if m.alternatives and m.sentiment in ("like", "neutral") and not state.pending_choice:
            # Took the popular one; offer the others in a question that does not block the list.
            state.pending_choice = [m.item_id, *m.alternatives]
            state.pending_sentiment = m.sentiment
            state.pending_assumed = m.item_id
    for amb in parsed.ambiguous:
        if amb.sentiment in ("dislike", "seen"):
            # "I hate Star Wars": no need to ask which one; none of them should be recommended.
            for option in amb.options:
                _add(state.mentioned, option)
                _apply_sentiment(state, option, amb.sentiment, change)
        elif not state.pending_choice:
            state.pending_choice = list(amb.options)
            state.pending_sentiment = amb.sentiment
    for ref in parsed.references:
        for item_id in _resolve(state, ref.position, ref.all_items):
            action = ref.action
            if state.last_list_kind == "options" and action in ("focus", "seen"):
                action = "like" if action == "focus" else "seen"
            if action == "why":
                change.why_items.append(item_id)
            elif action == "more_like":
                _apply_sentiment(state, item_id, "like", change)
            elif action == "focus":
                if parsed.intent == "why":
                    change.why_items.append(item_id)
            else:
                _apply_sentiment(state, item_id, action, change)
            state.focus_item = item_id
    change.constraints_changed = _merge_constraints(state, parsed, years, max_year)
    change.constraints_changed |= apply_moods(state, parsed.moods, parsed.genres_in)
    state.unsupported.extend({**asdict(u), "turn": state.turn_count} for u in parsed.unsupported)
    if parsed.soft_text:
        state.soft_text = parsed.soft_text
    return change


def apply_feedback(state: DialogueState, item_id: int, kind: str, value: float | None = None) -> None:
    """What feedback on a shown item does to the session (see :mod:`bot.agent` for the rules)."""
    if kind == "rating":
        if value is None or not 0.5 <= float(value) <= 5.0:
            raise InvalidInputError("a rating needs a value between 0.5 and 5")
        kind = "up" if value >= 4 else "down" if value <= 2 else "seen"
    if kind == "up":
        state.like(item_id)
    elif kind == "down":
        state.dislike(item_id)
    elif kind == "seen":
        state.mark_seen(item_id)
    elif kind == "not_interested":
        state.reject(item_id)
    state.focus_item = item_id


def merge_constraints(base: Constraints, override: Constraints) -> Constraints:
    """``base`` with every part that ``override`` sets replaced (sets: when non-empty)."""
    return replace(
        base,
        genres_in=override.genres_in or base.genres_in,
        genres_out=(base.genres_out | override.genres_out) - override.genres_in,
        year_min=override.year_min if override.year_min is not None else base.year_min,
        year_max=override.year_max if override.year_max is not None else base.year_max,
        min_rating=override.min_rating if override.min_rating is not None else base.min_rating,
        excluded_tags=base.excluded_tags | override.excluded_tags,
        attributes=merge_attributes(base.attributes, override.attributes),
    )


def merge_attributes(old: Iterable[str], new: Iterable[str]) -> frozenset[str]:
    """Metadata filters: a new one replaces an earlier one on the same fields with the same op
    ("under 2 hours" after "under 90 minutes"; "in Spanish" after "in French"); exclusions add up."""
    new = list(new)
    replaced = {(a.split(":")[0], a.split(":")[1]) for a in new if not a.startswith("out:")}
    kept = [a for a in old if (a.split(":")[0], a.split(":")[1]) not in replaced]
    return frozenset([*kept, *new])


def _apply_sentiment(state: DialogueState, item_id: int, sentiment: str, change: StateChange) -> None:
    if sentiment in ("like", "neutral"):
        state.like(item_id)
        change.liked.append(item_id)
    elif sentiment == "dislike":
        state.dislike(item_id)
        change.disliked.append(item_id)
    elif sentiment == "seen":
        state.mark_seen(item_id)
        change.seen.append(item_id)
    elif sentiment == "not_interested":
        state.reject(item_id)
        change.rejected.append(item_id)


def _resolve(state: DialogueState, position: int | None, all_items: bool) -> list[int]:
    """Item ids a reference points to; "that one" is the focused item, else the first shown."""
    items = state.last_shown
    if all_items:
        return list(items)
    if position is None:
        if state.focus_item is not None and state.focus_item in items:
            return [state.focus_item]
        return items[:1]
    if -len(items) <= position < len(items):
        return [items[position]]
    return []


def _answer_choice(state: DialogueState, parsed: ParsedMessage, years: dict[int, int | None]) -> int | None:
    options = state.pending_choice
    for m in parsed.mentions:
        if m.item_id in options:
            parsed.mentions = [x for x in parsed.mentions if x is not m]
            return m.item_id
    for ref in parsed.references:
        if ref.position is not None and -len(options) <= ref.position < len(options):
            return options[ref.position]
    for option in options:  # "the 2001 one"
        year = years.get(option)
        if year is not None and str(year) in parsed.text:
            parsed.year_min = parsed.year_max = None
            return option
    return None


def _merge_constraints(
    state: DialogueState, parsed: ParsedMessage, years: dict[int, int | None], max_year: int
) -> bool:
    c = state.constraints
    genres_in, genres_out = set(c.genres_in), set(c.genres_out)
    if parsed.genres_in:
        genres_in = genres_in | set(parsed.genres_in) if adds_genres(parsed.text) else set(parsed.genres_in)
        genres_out -= genres_in
    if parsed.genres_out:
        genres_out |= set(parsed.genres_out)
        genres_in -= genres_out
    year_min, year_max = c.year_min, c.year_max
    if parsed.year_min is not None or parsed.year_max is not None:
        year_min, year_max = parsed.year_min, parsed.year_max
    shown_years = [y for y in (years.get(i) for i in state.last_shown) if y is not None]
    explicit = parsed.year_min is not None or parsed.year_max is not None
    if "older" in parsed.critiques and not explicit:
        year_max = (
            (int(median(shown_years)) - 1)
            if shown_years and state.last_list_kind == "recommendations"
            else OLD_YEAR
        )
        year_min = None if year_min is not None and year_min > year_max else year_min
    if "newer" in parsed.critiques and not explicit:
        year_min = (
            (int(median(shown_years)) + 1)
            if shown_years and state.last_list_kind == "recommendations"
            else max_year - RECENT_YEARS
        )
        year_max = None if year_max is not None and year_max < year_min else year_max
    new = replace(
        c,
        genres_in=frozenset(genres_in),
        genres_out=frozenset(genres_out),
        year_min=year_min,
        year_max=year_max,
        min_rating=parsed.min_rating if parsed.min_rating is not None else c.min_rating,
        excluded_tags=frozenset(set(c.excluded_tags) | set(parsed.excluded_tags)),
        attributes=merge_attributes(c.attributes, parsed.attributes),
    )
    changed = new != c
    state.constraints = new
    return changed


def adds_genres(text: str) -> bool:
    """Whether a message's genres add to the earlier request: a critique, "more X", "also", "and ..."."""
    lowered = " " + " ".join(re.findall(r"[a-z0-9']+", text.lower())) + " "
    return bool(_ADDS_GENRES.search(text)) or any(f" {p} " in lowered for p in _GENRE_CRITIQUES)


def _unique(items: list[int], drop: set[int] | None = None) -> list[int]:
    drop = drop or set()
    return [i for i in dict.fromkeys(items) if i not in drop]


def _add(items: list[int], item_id: int) -> None:
    if item_id not in items:
        items.append(item_id)


def _remove(items: list[int], item_id: int) -> None:
    if item_id in items:
        items.remove(item_id)
