"""Check that a generated explanation says nothing its candidate's evidence does not support.

Small LLMs add plot, praise and whole titles of their own ("Amélie is a comedy about a girl who
meets a famous actor"). Checking only titles and numbers misses that, and no POS tagger is
installed, so the check works on the level of words: after the known titles are masked, every
word must be an evidence word (title words, genres, tags, request terms) or one of a small curated
list of connective words (:data:`CONNECTIVES`) that carry no facts. On top of that:

* every number must be one of the evidence numbers, of the right kind where the context says
  which (a rating after "rated", a count before "people", a year after "in"/"from");
* a genre word must name one of the item's genres;
* "liked X" / "fans of X" must name a liked item, never the recommendation itself;
* quoted text must be a known title; capitalised words must be evidence words (invented titles);
* no URLs, markup or odd characters; bounded length; at most two finished sentences; no loops.

Templates (:mod:`bot.explain.templates`) only use words from this list, and a property test
checks that they always pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.explain.connectives import CONNECTIVES
from bot.explain.facts import (
    LIKED_RATING,
    CoRating,
    Facts,
    clean_phrase,
    facts_from,
    fold,
    format_rating,
    title_forms,
    words,
)
from bot.types import Candidate, Evidence

# Surface genre words -> the display genre they claim (see bot.explain.facts.display_genre).
GENRE_WORDS: dict[str, str] = {
    **{g: g for g in """action adventure animation comedy crime documentary drama fantasy film-noir
       horror imax musical mystery romance sci-fi thriller war western""".split()},
    "animated": "animation", "cartoon": "animation", "children": "children's",
    "children's": "children's", "kids": "children's", "family": "children's",
    "comedies": "comedy", "comic": "comedy", "comedic": "comedy", "funny": "comedy",
    "documentaries": "documentary", "dramas": "drama", "dramatic": "drama", "noir": "film-noir",
    "scary": "horror", "musicals": "musical", "mysteries": "mystery", "romances": "romance",
    "romantic": "romance", "romcom": "romance", "scifi": "sci-fi", "science": "sci-fi",
    "fiction": "sci-fi", "science-fiction": "sci-fi", "thrillers": "thriller", "westerns": "western",
}  # fmt: skip

# Claims about origin, language or awards: the data holds none of these, so such a word may appear
# only inside a title or after "tagged" (a tag the item has), never as a description ("an American film").
ATTRIBUTE_WORDS = frozenset(
    """american america usa british britain english england french france german germany italian
    italy spanish spain japanese japan chinese china korean korea indian india hollywood bollywood
    european foreign subtitled subtitles dubbed language languages country oscar oscars award awards
    awarded winning nominated directed director starring actor actress cast silent""".split()
)

_INVERTED = re.compile(r", (?:the|a|an|les?|la|l'|el|los|las|die|der|das|il)(?: \(\d{4}\))?$", re.IGNORECASE)
_URL = re.compile(r"https?:|www\.|\.(?:com|org|net|io)\b|@\w", re.IGNORECASE)
_BAD_CHAR = re.compile(r"[^\w\s.,;:!?'’\"“”()\-–—§]|_")
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?")
_PLACEHOLDER = re.compile(r"§(\d+)§")
_LIKED_REL = re.compile(r"\b(?:liked|enjoyed|loved|like|likes|fans? of)\s+§(\d+)§", re.IGNORECASE)
_COUNT_NEXT = {"people", "person", "ratings", "viewers", "users", "raters", "votes", "fans"}
_YEAR_PREV = {"in", "from", "since", "year"}
_RATING_PREV = {"rated", "rating", "average", "averaged", "scored", "at"}
_FILM_WORDS = {"film", "films", "movie", "movies"}
_RATING_COUNT = re.compile(
    r"(\d+(?:\.\d+)?)\s+(?:on average\s+)?(?:by|from)\s+(?:the\s+)?(\d[\d,]*)\s+"
    r"(?:people|person|users|viewers|raters|ratings|votes|fans)",
    re.IGNORECASE,
)
_LIKED_SUBJECT = re.compile(
    r"§(\d+)§\s*,?\s+(?:(?:which|that|who)\s+)?(?:is|was|has|are|were|came|matches|shares|stars|isn't)\b"
)


@dataclass
class ValidationResult:
    """``ok`` when no problem was found; ``problems`` are short codes such as ``word:girl``."""

    ok: bool
    problems: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str | None:
        return self.problems[0] if self.problems else None


@dataclass(frozen=True)
class Limits:
    """Length bounds; masked titles count as one word, so long titles do not fail good text."""

    min_words: int = 4
    max_words: int = 45
    max_chars: int = 260
    max_sentences: int = 2


def validate(text: str, evidence: Evidence, *, title: str, limits: Limits = Limits()) -> ValidationResult:
    """Validate ``text`` as an explanation of the item ``title`` with ``evidence``."""
    return validate_facts(
        text, facts_from(Candidate(item_id=0, title=title, score=0.0, evidence=evidence)), limits=limits
    )


def validate_facts(text: str, facts: Facts, *, limits: Limits = Limits()) -> ValidationResult:
    """Validate ``text`` against already extracted :class:`~bot.explain.facts.Facts`."""
    problems: list[str] = []
    text = fold(text.strip())
    if not text:
        return ValidationResult(False, ["empty"])
    masked, roles, forms = _mask_titles(text, facts)
    _check_form(text, masked, limits, problems)
    _check_quotes(masked, facts, forms, problems)
    _check_numbers(masked, facts, problems, roles, forms)
    _check_shared(masked, roles, problems)
    _check_links(masked, facts, roles, forms, problems)
    _check_words(masked, facts, problems)
    _check_liked(masked, roles, problems, facts)
    _check_tags(masked, facts, problems, forms)
    return ValidationResult(not problems, problems)


def _mask_titles(text: str, facts: Facts) -> tuple[str, list[str], list[str]]:
    """Replace every known title form by ``§k§``; roles[k] is "item" or "liked", forms[k] the form."""
    roles: list[str] = []
    forms: list[str] = []
    # Natural forms first ("The Lord of the Rings: ..."), the catalog's inverted ones ("..., The")
    # last: in "you liked The X, The Y" the inverted "X, The" would take Y's article and leave Y's
    # words unmasked.
    pairs = sorted(facts.all_title_forms(), key=lambda p: (_INVERTED.search(p[0]) is not None, -len(p[0])))
    for form, role in pairs:
        # A title that is also a connective ("It", "Up") is left as the plain word.
        if form.lower() in CONNECTIVES:
            continue
        # not inside a word or a contraction ("isn't" holds no title "T"), nor a figure ("3.5")
        pattern = re.compile(
            r"(?<![\w§])(?<!\w['’])(?<!\d[.,])" + re.escape(form) + r"(?![\w§]|[.,]\d)", re.IGNORECASE
        )
        if pattern.search(text):
            text = pattern.sub(f"§{len(roles)}§", text)
            roles.append(role)
            forms.append(form)
    return text, roles, forms


def _check_form(raw: str, masked: str, limits: Limits, problems: list[str]) -> None:
    if _URL.search(masked) or re.search(r"<[^>]*>|\[[^\]]*\]\(", raw):
        problems.append("markup:url_or_tag")
    bad = _BAD_CHAR.search(masked)
    if bad:
        problems.append(f"markup:char {bad.group()!r}")
    if any(ord(c) < 32 and c not in "\n" for c in raw) or "\n" in raw.strip():
        problems.append("markup:control_or_newline")
    n_words = len(words(_PLACEHOLDER.sub(" T ", masked)))
    if n_words < limits.min_words:
        problems.append(f"length:too_short {n_words} words")
    if n_words > limits.max_words or len(masked) > limits.max_chars:
        problems.append(f"length:too_long {n_words} words")
    if not re.search(r"[.!?][\"”')]?$", raw):
        problems.append("form:unfinished")
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", masked) if s.strip()]
    if len(sentences) > limits.max_sentences:
        problems.append(f"length:too_many_sentences {len(sentences)}")
    # Loops of small models repeat whole phrases: a repeated 5-word sequence (numbers aside) is one.
    tokens = [t for t in words(_PLACEHOLDER.sub(" T ", masked)) if not t[0].isdigit()]
    grams = [tuple(tokens[i : i + 5]) for i in range(len(tokens) - 4)]
    if len(grams) != len(set(grams)):
        problems.append("form:repetition")


def _check_quotes(masked: str, facts: Facts, forms: list[str], problems: list[str]) -> None:
    """Quoted text must be a known title, or words of the request as the user wrote them
    ('matches "high school" from your request')."""
    request = {" ".join(words(t)) for t in facts.query_terms}
    for quoted in re.findall(r"[\"“”]([^\"“”]*)[\"“”]", masked):
        if _PLACEHOLDER.fullmatch(quoted.strip(" .,")):
            continue
        spelled = _PLACEHOLDER.sub(lambda m: forms[int(m.group(1))], quoted)  # a title word in the phrase
        if " ".join(words(spelled)) not in request or not spelled.strip():
            problems.append(f"title:quoted {quoted!r}")


def _rating_ok(literal: str, means: list[float]) -> bool:
    """``literal`` is one of ``means`` rounded once, to the literal's own decimals (1 or 2)."""
    decimals = len(literal.split(".", 1)[1]) if "." in literal else 0
    if decimals not in (1, 2):
        return False
    value = float(literal)
    return any(abs(value - round(m, decimals)) < 1e-9 for m in means)


