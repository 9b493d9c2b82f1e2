"""Decide what to do with a turn: recommend, ask one specific question, explain, or steer back.

Rules, in order:

* "start over" -> reset and ask; greeting -> greet and ask; thanks -> a short goodbye line;
* "why" -> answer from the evidence of the shown items (no new list);
* an ambiguous title ("lord of the rings") -> ask "Did you mean X (2001) or Y (2002)?", and still
  recommend when the rest of the state is enough;
* off-topic with nothing else -> a polite steer back to movies (plus the question when nothing is known);
* nothing usable known (no liked item, genre, description, year, rating or known user) -> ask ONE
  specific question: three popular seed movies from contrasting genres, never a generic "tell me more";
  after two unanswered questions, or on "surprise me", recommend popular items instead of asking again;
* otherwise recommend ``settings.n_recommendations`` items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.explain.facts import display_title
from bot.state import DialogueState, StateChange
from bot.understand.parser import ParsedMessage
from cf_engine.data.catalog import Catalog

# Genres whose most popular movies make contrasting seeds, tried in this order.
SEED_GENRES = (
    "Sci-Fi",
    "Comedy",
    "Drama",
    "Animation",
    "Crime",
    "Romance",
    "Horror",
    "Adventure",
    "Thriller",
)
MAX_QUESTIONS = 2


@dataclass
class Decision:
    """The policy's choice for one turn."""

    action: str  # recommend, ask, why, steer, thanks, disambiguate
    question: str | None = None
    seeds: list[int] = field(default_factory=list)  # options offered in the question
    why_items: list[int] = field(default_factory=list)
    popular: bool = False  # recommend popular items (surprise / nothing known after asking)
    notes: list[str] = field(default_factory=list)


class Policy:
    """The turn policy over one catalog (it needs popularity to pick seed movies)."""

    def __init__(self, catalog: Catalog, popularity: dict[int, int]) -> None:
        self.catalog = catalog
        self.popularity = popularity
        ranked = sorted(popularity, key=lambda i: -popularity[i])
        self._popular = [i for i in ranked[:400] if i in catalog]

    def decide(
        self, state: DialogueState, parsed: ParsedMessage, change: StateChange, known_user: bool = False
    ) -> Decision:
        notes = list(parsed.notes)
        if parsed.intent == "why":
            items = change.why_items or list(state.last_shown)
            if items:
                return Decision("why", why_items=items, notes=notes)
        if change.chose is not None:
            return Decision("recommend", notes=notes)
        if parsed.intent == "thanks":
            return Decision("thanks", notes=notes)
        disambiguation = self.disambiguation(state) if state.pending_choice and parsed.ambiguous else None
        if state.pending_assumed is not None and state.pending_choice:
            disambiguation = self.assumption(state)
        has_pref = state.has_preference(known_user)
        if parsed.intent == "surprise" or (parsed.intent == "more" and state.shown):
            return Decision("recommend", question=disambiguation, popular=not has_pref, notes=notes)
        if disambiguation and not has_pref:
            return Decision("disambiguate", question=disambiguation, notes=notes)
        if parsed.intent == "off_topic" and not parsed.has_signal():
            if has_pref:
                return Decision("steer", notes=notes)
            question, seeds = self.clarifying_question(state)
            return Decision("steer", question=question, seeds=seeds, notes=notes)
        if parsed.intent in ("greeting", "reset") and not has_pref:
            question, seeds = self.clarifying_question(state)
            return Decision("ask", question=question, seeds=seeds, notes=notes)
        if not has_pref:
            if state.questions_asked >= MAX_QUESTIONS:
                return Decision("recommend", popular=True, notes=notes)
            question, seeds = self.clarifying_question(state, parsed)
            return Decision("ask", question=question, seeds=seeds, notes=notes)
        return Decision("recommend", question=disambiguation, notes=notes)

    # --- questions ------------------------------------------------------------------------------
    def seed_options(self, exclude: set[int], n: int = 3) -> list[int]:
        """``n`` popular items from contrasting genres (no two share a seed genre), not in ``exclude``."""
        picked: list[int] = []
        used_genres: set[str] = set()
        for genre in SEED_GENRES:
            if len(picked) >= n:
                break
            if genre in used_genres:
                continue
            for item_id in self._popular:
                item = self.catalog.get(item_id)
                if item_id in exclude or item_id in picked or genre not in item.genres:
                    continue
                if set(item.genres) & used_genres:
                    continue
                picked.append(item_id)
                used_genres |= set(item.genres)
                break
        for item_id in self._popular:  # a tiny catalog: fill up with anything popular
            if len(picked) >= n:
                break
            if item_id not in exclude and item_id not in picked:
                picked.append(item_id)
        return picked

    def clarifying_question(
        self, state: DialogueState, parsed: ParsedMessage | None = None
    ) -> tuple[str, list[int]]:
        """One specific question offering three contrasting seed movies, and those movies' ids."""
        seeds = self.seed_options(set(state.offered_seeds) | set(state.excluded()))
        names = [_title(self.catalog, i) for i in seeds]
        if not names:
            return "Which movie did you enjoy recently?", []
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" or {names[-1]}"
        if parsed is not None and (parsed.genres_out or parsed.excluded_tags):
            lead = "Noted. To find what you will enjoy: which is closest to your taste"
        else:
            lead = "To get started: which of these is closest to what you'd enjoy"
        return (
            f"{lead}: {listed}? Or name a movie you loved, or a genre or decade you're in the mood for.",
            seeds,
        )

    def assumption(self, state: DialogueState) -> str:
        """ "I took Psycho to mean Psycho (1960); did you mean Psycho (1998)?" (the list still comes)."""
        assumed = state.pending_assumed
        others = [_title(self.catalog, i) for i in state.pending_choice if i != assumed][:2]
        listed = " or ".join(others)
        return f"I took that to mean {_title(self.catalog, assumed or 0)}; did you mean {listed} instead?"

    def disambiguation(self, state: DialogueState) -> str:
        names = [_title(self.catalog, i) for i in state.pending_choice[:3]]
        listed = " or ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + f" or {names[-1]}"
        return f"Did you mean {listed}?"


def _title(catalog: Catalog, item_id: int) -> str:
    item = catalog.get(item_id)
    return f"{display_title(item.title)} ({item.year})" if item.year else display_title(item.title)
