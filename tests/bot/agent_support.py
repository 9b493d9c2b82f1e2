"""Shared helpers for the agent's tests: the real catalog (loaded once) and a spying blender."""

from __future__ import annotations

import os
import threading
from collections.abc import Generator
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.recommend.fusion_fit import build_blender
from bot.recommend.request import BlendRequest
from bot.settings import Settings
from bot.understand.parser import MessageParser
from bot.understand.titles import TitleIndex
from cf_engine.data import Dataset, load_dataset

SHARED = (
    Path(os.environ.get("RECBOT_TEST_SHARED", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
    / "ml-latest-small"
)


@lru_cache(maxsize=1)
def movielens() -> Dataset:
    """The shared MovieLens small dataset, read once per test process (about a second)."""
    return load_dataset(Settings(home=Path("/nonexistent-recbot-home"), data_dir=SHARED).cf_config())


@lru_cache(maxsize=1)
def parser() -> MessageParser:
    data = movielens()
    popularity = {int(k): int(v) for k, v in data.interactions.groupby("item_id").size().items()}
    tags = {t for item in data.catalog for t in item.tags}
    return MessageParser(TitleIndex.build(data.catalog, popularity), tags)


def item_id(title: str, year: int) -> int:
    """The catalog id of a title as MovieLens writes it ("Matrix, The", 1999)."""
    for item in movielens().catalog:
        if item.title == title and item.year == year:
            return item.item_id
    raise KeyError(f"{title} ({year}) not in the catalog")


class SpyBlender:
    """The real Blender (no CF, no index: popularity within the constraints) recording its requests."""

    def __init__(self, dataset: Dataset, settings: Settings, cf: Any = None) -> None:
        self.inner = build_blender(dataset, cf, None, settings)
        self.requests: list[BlendRequest] = []

    def blend(self, request: BlendRequest) -> list[Any]:
        self.requests.append(request)
        return self.inner.blend(request)


class GatedExplainer:
    """The real explainer made slow on purpose: explaining the ``gate_at``-th candidate (from 0) of
    a turn first waits for ``gate`` (which a test sets once it has seen the first card).

    ``calls`` lists the item ids whose explanation was started, in order; ``gate_opened`` holds one
    entry per gated wait: False means the gate timed out, i.e. nobody saw a card before the last one
    was being written (the cards were not streamed).
    """

    def __init__(
        self, inner: Any, gate: threading.Event | None = None, gate_at: int = 2, timeout_s: float = 30.0
    ) -> None:
        self.inner = inner
        self.gate = gate
        self.gate_at = gate_at
        self.timeout_s = timeout_s
        self.calls: list[int] = []
        self.gate_opened: list[bool] = []

    def explain_stream(self, candidate: Any, context: Any = None) -> Generator[str, None, Any]:
        self.calls.append(candidate.item_id)
        if self.gate is not None and len(self.calls) == self.gate_at + 1:
            self.gate_opened.append(self.gate.wait(self.timeout_s))
        stream = (
            self.inner.explain_stream(candidate)
            if context is None
            else self.inner.explain_stream(candidate, context)
        )
        return (yield from stream)

    def template_only(self) -> GatedExplainer:
        return self
