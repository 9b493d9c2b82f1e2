"""How ``eval/claim_check.py`` reads an explanation: its own patterns, sentence by sentence, into claims.

"X is a crime film" -> a genre claim; "the 40 people who liked Heat rated X 4.1 on average" -> a fans
claim; "X shares the heist tag with Heat", "Like Heat, X has ...", "X is a thriller film like The
Godfather" -> what X and Heat are said to share; "you asked for horror", "isn't tagged gore",
'matches "high school"' -> what the request said. Nothing here is shared with the validator
(bot/explain/validator.py); the claims are checked against the MovieLens files in claim_check.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

GENRE_NAMES = {
    "children's": "Children",
    "sci-fi": "Sci-Fi",
    "film-noir": "Film-Noir",
    "imax": "IMAX",
}
# words by which a request asks for a genre (for "you asked for horror")


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def plain(text: str) -> str:
    """Lower case, accents and punctuation gone: "Samuel L. Jackson" -> "samuel l jackson"."""
    return " ".join(re.findall(r"[a-z0-9']+", fold(text)))


@dataclass
class Claim:
    kind: str  # genre, tag, rating, fans, gave, liked, shared_genre, shared_tag, asked, no_tag, matches, year
    args: tuple[str, ...]
    ok: bool | None = None  # None: could not be checked
    why: str = ""


_NUM = r"(\d+(?:\.\d+)?)"


def _genre(word: str) -> str:
    return GENRE_NAMES.get(word.lower(), word.capitalize())


def _split_list(text: str) -> list[str]:
    """ "a, b and c" -> [a, b, c]; "a or b" -> [a, b]."""
    return [p.strip() for p in re.split(r",\s*|\s+and\s+|\s+or\s+", text) if p.strip()]


def parse(text: str, title: str) -> list[Claim]:
    """The claims of ``text`` about the item ``title`` (its readable name) and the titles it names."""
    t = re.escape(title)
    claims: list[Claim] = []
    s = text
    S = r"(?P<s>.+?)"
    patterns: list[tuple[str, str]] = [
        ("gave", rf"\b[Yy]ou gave {S} {_NUM} stars?\b"),
        ("fans", rf"\b[Tt]he (\d+) (?:people|person) who liked {S} rated (?:it|{t}) {_NUM} on average"),
        (
            "fans_gave",
            rf"\b[Tt]he (\d+) (?:people|person) who liked {S} gave (?:it|{t}) an average of {_NUM}",
        ),
        (
            "fans_by",
            rf"\b{t} was rated {_NUM} on average by the (\d+) (?:people|person) who liked {S}(?=\.|$|, and )",
        ),
        ("shares", rf"\bshares? (?P<what>the .+?) with {S}(?=, which you liked|\.|$)"),
        ("like", rf"^[Ll]ike {S}, {t} has (?P<what>the .+?)(?=\.|$)"),
        ("because", rf"\b[Bb]ecause you liked {S}, try {t}: it has (?P<what>the .+?) too\b"),
        ("enjoyed", rf"\b[Ii]f you enjoyed {S}, {t} is worth a try"),
        ("close", rf"\bis close to {S}, which you liked"),
        ("rating", rf"\b[Rr]ated {_NUM}(?: on average)? by (\d+) (?:people|person)"),
        ("asked", r"\b[Yy]ou asked for (?P<what>[^:]+):"),
        ("for_request", rf"^For your request, {t} is (?:a|an) (?P<g>[\w\-' ]+?) film"),
        ("no_tag", r"\bhas no (?P<what>.+?) tag, as you asked"),
        ("no_tag", r"\b(?:isn't|is not) tagged (?P<what>.+?), as you asked"),
        ("matches", rf"{t} matches (?P<what>.+?) from your request"),
        ("described", r"\bis (?:a|an) (?P<g>[\w\-' ]+?) film(?: tagged (?P<tg>.+?))?(?=, rated|\.|$| from)"),
        ("tagged_only", r"\bis tagged (?P<tg>.+?)(?=, rated|\.|$)"),
        ("year", r"\bfrom (\d{4})\b"),
    ]
    for kind, pattern in patterns:
        for m in re.finditer(pattern, s):
            if kind == "gave":
                claims += [Claim("liked", (m.group("s"),)), Claim("gave", (m.group("s"), m.group(2)))]
            elif kind in ("fans", "fans_gave"):
                claims.append(Claim("fans", (m.group("s"), m.group(1), m.group(3))))
            elif kind == "fans_by":
                claims.append(Claim("fans", (m.group("s"), m.group(2), m.group(1))))
            elif kind in ("shares", "because", "like"):
                claims.append(Claim("liked", (m.group("s"),)))
                what = m.group("what")
                g = re.search(r"the (.+?) genres?\b", what)
                tg = re.search(r"(?:^|and )the ((?:(?!genre).)+?) tags?$", what)
                for genre in _split_list(g.group(1)) if g else []:
                    claims.append(Claim("shared_genre", (m.group("s"), _genre(genre))))
                if tg:
                    claims.append(Claim("shared_tags", (m.group("s"), tg.group(1))))
            elif kind in ("enjoyed", "close"):
                claims.append(Claim("liked", (m.group("s"),)))
            elif kind == "rating":
                claims.append(Claim("rating", (m.group(1), m.group(2))))
            elif kind == "asked":
                asked = [re.sub(r" (?:films|movies)$", "", g) for g in _split_list(m.group("what"))]
                claims += [Claim("asked", (_genre(g),)) for g in asked]
            elif kind == "for_request":  # one of the genres it names is one the request asked for
                genres = [c.args[0] for c in _described(m.group("g")) if c.kind == "genre"]
                claims.append(Claim("asked_any", tuple(genres)))
            elif kind == "no_tag":
                claims += [Claim("no_tag", (tag,)) for tag in _split_list(m.group("what"))]
            elif kind == "matches":
                quoted = re.findall(r'"([^"]+)"', m.group("what"))  # 'matches "high school"'
                claims += [Claim("matches", (w,)) for w in quoted or _split_list(m.group("what"))]
            elif kind == "described":
                claims += _described(m.group("g"))
                if m.group("tg"):
                    claims.append(Claim("tags", (m.group("tg"),)))
            elif kind == "tagged_only":
                claims.append(Claim("tags", (m.group("tg"),)))
            elif kind == "year":
                claims.append(Claim("year", (m.group(1),)))
    return claims + _comparisons(text, title)


def _comparisons(text: str, title: str) -> list[Claim]:
    """What a comparison with another title says they share: "Ronin is a thriller film like The
    Godfather" / "..., similar to Finding Nemo" (the sentence's genres and tags are the other
    title's too), "Ronin and Heat share the crime genre"."""
    claims: list[Claim] = []
    sentences = re.split(r"(?<=[.!?])\s+", text)
    # "X is similar to Y and is tagged robots": the second clause is about X alone
    for sent in [c for s in sentences for c in re.split(r" (?:and|but) (?=(?:is|it|it's|has|was)\b)|; ", s)]:
        other = re.search(
            r"(?<!you )(?<!who )(?<!that )\b(?:[Ss]imilar to|[Jj]ust like|[Ll]ike) "
            r"(?P<s>[^,;]+?)(?=,\s|\.\s|\.$|;|$)",
            sent,
        )
        pair = re.search(r"^(?P<a>.+?) and (?P<b>.+?) (?:both )?share the (?P<what>[^.]+)", sent)
        if other and not re.match(r"[Ll]ike \S", sent):  # "Like Heat, Ronin has ...": parsed above
            seed = other.group("s").strip()
            claims.append(Claim("liked", (seed,)))
            described = re.search(r"\bis (?:a|an) (?P<g>[\w\-' ]+?) (?:film|movie)", sent)
            for said in _described(described.group("g")) if described else []:
                if said.kind == "genre":  # "a crime film like Heat": Heat is a crime film too
                    claims.append(Claim("shared_genre", (seed, said.args[0])))
                elif said.kind == "tag_word":  # "a prison film like Goodfellas": so is Goodfellas
                    claims.append(Claim("shared_tag_word", (seed, said.args[0])))
            tagged = re.search(r"\btagged (?P<tg>[^,.;:]+?)(?=,| like| similar|\.|$)", sent)
            if tagged:
                claims.append(Claim("shared_tags", (seed, tagged.group("tg"))))
        if pair and fold(title) in {fold(pair.group("a")), fold(pair.group("b"))}:
            seed = pair.group("b") if fold(pair.group("a")) == fold(title) else pair.group("a")
            claims.append(Claim("liked", (seed,)))
            g = re.search(r"(.+?) genres?\b", pair.group("what"))
            for genre in _split_list(g.group(1)) if g else []:
                claims.append(Claim("shared_genre", (seed, _genre(genre))))
    return claims


GENRES = frozenset(
    """Action Adventure Animation Children Comedy Crime Documentary Drama Fantasy Film-Noir Horror
    IMAX Musical Mystery Romance Sci-Fi Thriller War Western""".split()
)
GENRE_ADJECTIVES = {"animated": "Animation", "romantic": "Romance", "comedic": "Comedy", "scary": "Horror"}


def _described(phrase: str) -> list[Claim]:
    """ "crime and drama" -> two genre claims; "crime thriller" -> the same; "1992 disney animated"
    -> year 1992, a tag with the word disney, the Animation genre."""
    claims: list[Claim] = []
    for part in _split_list(phrase):
        if _genre(part) in GENRES:
            claims.append(Claim("genre", (_genre(part),)))
            continue
        for word in part.split():
            genre = GENRE_ADJECTIVES.get(word.lower()) or _genre(word)
            if genre in GENRES:
                claims.append(Claim("genre", (genre,)))
            elif re.fullmatch(r"\d{4}", word):
                claims.append(Claim("year", (word,)))
            else:
                claims.append(Claim("tag_word", (plain(word),)))
    return claims
