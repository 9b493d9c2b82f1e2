"""Find catalog titles in a chat message: exact n-gram lookup first, then rapidfuzz for typos.

Titles are compared in a normalised form (:func:`normalise`): lower case, accents removed, year
dropped, a trailing article moved to the front ("Matrix, The" -> "the matrix"), punctuation removed.
Extra keys are indexed for the forms people type: without the leading article ("matrix") and the part
before a colon ("lord of the rings" for all three films); full titles win over such derived keys.

False matches are the real danger: "Up", "It", "Her", "Heat" are ordinary words. A key made only of
common words is accepted only in a title-like context: written capitalised (and not just because it
starts the sentence), in quotes, or followed by a year. Fuzzy matching only runs on the words after a
cue ("loved", "watched", "similar to", ...) or inside quotes, and never on common words alone.

When one key names several items (two "Titanic"s, three "Lord of the Rings"), a year in the message
picks one; otherwise the clearly more popular one wins (3x the ratings), else the mention is ambiguous
and the agent asks "Did you mean X (1999) or X (2009)?".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from cf_engine.data.catalog import Catalog

_YEAR_SUFFIX = re.compile(r"\s*\(\s*\d{4}(?:\s*[-–]\s*\d{0,4})?\s*\)\s*$")
_TRAILING_ARTICLE = re.compile(r"^(?P<body>.+),\s*(?P<article>the|a|an)$")
_NON_WORD = re.compile(r"[^\w\s]|_")
_TOKEN = re.compile(r"[\w'’]+|&")
MAX_TITLE_TOKENS = 14
MAX_FUZZY_SPANS = 8  # fuzzy title searches per message
MAX_FUZZY_TOKENS = 7  # longest typo'd title tried (prefixes of a span)
FUZZY_CUTOFF = 88.0  # rapidfuzz ratio (0-100); below this typos are too often other titles
POPULARITY_MARGIN = 3.0  # a same-named item wins outright with this many times the ratings

# Ordinary chat words on top of sklearn's stop words: a title made only of these needs title context.
_CHAT_WORDS = """
movie movies film films watch watched watching seen saw see recommend recommendation recommendations
suggest something anything nothing more less like liked love loved hate hated good great bad best
worst funny scary fun new old older recent classic tonight today yesterday week weekend night day
time life man woman men women girl girls boy boys kid kids family home friends friend love war
money game games run big heat up it her him us them me you crash speed rush fury gravity signs
frozen cars brave soul coco split taken drive her heat wanted why sorry thanks thank okay ok yes no
please maybe sure really very pretty bit lot stuff thing things one ones two three first second
third last next other another same different happy sad dark light short long true real story
stories world city house dog cat face eyes heart mind dream dreams star stars hero heroes king
queen boss help hope room island river road street school summer winter spring fall christmas
action adventure animation animated cartoon children comedy comedies crime documentary drama dramas
fantasy horror musical mystery romance romantic thriller thrillers western westerns noir imax
sci fi scifi science fiction mood feel feeling boring awful amazing perfect enjoy enjoyed epic
trouble doubt closer click fight fired hooked sleepers shine smoke ghost gone up rocky help proof
"""
COMMON_WORDS = frozenset(ENGLISH_STOP_WORDS) | frozenset(_CHAT_WORDS.split())


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalise(title: str) -> str:
    """Comparable form of a title: "Matrix, The (1999)" -> "the matrix", "Amélie" -> "amelie"."""
    text = _strip_accents(title).lower().strip()
    text = _YEAR_SUFFIX.sub("", text)
    match = _TRAILING_ARTICLE.match(text)
    if match:
        text = f"{match.group('article')} {match.group('body')}"
    text = text.replace("&", " and ").replace("'", "").replace("’", "")
    return " ".join(_NON_WORD.sub(" ", text).split())


def norm_token(token: str) -> str:
    """One message token in the same form as :func:`normalise` writes title words."""
    if token == "&":
        return "and"
    return _strip_accents(token).lower().replace("'", "").replace("’", "")


@dataclass(frozen=True)
class Token:
    """A word of the message with its character span and normalised form."""

    text: str
    norm: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` with spans (apostrophes stay inside words: "didn't", "schindler's")."""
    tokens = []
    for m in _TOKEN.finditer(text):
        norm = norm_token(m.group())
        # "schindler's" -> "schindlers" (as the title key), "'80s" -> "80s"
        if norm:
            tokens.append(Token(m.group(), norm, m.start(), m.end()))
    return tokens


