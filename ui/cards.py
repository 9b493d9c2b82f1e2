"""Turn recommendations and their evidence into safe HTML / Markdown for the chat page.

Everything that comes from the model or the catalog is text, never markup: titles, explanations,
tags and replies are escaped here, in one place, before any component renders them. A title like
``<img src=x onerror=...>`` therefore shows up literally instead of running.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

# Characters that start Markdown syntax (links, emphasis, headings, code, tables, raw HTML).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")

FEEDBACK_LABELS = {
    # Plain symbols: emoji need a colour-emoji font that many machines (and headless browsers) lack.
    "up": "▲ Like",
    "down": "▼ Not for me",
    "seen": "✔ Seen it",
    "not_interested": "✖ Not interested",
}
# Feedback after which the card leaves the page (the agent will not show the item again).
REMOVING_KINDS = {"down", "seen", "not_interested"}


def escape_markdown(text: str) -> str:
    """Text shown literally by a Markdown renderer (the Chatbot): HTML escaped, Markdown disarmed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def e(value: object) -> str:
    """HTML-escape any value for an element's text or an attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def card_html(rec: Mapping[str, Any], note: str | None = None) -> str:
    """One recommendation card: title, year, genres, explanation (and a feedback note)."""
    year = f' <span class="rb-year">({e(rec.get("year"))})</span>' if rec.get("year") else ""
    genres = " · ".join(e(g) for g in rec.get("genres") or [])
    source = "written by the model" if rec.get("explanation_source") == "llm" else "from the data"
    parts = [
        '<div class="rb-card" data-item-id="{}">'.format(e(rec.get("item_id"))),
        f'<div class="rb-title">{e(rec.get("title"))}{year}</div>',
        f'<div class="rb-genres">{genres}</div>' if genres else "",
        f'<p class="rb-explanation" title="{e(source)}">{e(rec.get("explanation"))}</p>',
        f'<div class="rb-note">{e(note)}</div>' if note else "",
        "</div>",
    ]
    return "".join(parts)


def evidence_html(evidence: Mapping[str, Any]) -> str:
    """The facts behind a recommendation, as a short list (the 'why' accordion)."""
    lines: list[str] = []
    for n in evidence.get("neighbours") or []:
        how = "people who liked it also liked this" if n.get("source") == "cf" else "similar description"
        lines.append(f"Close to <b>{e(n.get('title'))}</b> ({how}, similarity {_num(n.get('similarity'))})")
    for c in evidence.get("co_ratings") or []:
        seed = c.get("seed_title") or c.get("title") or c.get("seed")
        mean, count = c.get("mean") or c.get("mean_rating"), c.get("n") or c.get("count")
        if seed is not None and mean is not None:
            lines.append(
                f"People who liked <b>{e(seed)}</b> rated it {_num(mean)} on average ({e(count)} people)"
            )
    asked = [str(g) for g in evidence.get("asked_genres") or []]
    shared = [str(g) for g in evidence.get("matched_genres") or [] if str(g) not in asked]
    if asked:
        lines.append("Genres you asked for: " + e(", ".join(asked)))
    if shared:
        lines.append("Genres it shares with what you liked: " + e(", ".join(shared)))
    if evidence.get("matched_tags"):
        lines.append("Tags that match: " + e(", ".join(map(str, evidence["matched_tags"]))))
    if evidence.get("query_terms"):
        lines.append("Words of your request it matches: " + e(", ".join(map(str, evidence["query_terms"]))))
    if evidence.get("mean_rating") is not None:
        lines.append(
            f"Rated {_num(evidence['mean_rating'])} on average by {e(evidence.get('n_ratings', 0))} people"
        )
    if evidence.get("from_user_history"):
        lines.append("Based on your own rating history too")
    lines.extend(dialogue_lines(evidence.get("dialogue") or {}))
    if not lines:
        return '<p class="rb-why">Popular with many viewers.</p>'
    return '<ul class="rb-why">' + "".join(f"<li>{line}</li>" for line in lines) + "</ul>"


def dialogue_lines(dialogue: Mapping[str, Any]) -> list[str]:
    """The dialogue model's part of the 'why': movies it was named with in conversations, how often."""
    corpus = e(dialogue.get("corpus") or "movie conversations")
    lines = []
    named = [w.get("title") for w in dialogue.get("named_with") or [] if w.get("title")]
    if named:
        lines.append(
            f"In {corpus} conversations it comes up with " + ", ".join(f"<b>{e(t)}</b>" for t in named)
        )
    times = dialogue.get("times_suggested") or 0
    if times:
        lines.append(f"Recommended {e(times)} time{'s' if times != 1 else ''} in {corpus} conversations")
    return lines


def _num(value: Any) -> str:
    try:
        return f"{float(value):.2f}"
    except (TypeError, ValueError):
        return e(value)