# "who liked X" / "fans of X": the figures of the clause are X's co-rating, counted from 4 stars.
_FAN_SCOPE = re.compile(
    r"\b(?:who|that)\s+(?:liked|enjoyed|loved)\s+§(\d+)§|\bfans?\s+of\s+§(\d+)§\s+(?:rated|gave|scored)\b",
    re.I,
)
# "who rated X 3 stars or more": the figures are X's co-rating counted from that many stars.
_STARS_SCOPE = re.compile(
    r"\bwho\s+(?:rated|gave)\s+§(\d+)§\s+(\d(?:\.\d)?)\s+stars?\s+or\s+(?:more|higher|above)", re.I
)


def _co_of(form: str, facts: Facts) -> list[CoRating]:
    key = form.lower()
    return [c for c in facts.co_ratings if key in {f.lower() for f in title_forms(c.seed_title)}]


def _check_numbers(
    masked: str, facts: Facts, problems: list[str], roles: list[str], forms: list[str]
) -> None:
    """Every number must be an evidence number, bound to its source and title in the same clause.

    A count must precede "people"/"ratings"; a year must follow "in"/"from" or sit in
    parentheses or before "film"; a rating must follow "rated"/"average"/"rating of". In a clause
    without "who liked X" / "fans of X" a rating and count are the item's overall figures; in one
    with it they must be X's co-rating, and "liked" must mean what the co-rating counted (4 stars
    or more), else the clause has to say "who rated X 3 stars or more". Anything else ("tagged
    1996", "a 120 film", Heat's fans' figure said of The Godfather's) is rejected.
    """
    overall_pair = [(facts.mean_rating, facts.n_ratings)] if facts.mean_rating is not None else []
    years = [facts.year] if facts.year is not None else []
    # "3.9 out of 5" states the rating scale, not a fact of its own.
    masked = re.sub(r"(\d)\s+out of\s+5(?:\.0)?\b", r"\1", masked)
    for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z§])", masked):
        for clause in re.split(r"[,;:]\s+|\s+(?:and|but)\s+", sentence):
            pairs = overall_pair
            gave = _GAVE.search(clause)
            own_rating = _user_rating(forms[int(gave.group(1))], facts) if gave else None
            scope = _FAN_SCOPE.search(clause)
            stars = _STARS_SCOPE.search(clause)
            if scope or stars:
                k = int((stars.group(1) if stars else None) or scope.group(1) or scope.group(2))  # type: ignore[union-attr]
                floor = float(stars.group(2)) if stars else LIKED_RATING
                if roles[k] != "liked":
                    problems.append("claim:item_called_liked")
                cos = _co_of(forms[k], facts)
                if (
                    cos
                    and _NUMBER.search(_PLACEHOLDER.sub("§", clause))
                    and not any(c.min_rating is not None and c.min_rating == floor for c in cos)
                ):
                    problems.append(f"claim:liked_definition {floor:g}")
                pairs = [(c.mean, c.n) for c in cos if c.min_rating is not None and c.min_rating == floor]
                if stars:
                    clause = clause[: stars.start(2)] + clause[stars.end(2) :]
            clause = _PLACEHOLDER.sub("§", clause)
            means = [m for m, _ in pairs if m is not None]
            counts = [n for _, n in pairs if n]
            for match in _NUMBER.finditer(clause):
                literal = match.group()
                value = float(literal.replace(",", ""))
                before = (["", ""] + words(clause[: match.start()]))[-2:]
                following = words(clause[match.end() :])[:3]
                after = following[:1] or [""]
                in_parens = clause[: match.start()].rstrip().endswith("(")
                if after[0] in ("stars", "star"):  # "you gave Heat 5 stars": the user's own rating
                    ok = own_rating is not None and value == own_rating
                elif after[0] in _COUNT_NEXT:
                    ok = value in counts
                elif (
                    before[1] in _YEAR_PREV or in_parens or _FILM_WORDS & set(following)
                ):  # "a 1999 action film"
                    ok = value in years
                elif (
                    before[1] in _RATING_PREV
                    or (before[1] == "of" and before[0] in {"rating", "average"})
                    or (before[1] == "it" and before[0] == "rated")
                    or (before[1] == "§" and before[0] == "rated")
                ):
                    ok = _rating_ok(literal.replace(",", ""), means)
                else:
                    ok = False
                if not ok:
                    problems.append(f"number:{literal}")
            for rating, count in _RATING_COUNT.findall(clause):
                n = float(count.replace(",", ""))
                if not any(_rating_ok(rating, [m]) and n == c for m, c in pairs if m is not None):
                    problems.append(f"number:pair {rating}/{count}")


