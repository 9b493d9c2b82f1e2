"""Connecting to Chroma: an embedded persistent client by default, a Chroma server when a URL is set.

Telemetry is off and no embedding function is ever given to Chroma (its default one downloads a
model); vectors always come from :mod:`retrieval.embeddings`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from retrieval.config import RetrievalConfig


class ChromaConnectionError(RuntimeError):
    """The Chroma store cannot be opened or reached."""


def chroma_settings() -> Any:
    """Chroma client settings: no telemetry, resets allowed (a mismatched index is rebuilt)."""
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=True)


def make_client(settings: RetrievalConfig) -> Any:
    """A ``chromadb`` client: ``HttpClient`` for ``settings.chroma_url``, else ``PersistentClient``."""
    import chromadb

    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ChromaConnectionError(
                f"chroma_url {settings.chroma_url!r} is not an http(s)://host:port URL"
            )
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings(),
            )
        except Exception as exc:  # connection refused, bad handshake, version skew
            raise ChromaConnectionError(
                f"cannot reach the Chroma server at {settings.chroma_url}: {exc}"
            ) from exc
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings())


def hnsw_configuration(settings: RetrievalConfig) -> dict[str, Any]:
    """The collection's HNSW configuration (Chroma 1.x ``configuration={"hnsw": ...}``)."""
    return {
        "hnsw": {
            "space": "cosine",
            "ef_search": settings.hnsw_ef_search,
            "ef_construction": settings.hnsw_ef_construction,
            "max_neighbors": settings.hnsw_m,
        }
    }
