"""Map ReDial movie ids to catalog items by title and year.

ReDial writes names as "Police Academy  (1984)" (double space), "The Waterboy (1998)" or without a
year; MovieLens writes "Waterboy, The (1998)". Both sides are normalised (accents, case, punctuation,
leading/trailing articles) and matched exactly on (title, year), then fuzzily (rapidfuzz) with the
year checked to within one year. A name without a year matches only an unambiguous title.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from rapidfuzz import fuzz, process

from cf_engine.data.catalog import Catalog

_YEAR = re.compile(r"\s*\((\d{4})\)\s*$")
_ARTICLE_END = re.compile(r"^(?P<body>.+), (?P<article>the|a|an|les|la|le|l'|il|das|der|die|el)$")
_ARTICLE_START = re.compile(r"^(the|a|an) ")
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
FUZZY_MIN = 90.0
MIN_PREFIX = 4  # shorter names ("it", "up") are too ambiguous to match by prefix
FUZZY_MIN_OFF_YEAR = 95.0  # a year off by one needs a closer name
MIN_FUZZY = 8  # fuzzy ratios on short names confuse "Sister" and "Sisters"


def normalise(title: str) -> str:
    """Lower-case ASCII words with leading/trailing articles removed: "Waterboy, The" -> "waterboy"."""
    text = unicodedata.normalize("NFKD", unquote(title)).encode("ascii", "ignore").decode("ascii")
    text = " ".join(text.lower().replace("&", " and ").split())
    match = _ARTICLE_END.match(text)
    if match:
        text = match.group("body")
    text = _NON_WORD.sub(" ", text)
    text = " ".join(text.split())
    return _ARTICLE_START.sub("", text)


def split_redial_name(name: str) -> tuple[str, int | None]:
    """``"Police Academy  (1984)"`` -> ``("Police Academy", 1984)``."""
    name = " ".join(name.split())
    match = _YEAR.search(name)
    if not match:
        return name.strip(), None
    return name[: match.start()].strip(), int(match.group(1))


@dataclass
class Mapping_:
    """ReDial id -> catalog item id, and how each was found."""

    item_of: dict[int, int]
    how: dict[int, str]  # "exact", "fuzzy", "no-year"
    unmapped: list[int]

    def coverage(self, ids: list[int]) -> float:
        """Share of ``ids`` (with repeats: e.g. every target of every sample) that map."""
        return sum(i in self.item_of for i in ids) / len(ids) if ids else 0.0


def map_movies(names: Mapping[int, str], catalog: Catalog) -> Mapping_:
    """Map every ReDial id in ``names`` to a catalog item (see the module docstring)."""
    by_key: dict[tuple[str, int | None], list[int]] = defaultdict(list)
    by_year: dict[int, dict[str, int]] = defaultdict(dict)
    by_title: dict[str, list[int]] = defaultdict(list)
    # Sorted forms per year for prefix matches ("jumanji" -> "jumanji welcome to the jungle").
    year_of: dict[int, int | None] = {}
    by_base: dict[tuple[str, int | None], int] = {}  # "Jumanji: Welcome to the Jungle" -> "jumanji"
    for item in catalog:
        year_of[item.item_id] = item.year
        for sep in (":", " - "):
            if sep not in item.title:
                continue
            base = normalise(item.title.rsplit(sep, 1)[0] if sep == " - " else item.title.split(sep, 1)[0])
            if base:
                by_base.setdefault((base, item.year), item.item_id)
                by_base.setdefault((base, None), item.item_id)
        forms = {normalise(item.title), *(normalise(a) for a in item.aliases)}
        for form in forms:
            if not form:
                continue
            by_key[(form, item.year)].append(item.item_id)
            by_title[form].append(item.item_id)
            if item.year is not None:
                by_year[item.year].setdefault(form, item.item_id)
    item_of: dict[int, int] = {}
    how: dict[int, str] = {}
    unmapped: list[int] = []
    for redial_id, raw in names.items():
        title, year = split_redial_name(raw)
        key = normalise(title)
        found = _match(key, year, by_key, by_year, by_title, year_of, by_base)
        if found is None:
            unmapped.append(redial_id)
        else:
            item_of[redial_id], how[redial_id] = found
    return Mapping_(item_of=item_of, how=how, unmapped=unmapped)


def _match(
    key: str,
    year: int | None,
    by_key: dict,
    by_year: dict,
    by_title: dict,
    year_of: dict[int, int | None],
    by_base: dict,
) -> tuple[int, str] | None:
    if not key:
        return None
    if year is None:
        hits = set(by_title.get(key, ()))
        if len(hits) == 1:
            return hits.pop(), "no-year"
        if hits or len(key) < MIN_PREFIX:
            return None  # several films share the bare title: do not guess
        # "Kill Bill" / "Harold & Kumar": a series named by its first words; take the earliest film.
        starts = (
            {i for form, ids in by_title.items() if form.startswith(key + " ") for i in ids}
            if " " in key
            else set()
        )
        if not starts and (key, None) in by_base:  # "Anchorman" -> "Anchorman: The Legend of ..."
            starts = {by_base[(key, None)]}
        if starts:
            first = min(starts, key=lambda i: (year_of.get(i) or 9999, i))
            return first, "no-year-prefix"
        return None
    for y in (year, year - 1, year + 1):
        exact = by_key.get((key, y))
        if exact:
            return exact[0], "exact"
    best: tuple[float, int] | None = None
    for y in (year, year - 1, year + 1) if len(key) >= MIN_FUZZY else ():
        choices = by_year.get(y)
        if not choices:
            continue
        cutoff = FUZZY_MIN if y == year else FUZZY_MIN_OFF_YEAR
        hit = process.extractOne(key, choices.keys(), scorer=fuzz.ratio, score_cutoff=cutoff)
        if hit and (best is None or hit[1] > best[0]):
            best = (hit[1], choices[hit[0]])
    if best:
        return best[1], "fuzzy"
    # "Jumanji (2017)" is "Jumanji: Welcome to the Jungle (2017)" in MovieLens.
    for y in (year, year - 1, year + 1):
        if (key, y) in by_base:
            return by_base[(key, y)], "prefix"
    return None
