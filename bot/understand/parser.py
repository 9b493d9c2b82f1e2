"""Understand one chat message without an LLM: titles, sentiment, genres, years, critiques, requests.

The result is a plain :class:`ParsedMessage` that tests can check and the store logs with every turn.
The parser is pure: it knows the catalog (titles, genres, tags) but not the dialogue; the state
(:mod:`bot.state`) resolves references ("the second one") and relative critiques ("older") against
what was shown last. The vocabulary lives in :mod:`bot.understand.vocabulary`, the token-level rules
(sentiment, negation, title spans, soft text) in :mod:`bot.understand.rules`; titles are found by
:mod:`bot.understand.titles`.

Critique mapping (documented here because it is a product decision):

* moods ("less violent", "lighter", "not depressing", "for kids", "black-and-white" ...) are labels
  of :mod:`bot.understand.moods`, which maps them to genres, tags and years (and a re-ranking of candidates);
* director, actor, runtime, language, streaming and age-rating requests are found by
  :mod:`bot.understand.unknown_attributes`; where the catalog has a field for them
  (:mod:`bot.understand.catalog_fields`, configured) they become metadata filters
  (``ParsedMessage.attributes``), otherwise the reply says the catalog does not know them.
* "funnier" -> genres_in Comedy; "scarier" -> Horror; "more action" -> Action; "more romantic" ->
  Romance; "less romantic" / "less cheesy" -> genres_out Romance; "more serious" -> Drama.
* "older" / "newer" / "more recent" are relative to the last list (see :mod:`bot.state`).
* "shorter" / "longer": a runtime bound where the catalog has running times; MovieLens has none,
  so the bot says so instead of pretending.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.explain.facts import INJECTION_WORDS
from bot.understand import rules
from bot.understand.catalog_fields import CatalogFields, runtime_filter
from bot.understand.moods import find_moods
from bot.understand.titles import TitleIndex, Token, tokenize
from bot.understand.unknown_attributes import Unsupported, attribute_spans, find_unsupported
from bot.understand.vocabulary import (
    CONTROL_CHARS,
    CRITIQUES,
    DECADE_WORDS,
    FILLER,
    GENRE_PHRASES,
    MOVIE_WORDS,
    NEWER_WORDS,
    NOT_NEWER_WORDS,
    OLDER_WORDS,
    ORDINALS,
    RE_AFTER,
    RE_ALL_SEEN,
    RE_BEFORE,
    RE_BETWEEN,
    RE_DECADE,
    RE_GREETING,
    RE_IN_YEAR,
    RE_MORE,
    RE_OFF_TOPIC,
    RE_RATING_NUM,
    RE_RATING_VAGUE,
    RE_REACTION,
    RE_REF,
    RE_RESET,
    RE_SURPRISE,
    RE_THANKS,
    RE_THAT_ONE,
    RE_WHY,
    genre_typo,
)


def clean_text(text: str) -> str:
    """Strip control and invisible characters; collapse runs of spaces (newlines become spaces)."""
    text = CONTROL_CHARS.sub(" ", text.replace("\t", " "))
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
    moods: list[str] = field(
        default_factory=list
    )  # labels of bot.understand.moods.MOODS ("lighter", "for kids")
    unsupported: list[Unsupported] = field(default_factory=list)  # director, actor, runtime ... asked for
    # metadata filters on the catalog's own fields (bot.types.AttributeFilter as strings)
    attributes: list[str] = field(default_factory=list)

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
            or self.moods
            or any(a.startswith("in:") for a in self.attributes)
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
            or self.unsupported
            or self.attributes
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
        fields: CatalogFields | None = None,
    ) -> None:
        """``fields``: the catalog's metadata fields per request kind (none: every such request is a note)."""
        self.titles = titles
        self.tags = {t.casefold() for t in tag_vocabulary}
        self.max_year = max_year
        self.fields = fields or CatalogFields()

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
        # 1. titles (exact everywhere, fuzzy after cues and in quotes); words that say a mood or a
        # request the catalog cannot apply are no title ("for grown-ups", "on Amazon Prime")
        moods = find_moods(text)
        blocked = [span for _, span in moods] + attribute_spans(text)
        matches = [
            m
            for m in self.titles.find(text, tokens, rules.fuzzy_spans(text, tokens))
            if not any(a < tokens[m.end - 1].end and tokens[m.start].start < b for a, b in blocked)
        ]
        for m in matches:
            for k in range(m.start, m.end):
                used[k] = True
            stop = min((o.start for o in matches if o.start >= m.end), default=len(tokens))
            sentiment = rules.sentiment(text, tokens, m.start, m.end, stop)
            if m.ambiguous:
                out.ambiguous.append(AmbiguousMention(m.text, m.item_ids[:3], sentiment))
            elif m.item_ids and all(x.item_id != m.item_ids[0] for x in out.mentions):
                out.mentions.append(Mention(m.item_ids[0], m.text, sentiment, m.score, m.how, m.alternatives))
        if len(out.mentions) == 1 and out.mentions[0].sentiment in ("seen", "neutral") and not out.ambiguous:
            verdict = rules.later_verdict(text, tokens[matches[-1].end - 1].end) if matches else None
            out.mentions[0].sentiment = verdict or out.mentions[0].sentiment
        # 2. moods and requests the catalog cannot apply, then critiques, genres, tags, years, ratings
        self._moods(moods, text, tokens, used, out)
        self._critiques(text, norms, used, out)
        self._genres(text, tokens, norms, used, out)
        self._tags(text, tokens, norms, used, out)
        self._years(text, tokens, used, out)
        self._rating(text, tokens, used, out)
        # 3. references to the last list, requests, and the intent
        self._references(text, tokens, used, out)
        out.greeting = bool(RE_GREETING.search(text))
        out.soft_text = rules.soft_text(tokens, used, out)
        wanted_tags = [u.applied_tag for u in out.unsupported if u.wanted and u.applied_tag]
        if wanted_tags:  # "with Jim Carrey in it": the catalog's tag is a search word
            out.soft_text = " ".join(dict.fromkeys([*out.soft_text.split(), *" ".join(wanted_tags).split()]))
        out.intent = self._intent(text, norms, out)
        return out

    # --- pieces -----------------------------------------------------------------------------------
    def _moods(
        self,
        moods: list[tuple[str, tuple[int, int]]],
        text: str,
        tokens: list[Token],
        used: list[bool],
        out: ParsedMessage,
    ) -> None:
        """Moods and unsupported attributes (understand.moods, .unknown_attributes); their words are used."""
        for label, (start, end) in moods:
            if label not in out.moods:
                out.moods.append(label)
            for i, t in enumerate(tokens):
                if start <= t.start < end:
                    used[i] = True
        out.unsupported = find_unsupported(text, tokens, used, self.tags)
        for u in out.unsupported:
            keys = self.fields.keys_for(u.field)
            if keys:  # the catalog has the field: the same words filter by it
                u.applied_field, u.applied_tag = ",".join(keys), None
                f = self.fields.filter_for(u)
                if f is not None and str(f) not in out.attributes:
                    out.attributes.append(str(f))
                continue
            if u.field == "runtime" and "runtime" not in out.notes:
                out.notes.append("runtime")
            if not u.wanted and u.applied_tag and u.applied_tag not in out.excluded_tags:
                out.excluded_tags.append(u.applied_tag)

    def _critiques(self, text: str, norms: list[str], used: list[bool], out: ParsedMessage) -> None:
        joined = " " + " ".join(norms) + " "
        for phrase, effect in CRITIQUES.items():
            if f" {phrase} " not in joined:
                continue
            out.genres_in.extend(g for g in effect.get("in", ()) if g not in out.genres_in)
            out.genres_out.extend(g for g in effect.get("out", ()) if g not in out.genres_out)
            out.excluded_tags.extend(t for t in effect.get("tags", ()) if t not in out.excluded_tags)
            runtime_keys = self.fields.keys_for("runtime") if effect.get("note") == "runtime" else ()
            bound = runtime_filter(phrase, runtime_keys) if runtime_keys else None
            if bound is not None:  # "shorter" on a catalog with running times
                if str(bound) not in out.attributes and not any(
                    a.startswith(("max:", "min:")) and a.split(":")[1] == "|".join(runtime_keys)
                    for a in out.attributes
                ):
                    out.attributes.append(str(bound))
            elif runtime_keys:
                pass  # the catalog has running times; nothing to bound by ("runtime")
            elif "note" in effect and effect["note"] not in out.notes:
                out.notes.append(effect["note"])
            rules.mark_phrase(norms, used, phrase)
        for words, label in ((NOT_NEWER_WORDS, "older"), (NEWER_WORDS, "newer"), (OLDER_WORDS, "older")):
            for phrase in words:
                if f" {phrase} " in joined and not rules.phrase_used(norms, used, phrase):
                    if label not in out.critiques and not (label == "older" and "newer" in out.critiques):
                        out.critiques.append(label)
                    rules.mark_phrase(norms, used, phrase)

    def _genres(
        self, text: str, tokens: list[Token], norms: list[str], used: list[bool], out: ParsedMessage
    ) -> None:
        i = 0
        while i < len(norms):
            hit = None
            for n in (2, 1):
                phrase = " ".join(norms[i : i + n])
                if len(norms[i : i + n]) == n and phrase in GENRE_PHRASES and not any(used[i : i + n]):
                    hit = (n, GENRE_PHRASES[phrase])
                    break
            if hit is None and not used[i] and (typo := genre_typo(norms[i])) is not None:
                hit = (1, typo)
            if hit is None:
                i += 1
                continue
            n, genres = hit
            negated = rules.negated(norms, i, i + n, floor=rules.sentence_start(text, tokens, i))
            target, other = (out.genres_out, out.genres_in) if negated else (out.genres_in, out.genres_out)
            for g in genres:
                if g not in target:
                    target.append(g)
                if g in other:
                    other.remove(g)
            for k in range(i, i + n):
                used[k] = True
            i += n

    def _tags(
        self, text: str, tokens: list[Token], norms: list[str], used: list[bool], out: ParsedMessage
    ) -> None:
        """'nothing with zombies', 'no vampires', 'without gore' -> excluded tags (catalog tags only)."""
        for i, word in enumerate(norms):
            if used[i] or word in FILLER or not self._is_tag(word):
                continue
            if rules.negated(norms, i, i + 1, window=3, floor=rules.sentence_start(text, tokens, i)):
                if word not in out.excluded_tags:
                    out.excluded_tags.append(word)
                used[i] = True

    def _is_tag(self, word: str) -> bool:
        return word in self.tags or word.rstrip("s") in self.tags or f"{word}s" in self.tags

    def _years(self, text: str, tokens: list[Token], used: list[bool], out: ParsedMessage) -> None:
        spans: list[tuple[int, int]] = []
        lows: list[int] = []
        highs: list[int] = []
        for m in RE_BETWEEN.finditer(text):
            a, b = sorted((int(m.group(1)), int(m.group(2))))
            lows.append(a)
            highs.append(b)
            spans.append(m.span())
        for m in RE_DECADE.finditer(text):
            if rules.inside_spans(m.span(), spans) or rules.after_possessive(text, m.start()):
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
        for m in RE_AFTER.finditer(text):
            if rules.inside_spans(m.span(), spans) or rules.is_title_year(m.start(2), tokens, used):
                continue
            year = int(m.group(2))
            word = m.group(1).lower()
            out.year_min = year + 1 if word in ("after", "post", "later than", "newer than") else year
            if word == "from" and not re.match(
                r"\s*(on|onwards|onward|and later|or later|\+)", text[m.end() :]
            ):
                out.year_max = year  # "something from 1994": that year
        for m in RE_BEFORE.finditer(text):
            if rules.inside_spans(m.span(), spans):
                continue
            year = int(m.group(2))
            out.year_max = year - 1 if m.group(1).lower() not in ("until",) else year
        for m in RE_IN_YEAR.finditer(text):
            if rules.inside_spans(m.span(), spans) or rules.is_title_year(m.start(1), tokens, used):
                continue
            out.year_min = out.year_max = int(m.group(1))
        for tok_i, tok in enumerate(tokens):  # mark year-ish tokens used so they stay out of soft text
            if tok.norm.isdigit() or re.fullmatch(r"\d0s", tok.norm) or tok.norm in DECADE_WORDS:
                used[tok_i] = True

    def _rating(self, text: str, tokens: list[Token], used: list[bool], out: ParsedMessage) -> None:
        m = RE_RATING_NUM.search(text)
        if m:
            value = float(next(g for g in m.groups() if g))
            if 0 < value <= 5:
                out.min_rating = value
        elif RE_RATING_VAGUE.search(text) and re.search(
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
        action = rules.reference_action(lower)
        if RE_ALL_SEEN.search(text):
            out.references.append(Reference(None, "seen", all_items=True))
            return
        found = False
        for m in RE_REF.finditer(text):
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
            if RE_THAT_ONE.search(text) and not out.mentions:
                if action == "why" or re.search(
                    r"\b(that one|this one|that movie|this movie|that film|seen it|"
                    r"seen that|watched it|watched that|not that|like that|like it|"
                    r"liked it|loved it|hated it|love it|"
                    r"it was (?:so |really )?(?:good|great|fun|amazing|awesome))\b",
                    lower,
                ):
                    out.references.append(Reference(None, action))
        for i, t in enumerate(tokens):
            if t.norm in ORDINALS or t.norm in ("one", "that", "this", "it"):
                used[i] = True

    def _intent(self, text: str, norms: list[str], out: ParsedMessage) -> str:
        if RE_RESET.search(text):
            return "reset"
        if RE_WHY.search(text):
            for r in out.references:
                r.action = "why"
            return "why"
        if RE_MORE.search(text):
            if re.search(r"\bmore like\b", text, re.I) and not out.mentions:
                if out.references:
                    for r in out.references:
                        r.action = "more_like"
                else:
                    out.references.append(Reference(None, "more_like"))
            return "more"
        if RE_SURPRISE.search(text):
            soft, out.soft_text = out.soft_text, ""
            if not out.has_preference():
                return "surprise"
            out.soft_text = soft
        only_soft = out.soft_text and not (
            out.has_signal()
            and (out.genres_in or out.mentions or out.references or out.critiques or out.genres_out)
        )
        injected = set(out.soft_text.split()) & INJECTION_WORDS
        if only_soft and (injected or (not set(norms) & MOVIE_WORDS and RE_OFF_TOPIC.search(text))):
            out.soft_text = ""
            return "off_topic"
        if out.has_signal():
            return "recommend"
        if out.greeting:
            return "greeting"
        if RE_THANKS.search(text):
            return "thanks"
        if set(norms) & MOVIE_WORDS or RE_REACTION.search(text):
            return "recommend"
        content = [w for w in norms if w not in FILLER]
        return "off_topic" if content or len(norms) > 2 else "recommend"
