"""The facts an explanation may state about one candidate, read from its :class:`~bot.types.Evidence`.

The validator, the GBNF grammar, the prompt and the template explanations all read the same
:class:`Facts`, so what the LLM is shown, what it may generate and what is accepted cannot disagree.
Titles are kept in several surface forms ("Matrix, The (1999)", "The Matrix", "The Matrix (1999)")
because the model and the templates write the readable one while the catalog stores the raw one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.explain.connectives import CONNECTIVES
from bot.types import Candidate, Evidence, Neighbour

# Words of a request that must never be echoed: they are what prompt-injection text is made of.
INJECTION_WORDS = frozenset(
    """ignore ignoring disregard forget instruction instructions prompt prompts system assistant say
    says saying print output reply respond repeat rules jailbreak pretend role override previous above
    password secret admin developer mode""".split()
)

_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
# "Matrix, The" -> "The Matrix"; MovieLens moves leading articles to the end (also foreign ones).
_TRAILING_ARTICLE = re.compile(r"^(?P<body>.+), (?P<article>The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El)$")
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")

# A tag holding one of these words would read as the noun of its phrase ("the genre tag"): not stated.
_NOUN_WORDS = frozenset({"tag", "tags", "tagged", "genre", "genres"})
MAX_QUERY_TERMS = 6
MAX_TAGS = 4
MAX_NEIGHBOURS = 2
MAX_PHRASE_WORDS = 3  # request words joined into one phrase ("high school")
LIKED_RATING = 4.0  # "liked" in an explanation means rated 4 stars or more


@dataclass(frozen=True)
class CoRating:
    """People who liked ``seed_title`` rated the candidate ``mean`` on average (``n`` people)."""

    seed_title: str  # display form
    mean: float  # raw mean, rounded once where it is shown (format_rating)
    n: int
    # The rating from which someone counts as having liked the seed. "liked" in user-facing text
    # means 4 stars or more (LIKED_RATING); None: unknown, so the text may not say "liked".
    min_rating: float | None = None


@dataclass(frozen=True)
class SeedLink:
    """What ties the candidate to one liked title: shared genres and tags, the user's own rating."""

    title: str  # display form, as in Facts.liked
    shared_genres: tuple[str, ...] = ()  # display genres both have
    shared_tags: tuple[str, ...] = ()  # tags both carry (clean phrases)
    user_rating: float | None = None  # the known user's rating of the liked title (their history)


@dataclass(frozen=True)
class Facts:
    """Everything an explanation of one candidate may mention, in display form."""

    title: str  # display form, without the year
    title_forms: tuple[str, ...]
    liked: tuple[str, ...]  # display titles of liked items the candidate is close to
    liked_forms: tuple[tuple[str, ...], ...]  # surface forms of each liked title
    genres: tuple[str, ...]  # lower-case display genres, matched ones first
    matched_genres: tuple[str, ...]
    tags: tuple[str, ...]
    query_terms: tuple[str, ...]
    year: int | None
    mean_rating: float | None
    n_ratings: int
    co_ratings: tuple[CoRating, ...]
    links: tuple[SeedLink, ...] = ()  # one per liked title, same order
    asked_genres: tuple[str, ...] = ()  # display genres of the item that the request asked for
    avoided_tags: tuple[str, ...] = ()  # tags the request ruled out that the item does not carry

    def link(self, title: str) -> SeedLink | None:
        """The link to the liked title whose surface forms include ``title`` (any form), or None."""
        key = fold(title).lower()
        for link, forms in zip(self.links, self.liked_forms, strict=False):
            if key in {f.lower() for f in forms}:
                return link
        return None

    def co_rating(self, title: str) -> CoRating | None:
        """The co-rating of the liked title ``title`` (any surface form), or None."""
        key = fold(title).lower()
        return next(
            (c for c in self.co_ratings if key in {f.lower() for f in title_forms(c.seed_title)}), None
        )

    @property
    def mean_text(self) -> str | None:
        return format_rating(self.mean_rating) if self.mean_rating is not None else None

    def all_title_forms(self) -> list[tuple[str, str]]:
        """(surface form, role) pairs; role is "item" or "liked"."""
        pairs = [(form, "item") for form in self.title_forms]
        for forms in self.liked_forms:
            pairs.extend((form, "liked") for form in forms)
        for co in self.co_ratings:
            pairs.extend((form, "liked") for form in title_forms(co.seed_title))
        return pairs


def format_rating(value: float) -> str:
    """One decimal, the form every explanation uses ("3.9")."""
    return f"{value:.1f}"


def split_year(title: str) -> tuple[str, int | None]:
    """("Heat (1995)") -> ("Heat", 1995)."""
    match = _YEAR_SUFFIX.search(title)
    if not match:
        return title.strip(), None
    return title[: match.start()].strip(), int(match.group(1))


