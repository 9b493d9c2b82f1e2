"""What the index stores per item: the text that is embedded, the metadata Chroma filters on, a content hash.

The document is the item as a person would describe it (title, year, genres, tags, free text). The
metadata keeps numbers as numbers (so ``where`` can do ranges) and one boolean key per genre (so
``where`` can test membership). The hash covers only the embedded text: a change of ratings updates the
metadata without re-embedding.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from cf_engine.data.catalog import Item

MAX_TAGS = 20  # MiniLM reads 256 word pieces; the most frequent tags carry the signal
MAX_TEXT_CHARS = 800
DOC_FORMAT = 1  # bump when item_document changes shape (stored with the collection)


def genre_key(genre: str) -> str:
    """Metadata key of one genre: ``genre_Sci_Fi`` for "Sci-Fi" (Chroma keys stay plain)."""
    return "genre_" + re.sub(r"[^0-9A-Za-z]+", "_", genre).strip("_")


def item_document(item: Item) -> str:
    """The text embedded for ``item``."""
    parts = [item.display_title + "."]
    if item.genres:
        parts.append("Genres: " + ", ".join(item.genres) + ".")
    if item.tags:
        parts.append("Tags: " + ", ".join(item.tags[:MAX_TAGS]) + ".")
    if item.text:
        parts.append(item.text[:MAX_TEXT_CHARS])
    return " ".join(parts)


def document_hash(document: str) -> str:
    """Short content hash of an embedded text (stored in the metadata as ``doc_hash``)."""
    return hashlib.sha1(document.encode("utf-8")).hexdigest()[:16]


def item_metadata(
    item: Item, document: str, n_ratings: int, mean_rating: float | None, all_genres: list[str]
) -> dict[str, Any]:
    """Chroma metadata of ``item``: scalars only, every genre key present (True/False)."""
    meta: dict[str, Any] = {
        "item_id": int(item.item_id),
        "title": item.title,
        "n_ratings": int(n_ratings),
        # No rating is stored as -1 so that a "min_rating >= x" filter excludes unrated items.
        "mean_rating": round(float(mean_rating), 4) if mean_rating is not None else -1.0,
        "doc_hash": document_hash(document),
    }
    if item.year is not None:
        meta["year"] = int(item.year)
    own = set(item.genres)
    for genre in all_genres:
        meta[genre_key(genre)] = genre in own
    return meta