def _evidence_vocabulary(facts: Facts) -> tuple[set[str], set[str]]:
    """(all evidence words, evidence words that do not come from genres)."""
    # Title words are not evidence words outside the title itself (masked before this check):
    # a liked "American Beauty" must not let "an American film" through.
    non_genre: set[str] = set()
    for form, _ in facts.all_title_forms():
        if form.lower() in CONNECTIVES:  # a title that is a plain word ("A", "Up") is never masked
            non_genre.update(words(form))
    shared_tags = [t for link in facts.links for t in link.shared_tags]
    for phrase in (*facts.tags, *facts.query_terms, *shared_tags):
        non_genre.update(words(clean_phrase(phrase, 8)))
    genre_words: set[str] = set()
    for genre in facts.genres:
        genre_words.update(words(genre))
        genre_words.update(w for w, g in GENRE_WORDS.items() if g == genre.lower())
    return non_genre | genre_words, non_genre


def _known(token: str, vocabulary: set[str] | frozenset[str], *, morphology: bool = True) -> bool:
    """Exact match, or for evidence words also the possessive and simple plural/singular forms."""
    if token in vocabulary:
        return True
    if not morphology:
        return False
    base = token[:-2] if token.endswith("'s") else token
    variants = {base, base + "s", base + "es"}
    if len(base) > 3 and base.endswith("s"):
        variants.update({base[:-1], base[:-2] if base.endswith("es") else base})
    return any(v in vocabulary for v in variants)


