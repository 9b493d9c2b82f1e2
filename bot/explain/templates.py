"""Fluent explanations written from evidence alone: the fallback whenever the LLM's text fails.

Several variants exist so that three recommendations in one reply do not read the same; the
variant is chosen from the item id and a per-reply seed. Every word used here is an evidence word
or in :data:`bot.explain.connectives.CONNECTIVES`, and ``tests/bot/test_explain_templates.py`` checks that
every variant passes the validator for random evidence.
"""

from __future__ import annotations

import zlib

from bot.explain.facts import Facts, format_rating


def article(word: str) -> str:
    """ "a" or "an" for the word that follows."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def join(items: list[str] | tuple[str, ...], last: str = "and") -> str:
    """ "A", "A and B", "A, B and C"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def genre_phrase(facts: Facts, n: int = 2) -> str | None:
    """ "a crime and thriller film", or None without genres."""
    genres = list(facts.genres[:n])
    if not genres:
        return None
    text = join(genres)
    return f"{article(text)} {text} film"


def rating_phrase(facts: Facts) -> str | None:
    """ "rated 3.9 on average by 120 people"."""
    if facts.mean_text is None or facts.n_ratings <= 0:
        return None
    people = "person" if facts.n_ratings == 1 else "people"
    return f"rated {facts.mean_text} on average by {facts.n_ratings} {people}"


def co_rating_phrase(facts: Facts) -> str | None:
    """ "the 40 people who liked Heat rated it 4.1 on average"."""
    if not facts.co_ratings:
        return None
    co = facts.co_ratings[0]
    who = "people" if co.n != 1 else "person"
    return f"the {co.n} {who} who liked {co.seed_title} rated it {format_rating(co.mean)} on average"


def tag_phrase(facts: Facts) -> str | None:
    return f"tagged {join(facts.tags[:2])}" if facts.tags else None


def query_phrase(facts: Facts) -> str | None:
    return f"it matches {join(facts.query_terms[:3])} from your request" if facts.query_terms else None


def _sentence(text: str) -> str:
    text = text.strip()
    first = text[:1].upper() if len(text[:1].upper()) == 1 else text[:1]  # "ß".upper() is "SS"
    return first + text[1:] + ("" if text.endswith(".") else ".")


def _details(facts: Facts, skip_genre: bool = False) -> list[str]:
    """Describing phrases, most telling first: genres, tags, request match, ratings."""
    parts = []
    if not skip_genre and (g := genre_phrase(facts)):
        parts.append(f"it is {g}")
    if t := tag_phrase(facts):
        parts.append(f"it is {t}")
    if r := rating_phrase(facts):
        parts.append(f"it is {r}")
    return parts


def variant_count() -> int:
    return len(_VARIANTS)


def _v_because(facts: Facts) -> str:
    lead = f"Because you liked {join(facts.liked)}, {facts.title} should suit you"
    details = _details(facts)[:1]
    first = lead + (f": {details[0]}" if details else "")
    second = co_rating_phrase(facts) or query_phrase(facts)
    return " ".join(_sentence(s) for s in (first, second) if s)


def _v_fans(facts: Facts) -> str:
    g = genre_phrase(facts)
    first = f"{facts.title} should suit fans of {join(facts.liked)}"
    if g:
        first = f"{facts.title} is {g} close to {join(facts.liked)}, which you liked"
    details = [d for d in _details(facts, skip_genre=True)]
    second = co_rating_phrase(facts) or (details[0] if details else None)
    return " ".join(_sentence(s) for s in (first, second) if s)


def _v_plain(facts: Facts) -> str:
    g = genre_phrase(facts)
    bits = [f"{facts.title} is {g}" if g else f"{facts.title} is worth a try"]
    if facts.year is not None:
        bits[0] += f" from {facts.year}"
    details = _details(facts, skip_genre=True)
    second = query_phrase(facts) or (details[0] if details else None)
    if facts.liked and not second:
        second = f"it is similar to {join(facts.liked)}, which you liked"
    return " ".join(_sentence(s) for s in (bits[0], second) if s)


def _v_rating(facts: Facts) -> str:
    r = rating_phrase(facts)
    first = f"{facts.title} is {r}" if r else f"{facts.title} is one more pick to try"
    g = genre_phrase(facts)
    second = f"it is {g}" if g else (tag_phrase(facts) and f"it is {tag_phrase(facts)}")
    if facts.liked:
        second = f"it is close to {join(facts.liked)}, which you liked"
    return " ".join(_sentence(s) for s in (first, second) if s)


_VARIANTS = (_v_because, _v_fans, _v_plain, _v_rating)


def template_explanation(facts: Facts, item_id: int, seed: int = 0) -> str:
    """A template explanation; variants needing liked items are used only when there are some."""
    start = zlib.crc32(f"{item_id}:{seed}".encode()) % len(_VARIANTS)
    for offset in range(len(_VARIANTS)):
        variant = _VARIANTS[(start + offset) % len(_VARIANTS)]
        if variant in (_v_because, _v_fans) and not facts.liked:
            continue
        return variant(facts)
    return _v_plain(facts)  # unreachable: the last two variants need nothing