def display_title(title: str) -> str:
    """Readable title without the year: "Matrix, The (1999)" -> "The Matrix"."""
    body, _ = split_year(title)
    # "Amelie (Fabuleux destin d'Amélie Poulain, Le)": the alternative title is left out.
    body = re.sub(r"^(?P<main>[^()]+?) \([^()]+\)$", r"\g<main>", body)
    match = _TRAILING_ARTICLE.match(body)
    if match:
        article = match.group("article")
        sep = "" if article.endswith("'") else " "
        body = f"{article}{sep}{match.group('body')}"
    return body


def fold(text: str) -> str:
    """Accents removed ("Amélie" -> "Amelie"), so that either spelling matches the other."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def title_forms(title: str) -> tuple[str, ...]:
    """Every surface form under which ``title`` may appear in an explanation (accents folded).

    Includes both names of "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)".
    """
    body, year = split_year(title)
    display = display_title(title)
    forms = {title.strip(), body, display}
    if year is not None:
        forms.add(f"{display} ({year})")
    aka = re.fullmatch(r"(?P<main>[^()]+?) \((?P<aka>[^()]+)\)", body)
    if aka:
        for name in (aka.group("main"), re.sub(r"^a\.k\.a\. ", "", aka.group("aka"))):
            forms.update({name, display_title(name)})
        if year is not None:
            forms.add(f"{display} ({year})")
    return tuple(sorted({fold(f) for f in forms if f}, key=len, reverse=True))


def display_genre(genre: str) -> str:
    """ "Sci-Fi" -> "sci-fi"; "Children" -> "children's"; "(no genres listed)" -> ""."""
    g = genre.strip()
    if not g or g.startswith("("):
        return ""
    if g.lower() == "children":
        return "children's"
    return g if g.isupper() and len(g) > 1 else g.lower()  # keep "IMAX"


def words(text: str) -> list[str]:
    """Lower-case word tokens ("sci-fi" and "heat's" stay one token)."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(fold(text))]


def clean_phrase(text: str, max_words: int = 4) -> str:
    """A tag or request term reduced to plain words, or "" when nothing safe is left."""
    text = unicodedata.normalize("NFKC", text)
    tokens = [t for t in _WORD.findall(text) if t.lower() not in INJECTION_WORDS]
    # Digits would read as numbers the validator cannot place ("70mm"): drop such phrases.
    if not tokens or len(tokens) > max_words or any(c.isnumeric() for c in text):
        return ""
    return " ".join(tokens)


def _plain_tag(tag: str) -> bool:
    """A tag that reads as words: "setting:space/space ship" or "(s)vcd" would come out garbled."""
    return not re.search(r"[:/()\[\]|#]", tag)


def _co_rating(entry: Mapping[str, Any]) -> CoRating | None:
    """Read one co-rating dict; the blend writes seed_title/mean/n (a few aliases are accepted)."""
    title = next((entry[k] for k in ("seed_title", "title", "seed") if isinstance(entry.get(k), str)), None)
    mean = next((entry[k] for k in ("mean", "mean_rating", "avg") if entry.get(k) is not None), None)
    n = next((entry[k] for k in ("n", "count", "n_people", "n_ratings") if entry.get(k) is not None), None)
    if title is None or mean is None or n is None:
        return None
    floor = entry.get("min_rating")
    return CoRating(display_title(title), float(mean), int(n), None if floor is None else float(floor))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item.lower() not in {s.lower() for s in seen}:
            seen[item] = None
    return tuple(seen)


def _plain_words() -> frozenset[str]:
    return CONNECTIVES


