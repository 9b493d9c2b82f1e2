"""Sentence plans: every explanation a candidate's evidence supports, most telling first.

A plan is one or two sentences built from :class:`~bot.explain.facts.Facts` alone, with the kinds of
fact it cites. What ties the item to this person comes first: their own rating of a liked title
("You gave Heat 5 stars"), the genres and tags the item shares with a liked title, how the people
who liked that title rated it, what the request asked for; then the item's own tags and overall
rating; a bare genre only when nothing else is known. The template explanation is the most
specific plan whose opening this reply has not used yet (and, of those, the least used by the
session's recent replies); with finite-choice decoding the LLM chooses among the same plans
instead (:mod:`bot.explain.sentences`). The same facts come in several wordings that open
differently ("Ronin shares ...", "Try Ronin: ...", "Like Heat, ...", "The 40 people who liked
Heat ...", "Ronin was rated ...") so that a session's replies need not all start alike.

Every word used here is an evidence word or in :data:`bot.explain.connectives.CONNECTIVES`, and
``tests/bot/test_explain_templates.py`` checks that every plan passes the validator for random evidence.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.explain.connectives import CONNECTIVES
from bot.explain.facts import CoRating, Facts, SeedLink, fold, format_rating, words

# How much each kind of fact says about this person and this item (higher: more specific).
WEIGHTS: dict[str, float] = {
    "history": 4.0,  # the known user's own rating of a liked title
    "shared_tags": 3.0,  # tags the item shares with a liked title
    "co_rating": 3.0,  # how the people who liked that title rated the item
    "shared_genres": 2.0,
    "asked": 2.0,  # genres the request asked for
    "avoided": 2.0,  # tags the request ruled out that it does not carry ("less violent")
    "request": 1.5,  # request words the item matches
    "tags": 1.5,  # the item's own tags
    "rating": 1.0,  # the overall rating
    "genre": 0.5,
    "year": 0.3,
}
# Facts about this person (their likes, their ratings, their request), not only about the item.
USER_LINKED = frozenset(
    {"history", "shared_tags", "co_rating", "shared_genres", "asked", "avoided", "request"}
)
# Plans within this share of the best plan's specificity count as equally good: the template
# rotates among them, the LLM chooses among them.
TOP_TIER = 0.8
USER_TIER = 0.6  # the same among plans about this person, when the best one is


@dataclass(frozen=True)
class Plan:
    """One explanation text and the kinds of fact it states."""

    text: str
    cites: frozenset[str]

    @property
    def specificity(self) -> float:
        return sum(WEIGHTS[k] for k in self.cites)

    @property
    def user_linked(self) -> bool:
        return bool(self.cites & USER_LINKED)


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
    """ "rated 3.9 on average by 120 people" ("rated 4.0 by 1 person": one rating is no average)."""
    if facts.mean_text is None or facts.n_ratings <= 0:
        return None
    if facts.n_ratings == 1:
        return f"rated {facts.mean_text} by 1 person"
    return f"rated {facts.mean_text} on average by {facts.n_ratings} people"


def co_rating_phrase(facts: Facts, seed: str | None = None) -> str | None:
    """ "the 40 people who liked Heat rated it 4.1 on average" (of ``seed`` when given)."""
    co = facts.co_rating(seed) if seed is not None else (facts.co_ratings[0] if facts.co_ratings else None)
    if co is None:
        return None
    who = "people" if co.n != 1 else "person"
    return f"the {co.n} {who} who liked {co.seed_title} rated it {format_rating(co.mean)} on average"


def _not_genres(tags: Sequence[str], genres: Sequence[str]) -> list[str]:
    """``tags`` less those that repeat a genre named beside them ("a crime film tagged crime") or
    a longer tag ("tagged disney and disney animated feature")."""
    named = {g.lower() for g in genres}
    kept = [t for t in tags if t.lower() not in named]
    return [
        t for t in kept if not any(t != o and re.search(rf"(?<!\w){re.escape(t)}(?!\w)", o) for o in kept)
    ]


def tag_phrase(facts: Facts) -> str | None:
    tags = _not_genres(facts.tags, facts.genres)[:2]
    return f"tagged {join(tags)}" if tags else None


def query_phrase(facts: Facts) -> str | None:
    """'it matches "high school" from your request': the user's own words, quoted as they wrote them."""
    if not facts.query_terms:
        return None
    quoted = ['"' + t + '"' for t in facts.query_terms[:3]]
    return f"it matches {join(quoted)} from your request"


