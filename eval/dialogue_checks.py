"""The expectation checks of a scripted dialogue, one small function per key.

Each check takes the turn's :class:`~bot.types.TurnResult`, the expected value and the dialogue's
running context, and returns ``(passed, detail)``. Checks about shown items fail when nothing is
shown: "every shown item is Sci-Fi" is written expecting recommendations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from bot.types import Evidence, Neighbour, Recommendation, TurnResult
from cf_engine.data.redial_mapping import normalise

TITLE_MATCH = 95.0  # fuzzy ratio on normalised titles; "alien" vs "aliens" (91) stays distinct


@dataclass
class CheckContext:
    """What the runner knows besides the turn: feedback given so far."""

    rejected_ids: set[int] = field(default_factory=set)  # seen / not interested / thumbs down
    said: list[str] = field(default_factory=list)  # the user's messages so far, as the agent keeps them


Check = Callable[[TurnResult, Any, CheckContext], tuple[bool, str]]


def title_matches(shown: Recommendation, wanted: str) -> bool:
    """Fuzzy title equality ("The Matrix" ~ "Matrix, The (1999)" ~ "the matrix")."""
    a, b = normalise(shown.title), normalise(wanted)
    if not a or not b:
        return False
    if a == b:
        return True
    if shown.year is not None and b == normalise(f"{shown.title} {shown.year}"):
        return True
    return fuzz.ratio(a, b) >= TITLE_MATCH


def _shown(result: TurnResult) -> list[Recommendation]:
    return list(result.recommendations)


def _names(items: Iterable[Recommendation]) -> str:
    return ", ".join(f"{r.title} ({r.year})" if r.year else r.title for r in items) or "nothing"


def _lower(values: Iterable[str]) -> set[str]:
    return {v.lower() for v in values}


def check_recommends(result: TurnResult, expected: bool, _: CheckContext) -> tuple[bool, str]:
    n = len(result.recommendations)
    return (n > 0) == expected, f"{n} shown"


def check_asks_question(result: TurnResult, expected: bool, _: CheckContext) -> tuple[bool, str]:
    asked = bool(result.question and result.question.strip())
    return asked == expected, f"question: {result.question!r}"


def _per_item(result: TurnResult, ok: Callable[[Recommendation], bool], what: str) -> tuple[bool, str]:
    shown = _shown(result)
    if not shown:
        return False, "nothing shown"
    bad = [r for r in shown if not ok(r)]
    return not bad, f"{what}: {_names(bad)}" if bad else f"all {len(shown)} ok"


def check_any_genre(result: TurnResult, genres: list[str], _: CheckContext) -> tuple[bool, str]:
    wanted = _lower(genres)
    return _per_item(result, lambda r: bool(_lower(r.genres) & wanted), "without any of " + "/".join(genres))


def check_all_genres(result: TurnResult, genres: list[str], _: CheckContext) -> tuple[bool, str]:
    wanted = _lower(genres)
    return _per_item(result, lambda r: wanted <= _lower(r.genres), "missing one of " + "/".join(genres))


def check_no_genre(result: TurnResult, genres: list[str], _: CheckContext) -> tuple[bool, str]:
    banned = _lower(genres)
    return _per_item(result, lambda r: not (_lower(r.genres) & banned), "with " + "/".join(genres))


def check_year_min(result: TurnResult, year: int, _: CheckContext) -> tuple[bool, str]:
    return _per_item(result, lambda r: r.year is not None and r.year >= year, f"before {year}")


def check_year_max(result: TurnResult, year: int, _: CheckContext) -> tuple[bool, str]:
    return _per_item(result, lambda r: r.year is not None and r.year <= year, f"after {year}")


def check_excludes(result: TurnResult, titles: list[str], _: CheckContext) -> tuple[bool, str]:
    bad = [r for r in _shown(result) if any(title_matches(r, t) for t in titles)]
    return not bad, f"shown anyway: {_names(bad)}" if bad else "none shown"


def check_includes_any(result: TurnResult, titles: list[str], _: CheckContext) -> tuple[bool, str]:
    hits = [r for r in _shown(result) if any(title_matches(r, t) for t in titles)]
    return bool(hits), f"shown: {_names(hits)}" if hits else f"none of them among {_names(_shown(result))}"


def check_excludes_feedback(result: TurnResult, expected: bool, ctx: CheckContext) -> tuple[bool, str]:
    back = [r for r in _shown(result) if r.item_id in ctx.rejected_ids]
    return (not back) == expected, f"reappeared: {_names(back)}" if back else "nothing rejected reappeared"


def evidence_from_dict(data: dict[str, Any]) -> Evidence:
    """Rebuild the :class:`Evidence` a recommendation carries as a dict (TurnResult is JSON-shaped)."""
    known = set(Evidence.__dataclass_fields__)
    fields = {k: v for k, v in data.items() if k in known}
    fields["neighbours"] = [
        n if isinstance(n, Neighbour) else Neighbour(**n) for n in data.get("neighbours", [])
    ]
    return Evidence(**fields)


def check_grounded(result: TurnResult, expected: bool, ctx: CheckContext) -> tuple[bool, str]:
    """Each explanation passes the validator against its evidence, read with the user's messages as
    the explainer read them ('matches "high school"' quotes words adjacent in what they said)."""
    from bot.explain.explainer import validate_shown

    bad = []
    for r in _shown(result):
        verdict = validate_shown(r.explanation, evidence_from_dict(r.evidence), r.title, ctx.said)
        if not verdict.ok:
            bad.append(f"{r.title}: {verdict.reason}")
    return (not bad) == expected, "; ".join(bad) if bad else "every explanation validates"


def check_min_distinct_genres(result: TurnResult, n: int, _: CheckContext) -> tuple[bool, str]:
    genres = {g for r in _shown(result) for g in r.genres}
    return len(genres) >= n, f"{len(genres)} distinct genres"


def check_reply_mentions(result: TurnResult, words: list[str], _: CheckContext) -> tuple[bool, str]:
    """Every listed word or phrase appears in the reply (case-insensitive)."""
    reply = result.reply.casefold()
    missing = [w for w in words if w.casefold() not in reply]
    return not missing, f"missing: {', '.join(missing)}" if missing else "all mentioned"


def check_reply_lacks(result: TurnResult, words: list[str], _: CheckContext) -> tuple[bool, str]:
    """None of the listed words or phrases appears in the reply (case-insensitive)."""
    reply = result.reply.casefold()
    found = [w for w in words if w.casefold() in reply]
    return not found, f"found: {', '.join(found)}" if found else "none found"


def _seed_titles(result: TurnResult) -> list[str]:
    """Titles the turn treats as liked: the "Since you liked ..." line and the evidence's seeds."""
    seeds = []
    for match in re.finditer(r"[Ss]ince you liked (.+?), here (?:is|are) ", result.reply):
        seeds.extend(p.strip() for p in re.split(r",\s*|\s+and\s+", match.group(1)) if p.strip())
    for r in _shown(result):
        seeds.extend(str(n.get("title", "")) for n in r.evidence.get("neighbours", []))
        seeds.extend(str(c.get("seed_title", "")) for c in r.evidence.get("co_ratings", []))
    return [s for s in seeds if s]


def check_no_seed(result: TurnResult, titles: list[str], _: CheckContext) -> tuple[bool, str]:
    """None of ``titles`` is used as a liked seed (in the reply's lead line or any item's evidence)."""
    wanted = {normalise(t) for t in titles}
    seeds = _seed_titles(result)
    bad = sorted({s for s in seeds if normalise(re.sub(r"\s*\(\d{4}\)$", "", s)) in wanted})
    return (
        not bad,
        f"used as seed: {', '.join(bad)}" if bad else f"seeds: {', '.join(sorted(set(seeds))) or 'none'}",
    )


CHECKS: dict[str, Check] = {
    "recommends": check_recommends,
    "asks_question": check_asks_question,
    "any_genre": check_any_genre,
    "all_genres": check_all_genres,
    "no_genre": check_no_genre,
    "year_min": check_year_min,
    "year_max": check_year_max,
    "excludes": check_excludes,
    "includes_any": check_includes_any,
    "excludes_feedback": check_excludes_feedback,
    "grounded": check_grounded,
    "min_distinct_genres": check_min_distinct_genres,
    "reply_mentions": check_reply_mentions,
    "reply_lacks": check_reply_lacks,
    "no_seed": check_no_seed,
}
