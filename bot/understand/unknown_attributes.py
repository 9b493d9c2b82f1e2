"""Requests the catalog cannot apply: director, actor, runtime, language, streaming service, age rating.

MovieLens (and a generic catalog without such fields) knows titles, years, genres and user tags;
it does not know who directed or starred in a film, how long it runs, its language, where it
streams or its age rating. When a message asks for one of these the bot must say so plainly, once,
and recommend anyway, never pretending a filter was applied (:func:`note`).

Where the catalog does hold the words, the same words filter by them: a person's name that is one
of the catalog's tags (MovieLens users tag films "Martin Scorsese", "Tom Hanks"; a generic catalog
may list people in its tags) becomes an excluded tag ("not Scorsese") or a search word ("with Jim
Carrey"), and the note says that only the tagged films could be left out or looked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.understand.people_vocab import FIRST_NAMES, person_role
from bot.understand.titles import Token

FIELD_TEXT = {
    "director": "director data",
    "actor": "actor data",
    "person": "actor or director data",
    "runtime": "running times",
    "language": "language data",
    "streaming": "streaming data",
    "age rating": "age ratings",
}

_LANGUAGES = (
    "french|spanish|german|italian|japanese|korean|chinese|mandarin|cantonese|hindi|russian|swedish|"
    "danish|norwegian|portuguese|arabic|turkish|polish|dutch|greek|persian|thai|english"
)
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(p, re.I))
    for name, p in (
        (
            "runtime",
            r"\b(?:under|less than|no more than|at most|shorter than|over|more than|longer than|about|around"
            r"|maybe)\s+(?:an?|one|two|three|\d+(?:\.\d)?)\s*(?:-|\s)?(?:hours?|hrs?|minutes?|mins?)\b"
            r"|\b(?:an?|one) hour and a half\b|\b\d+\s*(?:minutes?|mins)\b|\bruntime\b|\brunning time\b"
            r"|\bsomething short\b|\bshort (?:movie|film|one)\b|\bnot too long\b|\bquick watch\b",
        ),
        (
            "language",
            rf"\b(?:in|speaking)\s+(?:{_LANGUAGES})\b|\b(?:{_LANGUAGES})[\s-]language\b|\bsubtitle[sd]?\b"
            r"|\bdubbed\b|\bforeign[\s-]language\b|\bnon[\s-]english\b|\boriginal language\b",
        ),
        (
            "streaming",
            r"\b(?:netflix|hulu|amazon prime|prime video|on prime|disney\+|disney plus|hbo(?: max)?|apple tv"
            r"|peacock|paramount plus|crunchyroll|streaming|to stream)\b|\b(?:disney|paramount|apple tv)\+",
        ),
        (
            "age rating",
            r"(?<![\w-])(?:pg-?13|pg|nc-?17|r-rated|rated r|rated pg(?:-?13)?|rated g|g-rated|mpaa"
            r"|age rating|age-appropriate|age appropriate)(?![\w-])",
        ),
    )
)
_DIRECTOR_CUE = re.compile(r"\b(?:directed by|director|directors|filmmaker)\b", re.I)
_ACTOR_CUE = re.compile(r"\b(?:starring|stars?|actor|actress|actors|cast)\b", re.I)
_PERSON_LEADS = frozenset("with starring by from featuring".split())
_NEGATORS = frozenset("not no nothing without except avoid never skip hate dislike".split())
_NOT_NAMES = frozenset(
    "i im i'm ive id the a an and or but so my me you we it this that what something anything nothing "
    "no not yes hi hello hey please thanks movie movies film films".split()
)


@dataclass
class Unsupported:
    """One request the catalog cannot apply (JSON-shaped for the session state)."""

    field: str  # director, actor, person, runtime, language, streaming, age rating
    words: str  # what the user wrote ("Scorsese", "under 90 minutes", "Netflix")
    wanted: bool  # False: "not Scorsese", "without Tom Hanks"
    applied_tag: str | None = None  # a catalog tag that carries the name, used instead
    # The catalog's own field(s) for it ("director", "cast"): then it is a filter, not a note
    # (bot/understand/catalog_fields.py).
    applied_field: str | None = None


def find_unsupported(
    text: str, tokens: Sequence[Token], used: list[bool], tag_vocabulary: Iterable[str]
) -> list[Unsupported]:
    """The unsupported requests in one message; tokens of names found are marked used."""
    out: list[Unsupported] = []
    for name, pattern in PATTERNS:
        m = pattern.search(text)
        if m:
            out.append(Unsupported(name, m.group(0), True))
    out.extend(_people(text, tokens, used, {t.casefold() for t in tag_vocabulary}))
    return out


def attribute_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the runtime / language / streaming / age-rating phrases in ``text``."""
    return [m.span() for _, pattern in PATTERNS for m in pattern.finditer(text)]