def _check_words(masked: str, facts: Facts, problems: list[str]) -> None:
    vocabulary, non_genre = _evidence_vocabulary(facts)
    genres = {g.lower() for g in facts.genres}
    # A title may end with its own full stop ("Monsters, Inc."), so a word after one may start a
    # sentence: titles are replaced by a sentence break here.
    text = _PLACEHOLDER.sub(". ", masked)
    # "who rated X 3 stars or more" defines whom a figure counts (checked with the numbers).
    text = re.sub(r"\b\d(?:\.\d)?\s+stars?\s+or\s+(?:more|higher|above)\b", " ", text, flags=re.IGNORECASE)
    # "has no violent tag", "isn't tagged violent": checked in _check_links
    text = _NOT_TAGGED.sub(" ", _NO_TAG.sub(" ", text))
    # "the ensemble cast tag": tag words (checked in _check_tags), like those after "tagged"
    text = _THE_TAG.sub(lambda m: f"the tags {m.group(1)} tag", text)
    # "you gave Heat 5 stars": the user's own rating (checked with the numbers)
    text = re.sub(r"\b\d(?:\.\d)?\s+stars?\b", " ", text, flags=re.IGNORECASE)
    text = _NUMBER.sub(" ", text)
    for sentence in re.split(r"(?<=[.!?:;])\s+", text):
        tagged = False
        for position, raw in enumerate(re.findall(r"[^\W_]+(?:['’\-][^\W_]+)*", sentence)):
            # after "tagged" (its tags) or "matches" (words of the request it matched)
            tagged = tagged or raw.lower() in {"tagged", "tag", "tags", "matches", "match", "matching"}
            token = raw.lower().replace("’", "'")
            if token in ATTRIBUTE_WORDS and not tagged:
                problems.append(f"claim:attribute {token}")
            elif token in GENRE_WORDS and GENRE_WORDS[token] not in genres and not _known(token, non_genre):
                problems.append(f"genre:{token}")
            elif not (_known(token, vocabulary) or _known(token, CONNECTIVES, morphology=False)):
                problems.append(f"word:{token}")
            elif raw[0].isupper() and position > 0 and token != "i" and not _known(token, vocabulary):
                problems.append(f"title:capitalised {raw}")


