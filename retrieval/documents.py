"""What the index stores per item: the text that is embedded, the metadata Chroma filters on, a content hash.

The document is the item's content as a person would describe it (genres, year, tags, free text),
without the title: with the title in the text, MiniLM's vector of a film with few tags was mostly its
title words, so "dark psychological thriller" found Darkman and "slow-burn space horror" BURN-E
(docs/benchmarks.md). Titles are found elsewhere (the parser matches named titles with rapidfuzz);
only an item with no content at all is described by its title. The metadata keeps numbers as numbers
(so ``where`` can do ranges) and one boolean key per genre (so ``where`` can test membership). The
hash covers only the embedded text: a change of ratings updates the metadata without re-embedding.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from cf_engine.data.catalog import Item

MAX_TAGS = 20  # MiniLM reads 256 word pieces; the most frequent tags carry the signal
MAX_TEXT_CHARS = 800
DOC_FORMAT = 2  # bump when item_document changes shape (stored with the collection); 2: content only
# Genres as words MiniLM knows ("science fiction" rather than "Sci-Fi"); MovieLens's "no genres" is none.
GENRE_WORDS = {"Sci-Fi": "science fiction", "Film-Noir": "film noir", "Children": "children's"}
NO_GENRES = "(no genres listed)"


def genre_key(genre: str) -> str:
    """Metadata key of one genre: ``genre_Sci_Fi`` for "Sci-Fi" (Chroma keys stay plain)."""
    return "genre_" + re.sub(r"[^0-9A-Za-z]+", "_", genre).strip("_")


def item_document(item: Item) -> str:
    """The text embedded for ``item``: "A crime thriller film from 1995. About: heist, twist ending."

    The title is left out (see the module docstring) unless the item has no genres, tags or text.
    """
    genres = " ".join(GENRE_WORDS.get(g, g).lower() for g in item.genres if g != NO_GENRES)
    kind = f"{genres} film" if genres else "film"
    year = f" from {item.year}" if item.year else ""
    parts = [("An " if kind[0] in "aeiou" else "A ") + kind + year + "."]
    if item.tags:
        parts.append("About: " + ", ".join(item.tags[:MAX_TAGS]) + ".")
    if item.text:
        parts.append(item.text[:MAX_TEXT_CHARS])
    if not genres and not item.tags and not item.text:
        parts.append("Title: " + item.title + ".")
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
