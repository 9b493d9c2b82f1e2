"""Queries embed on few torch threads (hot path), index builds on all of them (batch job)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from bot.settings import Settings
from retrieval import embeddings


def test_queries_and_batches_use_their_own_thread_counts(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[int] = []

    @contextlib.contextmanager
    def record(n: int) -> Iterator[None]:
        used.append(n)
        yield

    monkeypatch.setattr(embeddings, "torch_threads", record)
    tuned = settings.model_copy(update={"embedding_threads": 1, "index_build_threads": 3})
    embeddings.embed_query(tuned.retrieval_config(), "a slow-burn space horror")
    embeddings.embed_texts(tuned.retrieval_config(), ["Alien (1979)", "Aliens (1986)"])
    assert used == [1, 3]
