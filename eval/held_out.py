"""What held-out users must not leave behind in an evaluation's training data: their tags, and tag hints.

MovieLens tags are written by users. A held-out user's own tag on an item is part of what is being
predicted (the retrieval benchmark's query is such a tag; a simulated user's target may carry one), so
every evaluator recounts the catalog's tags without the held-out users (:func:`catalog_without_tags_of`).

A simulated user describes its hidden target with tags (:func:`hint_tags`) only when a tag is shared by
several films (a tag on one film names it as surely as its title) and has no word of the target's title
("toys" for Toy Story).
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cf_engine.data.catalog import Catalog, Item
from cf_engine.data.redial_mapping import normalise

MIN_TAG_FILMS = 3  # a hint tag is on at least this many films of the training catalog
_TITLE_STOPWORDS = frozenset({"a", "an", "the", "and", "of", "in", "on", "to", "for", "with", "from"})
_WORD = re.compile(r"[a-z0-9]+")


def read_tags(dataset_dir: Path) -> pd.DataFrame | None:
    """``tags.csv`` of a MovieLens folder (tags lower-cased, whitespace collapsed), or None."""
    path = Path(dataset_dir) / "tags.csv"
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    frame["tag"] = frame["tag"].astype(str).map(lambda t: " ".join(t.lower().split()))
    return frame[frame["tag"] != ""]


def catalog_without_tags_of(catalog: Catalog, tags: pd.DataFrame, users: Iterable[int]) -> Catalog:
    """The catalog with item tags recounted from the tags of everyone except ``users``.

    Tags are ordered as the loader orders them (most frequent first, ties alphabetically).
    """
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    kept = tags[~tags["userId"].isin(set(users))]
    for movie_id, tag in zip(kept["movieId"].to_numpy(), kept["tag"], strict=True):
        counts[int(movie_id)][tag] += 1
    items = []
    for item in catalog:
        c = counts.get(item.item_id, Counter())
        ordered = tuple(t for t, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
        items.append(dataclasses.replace(item, tags=ordered))
    return Catalog(items)


def tags_only_of(tags: pd.DataFrame, users: Iterable[int]) -> set[tuple[int, str]]:
    """(movie id, tag) pairs that only ``users`` applied: none may survive in a training catalog."""
    users = set(users)
    theirs = tags[tags["userId"].isin(users)]
    others = tags[~tags["userId"].isin(users)]
    other_pairs = set(zip(others["movieId"].astype(int), others["tag"], strict=True))
    return {(int(m), str(t)) for m, t in zip(theirs["movieId"], theirs["tag"], strict=True)} - other_pairs


def tag_film_counts(catalog: Catalog) -> Counter[str]:
    """How many films of ``catalog`` carry each tag."""
    return Counter(t for item in catalog for t in set(item.tags))


def title_words(item: Item) -> set[str]:
    """Content words of an item's title and aliases (normalised as the leak check normalises)."""
    words: set[str] = set()
    for form in (item.title, *item.aliases):
        words.update(w for w in _WORD.findall(normalise(form)) if w not in _TITLE_STOPWORDS)
    return words


def _stem(word: str) -> str:
    """Plural and singular alike: "toys" / "toy", "stories" / "story", "heroes" / "hero"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxzo":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def hint_tags(target: Item, film_counts: Counter[str], min_films: int = MIN_TAG_FILMS) -> tuple[str, ...]:
    """The target's tags a simulated user may say: on ``min_films`` films or more, no title word.

    A title word counts in its singular and plural forms ("toys" is a word of "Toy Story").
    """
    banned = {_stem(w) for w in title_words(target)}
    return tuple(
        tag
        for tag in target.tags
        if film_counts.get(tag, 0) >= min_films
        and not ({_stem(w) for w in _WORD.findall(normalise(tag))} & banned)
    )