def avoided_phrase(facts: Facts) -> str | None:
    """ "it isn't tagged violent or gore": tags the request ruled out, none of which the item carries."""
    if not facts.avoided_tags:
        return None
    return f"it isn't tagged {join(list(facts.avoided_tags), 'or')}"


def shared_phrase(link: SeedLink) -> str | None:
    """ "the crime and thriller genres and the heist tag", or None when nothing is shared."""
    parts = []
    if link.shared_genres:
        g = list(link.shared_genres[:2])
        parts.append(f"the {join(g)} {'genre' if len(g) == 1 else 'genres'}")
    tags = _not_genres(link.shared_tags, link.shared_genres[:2])  # not "the sci-fi genre and the sci-fi tag"
    if tags:
        t = tags[:2]
        parts.append(f"the {join(t)} {'tag' if len(t) == 1 else 'tags'}")
    return " and ".join(parts) or None


def stars(rating: float) -> str:
    """ "5" for 5.0, "4.5" for 4.5: a rating as people say it in stars."""
    return f"{rating:g}"


def sentence(text: str) -> str:
    text = text.strip()
    first = text[:1].upper() if len(text[:1].upper()) == 1 else text[:1]  # "ß".upper() is "SS"
    return first + text[1:] + ("" if text.endswith(".") else ".")


def _text(*parts: str | None) -> str:
    return " ".join(sentence(p) for p in parts if p)


def _best_link(facts: Facts) -> SeedLink | None:
    """The liked title the item shares most with (tags count more than genres), the closest on ties."""
    if not facts.links:
        return None
    return max(
        facts.links,
        key=lambda lk: (
            2 * len(lk.shared_tags[:2]) + len(lk.shared_genres[:2]) + (lk.user_rating is not None),
            facts.co_rating(lk.title) is not None,
        ),
    )


def _fans_rated(co: CoRating, title: str) -> str:
    """ "the 40 people who liked Heat rated Ronin 4.1 on average"; "... gave Deadpool 2 an average
    of 4.3" where the title ends in a number (not "rated Deadpool 2 4.3")."""
    who = "people" if co.n != 1 else "person"
    if re.search(r"\d$", title):
        return (
            f"the {co.n} {who} who liked {co.seed_title} gave {title} an average of {format_rating(co.mean)}"
        )
    return f"the {co.n} {who} who liked {co.seed_title} rated {title} {format_rating(co.mean)} on average"


def _rated_by_fans(co: CoRating, title: str) -> str:
    """ "Ronin was rated 4.1 on average by the 40 people who liked Heat"."""
    who = "people" if co.n != 1 else "person"
    return (
        f"{title} was rated {format_rating(co.mean)} on average by the {co.n} {who} who liked {co.seed_title}"
    )


def _named(title: str) -> bool:
    """Whether ``title`` can be told apart in a sentence (not a plain word like "Up", not a number)."""
    return fold(title).lower() not in CONNECTIVES and not re.fullmatch(r"[\d.,\s]+", fold(title))


