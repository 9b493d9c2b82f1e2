"""The one exact check of a user's hard constraints (genres, years, rating, tags, metadata) on an item.

:func:`satisfies` is the rule; :class:`CatalogFilter` applies the same rule to the whole catalog at once
(the blend uses it to pick candidates only among allowed items) and :func:`chroma_where` translates it
into a Chroma ``where`` filter so that vector search returns allowed items. Both are checked against
:func:`satisfies` in the tests, and the turn record (:meth:`bot.turn.TurnRecord.admit`) checks every
candidate with it before it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.types import AttributeFilter, Constraints
from cf_engine.data.catalog import Catalog, Item
from retrieval.documents import genre_key

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@dataclass(frozen=True)
class ItemStats:
    """Interaction statistics of one item."""

    n_ratings: int = 0
    mean_rating: float | None = None  # None: nobody rated it


def _norm_genre(genre: str) -> str:
    return genre.strip().casefold()


def _normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _tag_forms(tag: str) -> set[str]:
    """Comparable forms of a tag: normalised, with and without a plural "s" ("zombies" ~ "zombie")."""
    tag = _normalise(tag)
    if not tag:
        return set()
    forms = {tag}
    if tag.endswith("s") and len(tag) > 3:
        forms.add(tag[:-1])
    else:
        forms.add(tag + "s")
    return forms


def item_subjects(item: Item) -> tuple[str, ...]:
    """What an excluded tag is checked against: the item's tags, genres and title."""
    return (*item.tags, *item.genres, item.title)


def has_excluded_tag(subjects: Iterable[str], excluded: Iterable[str]) -> bool:
    """True when an excluded tag (or its singular / plural) is a subject or a whole-word part of one.

    "zombies" excludes the tag "zombie apocalypse" and the title "I Walked with a Zombie", but not
    "Zombieland" (another word).
    """
    excluded_forms = set().union(*(_tag_forms(t) for t in excluded)) if excluded else set()
    if not excluded_forms:
        return False
    for subject in subjects:
        padded = f" {_normalise(subject)} "
        if any(f" {form} " in padded for form in excluded_forms):
            return True
    return False


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Values this short ("fr", "pg", "r") must equal the item's value; longer ones may be part of it.
SHORT_FORM = 3


def _value_matches(wanted: str, value: str) -> bool:
    """ "Scorsese" matches "Martin Scorsese" (whole words); "pg" matches "PG" but not "PG-13"."""
    w, v = _normalise(wanted), _normalise(value)
    if not w or not v:
        return False
    return w == v or (len(w) > SHORT_FORM and f" {w} " in f" {v} ")


def _number(values: tuple[str, ...]) -> float | None:
    m = _NUMBER.search(values[0]) if values else None
    return float(m.group(0)) if m else None


def attribute_ok(item: Item, f: AttributeFilter) -> bool:
    """Whether ``item`` meets one metadata filter. A missing value fails "in" and bounds, passes "out"."""
    if f.op in ("max", "min"):
        number = next((_number(item.metadata[k]) for k in f.keys if item.metadata.get(k)), None)
        if number is None:
            return False
        return number <= float(f.values[0]) if f.op == "max" else number >= float(f.values[0])
    found = any(_value_matches(w, v) for k in f.keys for v in item.metadata.get(k, ()) for w in f.values)
    return found if f.op == "in" else not found


def attribute_filters(constraints: Constraints) -> list[AttributeFilter]:
    return [AttributeFilter.parse(a) for a in sorted(constraints.attributes)]


def satisfies(item: Item, stats: ItemStats | Any, constraints: Constraints) -> bool:
    """Whether ``item`` (with its rating ``stats``) meets every hard constraint.

    Unknown values never satisfy a bound: an item without a year fails a year range, an unrated item
    fails a minimum rating. Genre names compare case-insensitively.
    """
    genres = {_norm_genre(g) for g in item.genres}
    if constraints.genres_in and not genres & {_norm_genre(g) for g in constraints.genres_in}:
        return False
    if constraints.genres_out and genres & {_norm_genre(g) for g in constraints.genres_out}:
        return False
    if constraints.year_min is not None and (item.year is None or item.year < constraints.year_min):
        return False
    if constraints.year_max is not None and (item.year is None or item.year > constraints.year_max):
        return False
    if constraints.min_rating is not None:
        mean = getattr(stats, "mean_rating", None)
        if mean is None or mean != mean or mean < constraints.min_rating:  # mean != mean: NaN
            return False
    if constraints.excluded_tags and has_excluded_tag(item_subjects(item), constraints.excluded_tags):
        return False
    if constraints.attributes and not all(attribute_ok(item, f) for f in attribute_filters(constraints)):
        return False
    return True