def _check_tags(masked: str, facts: Facts, problems: list[str], forms: list[str]) -> None:
    """What follows "tagged" must be one of the item's tags (not a title, year or other word)."""
    tag_words = {w for tag in facts.tags for w in words(tag)}
    tag_words |= {w for link in facts.links for tag in link.shared_tags for w in words(tag)}
    noun_ends = set()  # "the heist tag": the tag is named before the noun
    noun_ends |= {m.end() for m in _NO_TAG.finditer(masked)}  # checked in _check_links
    negated = [m.span() for m in _NOT_TAGGED.finditer(masked)]  # "isn't tagged gore": there too
    for match in _THE_TAG.finditer(masked):
        noun_ends.add(match.end())
        for token in words(match.group(1)):
            if token not in tag_words and token not in CONNECTIVES:
                problems.append(f"claim:tag {token!r}")
    plain_titles = {form.lower() for form, _ in facts.all_title_forms() if form.lower() in CONNECTIVES}
    # "matches tagged from your request": a request word that is "tag(ged)" is no tag claim.
    plain_titles |= {w for term in facts.query_terms for w in words(term)}
    for match in re.finditer(r"\btag(?:ged|s)?\s+(?:with\s+|as\s+)?(\S+)", masked, re.IGNORECASE):
        if match.start() + len(match.group(0).split(None, 1)[0]) in noun_ends:
            continue
        if any(a <= match.start() < b for a, b in negated):
            continue
        word = re.match(r"\w+", match.group(0))
        if word and word.group().lower() in plain_titles:  # "TAG", a title that is a plain word, unmasked
            continue
        placeholder = _PLACEHOLDER.match(match.group(1))
        if placeholder:  # a tag that is also a title ("B") was masked as the title
            first = words(forms[int(placeholder.group(1))])[:1]
        else:
            first = words(match.group(1))[:1]
        if not first or first[0] not in tag_words:
            problems.append(f"claim:tag {match.group(1)!r}")


def _check_shared(masked: str, roles: list[str], problems: list[str]) -> None:
    """ "X and Y both ..." / "X is Y": the evidence holds no fact shared by the item and a liked title
    (not their years, tags or identity), so a "both" sentence naming a liked title is rejected, and so
    is the item stated to be a liked title."""
    for sentence in re.split(r"(?<=[.!?])\s+", masked):
        liked_here = any(roles[int(k)] == "liked" for k in _PLACEHOLDER.findall(sentence))
        if liked_here and re.search(r"\bboth\b", sentence, re.IGNORECASE):
            problems.append("claim:both")
    for match in re.finditer(r"§(\d+)§\s+(?:is|was)\s+(?:the\s+)?§(\d+)§", masked):
        if {roles[int(match.group(1))], roles[int(match.group(2))]} == {"item", "liked"}:
            problems.append("claim:identity")


