"""The pieces of the product that the evaluators score: dataset, CF, item vectors, Blender, agent.

Each loader returns the same object the chat uses (``cf_engine.artifact.CFArtifact``, the Chroma
``ItemIndex``, ``bot.recommend.blend.Blender``, ``bot.runtime.Runtime``), so a number measured here is a
number
about the product. What cannot be loaded is reported as unavailable (with the reason) rather than
replaced by something else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.settings import Settings
from cf_engine.data.catalog import Dataset


class ComponentUnavailable(RuntimeError):
    """A product component (CF artifact, index, agent) that could not be loaded here."""


def load_dataset(settings: Settings) -> Dataset:
    """The catalog the chat uses (``cf_engine.data.load_dataset``)."""
    from cf_engine.data import load_dataset as load

    return load(settings.cf_config())


@dataclass
class CFScorer:
    """Scores over catalog columns for an ad-hoc profile, from the chat's CF artifact."""

    artifact: Any
    dataset: Dataset

    def scores(self, liked_ids: Sequence[int], disliked_ids: Sequence[int] = ()) -> np.ndarray:
        """float32 scores over the catalog (Catalog order) for a session that liked ``liked_ids``."""
        if not liked_ids and not disliked_ids:
            return np.zeros(len(self.dataset.catalog), dtype=np.float32)
        return np.asarray(self.artifact.score_for(list(liked_ids), list(disliked_ids)), dtype=np.float32)


def train_cf(dataset: Dataset, settings: Settings) -> Any:
    """A CF artifact trained on ``dataset`` (not saved: evaluation splits must not replace the chat's)."""
    from cf_engine.artifact import CFArtifact

    return CFArtifact.train(dataset, settings.cf_config())


def load_cf(dataset: Dataset, settings: Settings) -> CFScorer:
    """The chat's saved CF artifact when it fits this catalog, else one trained now (not saved)."""
    from cf_engine.artifact import CFArtifact
    from cf_engine.base import RecommenderError

    try:
        artifact = CFArtifact.load_latest(settings.cf_config(), dataset.catalog)
    except (RecommenderError, FileNotFoundError):  # none saved, or one for another catalog / format
        artifact = CFArtifact.train(dataset, settings.cf_config())
    return CFScorer(artifact, dataset)


def load_item_vectors(settings: Settings, dataset: Dataset) -> tuple[np.ndarray, Any]:
    """(vectors aligned with catalog columns (zero rows for unindexed items), query embedder)."""
    try:
        from retrieval.embeddings import load_embeddings
        from retrieval.index import ItemIndex
    except ImportError as exc:
        raise ComponentUnavailable(f"retrieval is not available: {exc}") from exc
    index = ItemIndex(settings.retrieval_config())
    if not index.is_ready():
        index.build(dataset, progress=False)
    ids, vectors = index.vectors()
    aligned = np.zeros((len(dataset.catalog), vectors.shape[1]), dtype=np.float32)
    columns = np.array([dataset.catalog.index_of(int(i)) if int(i) in dataset.catalog else -1 for i in ids])
    keep = columns >= 0
    aligned[columns[keep]] = vectors[keep]
    return aligned, load_embeddings(settings.retrieval_config())


def embed_texts(embedder: Any, texts: Sequence[str]) -> np.ndarray:
    """Normalised query vectors (n, dim) for ``texts`` (an empty text gives a zero vector)."""
    safe = [t if t.strip() else "movie" for t in texts]
    vectors = np.asarray(embedder.embed_documents(list(safe)), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    vectors[[not t.strip() for t in texts]] = 0.0
    return vectors


def load_runtime(settings: Settings) -> Any:
    """The chat's runtime (``bot.runtime.Runtime``), or :class:`ComponentUnavailable`."""
    try:
        from bot.runtime import Runtime
    except ImportError as exc:
        raise ComponentUnavailable(f"bot.runtime is not available: {exc}") from exc
    return Runtime.from_settings(settings)


def load_blender(dataset: Dataset, cf: CFScorer | None, settings: Settings) -> Any:
    """The chat's :class:`bot.recommend.blend.Blender` over the same CF artifact and index."""
    try:
        from bot.recommend.fusion_fit import build_blender
        from retrieval.index import ItemIndex
    except ImportError as exc:
        raise ComponentUnavailable(f"bot.recommend.blend is not available: {exc}") from exc
    index = ItemIndex(settings.retrieval_config())
    return build_blender(dataset, cf.artifact if cf else None, index if index.is_ready() else None, settings)