class CatalogFilter:
    """:func:`satisfies` for the whole catalog at once, vectorised (the blend calls it per request)."""

    def __init__(self, catalog: Catalog, stats: list[ItemStats]) -> None:
        self.catalog = catalog
        self.stats = stats
        genres = sorted({_norm_genre(g) for item in catalog for g in item.genres})
        self._genre_col = {g: j for j, g in enumerate(genres)}
        self._genres = np.zeros((len(catalog), len(genres)), dtype=bool)
        for i, item in enumerate(catalog):
            for g in item.genres:
                self._genres[i, self._genre_col[_norm_genre(g)]] = True
        self._years = np.array([np.nan if it.year is None else it.year for it in catalog], dtype=np.float64)
        self._means = np.array(
            [np.nan if s.mean_rating is None else s.mean_rating for s in stats], dtype=np.float64
        )
        # Normalised " subject " strings per item, so that excluded tags are a substring test.
        self._subjects = [f" {' | '.join(_normalise(x) for x in item_subjects(it))} " for it in catalog]

    def mask(self, constraints: Constraints) -> np.ndarray:
        """Boolean array over the catalog (Catalog order): True where :func:`satisfies` holds."""
        n = len(self.catalog)
        keep = np.ones(n, dtype=bool)
        if constraints.is_empty():
            return keep
        if constraints.genres_in:
            cols = [
                self._genre_col[g] for g in map(_norm_genre, constraints.genres_in) if g in self._genre_col
            ]
            keep &= self._genres[:, cols].any(axis=1) if cols else False
        if constraints.genres_out:
            cols = [
                self._genre_col[g] for g in map(_norm_genre, constraints.genres_out) if g in self._genre_col
            ]
            if cols:
                keep &= ~self._genres[:, cols].any(axis=1)
        with np.errstate(invalid="ignore"):  # NaN compares False: unknown values fail bounds
            if constraints.year_min is not None:
                keep &= self._years >= constraints.year_min
            if constraints.year_max is not None:
                keep &= self._years <= constraints.year_max
            if constraints.min_rating is not None:
                keep &= self._means >= constraints.min_rating
        if constraints.excluded_tags:
            forms = [f" {f} " for f in set().union(*(_tag_forms(t) for t in constraints.excluded_tags))]
            for i in np.flatnonzero(keep):
                subjects = self._subjects[i]
                if any(form in subjects for form in forms):
                    keep[i] = False
        for f in attribute_filters(constraints):
            for i in np.flatnonzero(keep):
                if not attribute_ok(self.catalog.at(int(i)), f):
                    keep[i] = False
        return keep


def chroma_where(constraints: Constraints, catalog_genres: Iterable[str]) -> dict[str, Any] | None:
    """A Chroma ``where`` filter for the constraints the index's metadata can express.

    Excluded tags and catalog metadata filters are not expressible in the index's metadata; they are
    filtered exactly afterwards. Genres are
    matched to the catalog's own spelling (case-insensitively); an unknown requested genre matches
    nothing, as :func:`satisfies` would.
    """
    by_norm = {_norm_genre(g): g for g in catalog_genres}
    clauses: list[dict[str, Any]] = []
    if constraints.genres_in:
        known = [by_norm[_norm_genre(g)] for g in constraints.genres_in if _norm_genre(g) in by_norm]
        if not known:
            clauses.append({"item_id": {"$lt": -(2**31)}})  # matches nothing, like satisfies()
        elif len(known) == 1:
            clauses.append({genre_key(known[0]): True})
        else:
            clauses.append({"$or": [{genre_key(g): True} for g in sorted(known)]})
    for g in sorted(constraints.genres_out):
        if _norm_genre(g) in by_norm:
            clauses.append({genre_key(by_norm[_norm_genre(g)]): False})
    if constraints.year_min is not None:
        clauses.append({"year": {"$gte": int(constraints.year_min)}})
    if constraints.year_max is not None:
        clauses.append({"year": {"$lte": int(constraints.year_max)}})
    if constraints.min_rating is not None:
        clauses.append({"mean_rating": {"$gte": float(constraints.min_rating)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