_GAVE = re.compile(r"\bgave\s+§(\d+)§\s+\d(?:\.\d)?\s+stars?\b", re.IGNORECASE)
# "Because you liked X, ...", "If you enjoyed X and Y, ...", "Like X, ...": the sentence gives X as the
# reason, so the genres and tags it names must be ones the item shares with X (or the request asked for).
_BECAUSE = re.compile(
    r"\b(?:because|since|if)\s+you\s+(?:liked|enjoyed|loved)\s+((?:§\d+§(?:\s*,\s*|\s+and\s+)?)+)"
    r"|^\s*like\s+((?:§\d+§(?:\s*,\s*|\s+and\s+)?)+)",
    re.IGNORECASE,
)
_SHARES = re.compile(r"\bshares?\s+(.+?)\s+with\s+§(\d+)§", re.IGNORECASE)
_SHARE_PAIR = re.compile(r"§(\d+)§\s+and\s+§(\d+)§\s+(?:both\s+)?share\s+(.+?)(?=[.;:!?]|$)", re.IGNORECASE)
# "like X" / "similar to X" comparing the item with X (not "you like X", "people who like X")
_LIKE_TITLE = re.compile(
    r"(?<!\byou\s)(?<!\bwho\s)(?<!\bwe\s)(?<!\bi\s)(?<!\bthat\s)\b(?:similar\s+to|just\s+like|like)\s+§(\d+)§",
    re.IGNORECASE,
)
_ASKED = re.compile(r"\basked\s+for\s+([^:;,.§]+)", re.IGNORECASE)
# "Ronin has no violent or gore tag": tags the item is said not to carry (the request ruled them out).
_NO_TAG = re.compile(r"\bhas\s+no\s+([^§:;,.]+?)\s+tags?\b", re.IGNORECASE)
# "Ronin isn't tagged violent or gore, as you asked": the same claim, as a reader says it.
_NOT_TAGGED = re.compile(
    r"\b(?:isn't|isn’t|is\s+not)\s+tagged\s+(?:with\s+|as\s+)?([^§:;,.]+?)"
    r"(?=\s+as\s+you\s+asked\b|\s+(?:and|but)\s+(?:is|it|has|was)\b|\s*[§:;,.!?]|\s*$)",
    re.IGNORECASE,
)
_THE_TAG = re.compile(r"\bthe\s+((?:(?!\bthe\s|\bgenres?\b)[^§:;,.])+?)\s+tags?\b", re.IGNORECASE)


def _user_rating(form: str, facts: Facts) -> float | None:
    link = facts.link(form)
    return None if link is None else link.user_rating


def _genre_of(token: str) -> str | None:
    return GENRE_WORDS.get(token) or GENRE_WORDS.get(token.removesuffix("s"))


