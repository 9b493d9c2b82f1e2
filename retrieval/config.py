"""What ``retrieval`` reads of the configuration: one small dataclass, built by the caller.

The retrieval layer does not know the chatbot's settings object; ``bot.settings.Settings.retrieval_config()``
builds this from it (and ``bot/runtime.py`` passes it on), tests and scripts may build it directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RetrievalConfig:
    """The embedding model, the Chroma store and its HNSW parameters."""

    chroma_dir: Path  # the local index folder (unused with chroma_url)
    chroma_url: str | None = None  # a Chroma server instead of the local folder
    chroma_collection: str = "recbot_items"
    embedding_model_path: Path | None = None  # None: the packaged all-MiniLM-L6-v2
    embedding_batch_size: int = 64
    embedding_threads: int = 1  # torch threads for one query (the hot path)
    index_build_threads: int = os.cpu_count() or 1  # torch threads for batch embedding
    hnsw_ef_search: int = 200
    hnsw_ef_construction: int = 200
    hnsw_m: int = 32
