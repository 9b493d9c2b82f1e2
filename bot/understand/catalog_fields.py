"""Which catalog metadata field answers which kind of request: director, actor, runtime, language ...

:mod:`bot.understand.unknown_attributes` finds requests by kind ("not Scorsese" is a director,
"under 90 minutes" a runtime, "in French" a language). Whether the catalog can apply one is a
question of configuration, not code: :class:`CatalogFields` maps each kind to the name of a field in
``Item.metadata`` (a generic catalog's own field names, ``cf_engine/data/generic.py``), from
``Settings.catalog_fields`` or, for kinds not configured, from the first of :data:`DEFAULT_NAMES` that
the catalog's items have. MovieLens has none of them, so every such request gets the plain note.

:meth:`CatalogFields.filter_for` turns one request into an :class:`~bot.types.AttributeFilter` on
those fields, which the one exact constraint check applies (``bot/recommend/constraints.py``).
Runtimes are read as minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.types import AttributeFilter
from bot.understand.unknown_attributes import Unsupported
from cf_engine.data.catalog import Catalog, Item

KINDS = ("director", "actor", "runtime", "language", "streaming", "age rating")
# Field names tried, in order, for a kind that Settings.catalog_fields does not name.
DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    "director": ("director", "directors", "directed_by"),
    "actor": ("cast", "actors", "actor", "stars", "starring"),
    "runtime": ("runtime", "runtime_minutes", "runtime_min", "duration_minutes", "duration", "minutes"),
    "language": ("language", "languages", "original_language", "spoken_languages", "lang"),
    "streaming": ("streaming", "providers", "streaming_services", "available_on", "platforms"),
    "age rating": ("age_rating", "certification", "mpaa_rating", "mpaa", "content_rating", "rated"),
}

# Language names and the codes catalogs use for them (ISO 639-1 and -2).
LANGUAGE_CODES: dict[str, tuple[str, ...]] = {
    "english": ("en", "eng"),
    "french": ("fr", "fra", "fre"),
    "spanish": ("es", "spa"),
    "german": ("de", "deu", "ger"),
    "italian": ("it", "ita"),
    "japanese": ("ja", "jpn"),
    "korean": ("ko", "kor"),
    "chinese": ("zh", "zho", "chi", "mandarin", "cantonese"),
    "mandarin": ("zh", "cmn", "chinese"),
    "cantonese": ("zh", "yue", "chinese"),
    "hindi": ("hi", "hin"),
    "russian": ("ru", "rus"),
    "swedish": ("sv", "swe"),
    "danish": ("da", "dan"),
    "norwegian": ("no", "nor", "nb"),
    "portuguese": ("pt", "por"),
    "arabic": ("ar", "ara"),
    "turkish": ("tr", "tur"),
    "polish": ("pl", "pol"),
    "dutch": ("nl", "nld", "dut"),
    "greek": ("el", "ell", "gre"),
    "persian": ("fa", "fas", "per", "farsi"),
    "thai": ("th", "tha"),
}
_ENGLISH = ("english", *LANGUAGE_CODES["english"])
SHORT_MINUTES = 100  # "something short", "not too long", "a quick watch"
ABOUT_MINUTES = 15  # "about 90 minutes": 75 to 105

_NUMBER_WORDS = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0}
_DURATION = re.compile(
    r"(?P<lead>under|less than|no more than|at most|shorter than|over|more than|longer than|about|around"
    r"|maybe)?\s*(?P<n>an?|one|two|three|\d+(?:\.\d)?)\s*(?:-|\s)?(?P<unit>hours?|hrs?|minutes?|mins?)"
    r"(?P<half>\s+and\s+a\s+half)?",
    re.I,
)
_MAX_LEADS = {"under", "less than", "no more than", "at most", "shorter than", "maybe"}
_MIN_LEADS = {"over", "more than", "longer than"}
_SHORT = re.compile(r"\bshort\b|\bnot too long\b|\bquick\b|\bshorter\b", re.I)
_LONG = re.compile(r"\blonger\b|\blong (?:movie|film|one)\b|\bepic\b", re.I)
_STREAMING_SERVICES: dict[str, tuple[str, ...]] = {
    "netflix": ("netflix",),
    "hulu": ("hulu",),
    "prime": ("amazon prime", "prime video", "amazon"),
    "disney": ("disney+", "disney plus", "disney"),
    "hbo": ("hbo max", "hbo", "max"),
    "apple": ("apple tv+", "apple tv"),
    "peacock": ("peacock",),
    "paramount": ("paramount+", "paramount plus", "paramount"),
    "crunchyroll": ("crunchyroll",),
}


@dataclass(frozen=True)
class CatalogFields:
    """Request kind -> metadata field name, for the kinds this catalog has."""

    by_kind: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def detect(
        cls, catalog: Catalog | Iterable[Item], configured: Mapping[str, str] | None = None
    ) -> CatalogFields:
        """The configured fields (an empty name switches a kind off), then the default names present.

        A field counts as present when at least one item has a value for it.
        """
        configured = dict(configured or {})
        unknown = set(configured) - set(KINDS)
        if unknown:
            raise ValueError(f"catalog_fields: unknown kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
        present: set[str] = set()
        for item in catalog:
            present.update(k for k, v in item.metadata.items() if v)
        by_kind: dict[str, str] = {}
        for kind in KINDS:
            if kind in configured:
                if configured[kind]:
                    by_kind[kind] = configured[kind]
                continue
            name = next((n for n in DEFAULT_NAMES[kind] if n in present), None)
            if name is not None:
                by_kind[kind] = name
        return cls(by_kind)

    def keys_for(self, kind: str) -> tuple[str, ...]:
        """The fields a request of ``kind`` is checked against ("person": director and cast)."""
        kinds = ("director", "actor") if kind == "person" else (kind,)
        return tuple(self.by_kind[k] for k in kinds if k in self.by_kind)

    def filter_for(self, u: Unsupported) -> AttributeFilter | None:
        """The filter that applies ``u`` on this catalog; None: no such field or nothing to filter by."""
        keys = self.keys_for(u.field)
        if not keys:
            return None
        if u.field in ("director", "actor", "person"):
            name = re.sub(r"['’]s$", "", u.words.strip())  # "Scorsese's films"
            return AttributeFilter("in" if u.wanted else "out", keys, (name,))
        if u.field == "runtime":
            return runtime_filter(u.words, keys)
        if u.field == "language":
            return language_filter(u.words, keys)
        if u.field == "streaming":
            return streaming_filter(u.words, keys)
        return age_rating_filter(u.words, keys)


def runtime_filter(words: str, keys: tuple[str, ...]) -> AttributeFilter | None:
    """ "under 90 minutes" -> max 90; "over 2 hours" -> min 120; "an hour and a half" -> max 90."""
    m = _DURATION.search(words)
    if m:
        n = m.group("n").lower()
        value = _NUMBER_WORDS.get(n) or float(n)
        if m.group("unit").lower().startswith("h"):
            value = value * 60 + (30 if m.group("half") else 0)
        lead = (m.group("lead") or "").lower()
        if lead in _MIN_LEADS:
            return AttributeFilter("min", keys, (f"{value:g}",))
        if lead in ("about", "around"):
            return AttributeFilter("max", keys, (f"{value + ABOUT_MINUTES:g}",))
        return AttributeFilter("max", keys, (f"{value:g}",))
    if _SHORT.search(words):
        return AttributeFilter("max", keys, (str(SHORT_MINUTES),))
    if _LONG.search(words):
        return AttributeFilter("min", keys, ("140",))
    return None


def language_filter(words: str, keys: tuple[str, ...]) -> AttributeFilter | None:
    """ "in French" -> in French|fr|fra|fre; "foreign-language", "non-English", "subtitles" -> not English."""
    lower = words.lower()
    for name, codes in LANGUAGE_CODES.items():
        if re.search(rf"\b{name}\b", lower):
            return AttributeFilter("in", keys, (name.capitalize(), *codes))
    if re.search(r"foreign|non[\s-]?english|subtitle", lower):
        return AttributeFilter("out", keys, ("English", *_ENGLISH[1:]))
    return None  # "dubbed", "original language": nothing the field can tell


def streaming_filter(words: str, keys: tuple[str, ...]) -> AttributeFilter | None:
    lower = words.lower()
    for stem, names in _STREAMING_SERVICES.items():
        if stem in lower:
            shown = next((n for n in names if n in lower), names[0])
            return AttributeFilter("in", keys, (shown, *[n for n in names if n != shown]))
    return None  # "streaming", "to stream": every service


def age_rating_filter(words: str, keys: tuple[str, ...]) -> AttributeFilter | None:
    """ "PG-13" -> in PG-13|PG13; "rated R" -> in R; "G-rated" -> in G."""
    m = re.search(r"(?<![\w-])(pg-?13|nc-?17|pg|g|r)(?![\w-]*\w)", words.lower().replace("rated", " "))
    if not m:
        return None
    rating = m.group(1).upper()
    compact = rating.replace("-", "")
    spelled = {"PG13": "PG-13", "NC17": "NC-17"}.get(compact, rating)
    return AttributeFilter("in", keys, tuple(dict.fromkeys((spelled, compact))))
