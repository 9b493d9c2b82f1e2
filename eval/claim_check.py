"""An independent check of what shown explanations claim, against the MovieLens files themselves.

Used to label explanation samples (``eval/data/explanations_labelled_issue15.jsonl``) and by
``recbot eval explanations``. It shares no code with the validator (bot/explain/validator.py) nor
with the evidence that explanations are written from (bot/recommend/evidence.py): it reads
movies.csv, ratings.csv and tags.csv with the csv module, parses each sentence with its own
patterns (:mod:`eval.claim_parse`) into claims ("X is a crime film", "the 40 people who liked Heat
rated X 4.1 on average", "you gave Heat 5 stars", "X shares the heist tag with Heat", ...), and
checks every claim by counting rows. A claim it cannot parse or place is reported as
``unverified`` for a human to read.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eval.claim_parse import Claim, fold, parse, plain

LIKED = 4.0  # "liked" / "people who liked": 4 stars or more
ASK_WORDS = {
    "Comedy": ("comed", "funn", "laugh", "humor", "humour", "lighter", "feel-good", "fun "),
    "Horror": ("horror", "scary", "scare", "frighten"),
    "Romance": ("roman", "love story", "date night"),
    "Sci-Fi": ("sci-fi", "scifi", "science fiction", "space"),
    "Animation": ("animat", "cartoon", "pixar", "kids"),
    "Children": ("kid", "children", "family"),
    "Documentary": ("documentar",),
    "Thriller": ("thrill", "suspense"),
    "Drama": ("drama",),
    "Crime": ("crime", "heist", "gangster", "mafia"),
    "Action": ("action",),
    "Adventure": ("adventur",),
    "Fantasy": ("fantas",),
    "Musical": ("musical",),
    "Mystery": ("myster",),
    "War": ("war",),
    "Western": ("western",),
    "Film-Noir": ("noir",),
}


def readable(title: str) -> str:
    """movies.csv title -> the name people write: "Matrix, The (1999)" -> "the matrix"."""
    body = re.sub(r"\s*\(\d{4}[^)]*\)\s*$", "", title).strip()
    body = re.sub(r"^(?P<main>[^()]+?) \([^()]+\)$", r"\g<main>", body)  # drop an a.k.a. part
    m = re.match(r"^(?P<b>.+), (?P<a>The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El)$", body)
    if m:
        body = f"{m.group('a')}{'' if m.group('a').endswith(chr(39)) else ' '}{m.group('b')}"
    return fold(body)


def names(title: str) -> set[str]:
    """Every readable name of a movies.csv title, its a.k.a. included ("Seven (a.k.a. Se7en)")."""
    out = {readable(title)}
    body = re.sub(r"\s*\(\d{4}[^)]*\)\s*$", "", title).strip()
    aka = re.fullmatch(r"(?P<main>[^()]+?) \((?:a\.k\.a\. )?(?P<aka>[^()]+)\)", body)
    if aka:
        out |= {readable(aka.group("main")), readable(aka.group("aka"))}
    return out


@dataclass
class MovieLens:
    """The three files, indexed for counting."""

    genres: dict[int, set[str]]
    year: dict[int, int | None]
    tags: dict[int, set[str]]
    ratings: dict[int, dict[int, float]]  # movie -> user -> rating
    by_name: dict[str, set[int]]  # readable title -> movie ids
    names_of: dict[int, list[str]] = field(default_factory=dict)  # movie id -> readable names (lazy)

    @classmethod
    def load(cls, folder: Path, without_users: frozenset[int] = frozenset()) -> MovieLens:
        """The files in ``folder``; ratings and tags of ``without_users`` left out (the data an agent
        built from a held-out split serves from)."""
        genres: dict[int, set[str]] = {}
        year: dict[int, int | None] = {}
        by_name: dict[str, set[int]] = defaultdict(set)
        with open(folder / "movies.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                mid = int(row["movieId"])
                genres[mid] = set(row["genres"].split("|"))
                y = re.search(r"\((\d{4})[^)]*\)\s*$", row["title"])
                year[mid] = int(y.group(1)) if y else None
                for name in names(row["title"]):
                    by_name[name].add(mid)
        tags: dict[int, set[str]] = defaultdict(set)
        with open(folder / "tags.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if int(row["userId"]) not in without_users:
                    tags[int(row["movieId"])].add(plain(row["tag"]))
        ratings: dict[int, dict[int, float]] = defaultdict(dict)
        with open(folder / "ratings.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if int(row["userId"]) not in without_users:
                    ratings[int(row["movieId"])][int(row["userId"])] = float(row["rating"])
        return cls(genres, year, dict(tags), dict(ratings), dict(by_name))

    def ids(self, name: str) -> set[int]:
        return self.by_name.get(fold(name.strip()), set())


@dataclass
class Context:
    """What the explanation was shown in: its item, the user's messages so far, a known user's id."""

    item_id: int
    title: str  # readable title of the item as shown
    messages: Sequence[str] = ()
    user_id: int | None = None
    liked_ids: Iterable[int] = ()  # items the user gave a thumbs up in the session
    earlier_ids: Iterable[int] = ()  # items shown in the session's earlier turns
    claims: list[Claim] = field(default_factory=list)


USER_LINKED_KINDS = frozenset(
    {
        "liked",
        "gave",
        "fans",
        "shared_genre",
        "shared_tags",
        "shared_tag_word",
        "asked",
        "asked_any",
        "no_tag",
        "matches",
    }
)


def _round1(x: float) -> str:
    return f"{x:.1f}"


def _rounds_to(claimed: str, values: list[float]) -> bool:
    """``claimed`` (one decimal) is the mean of ``values`` rounded: within half a tenth (ties either way)."""
    return bool(values) and abs(float(claimed) - sum(values) / len(values)) <= 0.05 + 1e-9


def _partition(text: str, known: set[str]) -> bool:
    """Whether the list ``text`` ("a, b and c"; tags may hold "and": "black and white") splits into
    items of ``known`` (plain forms)."""
    parts = re.split(r"(,\s*|\s+and\s+|\s+or\s+)", text)
    words_ = [p for i, p in enumerate(parts) if i % 2 == 0]
    seps = [p for i, p in enumerate(parts) if i % 2 == 1]

    def ok(i: int) -> bool:
        if i == len(words_):
            return True
        for j in range(i, len(words_)):
            piece = words_[i] + "".join(seps[k] + words_[k + 1] for k in range(i, j))
            if plain(piece) in known and ok(j + 1):
                return True
        return False

    return ok(0)


_ENDORSE = re.compile(
    r"\b(?:more like|like that|like this|like it|liked it|loved it|was good|was great|that one)\b"
)


def _said_title(name: str, said: str) -> bool:
    """The title's words are in the user's messages, allowing typos ("the matrx", "termnator")."""
    heard = re.findall(r"[a-z0-9']+", said)
    main = name.split(":")[0]  # "terminator 2" for "terminator 2: judgment day"
    wanted = [w for w in re.findall(r"[a-z0-9']+", main) if w not in ("the", "a", "an", "of")]
    if not wanted:
        return False
    return all(w in heard or difflib.get_close_matches(w, heard, n=1, cutoff=0.75) for w in wanted)


def check(text: str, ctx: Context, ml: MovieLens) -> list[Claim]:
    """Parse ``text`` and check each claim; claims about an unknown title are left unverified."""
    claims = parse(text, ctx.title)
    said = fold(" ".join(ctx.messages))
    liked_ids = set(ctx.liked_ids)
    item = ctx.item_id
    for c in claims:
        if c.kind in ("liked", "gave", "fans", "shared_genre", "shared_tags", "shared_tag_word"):
            ids = ml.ids(c.args[0])
            if not ids:
                c.ok, c.why = None, f"unknown title {c.args[0]!r}"
                continue
        if c.kind == "liked":
            name = fold(c.args[0])
            by_user = ctx.user_id is not None and any(
                ml.ratings.get(i, {}).get(ctx.user_id, 0) >= LIKED for i in ids
            )
            spoken = _said_title(name, said) or any(
                _said_title(n, said) for i in ids for n in _names_of(ml, i)
            )
            # "more like that" / "it was good" after it was shown
            endorsed = bool(ids & set(ctx.earlier_ids)) and bool(_ENDORSE.search(said))
            c.ok = spoken or by_user or bool(ids & liked_ids) or endorsed
            c.why = "said, rated 4+, endorsed or thumbs up" if c.ok else "never said, rated 4+ or liked"
        elif c.kind == "gave":
            value = float(c.args[1])
            c.ok = ctx.user_id is not None and any(
                ml.ratings.get(i, {}).get(ctx.user_id) == value for i in ids
            )
            c.why = f"user {ctx.user_id}'s rating"
        elif c.kind == "fans":
            n, mean = int(c.args[1]), c.args[2]
            found: list[tuple[int, list[float]]] = []
            for i in ids:
                fans = {u for u, r in ml.ratings.get(i, {}).items() if r >= LIKED}
                theirs = [r for u, r in ml.ratings.get(item, {}).items() if u in fans]
                found.append((len(theirs), theirs))
            c.ok = any(k == n and _rounds_to(mean, theirs) for k, theirs in found)
            c.why = f"counted {[(k, _round1(sum(v) / k) if k else '-') for k, v in found]}"
        elif c.kind == "rating":
            rs = list(ml.ratings.get(item, {}).values())
            got = (_round1(sum(rs) / len(rs)) if rs else "-", len(rs))
            c.ok = len(rs) == int(c.args[1]) and _rounds_to(c.args[0], rs)
            c.why = f"counted {got}"
        elif c.kind == "genre":
            c.ok = c.args[0] in ml.genres.get(item, set())
            c.why = f"genres {sorted(ml.genres.get(item, set()))}"
        elif c.kind == "tags":
            c.ok = _partition(c.args[0], ml.tags.get(item, set()))
            c.why = "tags.csv"
        elif c.kind == "shared_genre":
            c.ok = c.args[1] in ml.genres.get(item, set()) and any(c.args[1] in ml.genres[i] for i in ids)
            c.why = "both in movies.csv"
        elif c.kind == "tag_word":
            c.ok = any(c.args[0] in t.split() for t in ml.tags.get(item, set()))
            c.why = "a word of one of its tags"
        elif c.kind == "shared_tag_word":
            word = c.args[1]
            c.ok = any(word in t.split() for t in ml.tags.get(item, set())) and any(
                any(word in t.split() for t in ml.tags.get(i, set())) for i in ids
            )
            c.why = "a word of a tag of both"
        elif c.kind == "shared_tags":
            both = [ml.tags.get(item, set()) & ml.tags.get(i, set()) for i in ids]
            c.ok = any(_partition(c.args[1], tags) for tags in both)
            c.why = "both in tags.csv"
        elif c.kind == "asked":
            genre = c.args[0]
            in_item = genre in ml.genres.get(item, set())
            asked = any(w in said + " " for w in ASK_WORDS.get(genre, (genre.lower(),)))
            c.ok = in_item and asked
            c.why = "genre of the item, word of the request" if c.ok else "not a genre of it, or not asked"
        elif c.kind == "asked_any":
            c.ok = any(
                g in ml.genres.get(item, set())
                and any(w in said + " " for w in ASK_WORDS.get(g, (g.lower(),)))
                for g in c.args
            )
            c.why = "one of its genres is a word of the request" if c.ok else "none of them asked"
        elif c.kind == "no_tag":
            tag = fold(c.args[0])
            c.ok = not any(tag in t for t in ml.tags.get(item, set()))
            c.why = "no tag contains it"
        elif c.kind == "matches":
            said_it = _in_a_message(fold(c.args[0]), ctx.messages)
            c.ok = said_it if " " in c.args[0].strip() else fold(c.args[0]) in said
            c.why = "words of the request" if c.ok else "not in the request"
        elif c.kind == "year":
            c.ok = ml.year.get(item) == int(c.args[0])
            c.why = f"year {ml.year.get(item)}"
    return claims


def _in_a_message(phrase: str, messages: Iterable[str]) -> bool:
    """The words of ``phrase``, next to each other and in this order, in one of the ``messages``."""
    wanted = re.findall(r"[a-z0-9']+", phrase)
    for message in messages:
        heard = re.findall(r"[a-z0-9']+", fold(message))
        if any(heard[i : i + len(wanted)] == wanted for i in range(len(heard))):
            return True
    return False


def _names_of(ml: MovieLens, item: int) -> list[str]:
    if not ml.names_of:
        for name, ids in ml.by_name.items():
            for i in ids:
                ml.names_of.setdefault(i, []).append(name)
    return ml.names_of.get(item, [])


def label(claims: Sequence[Claim]) -> tuple[str, str]:
    """("false", reason) if any claim is false; ("unverified", ...) if one could not be checked; else true."""
    false = [c for c in claims if c.ok is False]
    if false:
        return "false", "; ".join(f"{c.kind}{c.args}: {c.why}" for c in false)
    unknown = [c for c in claims if c.ok is None]
    if unknown:
        return "unverified", "; ".join(f"{c.kind}{c.args}: {c.why}" for c in unknown)
    return "true", f"{len(claims)} claims checked"
