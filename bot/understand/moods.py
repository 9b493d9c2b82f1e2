"""Moods and soft constraints: "lighter", "not depressing", "less violent", "for kids", "black-and-white".

A mood is a label in :data:`MOODS` with two kinds of effect, both built only from what a catalog
knows (genres, tags, years):

* hard parts, merged into the session's :class:`~bot.types.Constraints` (so the one exact check,
  :func:`bot.recommend.constraints.satisfies`, enforces them): genres to leave out, tags to leave out, genres
  to require, a latest year. A genre the user asked for is never left out by a mood: "a war movie
  that isn't depressing" keeps War and drops the harrowing ones instead;
* soft parts, used by :func:`rerank_ids` on the blend's list: genres and tags to prefer or avoid,
  and genre combinations that mark the mood's opposite ("less violent" drops Action+Thriller, the
  violent action that no Crime/Horror/War filter catches) while enough other candidates remain.

Moods persist across turns in ``DialogueState.moods`` (a list of labels) until "start over" or an
opposite mood replaces them (lighter <-> darker, for kids <-> for grown-ups); the reply's constraint
line names them. The shape is documented for other modules in ``/work/notes/i14_constraints.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bot.types import Constraints
from cf_engine.data.catalog import Catalog, Item


class MoodState(Protocol):
    """The part of ``bot.state.DialogueState`` moods change (bot.state imports this module)."""

    moods: list[str]
    constraints: Constraints


BW_YEAR_MAX = 1965  # black-and-white: colour film was the norm by the late 1960s


@dataclass(frozen=True)
class Mood:
    """What one mood label means in catalog terms."""

    label: str
    genres_out: tuple[str, ...] = ()
    genres_in: tuple[str, ...] = ()  # required (any of) when the message asks for no genre itself
    excluded_tags: tuple[str, ...] = ()
    year_max: int | None = None
    prefer_genres: tuple[str, ...] = ()
    avoid_genres: tuple[str, ...] = ()
    prefer_tags: tuple[str, ...] = ()
    avoid_tags: tuple[str, ...] = ()  # soft: -1, like an avoided genre
    avoid_combos: tuple[frozenset[str], ...] = ()  # an item with all genres of one combo is the opposite
    opposite: tuple[str, ...] = ()
    overrides: bool = False  # its genres_out win over genres the same message names ("kids ... grown-ups")


# Tags MovieLens users give to films that weigh on you (ml-latest-small spells them this way).
_DARK_TAGS = (
    "dark",
    "depressing",
    "bleak",
    "disturbing",
    "harrowing",
    "grim",
    "downbeat",
    "tragedy",
    "tragic",
    "tear jerker",
    "tearjerker",
    "tearjerking",
    "made me cry",
    "holocaust",
    "genocide",
    "suicide",
)
_VIOLENT_TAGS = ("violence", "violent", "gore", "gory", "brutal", "bloody")
# Tags of subjects that are violent on screen without the word: "less violent" ranks them lower
# (soft: a catalog tags too few films for a filter). Terminator 2 is Action|Sci-Fi, tagged "apocalypse".
_VIOLENT_THEMES = (
    "apocalypse",
    "post-apocalyptic",
    "nuclear war",
    "war",
    "murder",
    "serial killer",
    "assassin",
    "assassination",
    "revenge",
    "terrorism",
    "terrorists",
    "gangsters",
    "gangster",
    "mafia",
    "martial arts",
    "shootout",
    "gunfight",
    "guns",
    "killing",
    "torture",
    "zombies",
    "vigilante",
    "hitman",
)
_LIGHT_GENRES = ("Comedy", "Adventure", "Animation", "Children", "Fantasy", "Musical", "Romance")
_HEAVY_GENRES = ("Drama", "Crime", "Thriller", "Mystery", "Film-Noir")

_LIGHTER = Mood(
    "lighter",
    genres_out=("Horror", "War"),
    excluded_tags=_DARK_TAGS,
    prefer_genres=_LIGHT_GENRES,
    avoid_genres=_HEAVY_GENRES,
    prefer_tags=("feel-good", "funny", "fun"),
    opposite=("darker", "sad"),
)
MOODS: dict[str, Mood] = {
    m.label: m
    for m in (
        _LIGHTER,
        replace(_LIGHTER, label="feel-good", prefer_tags=("feel-good", "heartwarming", "funny", "uplifting")),
        Mood(
            "not depressing",
            excluded_tags=_DARK_TAGS,
            prefer_genres=("Comedy", "Adventure", "Action", "Animation", "Musical"),
            # Soft: "a war movie that isn't depressing" still gets war films (War is asked for).
            avoid_genres=("Drama", "War", "Horror"),
            prefer_tags=("feel-good", "funny"),
            opposite=("sad", "darker"),
        ),
        Mood(
            "darker",
            genres_out=("Children",),
            prefer_genres=("Drama", "Thriller", "Crime", "Mystery", "Film-Noir", "Horror"),
            avoid_genres=("Comedy", "Children", "Animation", "Musical"),
            prefer_tags=("dark", "atmospheric", "dark comedy"),
            opposite=("lighter", "feel-good", "not depressing"),
        ),
        Mood(
            "sad",
            genres_in=("Drama", "Romance"),
            prefer_genres=("Drama", "Romance"),
            avoid_genres=("Comedy", "Action"),
            prefer_tags=(
                "sad",
                "tearjerker",
                "tear jerker",
                "emotional",
                "tragedy",
                "made me cry",
                "poignant",
            ),
            opposite=("lighter", "feel-good", "not depressing"),
        ),
        Mood(
            "less violent",
            genres_out=("Horror", "War", "Crime"),
            excluded_tags=_VIOLENT_TAGS,
            # "action but nothing too violent": the adventurous, funny, animated kind first
            prefer_genres=("Adventure", "Comedy", "Animation", "Children", "Fantasy", "Romance", "Musical"),
            avoid_genres=("Thriller",),
            avoid_tags=_VIOLENT_THEMES,
            avoid_combos=(frozenset({"Action", "Thriller"}), frozenset({"Action", "War"})),
        ),
        Mood("less gory", genres_out=("Horror",), excluded_tags=("gore", "gory", "bloody", "splatter")),
        Mood("less scary", genres_out=("Horror",), avoid_genres=("Thriller",)),
        Mood(
            "for kids",
            genres_in=("Children", "Animation"),
            genres_out=("Horror", "War"),
            excluded_tags=_VIOLENT_TAGS,
            prefer_genres=("Children", "Animation"),
            opposite=("for grown-ups",),
        ),
        Mood("for grown-ups", genres_out=("Children", "Animation"), opposite=("for kids",), overrides=True),
        Mood(
            "black-and-white",
            year_max=BW_YEAR_MAX,
            prefer_tags=("black and white", "classic"),
        ),
    )
}

# Phrases, lower case, matched with word boundaries; negated forms come before the plain ones and
# their span is consumed first ("not too dark" is lighter, never darker).
_NEG = (
    r"(?:not|nothing|no|without|isn'?t|aren'?t|never|non|less|too|(?:do|does)(?:n'?t| not) (?:want|like|need)"
    r"(?: \w+)?)"
)
# a degree word, or one or two words between ("not as scary", "nothing that's too violent")
_DEG = r"(?:\s+(?:too|so|very|that|as|overly|super|really|anything|something|that'?s too|too much))?"
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.I))
    for label, pattern in (
        ("less violent", rf"\b{_NEG}{_DEG}[\s-]+(?:violent|violence|bloody|brutal)\b|\bnon[- ]?violent\b"),
        ("less gory", rf"\b{_NEG}{_DEG}[\s-]+(?:gory|gore|graphic|gruesome)\b"),
        ("less scary", rf"\b{_NEG}{_DEG}[\s-]+(?:scary|frightening|creepy|intense)\b"),
        (
            "not depressing",
            rf"\b{_NEG}{_DEG}[\s-]+(?:depressing|bleak|heavy|sad|tragic|harrowing|a downer|upsetting|grim)\b",
        ),
        ("lighter", rf"\b{_NEG}{_DEG}[\s-]+(?:dark|serious|grim)\b"),
        (
            "feel-good",
            r"\bfeel[\s-]?good\b|\buplifting\b|\bheart[\s-]?warming\b|\bwholesome\b|\bcheer (?:me|us) up\b"
            r"|\bmake (?:me|us) (?:smile|happy)\b|\bhappy (?:movie|film|ending)s?\b|\bfeel better\b",
        ),
        (
            "lighter",
            r"\blight(?:er)?[\s-]?hearted\b|\blighter\b|\bsomething light\b|\blight (?:movie|film|watch)\b"
            r"|\bhappier\b|\bcheerful\b|\bupbeat\b|\bless (?:heavy|serious|intense)\b",
        ),
        (
            "darker",
            r"\bdarker\b|\bgrittier\b|\bgritty\b|\bmore (?:dark|serious|intense|disturbing)\b|\bbleak\b"
            r"|\bdisturbing\b",
        ),
        (
            "sad",
            r"\b(?:sad|tear[\s-]?jerker|weepy|make (?:me|us) cry|(?:have|want|need) a (?:good )?cry"
            r"|cry(?:ing)? my eyes out)\b",
        ),
        (
            "for grown-ups",
            r"\bfor (?:the )?grown[\s-]?ups\b|\bgrown[\s-]?up (?:movie|film|stuff)s?\b|\bfor adults\b"
            r"|\badults? only\b|\bmature\b|\bnothing childish\b"
            r"|\bnot (?:a |for )?(?:kids?|children)(?:'?s)?(?: movie| film| stuff)?\b"
            r"|\bno (?:kids|cartoons)\b",
        ),
        (
            "for kids",
            r"\bfor (?:the |my |our |young |little |small )?(?:kids?|children|child|toddlers?|family"
            r"|whole family|son|daughter|nephew|niece|grandkids)\b|\b\d{1,2}[\s-]?(?:year|yr)s?[\s-]?old\b"
            r"|\bfamily[\s-](?:movie|film|night|friendly)\b|\bkid[\s-]?friendly\b|\bwith (?:the|my) kids\b",
        ),
        (
            "black-and-white",
            r"\bblack[\s-]*(?:and|&|n'?)[\s-]*white\b|\bb\s?&\s?w\b|\bb/w\b|\bsilent (?:film|movie)s?\b",
        ),
    )
)


def find_moods(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Mood labels in ``text`` with the character spans that say them (a label may repeat)."""
    found: list[tuple[str, tuple[int, int]]] = []
    taken: list[tuple[int, int]] = []
    for label, pattern in PATTERNS:
        for m in pattern.finditer(text):
            span = m.span()
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue
            taken.append(span)
            found.append((label, span))
    # "for grown-ups" and "for kids" in one message: "not a kids movie" says grown-ups
    labels = [f[0] for f in found]
    if "for grown-ups" in labels and "for kids" in labels:
        found = [f for f in found if f[0] != "for kids"]
    return found


