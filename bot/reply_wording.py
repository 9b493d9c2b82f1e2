"""The fixed wording of the bot's replies: acknowledgements, list intros, "why" answers, steering lines.

Everything here is written from the dialogue state and the candidates' evidence; the LLM only
phrases the per-item explanations (:mod:`bot.explain.explainer`). Keeping the wording in one place keeps the
agent short and lets tests read what the bot says without running a turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.explain.facts import display_genre, display_title, facts_from, format_rating, request_phrases
from bot.policy import Decision
from bot.state import DialogueState, StateChange
from bot.types import AttributeFilter, Candidate, Constraints
from bot.understand.moods import describe_moods, without_mood_tags
from bot.understand.parser import ParsedMessage
from bot.understand.unknown_attributes import note as unsupported_note
from cf_engine.data.catalog import Catalog

GREETING = "Hi! I'm recbot, and I recommend movies."
STEER = "I can only help with movies, so I'll leave that one alone."
THANKS = (
    'You\'re welcome, enjoy the movie! Say "more" any time for other picks, or "start over" for a new search.'
)
RESET = "Okay, starting over: I've forgotten your preferences for this conversation."
RUNTIME_NOTE = (
    "This catalog has no running times, so I can't filter by length; I'll keep the other preferences."
)
NOTHING_FITS = (
    "I couldn't find anything new that fits all of that ({what}). Try relaxing one of it: "
    'a wider range of years, fewer excluded genres, or say "start over".'
)


def title_of(catalog: Catalog, item_id: int, year: bool = True) -> str:
    """Readable title: "The Matrix (1999)"."""
    item = catalog.get(item_id)
    name = display_title(item.title)
    return f"{name} ({item.year})" if year and item.year else name


def join_words(parts: list[str], last: str = "and") -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {last} " + parts[-1]


def describe_constraints(c: Constraints) -> str:
    """ "comedy, 1980-1989, rated 3.8+, no horror, nothing tagged zombies"."""
    parts = []
    if c.genres_in:
        parts.append(" or ".join(display_genre(g) or g for g in sorted(c.genres_in)))
    if c.year_min is not None and c.year_max is not None:
        parts.append(str(c.year_min) if c.year_min == c.year_max else f"{c.year_min}-{c.year_max}")
    elif c.year_min is not None:
        parts.append(f"from {c.year_min} on")
    elif c.year_max is not None:
        parts.append(f"up to {c.year_max}")
    if c.min_rating is not None:
        parts.append(f"rated {format_rating(c.min_rating)}+")
    if c.genres_out:
        parts.append("no " + " or ".join(display_genre(g) or g for g in sorted(c.genres_out)))
    if c.excluded_tags:
        parts.append("nothing tagged " + " or ".join(sorted(c.excluded_tags)))
    parts.extend(describe_attribute(a) for a in sorted(c.attributes))
    return ", ".join(parts)


def describe_attribute(text: str) -> str:
    """ "director not Scorsese", "cast: Tom Hanks", "runtime up to 90", "language: French"."""
    f = AttributeFilter.parse(text)
    keys, value = " or ".join(f.keys), f.values[0]
    return {
        "in": f"{keys}: {value}",
        "out": f"{keys} not {value}",
        "max": f"{keys} up to {value}",
        "min": f"{keys} {value} or more",
    }[f.op]


def acknowledgement(catalog: Catalog, change: StateChange) -> str:
    """One line saying what the message changed ("Noted: you've seen Heat (1995).")."""
    bits = []
    if change.seen:
        bits.append(f"you've seen {join_words([title_of(catalog, i) for i in change.seen])}")
    if change.disliked:
        bits.append(f"not {join_words([title_of(catalog, i) for i in change.disliked], 'or')}")
    if change.rejected:
        bits.append(f"skipping {join_words([title_of(catalog, i) for i in change.rejected])}")
    return f"Noted: {'; '.join(bits)}." if bits else ""


def list_intro(
    catalog: Catalog, state: DialogueState, change: StateChange, n: int, popular: bool, more: bool
) -> str:
    """The sentence before the numbered list."""
    shown = without_mood_tags(state.constraints, state.moods)
    what = "; ".join(p for p in (describe_moods(state.moods), describe_constraints(shown)) if p)
    suffix = f" ({what})" if what else ""
    liked_now = [i for i in change.liked if i in state.liked]
    if popular and not state.all_liked():
        return f"Here are {n} crowd favourites to start with{suffix}:"
    if more:
        return f"Here are {n} more{suffix}:"
    if liked_now:
        names = join_words([title_of(catalog, i, year=False) for i in liked_now[:3]])
        verb, plural = ("is", "") if n == 1 else ("are", "s")
        return f"Since you liked {names}, here {verb} {n} pick{plural}{suffix}:"
    return f"Here {'is' if n == 1 else 'are'} {n} pick{'s' if n != 1 else ''}{suffix}:"


def why_text(candidate: Candidate, said: Sequence[str] = ()) -> str:
    """Why an item was recommended, from its evidence only (no LLM: the answer must be exact).

    ``said``: the user's messages, so request words they wrote side by side read as their phrase.
    """
    facts = facts_from(candidate)
    reasons = []
    if facts.liked:
        reasons.append(f"it is close to {join_words(list(facts.liked))}, which you liked")
    for co in facts.co_ratings[:1]:
        reasons.append(
            f"people who liked {co.seed_title} rated it {format_rating(co.mean)} on average ({co.n} people)"
        )
    if facts.matched_genres:
        reasons.append(f"its genres ({join_words(list(facts.matched_genres))}) match your request or taste")
    if facts.tags:
        reasons.append(f"it is tagged {join_words(list(facts.tags))}")
    if facts.query_terms and not facts.tags:
        phrases = request_phrases(facts.query_terms, said)  # "high school", not "high and school"
        quoted = [f'"{p}"' if " " in p else p for p in phrases]
        reasons.append(f"it matches your words {join_words(quoted)}")
    if candidate.evidence.from_user_history:
        reasons.append("it fits your rating history")
    if facts.mean_text is not None:
        reasons.append(f"it is rated {facts.mean_text} on average by {facts.n_ratings} people")
    if not reasons:
        reasons.append("it is popular among the people in the data")
    year = f" ({facts.year})" if facts.year else ""
    return f"{facts.title}{year}: " + "; ".join(reasons) + "."


def numbered(index: int, title: str, year: int | None) -> str:
    return f"\n{index}. {title}{f' ({year})' if year else ''}: "


def liked_titles(catalog: Catalog, ids: Iterable[int]) -> tuple[str, ...]:
    return tuple(catalog.get(i).display_title for i in ids if i in catalog)


def opening(
    catalog: Catalog,
    state: DialogueState,
    parsed: ParsedMessage,
    change: StateChange,
    decision: Decision,
    candidates: list[Candidate],
    why: list[Candidate],
) -> str:
    """The text before the list: notes, acknowledgement, and the line that fits the decision."""
    lines = []
    if "runtime" in decision.notes:
        lines.append(RUNTIME_NOTE)
    if parsed.unsupported and unsupported_note(parsed.unsupported):
        lines.append(unsupported_note(parsed.unsupported))
    ack = acknowledgement(catalog, change)
    if ack:
        lines.append(ack)
    action = decision.action
    if change.reset:
        lines.append(RESET)
    if action == "ask" and parsed.greeting:
        lines.insert(0, GREETING)
    elif action == "steer":
        lines.append(STEER)
        if not decision.question:
            lines.append('Say "more" for other picks, or tell me what you\'re in the mood for.')
    elif action == "thanks":
        lines.append(THANKS)
    elif action == "why":
        lines.append("Here is why I picked " + ("it:" if len(why) == 1 else "them:"))
        lines.extend(why_text(c, state.said) for c in why)
        if not why:
            lines.append(
                "I haven't recommended anything yet; tell me a movie you liked and I'll explain my picks."
            )
    elif action == "disambiguate":
        lines.append("Quick check before I recommend:")
    elif action == "recommend":
        if candidates:
            lines.append(
                list_intro(
                    catalog,
                    state,
                    change,
                    len(candidates),
                    decision.popular,
                    parsed.intent == "more",
                )
            )
        else:
            lines.append(NOTHING_FITS.format(what=describe_constraints(state.constraints) or "your request"))
    return "\n".join(lines)
