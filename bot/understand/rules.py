"""The parser's rules on token level: sentiment of a mention, negation, references, title spans, soft text.

Pure functions over the tokens of one message (:func:`bot.understand.titles.tokenize`), used by
:class:`bot.understand.parser.MessageParser`.
"""

from __future__ import annotations

import re
from typing import Protocol

from bot.understand.title_evidence import LIKE_LEADS
from bot.understand.titles import Token
from bot.understand.vocabulary import (
    CLAUSE_BREAK,
    CUE_FOR_TITLE,
    FLIP,
    GENRE_PHRASES,
    NEG_AFTER_PHRASES,
    NEG_BEFORE_PHRASES,
    NEGATIVE,
    NEGATORS,
    OBJECT_PRONOUNS,
    POSITIVE,
    PUNCT_BREAK,
    RELATIVE,
    SEEN,
    SOFT_STOP,
    SUBJECTS,
)


class Negations(Protocol):
    """What :func:`soft_text` reads of the message parsed so far (a ``ParsedMessage``)."""

    excluded_tags: list[str]
    genres_out: list[str]


def boundary(text: str, tokens: list[Token], a: int, b: int) -> bool:
    """Whether a sentence break lies between token a and token b (a < b)."""
    return bool(PUNCT_BREAK.search(text[tokens[a].end : tokens[b].start]))


def sentiment(text: str, tokens: list[Token], lo: int, hi: int, stop: int | None = None) -> str:
    """What the user feels about the title at tokens[lo:hi]: like, dislike, seen or neutral.

    ``stop`` is where the next title starts: the cue after it is about that one ("Heat, and Casino
    which was boring").
    """
    # After the title, within its clause: "X was boring", "X is my favourite", "X and loved it".
    # The clause ends at sentence punctuation ("Aladdin. I hated Titanic"), a later comma, "but" /
    # "though", and where a new subject takes a verb about something else ("Aladdin and I hated
    # Titanic"; but "Heat and I loved it" is about Heat). Right after a comma following the title a
    # cue counts only when it points back: "Heat, loved it", "Heat, which I loved" ("Titanic, loved
    # Avatar" is about Avatar).
    after_comma = relative = False
    for j in range(hi, min(len(tokens), hi + 6, len(tokens) if stop is None else stop)):
        gap = text[tokens[j - 1].end : tokens[j].start]
        if boundary(text, tokens, j - 1, j) or ("," in gap and j > hi):
            break
        after_comma = after_comma or "," in gap
        word = tokens[j].norm
        if word in CLAUSE_BREAK:
            break
        relative = relative or (j == hi and word in RELATIVE)
        label = cue_label(word)
        if label and label != "seen" and word != "like":
            if new_subject(text, tokens, hi, j) or (
                after_comma and not relative and not points_back(text, tokens, j)
            ):
                break
            flip = any(tokens[k].norm in FLIP for k in range(max(hi, j - 3), j))
            return flipped(label) if flip else label
    # Before the title, back to the sentence start or a "but": the nearest cue wins
    for j in range(lo - 1, -1, -1):
        if boundary(text, tokens, j, j + 1) or tokens[j].norm in CLAUSE_BREAK:
            break
        label = cue_label(tokens[j].norm)
        if label:
            flip = any(
                tokens[k].norm in FLIP and not boundary(text, tokens, k, j) for k in range(max(0, j - 3), j)
            )
            if tokens[j].norm == "like" and j > 0 and tokens[j - 1].norm in ("nothing", "not", "unlike"):
                return "dislike"
            return flipped(label) if flip else label
    return "neutral"


def new_subject(text: str, tokens: list[Token], hi: int, j: int) -> bool:
    """Whether the cue at j has a subject of its own after the title ending at hi and an object
    that does not point back: then it starts a new clause about something else."""
    if not any(tokens[k].norm in SUBJECTS for k in range(hi, j)):
        return False
    return not points_back(text, tokens, j)


def points_back(text: str, tokens: list[Token], j: int) -> bool:
    """Whether the cue at j ends its clause or takes "it"/"that" as object ("loved it", "was great.")."""
    if j + 1 >= len(tokens):
        return True
    gap = text[tokens[j].end : tokens[j + 1].start]
    return bool(PUNCT_BREAK.search(gap)) or "," in gap or tokens[j + 1].norm in OBJECT_PRONOUNS


def sentence_start(text: str, tokens: list[Token], i: int) -> int:
    """Index of the first token of the sentence (ended by . ! ? ;) that token i belongs to.

    Not split at "but": "anything but romance" negates romance.
    """
    for j in range(i, 0, -1):
        if boundary(text, tokens, j - 1, j):
            return j
    return 0