def apply_moods(state: MoodState, labels: Sequence[str], requested: Iterable[str]) -> bool:
    """Add this message's moods to the state; opposites leave together with their hard parts.

    ``requested`` are the genres the message itself asked for (never left out by a mood).
    Returns whether the constraints changed.
    """
    if not labels:
        return False
    before = state.constraints
    for label in labels:
        mood = MOODS[label]
        for other in mood.opposite:
            if other in state.moods:
                state.moods.remove(other)
                state.constraints = _without(state.constraints, MOODS[other], state.moods)
        if label not in state.moods:
            state.moods.append(label)
    protected = set(requested) | set(state.constraints.genres_in)
    c = state.constraints
    for label in labels:
        mood = MOODS[label]
        genres_in = c.genres_in
        if mood.genres_in and not set(requested):
            genres_in = frozenset(mood.genres_in)
        out = set(mood.genres_out) if mood.overrides else set(mood.genres_out) - protected - set(genres_in)
        year_max = c.year_max
        if mood.year_max is not None:
            year_max = mood.year_max if year_max is None else min(year_max, mood.year_max)
        genres_in = frozenset(genres_in - out)
        c = replace(
            c,
            genres_in=genres_in,
            genres_out=frozenset((c.genres_out | out) - genres_in),
            excluded_tags=c.excluded_tags | frozenset(mood.excluded_tags),
            year_max=year_max,
        )
    state.constraints = c
    return c != before


