"""A simulated chat user who wants one hidden target movie and never names it.

The user opens with one or two movies they liked earlier, answers the bot's questions from the
target's genres / decade / hint tags (only tags shared by several films and without a word of the
title, :func:`eval.held_out.hint_tags`), gives feedback on wrong items (seen if they rated it, not interested
when it shares no genre with what they want) and critiques toward the target ("something older",
"more recent", "less violent", "funnier", "more <genre>"). Every message passes :func:`leaks`
before it is sent: a phrase that would reveal the target's title is never used.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.types import Recommendation
from cf_engine.data.catalog import Item
from cf_engine.data.redial_mapping import normalise

VIOLENT = {"Action", "War", "Horror", "Crime", "Thriller"}
GENTLE = {"Comedy", "Romance", "Children", "Animation", "Musical", "Drama"}
_ASKS_GENRE = re.compile(r"\b(genre|kind|type|mood|sort|style)\b", re.I)
_ASKS_TIME = re.compile(r"\b(year|decade|old|older|new|newer|recent|era|classic)\b", re.I)


_ALT_NAME = re.compile(r"\s*\([^()]*\)\s*$")
_ARTICLE = re.compile(r"^(?P<body>.+), (?P<article>The|A|An)$")


def natural_title(item: Item) -> str:
    """How a person types a title: "Wicker Man, The" -> "The Wicker Man", a.k.a. names dropped."""
    title = item.title
    while _ALT_NAME.search(title) and _ALT_NAME.sub("", title):
        title = _ALT_NAME.sub("", title)
    match = _ARTICLE.match(title)
    return f"{match.group('article')} {match.group('body')}" if match else title


def leaks(message: str, target: Item) -> bool:
    """True when ``message`` names the target (its title or an alias, as a whole phrase)."""
    text = f" {normalise(message)} "
    for form in (target.title, *target.aliases):
        name = normalise(form)
        if name and f" {name} " in text:
            return True
    return False


@dataclass
class UserProfile:
    """What the simulated user knows: their earlier likes, everything they rated, the target."""

    user_id: int
    seeds: list[Item]  # earlier likes they may name
    rated_ids: set[int]  # everything they have rated (for "seen")
    target: Item
    # The target's tags they may say: shared by several films, no title word (eval.held_out.hint_tags).
    hint_tags: tuple[str, ...] = ()


@dataclass
class SimulatedUser:
    profile: UserProfile
    critiques: bool = True  # False: the "no critiques" baseline (answers questions, then asks for more)
    rng: random.Random = field(default_factory=random.Random)
    used_hints: set[str] = field(default_factory=set)
    messages: list[str] = field(default_factory=list)

    # --- what the user says ------------------------------------------------------------------
    def opening(self) -> str:
        names = [natural_title(s) for s in self.profile.seeds]
        message = f"I loved {names[0]}" if len(names) == 1 else f"I loved {names[0]} and {names[1]}"
        message += ". Can you recommend something?"
        return self._say(message)

    def reply(self, question: str | None, shown: Sequence[Recommendation]) -> str:
        """The next message after the bot showed ``shown`` (none were the target)."""
        if question:
            answer = self._answer(question)
            if answer:
                return self._say(answer)
        if not self.critiques:
            return self._say("Something else, please.")
        critique = self._critique(shown)
        return self._say(critique or "Something else, please.")

    def feedback_for(self, shown: Sequence[Recommendation]) -> list[tuple[int, str]]:
        """(item id, kind) for wrong shown items: seen if rated, not interested if no genre in common."""
        target_genres = set(self.profile.target.genres)
        out: list[tuple[int, str]] = []
        for r in shown:
            if r.item_id == self.profile.target.item_id:
                continue
            if r.item_id in self.profile.rated_ids:
                out.append((r.item_id, "seen"))
            elif target_genres and not (set(r.genres) & target_genres):
                out.append((r.item_id, "not_interested"))
        return out

    # --- helpers -------------------------------------------------------------------------------
    def _say(self, message: str) -> str:
        if leaks(message, self.profile.target):  # never happens by construction; kept as a guard
            message = "Something else, please."
        self.messages.append(message)
        return message

    def _safe(self, phrase: str) -> bool:
        return bool(phrase) and not leaks(phrase, self.profile.target)

    def _genre_hint(self) -> str | None:
        for genre in self.profile.target.genres:
            if genre not in self.used_hints and self._safe(genre):
                self.used_hints.add(genre)
                return genre
        return None

    def _tag_hint(self) -> str | None:
        for tag in self.profile.hint_tags[:5]:
            if tag not in self.used_hints and self._safe(tag) and len(tag) <= 30:
                self.used_hints.add(tag)
                return tag
        return None

    def _decade(self) -> str | None:
        year = self.profile.target.year
        return f"from the {year // 10 * 10}s" if year else None

    def _answer(self, question: str) -> str | None:
        for seed in self.profile.seeds:  # "Did you mean X (1973) or X (2006)?" about a seed
            if (
                seed.year
                and str(seed.year) in question
                and normalise(natural_title(seed)) in normalise(question)
            ):
                return f"{natural_title(seed)} ({seed.year})"
        if _ASKS_TIME.search(question) and self._decade():
            return f"Something {self._decade()}."
        genre = self._genre_hint()
        if genre:
            return f"I'm in the mood for {genre.lower()}."
        tag = self._tag_hint()
        if tag:
            return f"Something {tag}."
        decade = self._decade()
        return f"Something {decade}." if decade else None

    def _critique(self, shown: Sequence[Recommendation]) -> str | None:
        target = self.profile.target
        years = [r.year for r in shown if r.year]
        if target.year and years:
            mean = sum(years) / len(years)
            if target.year < mean - 10 and "older" not in self.used_hints:
                self.used_hints.add("older")
                return f"Something older, {self._decade()}."
            if target.year > mean + 10 and "newer" not in self.used_hints:
                self.used_hints.add("newer")
                return f"Something more recent, {self._decade()}."
        shown_genres = {g for r in shown for g in r.genres}
        target_genres = set(target.genres)
        if (shown_genres & VIOLENT) and not (target_genres & VIOLENT) and "gentle" not in self.used_hints:
            self.used_hints.add("gentle")
            return "Something less violent."
        if (
            "Comedy" in target_genres
            and not any("Comedy" in r.genres for r in shown)
            and "funny" not in self.used_hints
        ):
            self.used_hints.add("funny")
            return "Something funnier."
        genre = self._genre_hint()
        if genre:
            return f"More {genre.lower()}, please."
        tag = self._tag_hint()
        if tag:
            return f"Something with {tag}."
        return None