@dataclass
class TitleMatch:
    """One title found in a message."""

    start: int  # token positions [start, end)
    end: int
    text: str  # the message text of the mention
    item_ids: list[int]  # one id, or several (ambiguous), most popular first
    score: float  # 100 for exact, the rapidfuzz ratio for fuzzy matches
    how: str  # "exact", "derived" (article-less / before-colon key), "fuzzy"
    resolved_by: str | None = None  # "year", "popularity" or None
    year: int | None = None  # the year written after the title, if any
    alternatives: list[int] = field(default_factory=list)  # same-named items a popularity pick passed over

    @property
    def ambiguous(self) -> bool:
        return len(self.item_ids) > 1


@dataclass
class TitleIndex:
    """Normalised title keys -> item ids, with popularity for tie-breaking."""

    full: dict[str, list[int]] = field(default_factory=dict)  # whole titles and aliases
    derived: dict[str, list[int]] = field(default_factory=dict)  # article-less, before-colon keys
    popularity: dict[int, int] = field(default_factory=dict)
    years: dict[int, int | None] = field(default_factory=dict)
    _keys: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, catalog: Catalog, popularity: Mapping[int, int] | None = None) -> TitleIndex:
        """Index every item's title and aliases; ``popularity`` (item id -> n ratings) breaks ties."""
        index = cls(popularity=dict(popularity or {}))
        for item in catalog:
            index.years[item.item_id] = item.year
            for name in (item.title, *item.aliases):
                key = normalise(name)
                if not key:
                    continue
                _add(index.full, key, item.item_id)
                for derived in _derived_keys(name, key):
                    _add(index.derived, derived, item.item_id)
        index._keys = sorted(set(index.full) | set(index.derived))
        return index

    def ids_for(self, key: str) -> tuple[list[int], str] | None:
        """Item ids under ``key`` (full titles preferred over derived keys), most popular first."""
        if key in self.full:
            ids, how = self.full[key], "exact"
        elif key in self.derived:
            ids, how = self.derived[key], "derived"
        else:
            return None
        return sorted(ids, key=lambda i: -self.popularity.get(i, 0)), how

    def resolve(self, ids: list[int], year: int | None) -> tuple[list[int], str | None]:
        """Narrow same-named ids by a written year, else by a clear popularity margin."""
        if len(ids) <= 1:
            return ids, None
        if year is not None:
            by_year = [i for i in ids if self.years.get(i) == year]
            if by_year:
                return by_year[:1] if len(by_year) == 1 else by_year, "year"
        top, second = self.popularity.get(ids[0], 0), self.popularity.get(ids[1], 0)
        if top >= POPULARITY_MARGIN * max(second, 1) and top >= 5:
            return ids[:1], "popularity"
        return ids, None

    def fuzzy(self, phrase: str) -> tuple[str, float] | None:
        """Best key for ``phrase`` by rapidfuzz ratio, when it clears :data:`FUZZY_CUTOFF`."""
        if len(phrase) < 5 or all(w in COMMON_WORDS for w in phrase.split()):
            return None
        best = process.extractOne(phrase, self._keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if best is None:
            return None
        return best[0], float(best[1])

    def find(
        self, text: str, tokens: list[Token] | None = None, fuzzy_spans: Iterable[tuple[int, int]] = ()
    ) -> list[TitleMatch]:
        """Titles mentioned in ``text``: exact greedy longest matches, then fuzzy ones in ``fuzzy_spans``.

        ``fuzzy_spans`` are token ranges where a title is expected (after "loved", inside quotes).
        """
        tokens = tokenize(text) if tokens is None else tokens
        used = [False] * len(tokens)
        matches: list[TitleMatch] = []
        i = 0
        while i < len(tokens):
            found = None
            for n in range(min(MAX_TITLE_TOKENS, len(tokens) - i), 0, -1):
                key = " ".join(t.norm for t in tokens[i : i + n])
                hit = self.ids_for(key)
                if hit and self._title_context(text, tokens, i, i + n):
                    found = (n, key, hit)
                    break
            if found is None:
                i += 1
                continue
            n, key, (ids, how) = found
            year, n_year = _year_after(text, tokens, i + n)
            all_ids = ids
            ids, resolved = self.resolve(ids, year)
            matches.append(
                TitleMatch(
                    i,
                    i + n + n_year,
                    text[tokens[i].start : tokens[i + n - 1].end],
                    ids,
                    100.0,
                    how,
                    resolved,
                    year,
                    [x for x in all_ids if x not in ids][:2] if resolved == "popularity" else [],
                )
            )
            for k in range(i, i + n + n_year):
                used[k] = True
            i += n + n_year
        # Fuzzy lookups cost ~1 ms each: a bounded number per message keeps a 4,000-character
        # message full of "loved ..." from taking seconds.
        for lo, hi in list(fuzzy_spans)[:MAX_FUZZY_SPANS]:
            if lo >= len(tokens) or used[lo]:
                continue
            match = self._fuzzy_in_span(text, tokens, used, lo, hi)
            if match:
                matches.append(match)
                for k in range(match.start, match.end):
                    used[k] = True
        return sorted(matches, key=lambda m: m.start)

    def _fuzzy_in_span(
        self, text: str, tokens: list[Token], used: list[bool], lo: int, hi: int
    ) -> TitleMatch | None:
        """The longest prefix of tokens[lo:hi] (unused ones) that fuzzily matches a title key."""
        best: tuple[float, int, str] | None = None
        hi = min(hi, lo + MAX_FUZZY_TOKENS)
        for end in range(hi, lo, -1):
            if any(used[lo:end]):
                continue
            phrase = " ".join(t.norm for t in tokens[lo:end])
            hit = self.fuzzy(phrase)
            if hit and (best is None or hit[1] > best[0] + 2):
                best = (hit[1], end, hit[0])
        if best is None:
            return None
        score, end, key = best
        ids, how = self.ids_for(key) or ([], "fuzzy")
        year, n_year = _year_after(text, tokens, end)
        all_ids = ids
        ids, resolved = self.resolve(ids, year)
        return TitleMatch(
            lo,
            end + n_year,
            text[tokens[lo].start : tokens[end - 1].end],
            ids,
            score,
            "fuzzy",
            resolved,
            year,
            [x for x in all_ids if x not in ids][:2] if resolved == "popularity" else [],
        )

    def _title_context(self, text: str, tokens: list[Token], lo: int, hi: int) -> bool:
        """Whether tokens[lo:hi] may be a title: always, unless all its words are common words."""
        words = [t.norm for t in tokens[lo:hi]]
        if (
            _quoted(text, tokens[lo].start, tokens[hi - 1].end)
            or _year_after(text, tokens, hi)[0] is not None
        ):
            return True
        before = text[: tokens[lo].start].rstrip()
        sentence_start = not before or before[-1] in ".!?\n"
        if len(words) == 1 and words[0] not in COMMON_WORDS:
            # One uncommon word ("titanic", "tomorrow"): the whole message, capitalised mid-sentence,
            # or right after a strong cue ("loved titanic", "something like jumanji").
            if hi - lo == len(tokens) or (tokens[lo].text[:1].isupper() and not sentence_start):
                return True
            if tokens[lo].text[:1].isupper() and hi < len(tokens) and tokens[hi].norm in _TITLE_FOLLOWERS:
                return True  # "Jaws is a classic", "Jaws was great"
            return _after_cue(tokens, lo)
        if not all(w in COMMON_WORDS or w.isdigit() for w in words):
            return True
        # Capitalised as a title ("Up", "The Thing"), and not only because it opens a sentence.
        content = [t for t in tokens[lo:hi] if t.norm not in ENGLISH_STOP_WORDS] or tokens[lo:hi]
        if not all(t.text[:1].isupper() for t in content):
            return False
        if len(words) == 1 and len(words[0]) <= 2 and not tokens[lo].text[:1].isupper():
            return False
        if sentence_start and _verdict_after(tokens, hi) and any(w not in ENGLISH_STOP_WORDS for w in words):
            # "Heat was great": judged the way people judge a film. Never for pronouns and the like
            # ("It was great" is about the last pick, not the film "It").
            return True
        return not sentence_start or hi - lo == len(tokens)  # "Up" alone as the whole message is fine


STRONG_CUES = frozenset(
    """loved love liked enjoyed enjoy hated hate disliked watched seen saw rewatched adore
    adored about""".split()
)
LIKE_LEADS = frozenset("something anything movies films stuff one ones similar just more".split())


def _after_cue(tokens: list[Token], lo: int) -> bool:
    """Whether tokens[lo] follows a strong cue word (an article may sit between)."""
    j = lo - 1
    if j >= 0 and tokens[j].norm in ("the", "a", "an"):
        j -= 1
    if j < 0:
        return False
    if tokens[j].norm in STRONG_CUES:
        return True
    return tokens[j].norm == "like" and j > 0 and tokens[j - 1].norm in LIKE_LEADS


def _add(table: dict[str, list[int]], key: str, item_id: int) -> None:
    ids = table.setdefault(key, [])
    if item_id not in ids:
        ids.append(item_id)


def _derived_keys(name: str, key: str) -> list[str]:
    """Other keys people type: without a leading article, and the series name before a colon."""
    keys = []
    for article in ("the ", "a ", "an "):
        if key.startswith(article) and len(key) > len(article) + 3:
            keys.append(key[len(article) :])
    body = _YEAR_SUFFIX.sub("", name)
    if ":" in body:
        head = normalise(body.split(":", 1)[0])
        if head and len(head) >= 4:
            keys.append(head)
            for article in ("the ", "a ", "an "):
                if head.startswith(article):
                    keys.append(head[len(article) :])
    return [k for k in keys if k != key]


def _quoted(text: str, start: int, end: int) -> bool:
    return start > 0 and end < len(text) and text[start - 1] in "\"'“‘" and text[end] in "\"'”’"


_YEAR_AFTER = re.compile(r"\s*[\(\[]?\s*((?:19|20)\d{2})\s*[\)\]]?")


_TITLE_FOLLOWERS = frozenset("is was were has had and".split())
_VERDICT_VERBS = frozenset("is was were".split())
_VERDICT_FILLERS = frozenset("so really very pretty absolutely just truly a an the my all time".split())
_VERDICT_WORDS = frozenset(
    """great amazing awesome fantastic brilliant excellent incredible wonderful superb fun good
    terrible awful boring bad overrated underrated classic masterpiece favorite favourite perfect
    beautiful stunning gripping hilarious""".split()
)


def _verdict_after(tokens: list[Token], pos: int) -> bool:
    """Whether tokens[pos:] read "was great" / "is a classic" / "was so good" (a verdict on a film)."""
    if pos >= len(tokens) or tokens[pos].norm not in _VERDICT_VERBS:
        return False
    j = pos + 1
    while j < len(tokens) and j <= pos + 3 and tokens[j].norm in _VERDICT_FILLERS:
        j += 1
    return j < len(tokens) and tokens[j].norm in _VERDICT_WORDS


def _year_after(text: str, tokens: list[Token], pos: int) -> tuple[int | None, int]:
    """A year written right after token ``pos`` ("Heat (1995)", "Heat 1995", "Heat from 1995"):
    (year, tokens used)."""
    if pos + 1 < len(tokens) and tokens[pos].norm == "from":
        year, used = _year_after(text, tokens, pos + 1)
        return (year, used + 1) if year is not None else (None, 0)
    if pos >= len(tokens):
        return None, 0
    between = text[tokens[pos - 1].end : tokens[pos].start] if pos > 0 else ""
    if between.strip() not in ("", "("):
        return None, 0
    tok = tokens[pos].norm
    if len(tok) == 4 and tok.isdigit() and tok[:2] in ("19", "20"):
        return int(tok), 1
    return None, 0