def _link_plans(facts: Facts, link: SeedLink) -> list[Plan]:
    t, s = facts.title, link.title
    shared = shared_phrase(link)
    # "the 40 people who liked Heat rated <item> 4.1": only where the item's title is told apart
    co = co_rating_phrase(facts, s) if _named(t) else None
    co_cites = {"co_rating"} if co else set()
    shared_tags = _not_genres(link.shared_tags, link.shared_genres[:2])
    shared_cites = {k for k, v in (("shared_genres", link.shared_genres), ("shared_tags", shared_tags)) if v}
    g, r, tags = genre_phrase(facts), rating_phrase(facts), tag_phrase(facts)
    about = f"it is {g}" + (f" {tags}" if tags else "") if g else (f"it is {tags}" if tags else None)
    about_cites = ({"genre"} if g else set()) | ({"tags"} if tags else set())
    plans: list[Plan] = []
    # "you gave Heat 3 stars": only where the item's title is told apart (a title "3" would be read there)
    if link.user_rating is not None and _named(t):
        gave = f"you gave {s} {stars(link.user_rating)} stars"
        if co:
            c = facts.co_rating(s)
            assert c is not None
            first = f"{gave}, and {_fans_rated(c, t)}"
            second, cites = (f"it shares {shared} with {s}", shared_cites) if shared else (about, about_cites)
            plans.append(Plan(_text(first, second), frozenset({"history", "co_rating", *cites})))
        if shared:
            plans.append(
                Plan(
                    _text(f"{gave}, and {t} shares {shared} with {s}", r and f"it is {r}"),
                    frozenset({"history", *shared_cites, *({"rating"} if r else set())}),
                )
            )
    if shared:
        second = co or (r and f"it is {r}")
        linked = frozenset({*shared_cites, *(co_cites if co else ({"rating"} if r else set()))})
        # the same facts, opened in several ways: a session's replies need not all start alike
        for first in (
            f"{t} shares {shared} with {s}, which you liked",
            f"because you liked {s}, try {t}: it has {shared} too",
            f"try {t}: it shares {shared} with {s}, which you liked",
            f"like {s}, {t} has {shared}",
        ):
            plans.append(Plan(_text(first, second), linked))
    if co:
        c = facts.co_rating(s)
        assert c is not None
        second, cites = (f"it shares {shared} with {s}", shared_cites) if shared else (about, about_cites)
        plans.append(Plan(_text(_fans_rated(c, t), second), frozenset({"co_rating", *cites})))
        # one sentence here: the second sentences of these plans ("It shares ... with Heat.") would
        # repeat across a session's replies
        joined = f"{_rated_by_fans(c, t)}, and {second}" if second else _rated_by_fans(c, t)
        plans.append(Plan(_text(joined), frozenset({"co_rating", *cites})))
        plans.append(Plan(_text(f"if you enjoyed {s}, {t} is worth a try: {co}"), frozenset({"co_rating"})))
    return plans


def _item_plans(facts: Facts) -> list[Plan]:
    t = facts.title
    g, r, tags, q = genre_phrase(facts), rating_phrase(facts), tag_phrase(facts), query_phrase(facts)
    plans: list[Plan] = []
    described = f"{g} {tags}" if g and tags else (g or tags)
    cites = ({"genre"} if g else set()) | ({"tags"} if tags else set())
    if facts.asked_genres and g:
        # "you asked for children's films", not "... for children's"
        asked = join([g + " films" if g.endswith("'s") else g for g in facts.asked_genres[:2]])
        extra, extra_cites = (f"it is {r}", {"rating"}) if r else (None, set())
        plans.append(
            Plan(
                _text(f"you asked for {asked}: {t} is {described}", extra),
                frozenset({"asked", *cites, *extra_cites}),
            )
        )
        plans.append(
            Plan(
                _text(f"for your request, {t} is {described}", extra),
                frozenset({"asked", *cites, *extra_cites}),
            )
        )
    if facts.avoided_tags:
        second, second_cites = (
            (f"it is {described}", cites) if described else (r and f"it is {r}", {"rating"})
        )
        avoided = avoided_phrase(facts)
        assert avoided is not None
        plans.append(
            Plan(
                _text(f"{t} {avoided.removeprefix('it ')}, as you asked", second),
                frozenset({"avoided", *(second_cites if second else set())}),
            )
        )
    if q:
        plans.append(
            Plan(
                _text(f"{t} {q.removeprefix('it ')}", f"it is {described}" if described else r),
                frozenset({"request", *(cites if described else ({"rating"} if r else set()))}),
            )
        )
    if described:
        if r:
            plans.append(Plan(_text(f"{t} is {described}, {r}"), frozenset({*cites, "rating"})))
            if g:
                plans.append(Plan(_text(f"{r}, {t} is {described}"), frozenset({*cites, "rating"})))
        else:
            year = f" from {facts.year}" if facts.year is not None else ""
            plans.append(
                Plan(_text(f"{t} is {described}{year}"), frozenset({*cites, *({"year"} if year else set())}))
            )
    elif r:
        plans.append(Plan(_text(f"{t} is {r}"), frozenset({"rating"})))
    return plans