def cue_label(word: str) -> str | None:
    if word in POSITIVE:
        return "like"
    if word in NEGATIVE:
        return "dislike"
    if word in SEEN:
        return "seen"
    return None


def flipped(label: str) -> str:
    return {"like": "dislike", "dislike": "like"}.get(label, label)


def negated(norms: list[str], lo: int, hi: int, window: int = 4, floor: int = 0) -> bool:
    """Whether the phrase at [lo, hi) is negated: "no horror", "nothing too scary", "horror is not for me".

    ``floor`` is the first token of the phrase's sentence: a negator in an earlier sentence
    ("I hate Titanic. Comedy please") does not reach it.
    """
    before = norms[max(0, lo - window, floor) : lo]
    joined_before = " ".join(norms[max(0, lo - 6, floor) : lo])
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


def reference_action(lower: str) -> str | None:
    # "I have not seen that yet", "haven't watched it": not seen (the rest of the message decides)
    not_seen = re.search(
        r"\b(not|never|haven'?t|hasn'?t|havent|didn'?t|didnt|not yet)\s+(yet\s+|even\s+|ever\s+)?"
        r"(seen|watched|saw)\b",
        lower,
    )
    if re.search(r"\b(seen|watched|saw)\b", lower) and not not_seen:
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
    if re.search(
        r"\b(love|loved|like|liked|sounds good|looks good|(?:was|is) (?:so |really )?good|great|perfect|"
        r"interesting|nice)\b",
        lower,
    ):
        return "like"
    return None


def fuzzy_spans(text: str, tokens: list[Token]) -> list[tuple[int, int]]:
    """Token ranges where a title is expected: after a cue word, and inside quotes."""
    spans = []
    cue_in_sentence = False
    for i, t in enumerate(tokens):
        if i > 0 and boundary(text, tokens, i - 1, i):
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


def mark_phrase(norms: list[str], used: list[bool], phrase: str) -> None:
    words = phrase.split()
    for i in range(len(norms) - len(words) + 1):
        if norms[i : i + len(words)] == words:
            for k in range(i, i + len(words)):
                used[k] = True


def phrase_used(norms: list[str], used: list[bool], phrase: str) -> bool:
    words = phrase.split()
    for i in range(len(norms) - len(words) + 1):
        if norms[i : i + len(words)] == words and not any(used[i : i + len(words)]):
            return False
    return True


def inside_spans(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a <= span[0] < b for a, b in spans)


def after_possessive(text: str, start: int) -> bool:
    """'in my 30s' is an age, not a decade."""
    return bool(re.search(r"\b(my|our|his|her|their|i'?m in)\s*$", text[:start], re.I))


def is_title_year(char_pos: int, tokens: list[Token], used: list[bool]) -> bool:
    """A year that belongs to a matched title ("Heat from 1995") is not a constraint."""
    for i, t in enumerate(tokens):
        if t.start == char_pos:
            return used[i] or (i >= 2 and used[i - 2] and tokens[i - 1].norm in ("from", "in"))
    return False


def soft_text(tokens: list[Token], used: list[bool], out: Negations) -> str:
    """Content words left for the semantic search: no titles, no negated words, no chat filler."""
    words = []
    negated_words = set(out.excluded_tags) | {g.lower() for g in out.genres_out}
    for i, t in enumerate(tokens):
        w = t.norm
        if used[i] and w not in GENRE_PHRASES:
            continue
        if w in SOFT_STOP and w not in GENRE_PHRASES or w in NEGATORS or w in POSITIVE or w in NEGATIVE:
            continue
        if w in negated_words or (w in GENRE_PHRASES and set(GENRE_PHRASES[w]) & set(out.genres_out)):
            continue
        if len(w) < 3 or w.isdigit() or re.fullmatch(r"\d+s", w):
            continue
        words.append(w)
    if all(w in GENRE_PHRASES for w in words):
        return ""  # only genre words: the genre constraint says it already
    return " ".join(dict.fromkeys(words))


_IT_VERDICT = re.compile(
    r"\b(?:i|we)\s+(?:really\s+|absolutely\s+|just\s+)?(loved|liked|enjoyed|adored|hated|disliked)"
    r"\s+(?:it|that one|that)\b"
    r"|\bit\s+was\s+(?:so\s+|really\s+|pretty\s+)?(great|amazing|awesome|good|fantastic|terrible|awful|boring|bad)\b",
    re.I,
)


def later_verdict(text: str, after: int) -> str | None:
    """ "Have you seen Her? I loved it": a verdict on "it" after the only title -> like / dislike."""
    m = _IT_VERDICT.search(text, after)
    if not m:
        return None
    word = (m.group(1) or m.group(2)).lower()
    return (
        "dislike" if word in NEGATIVE or word in ("disliked", "hated", "terrible", "awful", "bad") else "like"
    )
