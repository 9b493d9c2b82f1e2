"""Understand one chat message without an LLM: titles, sentiment, genres, years, critiques, requests.

The result is a plain :class:`ParsedMessage` that tests can check and the store logs with every turn.
The parser is pure: it knows the catalog (titles, genres, tags) but not the dialogue; the state
(:mod:`bot.state`) resolves references ("the second one") and relative critiques ("older") against
what was shown last.

Critique mapping (documented here because it is a product decision):

* "less violent" / "nothing violent" -> genres_out Horror, War, Crime and excluded tags
  violence, violent, gore, brutal; Action and Thriller stay allowed (too broad: most are mild).
* "less scary" -> genres_out Horror; "lighter" / "less dark" / "happier" -> genres_out Horror, War
  and excluded tags dark, depressing.
* "funnier" -> genres_in Comedy; "scarier" -> Horror; "more action" -> Action; "more romantic" ->
  Romance; "less romantic" / "less cheesy" -> genres_out Romance; "more serious" -> Drama.
* "older" / "newer" / "more recent" are relative to the last list (see :mod:`bot.state`).
* "shorter" / "longer": MovieLens has no running times, so the bot says so instead of pretending.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from bot.facts import INJECTION_WORDS
from bot.titles import COMMON_WORDS, LIKE_LEADS, TitleIndex, Token, tokenize

# --- vocabularies ---------------------------------------------------------------------------------
# Phrase (normalised tokens) -> catalog genres. Multi-word phrases are matched first.
GENRE_PHRASES: dict[str, tuple[str, ...]] = {
    "action": ("Action",), "adventure": ("Adventure",), "adventures": ("Adventure",),
    "animation": ("Animation",), "animated": ("Animation",), "cartoon": ("Animation",),
    "cartoons": ("Animation",), "anime": ("Animation",), "pixar": ("Animation",),
    "children": ("Children",), "childrens": ("Children",), "kids": ("Children",), "family": ("Children",),
    "comedy": ("Comedy",), "comedies": ("Comedy",), "funny": ("Comedy",), "hilarious": ("Comedy",),
    "laugh": ("Comedy",), "crime": ("Crime",), "gangster": ("Crime",), "heist": ("Crime",),
    "mafia": ("Crime",), "documentary": ("Documentary",), "documentaries": ("Documentary",),
    "docs": ("Documentary",), "drama": ("Drama",), "dramas": ("Drama",), "fantasy": ("Fantasy",),
    "noir": ("Film-Noir",), "film noir": ("Film-Noir",), "horror": ("Horror",), "scary": ("Horror",),
    "slasher": ("Horror",), "imax": ("IMAX",), "musical": ("Musical",), "musicals": ("Musical",),
    "mystery": ("Mystery",), "mysteries": ("Mystery",), "whodunit": ("Mystery",),
    "romance": ("Romance",), "romantic": ("Romance",), "romances": ("Romance",), "love story": ("Romance",),
    "romcom": ("Romance", "Comedy"), "rom com": ("Romance", "Comedy"),
    "romantic comedy": ("Romance", "Comedy"), "romantic comedies": ("Romance", "Comedy"),
    "sci fi": ("Sci-Fi",), "scifi": ("Sci-Fi",), "science fiction": ("Sci-Fi",), "space": ("Sci-Fi",),
    "thriller": ("Thriller",), "thrillers": ("Thriller",), "suspense": ("Thriller",),
    "war": ("War",), "western": ("Western",), "westerns": ("Western",), "cowboy": ("Western",),
}  # fmt: skip

NEGATORS = frozenset("no not nothing without except never none avoid skip hate hates dislike nor".split())
NEG_BEFORE_PHRASES = (
    "anything but",
    "cant stand",
    "cannot stand",
    "can not stand",
    "couldnt stand",
    "not a fan of",
    "not big on",
    "dont care for",
    "not really into",
    "dont want",
    "do not want",
    "dont like",
    "do not like",
    "not into",
    "no more",
    "tired of",
    "sick of",
    "other than",
    "rather not",
    "not in the mood for",
)
NEG_AFTER_PHRASES = ("not for me", "not my thing", "bores me", "bore me", "is not my thing")
POSITIVE = frozenset(
    """loved love loves liked like likes enjoyed enjoy adore adored favorite favourite
    fan great amazing awesome fantastic brilliant masterpiece best good perfect excellent wonderful fun
    incredible superb classic beautiful into recommend""".split()
)
NEGATIVE = frozenset(
    """hated hate hates disliked dislike boring bored awful terrible bad worst overrated
    dull sucked sucks meh annoying stupid disappointing disappointed cringe mediocre horrible lame
    garbage trash""".split()
)
SEEN = frozenset("seen watched saw rewatched".split())
FLIP = frozenset("not dont didnt doesnt wasnt isnt never arent werent cant couldnt wont no".split())
CLAUSE_BREAK = frozenset("but however though although whereas".split())
PUNCT_BREAK = re.compile(r"[.!?;]")
CUE_FOR_TITLE = frozenset(POSITIVE | NEGATIVE | SEEN | {"like", "to", "of", "about", "as"})

ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "last": -1,
}
CRITIQUES: dict[str, dict[str, Any]] = {
    "less violent": {"out": ("Horror", "War", "Crime"), "tags": ("violence", "violent", "gore", "brutal")},
    "less violence": {"out": ("Horror", "War", "Crime"), "tags": ("violence", "violent", "gore", "brutal")},
    "nothing violent": {"out": ("Horror", "War", "Crime"), "tags": ("violence", "violent", "gore", "brutal")},
    "not violent": {"out": ("Horror", "War", "Crime"), "tags": ("violence", "violent", "gore", "brutal")},
    "less gory": {"out": ("Horror",), "tags": ("gore", "gory")},
    "too gory": {"tags": ("gore", "gory")},
    "no gore": {"tags": ("gore", "gory")},
    "less scary": {"out": ("Horror",)},
    "not too scary": {"out": ("Horror",)},
    "lighter": {"out": ("Horror", "War"), "tags": ("dark", "depressing")},
    "less dark": {"out": ("Horror", "War"), "tags": ("dark", "depressing")},
    "happier": {"out": ("Horror", "War"), "tags": ("dark", "depressing")},
    "less depressing": {"out": ("Horror", "War"), "tags": ("dark", "depressing")},
    "feel good": {"out": ("Horror", "War"), "tags": ("dark", "depressing")},
    "feelgood": {"out": ("Horror", "War"), "tags": ("dark", "depressing")},
    "funnier": {"in": ("Comedy",)},
    "more funny": {"in": ("Comedy",)},
    "more comedy": {"in": ("Comedy",)},
    "scarier": {"in": ("Horror",)},
    "more action": {"in": ("Action",)},
    "more romantic": {"in": ("Romance",)},
    "less romantic": {"out": ("Romance",)},
    "less romance": {"out": ("Romance",)},
    "less cheesy": {"out": ("Romance",)},
    "more serious": {"in": ("Drama",)},
    "shorter": {"note": "runtime"},
    "longer": {"note": "runtime"},
    "less long": {"note": "runtime"},
    "under two hours": {"note": "runtime"},
    "under 2 hours": {"note": "runtime"},
    "too long": {"note": "runtime"},
    "not long": {"note": "runtime"},
    "quick watch": {"note": "runtime"},
}
OLDER_WORDS = (
    "older",
    "old",
    "classics",
    "classic movies",
    "classic films",
    "old classics",
    "oldies",
    "old school",
    "vintage",
    "golden age",
)
NEWER_WORDS = ("more recent", "newer", "recent", "latest", "modern", "new releases", "nothing old")
DECADE_WORDS = {
    "twenties": 1920,
    "thirties": 1930,
    "forties": 1940,
    "fifties": 1950,
    "sixties": 1960,
    "seventies": 1970,
    "eighties": 1980,
    "nineties": 1990,
    "noughties": 2000,
}
MOVIE_WORDS = frozenset(
    """movie movies film films watch watching recommend recommendation
    recommendations suggest suggestion suggestions show flick flicks cinema genre tonight something
    anything mood pick picks options option bored""".split()
)
FILLER_EXTRA = frozenset(
    """want wanna looking look give find need id im ive
    please thanks really maybe kind sort type prefer would could should can get got some any hello hi
    hey there morning afternoon evening howdy looks look sounds seems surprise random whatever start
    over reset dont didnt doesnt wasnt
    isnt""".split()
)
FILLER = COMMON_WORDS | MOVIE_WORDS | FILLER_EXTRA

# Words dropped from the soft text: function words and chat filler, but not content words such as
# "time", "war" or "dark" that COMMON_WORDS holds for title matching.
SOFT_STOP = (
    frozenset(ENGLISH_STOP_WORDS)
    | MOVIE_WORDS
    | FILLER_EXTRA
    | frozenset(
        """like liked love loved watch watched seen saw good great bad best fun new old older recent classic
    more less tonight today yesterday night week weekend lot bit stuff thing things one ones know want
    mood feel feeling think mind never ok okay fine alright""".split()
    )
)

_RE_GREETING = re.compile(
    r"^\s*(hi|hello|hey|hiya|howdy|yo|hallo|greetings|good (morning|afternoon|evening))\b", re.I
)
_RE_THANKS = re.compile(r"\b(thanks|thank you|thx|cheers|bye|goodbye|see you|good night)\b", re.I)
_RE_RESET = re.compile(
    r"\b(start over|start again|start from scratch|reset|restart|forget (everything|all that"
    r"|it all|what i said)|new search|clear (it|everything|my preferences))\b",
    re.I,
)
_RE_WHY = re.compile(
    r"^\s*(why|how come|what makes|explain)\b|\bwhy (did|do|would|is|was|that|this|the|these|"
    r"those|it|recommend)\b|\btell me (more )?about (the|that|this|it|number)\b",
    re.I,
)
_RE_MORE = re.compile(
    r"^\s*(more|(show|give) me more|more please|next|others?|other (ones|options|suggestions|"
    r"movies|films)|something else|anything else|different ones|what else|keep going)\b"
    r"|\b(show|give|got|have) (me )?(some )?more\b|\bmore like (that|this|it|those|these|them|"
    r"the)\b|\b(other|more|different) (options|ones|suggestions|picks)\b",
    re.I,
)
_RE_SURPRISE = re.compile(
    r"\b(surprise me|random|you pick|you choose|up to you|dunno|i don'?t know|no idea|"
    r"not sure|idk|doesn'?t matter|whatever|anything is fine|anything goes)\b",
    re.I,
)
_RE_ALL_SEEN = re.compile(
    r"\b(seen|watched|saw) (them|those|these|all|both|all of (them|those|these)|"
    r"them all|every one)\b|\b(all|both) (of them|of those)? ?(seen|watched)\b",
    re.I,
)
_RE_DECADE = re.compile(r"(?<![\w$])(?P<mod>early|late|mid)?[\s-]*'?(?P<dec>(?:19|20)?\d0)'?s\b", re.I)
_RE_AFTER = re.compile(
    r"\b(after|since|post|newer than|from|later than)\s+(?:the\s+)?((?:19|20)\d{2})(?!s)\b", re.I
)
_RE_BEFORE = re.compile(
    r"\b(before|pre|older than|until|prior to|earlier than)\s+(?:the\s+)?((?:19|20)\d{2})(?!s)\b", re.I
)
_RE_BETWEEN = re.compile(
    r"\b(?:between|from)\s+((?:19|20)\d{2})\s*(?:and|to|-|–|until)\s*((?:19|20)\d{2})\b", re.I
)
_RE_IN_YEAR = re.compile(r"\b(?:in|released in|made in)\s+((?:19|20)\d{2})(?!s)\b", re.I)
_RE_RATING_NUM = re.compile(
    r"\b(?:rated|rating|ratings|score|stars?)\s*(?:of\s+)?(?:above|over|at least|>=?|"
    r"higher than|more than)\s*(\d(?:\.\d)?)|\bat least\s*(\d(?:\.\d)?)\s*stars?"
    r"|\b(\d(?:\.\d)?)\s*stars?\s*(?:or (?:more|higher|better|above)|and up|\+)",
    re.I,
)
_RE_RATING_VAGUE = re.compile(
    r"\b(highly|well|top|best|high(ly)?[- ]rated|critically acclaimed|acclaimed|"
    r"good ratings|high ratings|well reviewed|great reviews)\b[- ]?(rated)?",
    re.I,
)
_RE_REF = re.compile(
    r"\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b(?:\s+(?:one|"
    r"movie|film|pick|option|suggestion))?|\b(?:number|no\.?|#|option)\s*(\d)\b",
    re.I,
)
_RE_THAT_ONE = re.compile(r"\b(that one|this one|that movie|this movie|that film|that|it)\b", re.I)
_RE_OFF_TOPIC = re.compile(
    r"^\s*(who|what|whats|what's|when|where|how|is|are|can you|could you|will|do you|"
    r"tell me a joke|help me)\b",
    re.I,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def clean_text(text: str) -> str:
    """Strip control and invisible characters; collapse runs of spaces (newlines become spaces)."""
    text = _CONTROL.sub(" ", text.replace("\t", " "))
    return " ".join(text.split())


# --- the result -----------------------------------------------------------------------------------
@dataclass
class Mention:
    """A catalog title named in the message, with what the user feels about it."""

    item_id: int
    text: str
    sentiment: str  # "like", "dislike", "seen", "neutral"
    score: float  # match score (100 exact)
    how: str  # exact / derived / fuzzy
    alternatives: list[int] = field(default_factory=list)  # same-named items passed over by popularity


@dataclass
class AmbiguousMention:
    """A name that fits several items equally well; the agent asks which one was meant."""

    text: str
    options: list[int]
    sentiment: str


@dataclass
class Reference:
    """A pointer into the last list ("the second one"): position (0-based, -1 last, None all)."""

    position: int | None
    action: str  # "like", "dislike", "seen", "not_interested", "why", "more_like", "focus"
    all_items: bool = False


@dataclass
class ParsedMessage:
    """Everything the parser understood from one message."""

    text: str
    intent: str = "recommend"  # greeting, recommend, more, why, surprise, reset, thanks, off_topic, choose
    mentions: list[Mention] = field(default_factory=list)
    ambiguous: list[AmbiguousMention] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    genres_in: list[str] = field(default_factory=list)
    genres_out: list[str] = field(default_factory=list)
    excluded_tags: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    min_rating: float | None = None
    critiques: list[str] = field(default_factory=list)  # relative ones: "older", "newer"
    notes: list[str] = field(default_factory=list)  # honest answers, e.g. "runtime"
    soft_text: str = ""  # content words for the semantic search
    greeting: bool = False

    def has_preference(self) -> bool:
        """Whether the message itself says something a recommendation can use."""
        return bool(
            [m for m in self.mentions if m.sentiment in ("like", "neutral")]
            or self.genres_in
            or self.soft_text
            or self.year_min is not None
            or self.year_max is not None
            or self.min_rating is not None
            or self.critiques
            or any(r.action in ("like", "more_like") for r in self.references)
        )

    def has_signal(self) -> bool:
        """Whether the message is about movies at all (preferences, constraints, feedback, requests)."""
        return bool(
            self.has_preference()
            or self.mentions
            or self.ambiguous
            or self.references
            or self.genres_out
            or self.excluded_tags
            or self.notes
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- parsing --------------------------------------------------------------------------------------
class MessageParser:
    """Parse messages against one catalog: its title index, genre names and tag vocabulary."""

    def __init__(
        self,
        titles: TitleIndex,
        tag_vocabulary: set[str] | frozenset[str] = frozenset(),
        max_year: int = 2018,
    ) -> None:
        self.titles = titles
        self.tags = {t.casefold() for t in tag_vocabulary}
        self.max_year = max_year

    def parse(self, message: str) -> ParsedMessage:
        """Parse one message (already length-checked by the agent)."""
        text = clean_text(message)
        out = ParsedMessage(text=text)
        if not text:
            out.intent = "empty"
            return out
        tokens = tokenize(text)
        norms = [t.norm for t in tokens]
        used = [False] * len(tokens)
        # 1. titles (exact everywhere, fuzzy after cues and in quotes)
        matches = self.titles.find(text, tokens, _fuzzy_spans(text, tokens))
        for m in matches:
            for k in range(m.start, m.end):
                used[k] = True
            sentiment = _sentiment(text, tokens, m.start, m.end)
            if m.ambiguous:
                out.ambiguous.append(AmbiguousMention(m.text, m.item_ids[:3], sentiment))
            elif m.item_ids and all(x.item_id != m.item_ids[0] for x in out.mentions):
                out.mentions.append(Mention(m.item_ids[0], m.text, sentiment, m.score, m.how, m.alternatives))
        # 2. critiques, genres, tags, years, ratings
        self._critiques(text, norms, used, out)
        self._genres(tokens, norms, used, out)
        self._tags(tokens, norms, used, out)
        self._years(text, tokens, used, out)
        self._rating(text, tokens, used, out)
        # 3. references to the last list, requests, and the intent
        self._references(text, tokens, used, out)
        out.greeting = bool(_RE_GREETING.search(text))
        out.soft_text = _soft_text(tokens, used, out)
        out.intent = self._intent(text, norms, out)
        return out

    # --- pieces -----------------------------------------------------------------------------------
    def _critiques(self, text: str, norms: list[str], used: list[bool], out: ParsedMessage) -> None:
        joined = " " + " ".join(norms) + " "
        for phrase, effect in CRITIQUES.items():
            if f" {phrase} " not in joined:
                continue
            out.genres_in.extend(g for g in effect.get("in", ()) if g not in out.genres_in)
            out.genres_out.extend(g for g in effect.get("out", ()) if g not in out.genres_out)
            out.excluded_tags.extend(t for t in effect.get("tags", ()) if t not in out.excluded_tags)
            if "note" in effect and effect["note"] not in out.notes:
                out.notes.append(effect["note"])
            _mark_phrase(norms, used, phrase)
        for words, label in ((NEWER_WORDS, "newer"), (OLDER_WORDS, "older")):
            for phrase in words:
                if f" {phrase} " in joined and not _phrase_used(norms, used, phrase):
                    if label not in out.critiques and not (label == "older" and "newer" in out.critiques):
                        out.critiques.append(label)
                    _mark_phrase(norms, used, phrase)

    def _genres(self, tokens: list[Token], norms: list[str], used: list[bool], out: ParsedMessage) -> None:
        i = 0
        while i < len(norms):
            hit = None
            for n in (2, 1):
                phrase = " ".join(norms[i : i + n])
                if len(norms[i : i + n]) == n and phrase in GENRE_PHRASES and not any(used[i : i + n]):
                    hit = (n, GENRE_PHRASES[phrase])
                    break
            if hit is None:
                i += 1
                continue
            n, genres = hit
            negated = _negated(norms, i, i + n)
            target, other = (out.genres_out, out.genres_in) if negated else (out.genres_in, out.genres_out)
            for g in genres:
                if g not in target:
                    target.append(g)
                if g in other:
                    other.remove(g)
            for k in range(i, i + n):
                used[k] = True
            i += n

    def _tags(self, tokens: list[Token], norms: list[str], used: list[bool], out: ParsedMessage) -> None:
        """'nothing with zombies', 'no vampires', 'without gore' -> excluded tags (catalog tags only)."""
        for i, word in enumerate(norms):
            if used[i] or word in FILLER or not self._is_tag(word):
                continue
            if _negated(norms, i, i + 1, window=3):
                if word not in out.excluded_tags:
                    out.excluded_tags.append(word)
                used[i] = True

    def _is_tag(self, word: str) -> bool:
        return word in self.tags or word.rstrip("s") in self.tags or f"{word}s" in self.tags

    def _years(self, text: str, tokens: list[Token], used: list[bool], out: ParsedMessage) -> None:
        spans: list[tuple[int, int]] = []
        lows: list[int] = []
        highs: list[int] = []
        for m in _RE_BETWEEN.finditer(text):
            a, b = sorted((int(m.group(1)), int(m.group(2))))
            lows.append(a)
            highs.append(b)
            spans.append(m.span())
        for m in _RE_DECADE.finditer(text):
            if _inside(m.span(), spans) or _after_possessive(text, m.start()):
                continue
            dec = m.group("dec")
            start = int(dec) if len(dec) == 4 else (2000 + int(dec) if int(dec) <= 10 else 1900 + int(dec))
            lo, hi = start, start + 9
            mod = (m.group("mod") or "").lower()
            if mod == "early":
                hi = start + 4
            elif mod == "late":
                lo = start + 5
            elif mod == "mid":
                lo, hi = start + 3, start + 7
            lows.append(lo)
            highs.append(hi)
            spans.append(m.span())
        lower = text.lower()
        for word, start in DECADE_WORDS.items():
            if re.search(rf"\b{word}\b", lower):
                lows.append(start)
                highs.append(start + 9)
        if lows:
            out.year_min, out.year_max = min(lows), max(highs)
        for m in _RE_AFTER.finditer(text):
            if _inside(m.span(), spans) or _is_title_year(m.start(2), tokens, used):
                continue
            year = int(m.group(2))
            word = m.group(1).lower()
            out.year_min = year + 1 if word in ("after", "post", "later than", "newer than") else year
            if word == "from" and not re.match(
                r"\s*(on|onwards|onward|and later|or later|\+)", text[m.end() :]
            ):
                out.year_max = year  # "something from 1994": that year
        for m in _RE_BEFORE.finditer(text):
            if _inside(m.span(), spans):
                continue
            year = int(m.group(2))
            out.year_max = year - 1 if m.group(1).lower() not in ("until",) else year
        for m in _RE_IN_YEAR.finditer(text):
            if _inside(m.span(), spans) or _is_title_year(m.start(1), tokens, used):
                continue
            out.year_min = out.year_max = int(m.group(1))
        for tok_i, tok in enumerate(tokens):  # mark year-ish tokens used so they stay out of soft text
            if tok.norm.isdigit() or re.fullmatch(r"\d0s", tok.norm) or tok.norm in DECADE_WORDS:
                used[tok_i] = True

    def _rating(self, text: str, tokens: list[Token], used: list[bool], out: ParsedMessage) -> None:
        m = _RE_RATING_NUM.search(text)
        if m:
            value = float(next(g for g in m.groups() if g))
            if 0 < value <= 5:
                out.min_rating = value
        elif _RE_RATING_VAGUE.search(text) and re.search(
            r"\b(rated|acclaimed|ratings|reviewed|reviews)\b", text, re.I
        ):
            out.min_rating = 3.8  # "highly rated": the top fifth of MovieLens means with enough ratings
        if out.min_rating is not None:
            for i, t in enumerate(tokens):
                if t.norm in (
                    "rated",
                    "rating",
                    "ratings",
                    "acclaimed",
                    "critically",
                    "highly",
                    "stars",
                    "reviewed",
                    "reviews",
                ):
                    used[i] = True

    def _references(self, text: str, tokens: list[Token], used: list[bool], out: ParsedMessage) -> None:
        lower = text.lower()
        action = _reference_action(lower)
        if _RE_ALL_SEEN.search(text):
            out.references.append(Reference(None, "seen", all_items=True))
            return
        found = False
        for m in _RE_REF.finditer(text):
            if m.group(1):
                word = m.group(1).lower()
                # "first" needs "the"/"one" around it or a short message: "my first date" is no reference
                if word in ("first", "last") and not re.search(
                    rf"\b(the|that|this)\s+{word}\b|\b{word}\s+(one|movie|film|pick|option)\b|^\s*{word}\b",
                    lower,
                ):
                    continue
                pos = ORDINALS[word]
            else:
                pos = int(m.group(2)) - 1
            out.references.append(Reference(pos, action or "focus"))
            found = True
        if not found and action in ("seen", "not_interested", "like", "dislike", "more_like", "why"):
            if _RE_THAT_ONE.search(text) and not out.mentions:
                if action == "why" or re.search(
                    r"\b(that one|this one|that movie|this movie|that film|seen it|"
                    r"seen that|watched it|watched that|not that|like that|like it|"
                    r"liked it|loved it|hated it|love it)\b",
                    lower,
                ):
                    out.references.append(Reference(None, action))
        for i, t in enumerate(tokens):
            if t.norm in ORDINALS or t.norm in ("one", "that", "this", "it"):
                used[i] = True

    def _intent(self, text: str, norms: list[str], out: ParsedMessage) -> str:
        if _RE_RESET.search(text):
            return "reset"
        if _RE_WHY.search(text):
            for r in out.references:
                r.action = "why"
            return "why"
        if _RE_MORE.search(text):
            if re.search(r"\bmore like\b", text, re.I) and not out.mentions:
                if out.references:
                    for r in out.references:
                        r.action = "more_like"
                else:
                    out.references.append(Reference(None, "more_like"))
            return "more"
        if _RE_SURPRISE.search(text):
            soft, out.soft_text = out.soft_text, ""
            if not out.has_preference():
                return "surprise"
            out.soft_text = soft
        only_soft = out.soft_text and not (
            out.has_signal()
            and (out.genres_in or out.mentions or out.references or out.critiques or out.genres_out)
        )
        injected = set(out.soft_text.split()) & INJECTION_WORDS
        if only_soft and (injected or (not set(norms) & MOVIE_WORDS and _RE_OFF_TOPIC.search(text))):
            out.soft_text = ""
            return "off_topic"
        if out.has_signal():
            return "recommend"
        if out.greeting:
            return "greeting"
        if _RE_THANKS.search(text):
            return "thanks"
        if set(norms) & MOVIE_WORDS:
            return "recommend"
        content = [w for w in norms if w not in FILLER]
        return "off_topic" if content or len(norms) > 2 else "recommend"


# --- helpers --------------------------------------------------------------------------------------
def _boundary(text: str, tokens: list[Token], a: int, b: int) -> bool:
    """Whether a sentence break lies between token a and token b (a < b)."""
    return bool(PUNCT_BREAK.search(text[tokens[a].end : tokens[b].start]))


def _sentiment(text: str, tokens: list[Token], lo: int, hi: int) -> str:
    """What the user feels about the title at tokens[lo:hi]: like, dislike, seen or neutral."""
    # After the title, within its clause: "X was boring", "X is my favourite", "X and loved it"
    for j in range(hi, min(len(tokens), hi + 6)):
        if j > hi and (_boundary(text, tokens, j - 1, j) or "," in text[tokens[j - 1].end : tokens[j].start]):
            break
        word = tokens[j].norm
        if word in CLAUSE_BREAK:
            break
        label = _cue(word)
        if label and label != "seen" and word != "like":
            flip = any(tokens[k].norm in FLIP for k in range(max(hi, j - 3), j))
            return _flip(label) if flip else label
    # Before the title, back to the sentence start or a "but": the nearest cue wins
    for j in range(lo - 1, -1, -1):
        if _boundary(text, tokens, j, j + 1) or tokens[j].norm in CLAUSE_BREAK:
            break
        label = _cue(tokens[j].norm)
        if label:
            flip = any(
                tokens[k].norm in FLIP and not _boundary(text, tokens, k, j) for k in range(max(0, j - 3), j)
            )
            if tokens[j].norm == "like" and j > 0 and tokens[j - 1].norm in ("nothing", "not", "unlike"):
                return "dislike"
            return _flip(label) if flip else label
    return "neutral"


def _cue(word: str) -> str | None:
    if word in POSITIVE:
        return "like"
    if word in NEGATIVE:
        return "dislike"
    if word in SEEN:
        return "seen"
    return None


def _flip(label: str) -> str:
    return {"like": "dislike", "dislike": "like"}.get(label, label)


def _negated(norms: list[str], lo: int, hi: int, window: int = 4) -> bool:
    """Whether the phrase at [lo, hi) is negated: "no horror", "nothing too scary", "horror is not for me"."""
    before = norms[max(0, lo - window) : lo]
    joined_before = " ".join(norms[max(0, lo - 6) : lo])
    if any(w in NEGATORS for w in before) or any(
        joined_before.endswith(p) or f"{p} " in joined_before for p in NEG_BEFORE_PHRASES
    ):
        # "not that one, I want horror" is handled by the caller's clause split; here a positive
        # verb after the negator ("no, I love horror") cancels it.
        last_neg = (
            max(i for i, w in enumerate(before) if w in NEGATORS)
            if any(w in NEGATORS for w in before)
            else -1
        )
        after_neg = before[last_neg + 1 :]
        if last_neg >= 0 and any(
            w in ("want", "love", "like", "prefer", "loved", "liked", "need") for w in after_neg
        ):
            return False
        return True
    after = " ".join(norms[hi : hi + 5])
    return any(after.startswith(p) or f" {p}" in f" {after}"[: len(p) + 8] for p in NEG_AFTER_PHRASES)


def _reference_action(lower: str) -> str | None:
    if re.search(r"\b(seen|watched|saw)\b", lower):
        return "seen"
    if re.search(r"\bwhy\b", lower):
        return "why"
    if re.search(r"\bmore like\b", lower):
        return "more_like"
    if re.search(r"\b(hated|hate|boring|awful|terrible|don'?t like|didn'?t like|dislike)\b", lower):
        return "dislike"
    if re.search(
        r"\b(not (that|this|the)|no to|skip|not interested|nah|pass on|not for me|not in the mood)\b", lower
    ):
        return "not_interested"
    if re.search(r"\b(love|loved|like|liked|sounds good|looks good|great|perfect|interesting|nice)\b", lower):
        return "like"
    return None


def _fuzzy_spans(text: str, tokens: list[Token]) -> list[tuple[int, int]]:
    """Token ranges where a title is expected: after a cue word, and inside quotes."""
    spans = []
    cue_in_sentence = False
    for i, t in enumerate(tokens):
        if i > 0 and _boundary(text, tokens, i - 1, i):
            cue_in_sentence = False
        if t.norm in POSITIVE | NEGATIVE | SEEN:
            cue_in_sentence = True
        # "I loved the matrx and termnator 2": every item of the list after a cue may be a title
        gap_before = text[tokens[i - 1].end : t.start] if i > 0 else ""
        if cue_in_sentence and i > 0 and (t.norm in ("and", "or") or "," in gap_before):
            start = i + 1 if t.norm in ("and", "or") else i
            end = start
            while end < len(tokens) and end - start < 8:
                gap = text[tokens[end - 1].end : tokens[end].start] if end > start else ""
                if end > start and (
                    PUNCT_BREAK.search(gap) or "," in gap or tokens[end].norm in ("and", "or", "but")
                ):
                    break
                end += 1
            if end > start:
                spans.append((start, end))
        if t.norm in CUE_FOR_TITLE and i + 1 < len(tokens):
            if t.norm == "like" and (i == 0 or tokens[i - 1].norm not in LIKE_LEADS):
                continue  # "the weather like tomorrow": only "something like X" expects a title
            if t.norm in ("to", "of", "about", "as") and (
                i == 0
                or tokens[i - 1].norm
                not in ("similar", "fan", "fans", "movies", "films", "something", "same")
            ):
                continue
            end = i + 1
            while end < len(tokens) and end - i <= 10:
                gap = text[tokens[end - 1].end : tokens[end].start]
                if end > i + 1 and (
                    PUNCT_BREAK.search(gap)
                    or "," in gap
                    or tokens[end].norm
                    in ("and", "but", "or", "because", "since", "last", "yesterday", "when", "with")
                ):
                    break
                end += 1
            spans.append((i + 1, end))
    for m in re.finditer(r"[\"“]([^\"”]{2,80})[\"”]", text):
        inside = [i for i, t in enumerate(tokens) if m.start(1) <= t.start and t.end <= m.end(1)]
        if inside:
            spans.append((inside[0], inside[-1] + 1))
    return spans


def _mark_phrase(norms: list[str], used: list[bool], phrase: str) -> None:
    words = phrase.split()
    for i in range(len(norms) - len(words) + 1):
        if norms[i : i + len(words)] == words:
            for k in range(i, i + len(words)):
                used[k] = True


def _phrase_used(norms: list[str], used: list[bool], phrase: str) -> bool:
    words = phrase.split()
    for i in range(len(norms) - len(words) + 1):
        if norms[i : i + len(words)] == words and not any(used[i : i + len(words)]):
            return False
    return True


def _inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a <= span[0] < b for a, b in spans)


def _after_possessive(text: str, start: int) -> bool:
    """'in my 30s' is an age, not a decade."""
    return bool(re.search(r"\b(my|our|his|her|their|i'?m in)\s*$", text[:start], re.I))


def _is_title_year(char_pos: int, tokens: list[Token], used: list[bool]) -> bool:
    """A year that belongs to a matched title ("Heat from 1995") is not a constraint."""
    for i, t in enumerate(tokens):
        if t.start == char_pos:
            return used[i] or (i >= 2 and used[i - 2] and tokens[i - 1].norm in ("from", "in"))
    return False


def _soft_text(tokens: list[Token], used: list[bool], out: ParsedMessage) -> str:
    """Content words left for the semantic search: no titles, no negated words, no chat filler."""
    words = []
    negated = set(out.excluded_tags) | {g.lower() for g in out.genres_out}
    for i, t in enumerate(tokens):
        w = t.norm
        if used[i] and w not in GENRE_PHRASES:
            continue
        if w in SOFT_STOP and w not in GENRE_PHRASES or w in NEGATORS or w in POSITIVE or w in NEGATIVE:
            continue
        if w in negated or (w in GENRE_PHRASES and set(GENRE_PHRASES[w]) & set(out.genres_out)):
            continue
        if len(w) < 3 or w.isdigit() or re.fullmatch(r"\d+s", w):
            continue
        words.append(w)
    if all(w in GENRE_PHRASES for w in words):
        return ""  # only genre words: the genre constraint says it already
    return " ".join(dict.fromkeys(words))
