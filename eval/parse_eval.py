"""``recbot eval parse``: how well the message parser finds titles in what ReDial seekers typed.

Every seeker message of a ReDial split is parsed by the served parser
(:class:`bot.understand.parser.MessageParser` built over the chat's catalog, as
:class:`bot.agent.Agent` builds it). ReDial's ``@id`` mentions are
the gold: each is replaced by the movie's name *as people type it* (without the year, as the
"movieMentions" name reads), and the mention is mapped to a catalog item
(:mod:`cf_engine.data.redial_mapping`).
Mentions that do not map to the catalog cannot be found and are counted apart.

Figures (raw):

* title precision: found titles that are gold mentions of that message / all titles found;
* title recall: gold mentions found / gold mentions that map to the catalog;
* false-title rate: share of mention-free messages in which the parser found any title.

Seekers also type titles without ``@`` ("I loved the matrix"), so some "false" titles are real. A
reviewed file (JSON lines, ``{"text", "title", "verdict"}`` with verdict ``title`` or ``not_title``)
holds the disagreements judged by hand; the reviewed figures count a found title judged ``title`` as
correct (and as gold), everything else as in the raw figures. Unjudged disagreements stay as raw.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.understand.parser import MessageParser
from bot.understand.titles import TitleIndex
from cf_engine.data.catalog import Dataset
from cf_engine.data.redial import MENTION, read_conversations
from cf_engine.data.redial_mapping import map_movies, split_redial_name

Progress = Callable[[str], None]
DEFAULT_REVIEW = Path(__file__).resolve().parent / "data" / "parse_review.jsonl"
VERDICTS = ("title", "not_title")


@dataclass
class ParsedSeekerMessage:
    """One seeker message: the text as typed, the gold catalog ids and what the parser found."""

    conversation_id: str
    text: str
    gold: list[int]  # catalog ids of the @mentions that map
    unmapped: int  # @mentions with no catalog item
    found: list[int]  # catalog ids the parser found (mentions, and the first option of ambiguous ones)
    found_text: dict[int, str] = field(default_factory=dict)  # id -> the words it matched

    @property
    def mention_free(self) -> bool:
        return not self.gold and not self.unmapped


def parser_for(dataset: Dataset) -> MessageParser:
    """The parser exactly as the agent builds it (popularity breaks same-name ties)."""
    counts = dataset.interactions.groupby("item_id").size()
    popularity = {int(k): int(v) for k, v in counts.items()}
    years = [item.year for item in dataset.catalog if item.year]
    tags = {t for item in dataset.catalog for t in item.tags}
    return MessageParser(TitleIndex.build(dataset.catalog, popularity), tags, max(years, default=2018))


def typed_name(raw: str) -> str:
    """A ReDial mention name as people type it: "Police Academy  (1984)" -> "Police Academy"."""
    return split_redial_name(raw)[0]


def seeker_messages(data_dir: Path, split: str, dataset: Dataset) -> list[ParsedSeekerMessage]:
    """Every seeker message of ``split`` with its gold ids (parsed later)."""
    conversations = read_conversations(Path(data_dir) / f"{split}_data.jsonl")
    names = {mid: name for conv in conversations for mid, name in conv.titles.items()}
    mapping = map_movies(names, dataset.catalog)
    out = []
    for conv in conversations:
        for message in conv.messages:
            if message.sender != conv.seeker or not message.text.strip():
                continue
            ids = list(dict.fromkeys(int(m) for m in MENTION.findall(message.text)))
            titles = conv.titles
            text = MENTION.sub(lambda m, t=titles: typed_name(t.get(int(m.group(1)), "")), message.text)
            text = " ".join(text.split())
            if not text:
                continue
            gold = list(dict.fromkeys(mapping.item_of[i] for i in ids if i in mapping.item_of))
            out.append(
                ParsedSeekerMessage(
                    conv.conversation_id, text, gold, sum(i not in mapping.item_of for i in ids), []
                )
            )
    return out


def parse_all(parser: MessageParser, messages: list[ParsedSeekerMessage]) -> None:
    """Fill ``found`` for every message (the parser is pure: no dialogue state involved)."""
    for m in messages:
        parsed = parser.parse(m.text)
        for mention in parsed.mentions:
            if mention.item_id not in m.found:
                m.found.append(mention.item_id)
                m.found_text[mention.item_id] = mention.text
        for amb in parsed.ambiguous:
            hit = next((o for o in amb.options if o in m.gold), amb.options[0] if amb.options else None)
            if hit is not None and hit not in m.found:
                m.found.append(hit)
                m.found_text[hit] = amb.text


def load_review(path: Path | None) -> dict[tuple[str, str], str]:
    """(message text, found title) -> verdict; a missing file is an empty review."""
    if path is None or not Path(path).is_file():
        return {}
    review: dict[tuple[str, str], str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            verdict = row["verdict"]
            key = (str(row["text"]), str(row["title"]))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a review row ({exc})") from None
        if verdict not in VERDICTS:
            raise ValueError(f"{path}:{number}: verdict must be one of {VERDICTS}, got {verdict!r}")
        review[key] = verdict
    return review


def _figures(
    messages: list[ParsedSeekerMessage], title_of: Callable[[int], str], review: dict[tuple[str, str], str]
) -> dict[str, Any]:
    tp = fp = gold_n = 0
    free = free_with_title = 0
    judged = 0
    for m in messages:
        gold = set(m.gold)
        extra_gold = set()
        for item_id in m.found:
            if item_id in gold:
                tp += 1
                continue
            verdict = review.get((m.text, title_of(item_id)))
            judged += verdict is not None
            if verdict == "title":
                tp += 1
                extra_gold.add(item_id)
            else:
                fp += 1
        gold_n += len(gold) + len(extra_gold)
        if m.mention_free:
            free += 1
            false_found = [i for i in m.found if i not in extra_gold]
            free_with_title += bool(false_found)
    found = tp + fp
    return {
        "precision": tp / found if found else 0.0,
        "recall": tp / gold_n if gold_n else 0.0,
        "false_title_rate": free_with_title / free if free else 0.0,
        "titles_found": found,
        "correct": tp,
        "gold_mentions": gold_n,
        "mention_free_messages": free,
        "mention_free_with_title": free_with_title,
        "judged_disagreements": judged,
    }


def disagreements(
    messages: list[ParsedSeekerMessage], title_of: Callable[[int], str]
) -> list[dict[str, Any]]:
    """Found titles that are not gold (false titles, or titles typed without @), and missed gold."""
    rows = []
    for m in messages:
        for item_id in m.found:
            if item_id not in m.gold:
                rows.append(
                    {
                        "kind": "extra",
                        "text": m.text,
                        "title": title_of(item_id),
                        "words": m.found_text[item_id],
                    }
                )
        for item_id in m.gold:
            if item_id not in m.found:
                rows.append({"kind": "missed", "text": m.text, "title": title_of(item_id)})
    return rows


def evaluate_parse(
    dataset: Dataset,
    data_dir: Path,
    split: str = "dev",
    review_path: Path | None = DEFAULT_REVIEW,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Raw and reviewed title figures over every seeker message of ``split`` (the command's JSON)."""
    say = progress or (lambda _msg: None)
    messages = seeker_messages(data_dir, split, dataset)
    say(f"{len(messages)} seeker messages; parsing")
    parse_all(parser_for(dataset), messages)
    review = load_review(review_path)

    def title_of(item_id: int) -> str:
        return dataset.catalog.get(item_id).display_title

    rows = disagreements(messages, title_of)
    return {
        "split": split,
        "messages": len(messages),
        "with_mentions": sum(1 for m in messages if m.gold or m.unmapped),
        "unmapped_mentions": sum(m.unmapped for m in messages),
        "raw": _figures(messages, title_of, {}),
        "reviewed": _figures(messages, title_of, review),
        "review_file": str(review_path) if review_path else None,
        "review_rows": len(review),
        "disagreements": {
            "extra": sum(r["kind"] == "extra" for r in rows),
            "missed": sum(r["kind"] == "missed" for r in rows),
        },
        "disagreement_rows": rows,
    }


def unreviewed(result: dict[str, Any], review: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """The extra-title disagreements not judged yet (to extend the review file)."""
    return [
        r
        for r in result["disagreement_rows"]
        if r["kind"] == "extra" and (r["text"], r["title"]) not in review
    ]