def _without(c: Constraints, mood: Mood, still: Sequence[str]) -> Constraints:
    """``c`` without the hard parts only ``mood`` contributed (other active moods keep theirs)."""
    keep_out = {g for label in still for g in MOODS[label].genres_out}
    keep_tags = {t for label in still for t in MOODS[label].excluded_tags}
    genres_in = c.genres_in
    if mood.genres_in and set(genres_in) == set(mood.genres_in):
        genres_in = frozenset()
    return replace(
        c,
        genres_in=genres_in,
        genres_out=frozenset(g for g in c.genres_out if g not in mood.genres_out or g in keep_out),
        excluded_tags=frozenset(t for t in c.excluded_tags if t not in mood.excluded_tags or t in keep_tags),
        year_max=None if mood.year_max is not None and c.year_max == mood.year_max else c.year_max,
    )


def _has_tag(item: Item, tags: Iterable[str]) -> bool:
    own = {t.casefold() for t in item.tags}
    return any(t in own for t in tags)


def mood_score(item: Item, labels: Sequence[str]) -> float:
    """How well ``item`` fits the moods: +1 per preferred genre family / tag, -1 per avoided one."""
    genres = set(item.genres)
    score = 0.0
    for label in labels:
        mood = MOODS[label]
        if genres & set(mood.prefer_genres):
            score += 1.0
        if genres & set(mood.avoid_genres):
            score -= 1.0
        if mood.prefer_tags and _has_tag(item, mood.prefer_tags):
            score += 0.5
        if mood.avoid_tags and _has_tag(item, mood.avoid_tags):
            score -= 1.0
        if mood.excluded_tags and _has_tag(item, mood.excluded_tags):
            score -= 2.0  # only reached when the hard filter was relaxed (tags the user asked for)
        if any(combo <= genres for combo in mood.avoid_combos):
            score -= 2.0
    return score


