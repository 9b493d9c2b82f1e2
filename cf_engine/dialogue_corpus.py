"""Dialogue corpora -> :class:`~cf_engine.dialogue_model.DialogueExample` lists.

Two formats:

* **ReDial** (``*_data.jsonl``, Li et al. 2018, CC BY 4.0): movies are ``@<ReDial id>`` in the text and
  are mapped to catalog items by title and year (:mod:`cf_engine.data.redial_mapping`). One example
  per (recommender message, movie it names); the context is what the *seeker* named and typed before
  it (what a chat user would have told recbot), the seeker's questionnaire says liked / disliked.
* **generic** JSONL, one dialogue a line, for any other corpus whose movies are catalog ids::

      {"id": "d1", "messages": [
          {"role": "user", "text": "I loved Heat", "items": [6], "disliked": []},
          {"role": "recommender", "text": "Try Ronin", "items": [2278]}]}

  A ``user`` message's ``items`` are liked unless listed in ``disliked``; a ``recommender`` message's
  ``items`` are the targets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from cf_engine.data.catalog import Catalog
from cf_engine.data.redial import DISLIKED, Conversation, mentions_in, read_conversations, replace_mentions
from cf_engine.data.redial_mapping import map_movies
from cf_engine.dialogue_model import DISLIKED as DM_DISLIKED
from cf_engine.dialogue_model import LIKED, DialogueExample


class CorpusError(ValueError):
    """A dialogue file that is missing or not in the format asked for (names file and line)."""


def redial_item_map(conversations: Sequence[Conversation], catalog: Catalog) -> dict[int, int]:
    """ReDial id -> catalog item id for every movie the dialogues name."""
    names: dict[int, str] = {}
    for conv in conversations:
        for movie_id, name in conv.titles.items():
            names.setdefault(movie_id, name)
    return map_movies(names, catalog).item_of


def redial_examples(
    conversations: Iterable[Conversation], item_of: dict[int, int], source: str = "redial"
) -> list[DialogueExample]:
    """One example per (recommender message, named movie) with a non-empty context."""
    out: list[DialogueExample] = []
    for conv in conversations:
        every = tuple(
            dict.fromkeys(item_of[m] for msg in conv.messages for m in mentions_in(msg.text) if m in item_of)
        )
        seen: set[int] = set()
        context: dict[int, int] = {}
        words: list[str] = []
        for index, msg in enumerate(conv.messages):
            ids = mentions_in(msg.text)
            if msg.sender == conv.recommender and index > 0 and ids:
                for target in ids:
                    if target not in item_of:
                        continue
                    out.append(
                        DialogueExample(
                            dialogue_id=conv.conversation_id,
                            context=tuple(context.items()),
                            text="\n".join(words),  # one line a message (replayed one by one)
                            target=item_of[target],
                            fresh=target not in seen,
                            dialogue_items=every,
                            source=source,
                        )
                    )
            if msg.sender == conv.seeker:
                words.append(replace_mentions(msg.text, conv.titles))
                for m in ids:
                    if m in item_of and item_of[m] not in context:
                        liked = conv.liked.get(m)
                        context[item_of[m]] = DM_DISLIKED if liked == DISLIKED else LIKED
            seen.update(ids)
    return out


def read_redial(path: Path, catalog: Catalog) -> tuple[list[DialogueExample], dict[str, object]]:
    """Examples of a ReDial JSONL file and a summary (dialogues, movies mapped)."""
    conversations = read_conversations(path)
    item_of = redial_item_map(conversations, catalog)
    examples = redial_examples(conversations, item_of)
    names = {m for c in conversations for m in c.titles}
    return examples, {
        "path": str(path),
        "format": "redial",
        "dialogues": len(conversations),
        "movies": len(names),
        "movies_mapped": sum(m in item_of for m in names),
    }


def read_generic(path: Path, catalog: Catalog) -> tuple[list[DialogueExample], dict[str, object]]:
    """Examples of a generic-format JSONL file (see the module docstring)."""
    if not path.is_file():
        raise CorpusError(f"{path}: file not found")
    out: list[DialogueExample] = []
    dialogues = 0
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                dialogue_id = str(raw["id"])
                messages = list(raw["messages"])
                roles = [str(m["role"]) for m in messages]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise CorpusError(f"{path}:{number}: not a generic dialogue ({exc})") from None
            if set(roles) - {"user", "recommender"}:
                raise CorpusError(
                    f"{path}:{number}: roles must be 'user' or 'recommender', got {sorted(set(roles))}"
                )
            dialogues += 1
            every = tuple(
                dict.fromkeys(int(i) for m in messages for i in m.get("items", []) if int(i) in catalog)
            )
            context: dict[int, int] = {}
            words: list[str] = []
            seen: set[int] = set()
            for m in messages:
                items = [int(i) for i in m.get("items", []) if int(i) in catalog]
                if m["role"] == "recommender":
                    for target in items:
                        if context or words:
                            out.append(
                                DialogueExample(
                                    dialogue_id,
                                    tuple(context.items()),
                                    " ".join(words),
                                    target,
                                    target not in seen,
                                    every,
                                    "generic",
                                )
                            )
                else:
                    words.append(str(m.get("text", "")))
                    bad = {int(i) for i in m.get("disliked", [])}
                    for i in items:
                        context.setdefault(i, DM_DISLIKED if i in bad else LIKED)
                seen.update(items)
    return out, {"path": str(path), "format": "generic", "dialogues": dialogues}


def read_corpus(
    path: Path, catalog: Catalog, fmt: str = "auto"
) -> tuple[list[DialogueExample], dict[str, object]]:
    """``fmt``: "redial", "generic" or "auto" (ReDial when the first line has ``conversationId``)."""
    if not path.is_file():
        raise CorpusError(f"{path}: file not found")
    if fmt == "auto":
        with open(path, encoding="utf-8") as fh:
            first = fh.readline()
        fmt = "redial" if '"conversationId"' in first else "generic"
    if fmt == "redial":
        examples, summary = read_redial(path, catalog)
    elif fmt == "generic":
        examples, summary = read_generic(path, catalog)
    else:
        raise CorpusError(f"unknown corpus format {fmt!r} (redial, generic or auto)")
    return examples, {**summary, "sha256": corpus_sha256(path)}


def corpus_sha256(path: Path) -> str:
    """The corpus file's SHA-256: a model records it, and a changed corpus is learned again."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recorded(summary: dict[str, object]) -> dict[str, object]:
    sources = summary.get("sources")
    recorded = sources.get("corpus") if isinstance(sources, dict) else None
    return recorded if isinstance(recorded, dict) else {}


def corpus_path(summary: dict[str, object]) -> str | None:
    """The corpus file a model's ``summary`` says it learned from (None: no corpus)."""
    path = _recorded(summary).get("path")
    return str(path) if path is not None else None


def built_from(summary: dict[str, object], path: Path) -> bool:
    """Whether a model's ``summary`` says it learned from the corpus at ``path`` as it is now."""
    recorded = _recorded(summary)
    if recorded.get("path") != str(path):
        return False
    sha = recorded.get("sha256")
    return sha is None or sha == corpus_sha256(path)