def plans(facts: Facts) -> list[Plan]:
    """Every plan the facts support, most specific first (stable among equals)."""
    found: list[Plan] = []
    link = _best_link(facts)
    if link is not None:
        found += _link_plans(facts, link)
        for other in facts.links:  # a second liked title with something of its own in common
            if other is not link and (other.shared_tags or other.user_rating is not None):
                found += _link_plans(facts, other)[:2]
    found += _item_plans(facts)
    if link is not None and not any(p.cites & {"shared_genres", "shared_tags", "co_rating"} for p in found):
        found.append(
            Plan(
                _text(
                    f"{facts.title} is close to {link.title}, which you liked",
                    genre_phrase(facts) and f"it is {genre_phrase(facts)}",
                ),
                frozenset({"genre"} if facts.genres else set()),
            )
        )
    if not found:
        found.append(Plan(_text(f"{facts.title} is one more pick to try"), frozenset()))
    unique = list({p.text: p for p in found}.values())
    return sorted(unique, key=lambda p: -p.specificity)


def opening(text: str, facts: Facts) -> str:
    """How ``text`` opens: its first two words, with titles as T (the item) or S (a liked title) and
    numbers as N, so "Alien is a ..." and "Psycho is a ..." open the same way."""
    masked = text
    forms = [(f, "T") for f in facts.title_forms] + [(f, "S") for fs in facts.liked_forms for f in fs]
    for form, mark in sorted(forms, key=lambda p: -len(p[0])):
        masked = re.sub(r"(?<!\w)" + re.escape(form) + r"(?!\w)", f" {mark} ", masked, flags=re.IGNORECASE)
    masked = re.sub(r"\d+(?:\.\d+)?", " N ", masked)
    return " ".join(w if w not in ("t", "s", "n") else w.upper() for w in words(masked)[:2])


def top_plans(
    facts: Facts, used_openings: Sequence[str] = (), recent_openings: Sequence[str] = ()
) -> list[Plan]:
    """The most specific plans whose openings this reply has not used (all the best when every one is),
    and of those the ones whose openings the session's recent replies used least.

    ``used_openings``: this reply's earlier explanations (never repeated while another plan of the
    tier is left); ``recent_openings``: the session's earlier replies (avoided where the tier allows:
    specific before varied, so a less specific plan is never taken only to open otherwise).
    """
    every = plans(facts)
    best = every[0].specificity
    fresh = [p for p in every if opening(p.text, facts) not in used_openings]
    if every[0].user_linked:  # the plans about this person, the closest ones first
        tier = [p for p in fresh if p.user_linked and p.specificity >= USER_TIER * best]
    else:
        tier = [p for p in fresh if p.specificity >= TOP_TIER * best]
    tier = tier or fresh[:1] or every[:1]
    if recent_openings:
        # the newer half counts twice: what the last reply opened with is avoided first
        uses = Counter(recent_openings) + Counter(recent_openings[len(recent_openings) // 2 :])
        least = min(uses[opening(p.text, facts)] for p in tier)
        tier = [p for p in tier if uses[opening(p.text, facts)] == least]
    return tier


def template_explanation(
    facts: Facts,
    item_id: int,
    seed: int = 0,
    used_openings: Sequence[str] = (),
    recent_openings: Sequence[str] = (),
) -> str:
    """The template explanation: one of the most specific plans with a fresh opening.

    ``seed`` (the turn number) rotates among equally specific plans; ``used_openings`` are the
    openings of this reply's earlier explanations, ``recent_openings`` those of the session's
    earlier replies (see :func:`top_plans`).
    """
    tier = top_plans(facts, used_openings, recent_openings)
    return tier[zlib.crc32(f"{item_id}:{seed}".encode()) % len(tier)].text