def _people(text: str, tokens: Sequence[Token], used: list[bool], tags: set[str]) -> list[Unsupported]:
    """Names of people: listed names, or capitalised names after "with", "starring", "by"..."""
    found: list[Unsupported] = []
    i = 0
    while i < len(tokens):
        if used[i] or not tokens[i].text[:1].isupper() or tokens[i].norm in _NOT_NAMES:
            i += 1
            continue
        j = i
        while j < len(tokens) and j - i < 3 and not used[j] and tokens[j].text[:1].isupper():
            if j > i and re.search(r"[.!?,;]", text[tokens[j - 1].end : tokens[j].start]):
                break
            j += 1
        words = [t.norm.removesuffix("s") if t.text.endswith("'s") else t.norm for t in tokens[i:j]]
        words = [w.replace("'", "") for w in words]
        role = person_role(words)
        lead = tokens[i - 1].norm if i > 0 else ""
        window = text[max(0, tokens[i].start - 40) : tokens[j - 1].end + 25]
        looks_like_name = len(words) >= 2 and words[0] in FIRST_NAMES
        if (
            role is None
            and looks_like_name
            and (lead in _PERSON_LEADS or _cue(window) or _in_it(text, tokens, j))
        ):
            role = "person"
        if role is None and (
            lead in ("starring", "featuring")
            or text[: tokens[i].start].rstrip().lower().endswith("directed by")
        ):
            role = "person"  # whoever is named there is a person, listed or not
        if (
            role is None
            and looks_like_name
            and lead in ("love", "loves", "like", "likes", "loved", "liked", "adore")
        ):
            role = "person"  # "I love Kevin Hart": a name is no title
        if role is None:
            i += 1
            continue
        if _DIRECTOR_CUE.search(window):
            role = "director"
        elif _ACTOR_CUE.search(window) or _in_it(text, tokens, j):
            role = "actor" if role == "person" else role
        before = text[max(0, tokens[i].start - 20) : tokens[i].start].lower()
        wanted = not (
            any(tokens[k].norm in _NEGATORS for k in range(max(0, i - 4), i))
            or re.search(r"\b(?:anything|something) but\s*$|\bother than\s*$|\bbesides\s*$", before)
        )
        name = " ".join(words)
        tag = (
            name
            if name in tags
            else next(
                (t for t in tags if t.split()[-1:] == words[-1:] and len(t.split()) == 2 and len(words) == 1),
                None,
            )
        )
        found.append(Unsupported(role, text[tokens[i].start : tokens[j - 1].end], wanted, tag))
        for k in range(i, j):
            used[k] = True
        i = j
    return found


def _cue(window: str) -> bool:
    return bool(_DIRECTOR_CUE.search(window) or _ACTOR_CUE.search(window))


def _in_it(text: str, tokens: Sequence[Token], j: int) -> bool:
    """ "with Jim Carrey in it": the name is followed by "in it"."""
    return j + 1 < len(tokens) and tokens[j].norm == "in" and tokens[j + 1].norm in ("it", "them")


def note(items: Sequence[Unsupported]) -> str:
    """One plain sentence per field: what the catalog does not know and what was done instead."""
    lines = []
    seen: set[str] = set()
    for u in items:
        if u.field in seen or u.applied_field:
            continue
        seen.add(u.field)
        have = FIELD_TEXT[u.field]
        if u.field in ("director", "actor", "person"):
            if not u.wanted:  # "not Scorsese": the wording, naming whom the user wants out
                possessive = f"{u.words}'s" if not u.words.endswith("s") else f"{u.words}'"
                line = f"I don't have {have}, so I can't leave out {possessive} films"
                if u.applied_tag:
                    line += f"; I left out the films tagged {u.applied_tag}"
            else:  # a wanted name is not echoed: the reply states no fact about a person it cannot check
                who = "their director" if u.field == "director" else "their cast"
                line = f"I don't have {have}, so I can't pick films by {who}"
                if u.applied_tag:
                    line += "; I searched the films' tags for that name"
            lines.append(line + ". Here are my picks anyway.")
        elif u.field == "runtime":
            continue  # the runtime note has its own line (bot.reply_wording.RUNTIME_NOTE)
        elif u.field == "streaming":
            lines.append(
                f"I don't have {have}, so I can't tell what is on {u.words}; these may not be there."
            )
        elif u.field == "language":
            lines.append(f"I don't have {have}, so I can't filter by language ({u.words}).")
        else:
            lines.append(f"I don't have {have} (G, PG, R ...), so I can't filter by them.")
    return " ".join(lines)