def satisfied(item: Item, labels: Sequence[str]) -> list[str]:
    """The mood labels ``item`` visibly fits (a preferred genre or tag, none of the avoided combos)."""
    out = []
    for label in labels:
        mood = MOODS[label]
        genres = set(item.genres)
        if any(combo <= genres for combo in mood.avoid_combos):
            continue
        if (
            genres & set(mood.prefer_genres)
            or _has_tag(item, mood.prefer_tags)
            or not (mood.prefer_genres or mood.prefer_tags)
        ):
            out.append(label)
    return out


RANK_WEIGHT = 1.5  # the blend's order is worth this much against one mood point


def rerank_ids(item_ids: Sequence[int], catalog: Catalog, labels: Sequence[str], k: int) -> list[int]:
    """The ``k`` best items by blend order plus mood fit; the mood's opposite only as a last resort.

    ``item_ids`` come best first from the blend (asked for more than ``k``). An item matching an
    avoided genre combination ("less violent": Action+Thriller) is dropped while ``k`` others remain.
    """
    if not labels or not item_ids:
        return list(item_ids)[:k]
    n = len(item_ids)
    scored = []
    for rank, item_id in enumerate(item_ids):
        item = catalog.get(item_id)
        combo = any(c <= set(item.genres) for label in labels for c in MOODS[label].avoid_combos)
        scored.append((combo, -(RANK_WEIGHT * (1 - rank / n) + mood_score(item, labels)), rank, item_id))
    scored.sort(key=lambda row: (row[0], row[1], row[2]))
    return [row[3] for row in scored[:k]]


def describe_moods(labels: Sequence[str]) -> str:
    """ "lighter, less violent" for the reply's constraint line."""
    return ", ".join(labels)


def without_mood_tags(c: Constraints, labels: Sequence[str]) -> Constraints:
    """``c`` without the tags the moods exclude (the mood's name says them in the reply)."""
    tags = {t for label in labels for t in MOODS[label].excluded_tags}
    return replace(c, excluded_tags=frozenset(t for t in c.excluded_tags if t not in tags))