def facts_from(candidate: Candidate) -> Facts:
    """Collect the facts of ``candidate`` in the form explanations use."""
    ev: Evidence = candidate.evidence
    _, title_year = split_year(candidate.title)
    own = {fold(f).lower() for f in title_forms(candidate.title)}
    # An item is never its own liked neighbour (a duplicate title would make "liked X" ambiguous).
    neighbours = sorted(
        (n for n in ev.neighbours if fold(display_title(n.title)).lower() not in own),
        key=lambda n: -n.similarity,
    )
    liked = _unique(d for d in (display_title(n.title) for n in neighbours) if _WORD.search(d))[
        :MAX_NEIGHBOURS
    ]
    liked_forms = tuple(
        title_forms(next(n.title for n in neighbours if display_title(n.title) == d)) for d in liked
    )
    matched = _unique(display_genre(g) for g in ev.matched_genres)
    genres = _unique([*matched, *(display_genre(g) for g in ev.genres)])
    # Only the item's own genres can be shared or asked for (evidence from elsewhere may disagree).
    links = tuple(_link(d, [n for n in neighbours if display_title(n.title) == d], genres) for d in liked)
    co = tuple(
        c
        for c in (_co_rating(e) for e in ev.co_ratings)
        if c is not None
        and c.n > 0
        and fold(c.seed_title).lower() not in own
        and _WORD.search(c.seed_title)
        # A seed titled with a plain word ("A", "Up") cannot be told from the word, so its figures
        # could not be bound to it: not stated.
        and fold(c.seed_title).lower() not in _plain_words()
        and not re.fullmatch(r"[\d.,\s]+", fold(c.seed_title))  # "3": it would read as a figure
    )
    # A shared tag spelled like a title would be masked as that title: not stated.
    titled = {f.lower() for f in title_forms(candidate.title)} | {f.lower() for fs in liked_forms for f in fs}
    titled |= {f.lower() for c in co for f in title_forms(c.seed_title)}
    links = tuple(
        SeedLink(
            lk.title,
            tuple(g for g in lk.shared_genres if not _holds_title(g, titled)),  # "Western" the title
            tuple(t for t in lk.shared_tags if not _holds_title(t, titled)),
            lk.user_rating,
        )
        # a liked title that is a plain word ("Up") cannot be told from the word: nothing is bound to it
        # nor to one that is a number ("9"): it would read as a figure
        if fold(lk.title).lower() not in _plain_words() and not re.fullmatch(r"[\d.,\s]+", fold(lk.title))
        else SeedLink(lk.title)
        for lk in links
    )
    return Facts(
        title=display_title(candidate.title),
        title_forms=title_forms(candidate.title),
        liked=liked,
        liked_forms=liked_forms,
        genres=genres,
        matched_genres=matched,
        # the tags the request matched first, then its own most used ones
        tags=tuple(
            t
            for t in _unique(clean_phrase(t) for t in [*ev.matched_tags, *ev.item_tags] if _plain_tag(t))
            if not _NOUN_WORDS & set(words(t))  # "tagged a tag and b" cannot be read back
        )[:MAX_TAGS],
        query_terms=_unique(clean_phrase(t, 2) for t in ev.query_terms)[:MAX_QUERY_TERMS],
        year=ev.year if ev.year is not None else title_year,
        mean_rating=ev.mean_rating if ev.n_ratings > 0 else None,
        n_ratings=ev.n_ratings,
        co_ratings=_co_first(co, liked)[:2],
        links=links,
        # "violent or gore", never a list; one spelled like a title would be masked as the title
        avoided_tags=tuple(
            t
            for t in _unique(clean_phrase(t) for t in ev.avoided_tags if _plain_tag(t))
            if not _holds_title(t, titled)
            # "isn't tagged X" means no tag of the item contains X (evidence that says otherwise is wrong)
            and not any(
                t.lower() in clean_phrase(own, 8).lower() for own in [*ev.matched_tags, *ev.item_tags]
            )
        )[:2],
        asked_genres=_unique(g for g in (display_genre(g) for g in ev.asked_genres) if g in genres),
    )


def request_phrases(terms: Iterable[str], said: Iterable[str]) -> tuple[str, ...]:
    """``terms`` (request words the item matched) with words that stand next to each other in one
    of the user's messages joined into the phrase the user wrote: "high", "school" -> "high school"
    for "a high school comedy". At most :data:`MAX_PHRASE_WORDS` words a phrase; each word once."""
    terms = list(terms)
    single = {t.lower() for t in terms if len(words(t)) == 1}
    runs = [run for m in said for run in _runs(words(m), single)]
    out: list[str] = []
    used: set[str] = set()
    for term in terms:
        key = term.lower()
        if key in used:
            continue
        phrase = max((r for r in runs if key in r and not used & set(r)), key=len, default=[key])
        used.update(phrase)
        out.append(term if len(phrase) == 1 else " ".join(phrase))
    return tuple(out)


def _runs(message: list[str], allowed: set[str]) -> list[list[str]]:
    """Runs of 2 to MAX_PHRASE_WORDS distinct ``allowed`` words that are adjacent in ``message``."""
    found = []
    for i in range(len(message)):
        for j in range(i + 2, min(i + MAX_PHRASE_WORDS, len(message)) + 1):
            run = message[i:j]
            if set(run) <= allowed and len(set(run)) == len(run):
                found.append(run)
    return found


def _holds_title(phrase: str, forms: set[str]) -> bool:
    """Whether ``phrase`` contains one of the title ``forms`` as whole words (it would be masked),
    or the word "tag" or "genre" itself (it would read as the noun): such a tag is not named before "tag"."""
    text = fold(phrase).lower()
    if _NOUN_WORDS & set(words(text)):
        return True
    return any(re.search(r"(?<!\w)" + re.escape(f) + r"(?!\w)", text) for f in forms if f)


def _link(title: str, entries: list[Neighbour], item_genres: tuple[str, ...]) -> SeedLink:
    """The link to one liked title from its neighbour entries (CF and embedding may both name it)."""
    # in the item's order (matched / asked genres first)
    shared = {display_genre(g) for n in entries for g in n.shared_genres}
    genres = tuple(g for g in item_genres if g in shared)
    tags = _unique(clean_phrase(t) for n in entries for t in n.shared_tags if _plain_tag(t))[:MAX_TAGS]
    rating = next((n.user_rating for n in entries if n.user_rating is not None), None)
    return SeedLink(title, genres, tags, rating)


def _co_first(co: tuple[CoRating, ...], liked: tuple[str, ...]) -> tuple[CoRating, ...]:
    """Co-ratings of the liked titles that are linked neighbours first (their order), then the others."""
    rank = {fold(t).lower(): i for i, t in enumerate(liked)}
    return tuple(sorted(co, key=lambda c: rank.get(fold(c.seed_title).lower(), len(rank))))
