"""When a catalog title that is also an ordinary phrase counts as a mention.

"a romantic comedy for date night", "a movie about toys", "Im great by the way", "high school
movies", "Yes I have It was good!", "LOL": each contains a catalog title made only of ordinary
words (:mod:`bot.understand.ordinary_words`). Such a match counts only with evidence that it is meant as a
title (quotes and a written year are checked by the caller first):

* a verb of liking or watching right before it ("loved toys", "seen It", "something like Up");
* written capitalised as a title, and not only because it opens the sentence ("I liked Date Night");
* a verdict after it ("Heat was great") - never for pronoun titles ("It was good" is about the last
  pick, not the film "It");
* being the whole message ("Up"), except for chat interjections ("LOL", "ok").

"a movie about X", "films about X" and "something with X in it" name a topic, never a seed: a title
there counts only in quotes. A person's name that is also the head of a title ("Kevin Hart: I'm a
Grown Little Man") is a person unless the whole title is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.understand.ordinary_words import ordinary_words
from bot.understand.people_vocab import FIRST_NAMES


class TokenLike(Protocol):
    """A message word as :func:`bot.understand.titles.tokenize` makes it (that module imports this one)."""

    text: str
    norm: str
    start: int
    end: int


PRONOUN_WORDS = frozenset("it her him us them me you she he they we this that i its".split())
INTERJECTIONS = frozenset(
    """lol lmao lmfao rofl haha hahaha hehe omg ok okay yes yeah yep yup no nope nah wow cool nice
    sure hi hello hey thanks thx bye hmm hm ha yay ugh oops whatever true same right""".split()
)
TOPIC_HEADS = frozenset(
    """movie movies film films something anything one ones stories story show shows flick flicks
    documentary documentaries stuff""".split()
)
WATCH_CUES = frozenset(
    """loved love liked enjoyed enjoy hated hate disliked watched seen saw rewatched adore adored
    called titled named""".split()
)  # not "like"/"watch"/"recommend" ("like tomorrow", "watch tonight", "can you recommend more")
TITLE_FOLLOWERS = frozenset("is was were has had and sounds looks".split())


def topic_span(tokens: Sequence[TokenLike], lo: int, hi: int) -> bool:
    """Whether tokens[lo:hi] is the topic of "a movie about X" or "something with X in it"."""
    j = lo - 1
    while j >= 0 and tokens[j].norm in ("the", "a", "an", "some", "talking", "giant", "big", "little"):
        j -= 1
    if j >= 1 and tokens[j].norm == "about" and tokens[j - 1].norm in TOPIC_HEADS:
        return True
    if j >= 1 and tokens[j].norm == "about" and tokens[j - 2 : j - 1] and tokens[j - 2].norm in TOPIC_HEADS:
        return True  # "movies that are about X", "something set about" (one word between)
    in_it = hi + 1 < len(tokens) and tokens[hi].norm == "in" and tokens[hi + 1].norm in ("it", "them")
    return j >= 0 and tokens[j].norm in ("with", "featuring") and in_it


def is_ordinary(words: list[str]) -> bool:
    vocab = ordinary_words()
    return all(w in vocab or w.isdigit() or w in PRONOUN_WORDS for w in words)


def looks_like_person(tokens: Sequence[TokenLike], lo: int, hi: int) -> bool:
    """ "Kevin Hart": two capitalised words, the first a common first name."""
    return (
        hi - lo == 2 and tokens[lo].norm in FIRST_NAMES and all(t.text[:1].isupper() for t in tokens[lo:hi])
    )


def ordinary_title_evidence(
    text: str, tokens: Sequence[TokenLike], lo: int, hi: int, common: frozenset[str]
) -> bool | None:
    """For a title made of ordinary words: whether the message means it as a title.

    None when the title holds a rare word (the caller's own rules decide). ``common`` are the
    parser's common chat words (titles need context even more for those).
    """

    words = [t.norm for t in tokens[lo:hi]]
    if topic_span(tokens, lo, hi):
        return False
    if not is_ordinary(words) and not all(w in common or w in INTERJECTIONS for w in words):
        return None
    whole = hi - lo == len(tokens)
    before = text[: tokens[lo].start].rstrip()
    sentence_start = not before or before[-1] in ".!?\n"
    cue = (
        after_cue(tokens, lo)
        or (lo > 0 and tokens[lo - 1].norm in WATCH_CUES)
        or _what_about(tokens, lo)
        or _the_movie(tokens, lo)
    )
    if all(w in PRONOUN_WORDS or w in INTERJECTIONS for w in words):
        # "It", "Her", "Us", "LOL": only right after a verb of watching or liking ("seen It")
        if words[0] in INTERJECTIONS and not cue:
            return False
        if all(w in PRONOUN_WORDS for w in words):
            # "I like It", "Should I see It?": a capitalised pronoun right after a verb is a title
            verb = lo > 0 and tokens[lo - 1].norm in ("like", "see", "watch", "watching", "about")
            return bool((cue or verb or whole) and tokens[lo].text[:1].isupper())
        return bool(cue)
    content = [
        t
        for t in tokens[lo:hi]
        if t.norm not in PRONOUN_WORDS and t.norm not in _SMALL and not t.norm.isdigit()
    ] or list(tokens[lo:hi])
    capitalised = all(t.text[:1].isupper() for t in content)
    if hi < len(tokens) and tokens[hi].norm in TOPIC_HEADS and not capitalised:
        return False  # "I like high school movies": a kind of film, not the film "High School"
    if capitalised and len(content) == 1 and _inside_longer_name(text, tokens, lo, hi):
        return False  # "Avengers: Infinity War", "Girls Trip", "Jack Nicholson": part of another name
    if cue:
        return True
    if whole:  # "Up", "toys": the whole message; "more" / "next" are requests, not titles
        return capitalised or not all(w in common for w in words)
    if not capitalised:
        return False
    if not sentence_start or len(content) >= 2:
        return True  # "I liked Date Night"; "Pulp Fiction was ..." (Title Case even at the start)
    return verdict_after(tokens, hi) or (hi < len(tokens) and tokens[hi].norm in TITLE_FOLLOWERS)


# Words Title Case leaves in lower case ("Stand by Me", "Tucker & Dale vs Evil").
_SMALL = frozenset(
    "the a an of and or but nor in on at to for with by from as vs via my im is are be".split()
)


def _inside_longer_name(text: str, tokens: Sequence[TokenLike], lo: int, hi: int) -> bool:
    """Whether a capitalised word right before or after (no sentence break between) extends the name."""
    for j, gap_from, gap_to in ((lo - 1, lo - 1, lo), (hi, hi - 1, hi)):
        if not 0 <= j < len(tokens):
            continue
        gap = text[tokens[gap_from].end : tokens[gap_to].start]
        if any(ch in gap for ch in '.!?;,("') or tokens[j].norm in _NOT_NAME_PARTS:
            continue
        word = tokens[j].text
        if word[:1].isupper() and not (j == lo - 1 and _starts_sentence(text, tokens, j)):
            return True
    return False


_NOT_NAME_PARTS = (
    PRONOUN_WORDS
    | _SMALL
    | frozenset("i im ive id was were do does did have has had you your and but so then also".split())
)


def _starts_sentence(text: str, tokens: Sequence[TokenLike], j: int) -> bool:
    before = text[: tokens[j].start].rstrip()
    return not before or before[-1] in ".!?\n"


def _the_movie(tokens: Sequence[TokenLike], lo: int) -> bool:
    """ "the movie It", "the film Up": a capitalised title named as a film (not "movie night")."""
    return (
        lo >= 2
        and tokens[lo - 1].norm in ("movie", "film")
        and tokens[lo - 2].norm in ("the", "a")
        and tokens[lo].text[:1].isupper()
    )


def _what_about(tokens: Sequence[TokenLike], lo: int) -> bool:
    """ "what about Toys?", "how about Up": a title put forward."""
    j = lo - 1
    if j >= 0 and tokens[j].norm in ("the", "a", "an"):
        j -= 1
    return j >= 1 and tokens[j].norm == "about" and tokens[j - 1].norm in ("what", "how")


STRONG_CUES = frozenset(
    """loved love liked enjoyed enjoy hated hate disliked watched seen saw rewatched adore
    adored about""".split()
)
LIKE_LEADS = frozenset("something anything movies films stuff one ones similar just more".split())


def after_cue(tokens: Sequence[TokenLike], lo: int) -> bool:
    """Whether tokens[lo] follows a strong cue word (an article may sit between)."""
    j = lo - 1
    if j >= 0 and tokens[j].norm in ("the", "a", "an"):
        j -= 1
    if j < 0:
        return False
    if tokens[j].norm in STRONG_CUES:
        return True
    return tokens[j].norm == "like" and j > 0 and tokens[j - 1].norm in LIKE_LEADS


_VERDICT_VERBS = frozenset("is was were".split())
_VERDICT_FILLERS = frozenset("so really very pretty absolutely just truly a an the my all time".split())
_VERDICT_WORDS = frozenset(
    """great amazing awesome fantastic brilliant excellent incredible wonderful superb fun good
    terrible awful boring bad overrated underrated classic masterpiece favorite favourite perfect
    beautiful stunning gripping hilarious""".split()
)


def verdict_after(tokens: Sequence[TokenLike], pos: int) -> bool:
    """Whether tokens[pos:] read "was great" / "is a classic" / "was so good" (a verdict on a film)."""
    if pos >= len(tokens) or tokens[pos].norm not in _VERDICT_VERBS:
        return False
    j = pos + 1
    while j < len(tokens) and j <= pos + 3 and tokens[j].norm in _VERDICT_FILLERS:
        j += 1
    return j < len(tokens) and tokens[j].norm in _VERDICT_WORDS
