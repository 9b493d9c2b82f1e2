"""Build the dialogue model (cf_engine/dialogue_model.py) for the chat: ``recbot train`` / ``retrain``.

Examples come from a dialogue corpus (ReDial's JSONL or the generic format; by default ReDial's
``train_data.jsonl`` in ``redial_dir`` when downloaded, else the dev file in the data folder) and from
recbot's own recorded sessions (:func:`store_examples`). The weights are tuned on the examples *as the
chat sees them*: each example's user messages are replayed through the chat's parser and dialogue state
(:func:`bot.state.apply_message`), and the chat's blend of that state is the model's ``base`` feature
(:func:`served_view`), so the tuned weights are the served blend's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.recommend.served import SAID_KEPT, dialogue_context, request_for
from bot.settings import Settings
from bot.state import DialogueState, apply_message
from bot.store import SessionStore
from cf_engine.dialogue_corpus import read_corpus
from cf_engine.dialogue_model import DISLIKED, LIKED, DialogueExample, DialogueModel

if TYPE_CHECKING:
    from bot.recommend.blend import Blender
    from bot.recommend.item_features import ItemFeatures
    from bot.understand.parser import MessageParser

log = logging.getLogger(__name__)
ACCEPTED = {"up", "click"}  # feedback that says a recommendation was wanted (ratings: 4 stars or more)
Progress = Callable[[int, int], None]


def dialogue_dir(settings: Settings) -> Path:
    return settings.models_dir / "dialogue"


def default_corpus(settings: Settings) -> Path | None:
    """The corpus ``recbot train`` uses: the setting, ReDial train, else a dev file beside the dataset."""
    if settings.dialogue_corpus is not None:
        return settings.dialogue_corpus
    redial = settings.redial_home
    for path in (
        redial / "train_data.jsonl",
        redial / "dev_data.jsonl",
        settings.dataset_dir.parent / "redial" / "dev_data.jsonl",
    ):
        if path.is_file():
            return path
    return None


def replay_state(
    parser: MessageParser, features: ItemFeatures, messages: Sequence[str], max_chars: int
) -> DialogueState:
    """The chat's state after ``messages`` (as :meth:`Agent.turn` builds it, without a store)."""
    state = DialogueState()
    for raw in messages:
        text = " ".join(raw.split())[:max_chars]
        if not text:
            continue
        apply_message(state, parser.parse(text), features.years, features.max_year)
        state.said = [*state.said, text][-SAID_KEPT:]
    return state


def served_view(
    parser: MessageParser, blender: Blender, features: ItemFeatures, max_chars: int
) -> Callable[[Sequence[DialogueExample]], tuple[list[DialogueExample], np.ndarray]]:
    """Examples -> (the examples as the chat parsed them, the chat's blend of each: (n, n_items))."""
    cache: dict[str, DialogueState] = {}

    def view(examples: Sequence[DialogueExample]) -> tuple[list[DialogueExample], np.ndarray]:
        rows: list[DialogueExample] = []
        base = np.zeros((len(examples), len(blender.dataset.catalog)), dtype=np.float32)
        for r, ex in enumerate(examples):
            key = f"{ex.dialogue_id}\x00{ex.text}"
            if key not in cache:
                cache[key] = replay_state(parser, features, ex.text.split("\n"), max_chars)
            state = cache[key]
            request = request_for(state, popular=False, known=None, k=10, keep_context=True)
            base[r] = blender.score_all(replace(request, dialogue=None))
            ctx = dialogue_context(state)
            rows.append(
                DialogueExample(ex.dialogue_id, ctx.items, ctx.text, ex.target, ex.fresh, source=ex.source)
            )
        return rows, base

    return view


def store_examples(store: SessionStore, catalog_ids: set[int]) -> list[DialogueExample]:
    """Examples from recorded sessions: a recommendation that got up / click / 4+ stars, and a movie the
    user named after a list was shown, each predicted from the messages and movies before it."""
    out: list[DialogueExample] = []
    for session in store.all_sessions():
        sid = session["id"]
        accepted = {
            int(f["item_id"])
            for f in store.feedback(sid)
            if f["item_id"] is not None
            and (f["kind"] in ACCEPTED or (f["kind"] == "rating" and (f["value"] or 0) >= 4.0))
        }
        words: list[str] = []
        context: dict[int, int] = {}
        shown_before = False
        for turn in store.turns(sid):
            mentions = (turn.get("parse") or {}).get("mentions") or []
            for m in mentions:  # named after a list was shown: what the conversation wanted next
                item = int(m["item_id"])
                if (
                    shown_before
                    and item in catalog_ids
                    and item not in context
                    and m.get("sentiment") != "dislike"
                ):
                    out.append(
                        DialogueExample(
                            f"store:{sid}", tuple(context.items()), "\n".join(words), item, source="store"
                        )
                    )
            words.append(str(turn.get("message") or ""))
            for m in mentions:
                item = int(m["item_id"])
                if item in catalog_ids:
                    context.setdefault(item, DISLIKED if m.get("sentiment") == "dislike" else LIKED)
            for item in turn.get("shown") or []:
                if int(item) in accepted and int(item) in catalog_ids:
                    out.append(
                        DialogueExample(
                            f"store:{sid}",
                            tuple(context.items()),
                            "\n".join(words),
                            int(item),
                            source="store",
                        )
                    )
                    accepted.discard(int(item))
            shown_before = shown_before or bool(turn.get("shown"))
    return out


def train_dialogue_model(
    settings: Settings,
    parser: MessageParser,
    blender: Blender,
    features: ItemFeatures,
    corpus: Path | None,
    store: SessionStore | None = None,
    corpus_format: str = "auto",
    progress: Progress | None = None,
    extra: Sequence[DialogueExample] = (),
) -> DialogueModel:
    """Learn a dialogue model from ``corpus`` (may be None) plus ``store``'s sessions and ``extra``."""
    catalog = blender.dataset.catalog
    examples: list[DialogueExample] = list(extra)
    sources: dict[str, Any] = {}
    if corpus is not None:
        corpus_examples, sources["corpus"] = read_corpus(corpus, catalog, corpus_format)
        examples.extend(corpus_examples)
    if store is not None:
        recorded = store_examples(store, set(int(i) for i in catalog.item_ids))
        sources["store"] = {"examples": len(recorded)}
        examples.extend(recorded)
    saved_dm, blender.dialogue_model = blender.dialogue_model, None  # the base is the blend without it
    try:
        model = DialogueModel.train(
            examples,
            catalog,
            served=served_view(parser, blender, features, settings.max_message_chars),
            sources=sources,
            progress=progress,
        )
    finally:
        blender.dialogue_model = saved_dm
    fmt = (sources.get("corpus") or {}).get("format")
    model.summary["corpus_name"] = "ReDial" if fmt == "redial" else "movie conversations"
    return model