def _check_links(masked: str, facts: Facts, roles: list[str], forms: list[str], problems: list[str]) -> None:
    """What is said to be shared with a liked title, or asked for, must be so.

    "X shares the crime genre and the heist tag with Heat": every genre and tag named is one both
    have; "Because you liked Heat, X is a crime film": the genres and tags named are shared with
    Heat or asked for; "you asked for horror": horror is a genre of the item the request asked for.
    """
    asked = {g.lower() for g in facts.asked_genres}
    query = {w for term in facts.query_terms for w in words(term)}
    for sentence in re.split(r"(?<=[.!?])\s+", masked):
        for match in _SHARES.finditer(sentence):
            k = int(match.group(2))
            link = facts.link(forms[k]) if roles[k] == "liked" else None
            if link is None:
                problems.append("claim:shared")
                continue
            _named_ok(match.group(1), {g.lower() for g in link.shared_genres}, link.shared_tags, problems)
        because = _BECAUSE.search(sentence)
        if because:
            seeds = [int(k) for k in _PLACEHOLDER.findall(because.group(1) or because.group(2))]
            links = [facts.link(forms[k]) for k in seeds if roles[k] == "liked"]
            genres = asked | {g.lower() for lk in links if lk for g in lk.shared_genres}
            tags = tuple(t for lk in links if lk for t in lk.shared_tags)
            rest = _PLACEHOLDER.sub(" ", sentence[because.end() :])
            _named_ok(rest, genres, tags, problems, tagged_only=True)
        # "Ronin is a thriller film like The Godfather" / "a martial arts film, similar to Pulp
        # Fiction": whatever the sentence says the item is reads as the other title's too, so every
        # genre and tag word in it must be one they share (what was asked for is not enough here)
        # (a clause of its own, "... and is tagged robots", is not part of the comparison)
        for clause in re.split(r"\s+(?:and|but)\s+(?=(?:is|it|it's|has|was)\b)|;\s*", sentence):
            for match in _LIKE_TITLE.finditer(clause):
                k = int(match.group(1))
                link = facts.link(forms[k]) if roles[k] == "liked" else None
                genres = {g.lower() for g in (link.shared_genres if link else ())}
                tags = link.shared_tags if link else ()
                described = _NUMBER.sub(" ", _PLACEHOLDER.sub(" ", clause))  # figures are checked apart
                _named_ok(described, genres, tags, problems)
        # "Ronin and Heat share the crime genre": as "Ronin shares the crime genre with Heat"
        for match in _SHARE_PAIR.finditer(sentence):
            pair = {roles[int(match.group(1))], roles[int(match.group(2))]}
            liked = [int(k) for k in match.group(1, 2) if roles[int(k)] == "liked"]
            link = facts.link(forms[liked[0]]) if pair == {"item", "liked"} else None
            if link is None:
                problems.append("claim:shared")
                continue
            _named_ok(match.group(3), {g.lower() for g in link.shared_genres}, link.shared_tags, problems)
        avoided = {w for t in facts.avoided_tags for w in words(t)}
        for match in [*_NO_TAG.finditer(sentence), *_NOT_TAGGED.finditer(sentence)]:
            for token in words(match.group(1)):
                if token not in avoided and token not in {"or", "and"}:
                    problems.append(f"claim:no_tag {token}")
        for match in _ASKED.finditer(sentence):
            for token in words(match.group(1)):
                genre = _genre_of(token)
                if genre is not None and genre not in asked and token not in query:
                    problems.append(f"claim:asked {token}")


def _named_ok(
    text: str, genres: set[str], tags: tuple[str, ...], problems: list[str], *, tagged_only: bool = False
) -> None:
    """Genre words in ``text`` must be in ``genres``; tags ("tagged X", "the X tag") in ``tags``.

    ``tagged_only``: ``text`` also describes the item in other ways, so only its genre words and its
    tag phrases are checked (other words are checked elsewhere); else every content word of ``text``
    must be a shared genre or a word of a shared tag.
    """
    tag_words = {w for t in tags for w in words(t)}
    tag_spans = [m.group(1) for m in _THE_TAG.finditer(text)]
    tag_spans += [m.group(1) for m in re.finditer(r"\btagged\s+([^§:;,.]+)", text, re.IGNORECASE)]
    in_tags = {w for span in tag_spans for w in words(span)}
    for span in tag_spans:
        for token in words(span):
            if token not in tag_words and token not in CONNECTIVES:
                problems.append(f"claim:unshared_tag {token}")
    for token in words(text):
        if token in in_tags:
            continue
        genre = _genre_of(token)
        if genre is not None and token not in CONNECTIVES:
            if genre not in genres:
                problems.append(f"claim:unshared_genre {token}")
        elif not tagged_only and token not in CONNECTIVES and token not in tag_words:
            problems.append(f"claim:unshared {token}")


def _check_liked(masked: str, roles: list[str], problems: list[str], facts: Facts) -> None:
    """ "liked X" must name a liked item; a liked item must not be described (it is not the item)."""
    for match in _LIKED_REL.finditer(masked):
        if roles[int(match.group(1))] != "liked":
            problems.append("claim:item_called_liked")
    plain = {form.lower() for form in facts.title_forms if form.lower() in CONNECTIVES}
    for match in _LIKED_SUBJECT.finditer(masked):
        verb = match.group(0).rsplit(None, 1)[-1].lower()
        if roles[int(match.group(1))] == "liked" and verb not in plain:  # "liked X, Matches should"
            problems.append("claim:liked_item_described")


__all__ = [
    "CONNECTIVES",
    "GENRE_WORDS",
    "Limits",
    "ValidationResult",
    "format_rating",
    "validate",
    "validate_facts",
]
