"""The message parser on real phrasings, against the real MovieLens catalog (no LLM)."""

from __future__ import annotations

from typing import Any

import pytest
from agent_support import item_id, parser

from bot.understand.parser import clean_text

MATRIX = ("Matrix, The", 1999)
HEAT = ("Heat", 1995)
TITANIC = ("Titanic", 1997)

# (message, expected fields). "likes"/"dislikes"/"seen" are (title, year) pairs; other keys compare to
# the ParsedMessage field; "refs" are (position, action) pairs; "soft" is a word the soft text contains.
CASES: list[tuple[str, dict[str, Any]]] = [
    ("hi", {"intent": "greeting"}),
    ("Hello there! Can you recommend a movie?", {"intent": "greeting"}),
    ("good evening", {"intent": "greeting"}),
    ("I loved The Matrix and Heat", {"likes": [MATRIX, HEAT]}),
    ("i liked the matrix", {"likes": [MATRIX]}),
    ("i really liked the shawshank redemtion", {"likes": [("Shawshank Redemption, The", 1994)]}),
    ("I hated Titanic, but Heat was great", {"dislikes": [TITANIC], "likes": [HEAT]}),
    ("Heat was great", {"likes": [HEAT]}),
    ("Heat was so good, more like that", {"likes": [HEAT]}),
    ("It was great", {"mentions": 0}),
    ("The Notebook was boring", {"dislikes": [("Notebook, The", 2004)]}),
    ("I didn't like Pulp Fiction", {"dislikes": [("Pulp Fiction", 1994)]}),
    ("Fight Club is my favourite", {"likes": [("Fight Club", 1999)]}),
    ("I watched Heat and loved it", {"likes": [HEAT]}),
    ("I've seen Heat already", {"seen": [HEAT]}),
    ("something like Toy Story", {"likes": [("Toy Story", 1995)]}),
    ("I liked Up", {"likes": [("Up", 2009)]}),
    ('Have you seen "Her"?', {"seen": [("Her", 2013)]}),
    ("Hamlet (1996) was great", {"likes": [("Hamlet", 1996)]}),
    ("I grew up watching westerns", {"mentions": 0, "genres_in": ["Western"]}),
    ("somethign funy for tonight, a comdy", {"mentions": 0, "genres_in": ["Comedy"]}),
    ("a good horor movie", {"mentions": 0, "genres_in": ["Horror"]}),
    ("no documentry please", {"mentions": 0, "genres_out": ["Documentary"]}),
    ("an actor I like", {"mentions": 0, "genres_in": []}),
    ("i hate it when it rains", {"mentions": 0}),
    ("what's the weather like tomorrow?", {"mentions": 0, "intent": "off_topic"}),
    ("who won the football game last night", {"intent": "off_topic"}),
    ("I loved lord of the rings", {"ambiguous": 1}),
    ("I want a comedy from the 80s", {"genres_in": ["Comedy"], "year_min": 1980, "year_max": 1989}),
    ("something from the nineties", {"year_min": 1990, "year_max": 1999}),
    ("late 90s thrillers", {"genres_in": ["Thriller"], "year_min": 1995, "year_max": 1999}),
    ("I'm in the mood for a sci-fi movie after 2000", {"genres_in": ["Sci-Fi"], "year_min": 2001}),
    ("anything made before 1970", {"year_max": 1969}),
    ("between 1990 and 2000", {"year_min": 1990, "year_max": 2000}),
    ("in my 30s and I like 90s comedies", {"genres_in": ["Comedy"], "year_min": 1990, "year_max": 1999}),
    ("highly rated dramas", {"genres_in": ["Drama"], "min_rating": 3.8}),
    ("movies rated above 4", {"min_rating": 4.0}),
    ("something scary but not too gory", {"genres_in": ["Horror"], "moods": ["less gory"]}),
    ("no romance please", {"genres_out": ["Romance"], "genres_in": []}),
    ("not horror", {"genres_out": ["Horror"]}),
    ("I don't like horror movies", {"genres_out": ["Horror"]}),
    ("anything but romance", {"genres_out": ["Romance"]}),
    ("nothing with zombies", {"excluded_tags": ["zombies"]}),
    ("a heist movie with a twist ending", {"mentions": 0, "genres_in": ["Crime"], "soft": "twist"}),
    ("something dark about time travel", {"soft": "time travel"}),
    ("something older", {"critiques": ["older"]}),
    ("more recent please", {"critiques": ["newer"]}),
    ("I loved The Matrix, nothing too old", {"critiques": ["newer"]}),
    ("not too recent please", {"critiques": ["older"]}),
    ("funnier", {"genres_in": ["Comedy"]}),
    (
        "less violent",
        {"moods": ["less violent"], "genres_out": []},
    ),  # bot.understand.moods maps it (test_moods)
    ("shorter", {"notes": ["runtime"]}),
    ("more", {"intent": "more"}),
    ("show me more", {"intent": "more"}),
    ("why?", {"intent": "why"}),
    ("why the second one?", {"intent": "why", "refs": [(1, "why")]}),
    ("not that one, seen it", {"refs": [(None, "seen")]}),
    ("I've seen the first one", {"refs": [(0, "seen")]}),
    ("the third one looks great", {"refs": [(2, "like")]}),
    ("not the second one", {"refs": [(1, "not_interested")]}),
    ("more like the second one", {"intent": "more", "refs": [(1, "more_like")]}),
    ("seen them all", {"refs": [(None, "seen")]}),
    ("surprise me", {"intent": "surprise"}),
    ("I don't know", {"intent": "surprise"}),
    ("start over", {"intent": "reset"}),
    ("thanks!", {"intent": "thanks"}),
    ("Jaws is a classic", {"likes": [("Jaws", 1975)], "critiques": []}),
    ("Heat from 1995 was great", {"likes": [HEAT], "year_min": None}),
    ("something from 1994", {"year_min": 1994, "year_max": 1994}),
    ("nothing too long, I have work tomorrow", {"notes": ["runtime"]}),
    ("tell me more about the first one", {"intent": "why", "refs": [(0, "why")]}),
    ("I'm bored", {"intent": "recommend"}),
    (
        "my favourite movies are Alien, Aliens and The Thing",
        {"likes": [("Alien", 1979), ("Aliens", 1986), ("Thing, The", 1982)]},
    ),
    ("can you suggest a good romantic comedy?", {"genres_in": ["Comedy", "Romance"]}),
    ("not a fan of musicals", {"genres_out": ["Musical"]}),
    ("How are you?", {"intent": "off_topic"}),
    # sentiment stays inside its sentence or clause
    (
        "I loved Toy Story and Aladdin. I hated Titanic.",
        {"likes": [("Toy Story", 1995), ("Aladdin", 1992)], "dislikes": [TITANIC]},
    ),
    (
        "I loved Toy Story and Aladdin, I hated Titanic",
        {"likes": [("Toy Story", 1995), ("Aladdin", 1992)], "dislikes": [TITANIC]},
    ),
    ("I hated Titanic. Loved Heat!", {"likes": [HEAT], "dislikes": [TITANIC]}),
    ("I liked Heat but hated Casino", {"likes": [HEAT], "dislikes": [("Casino", 1995)]}),
    ("Loved Alien; Prometheus was boring", {"likes": [("Alien", 1979)], "dislikes": [("Prometheus", 2012)]}),
    ("not a fan of Titanic, loved Avatar though", {"likes": [("Avatar", 2009)], "dislikes": [TITANIC]}),
    ("I didn't like Heat. But Casino was great", {"likes": [("Casino", 1995)], "dislikes": [HEAT]}),
    ("I watched Heat and I loved it", {"likes": [HEAT]}),
    ("I watched Titanic and I hated Casino", {"seen": [TITANIC], "dislikes": [("Casino", 1995)]}),
    ("I saw Heat, and Casino which was boring", {"seen": [HEAT], "dislikes": [("Casino", 1995)]}),
    ("I watched Heat, which I loved", {"likes": [HEAT]}),
    ("I saw Titanic, I hated it", {"dislikes": [TITANIC]}),
    ("I hate Titanic. Comedy please", {"dislikes": [TITANIC], "genres_in": ["Comedy"], "genres_out": []}),
    # a catalog title that is also an ordinary phrase needs evidence that it is meant as a title
    ("a romantic comedy for date night", {"mentions": 0, "genres_in": ["Comedy", "Romance"]}),
    ("I liked Date Night", {"likes": [("Date Night", 2010)]}),
    ("a movie about toys", {"mentions": 0, "soft": "toys"}),
    ("films about Toys", {"mentions": 0, "soft": "toys"}),
    ("what about Toys?", {"mentions": 1}),
    ("something with dinosaurs in it", {"mentions": 0, "soft": "dinosaurs"}),
    ("Yes I have It was good!", {"mentions": 0}),
    ("Yes I have seen It", {"seen": [("It", 2017)]}),
    ("LOL", {"mentions": 0}),
    ("Hi there sorry I'm here", {"mentions": 0}),
    ("Im great by the way", {"mentions": 0}),
    ("I like high school movies", {"mentions": 0}),
    ("I love Kevin Hart", {"mentions": 0}),
    ("more", {"mentions": 0, "intent": "more"}),
    ("Up was great, something similar please", {"likes": [("Up", 2009)]}),
    ("a movie for grown-ups, nothing childish", {"mentions": 0, "moods": ["for grown-ups"]}),
    ("I liked Gone Girl. Anything like it on Amazon Prime?", {"likes": [("Gone Girl", 2014)]}),
    # moods
    ("What's a good war movie that isn't depressing?", {"genres_in": ["War"], "moods": ["not depressing"]}),
    ("something like Inception but lighter", {"likes": [("Inception", 2010)], "moods": ["lighter"]}),
    ("I want sci-fi but not too dark", {"genres_in": ["Sci-Fi"], "moods": ["lighter"]}),
    ("something darker", {"moods": ["darker"]}),
    ("I need a feel-good movie", {"moods": ["feel-good"]}),
    ("like Alien but less scary", {"moods": ["less scary"], "genres_in": []}),
    ("a black and white classic", {"moods": ["black-and-white"]}),
    ("what can I show my 10 year old?", {"moods": ["for kids"]}),
    ("A comedy for adults please, not a kids movie", {"genres_in": ["Comedy"], "moods": ["for grown-ups"]}),
    ("I don't want anything violent", {"moods": ["less violent"]}),
    ("something like Jaws but not as scary", {"likes": [("Jaws", 1975)], "moods": ["less scary"]}),
    ("Hi, I love comedy movies like Zoolander, can you recommend more?", {"likes": [("Zoolander", 2001)]}),
    ("I want to have a movie night with friends", {"mentions": 0}),
    # ReDial seekers' follow-ups: reactions and requests for more are not off-topic, and "not seen" is
    # not "seen"
    ("I enjoyed them both", {"intent": "recommend"}),
    ("I love that", {"intent": "recommend"}),
    ("Oh that sounds good too!", {"intent": "recommend"}),
    ("How about one more for my list?", {"intent": "more"}),
    ("Know of any others?", {"intent": "more"}),
    ("Know any?", {"intent": "more"}),
    ("another one please", {"intent": "more"}),
    ("I have not seen that yet but will check it out", {"refs": []}),
    ("haven't watched it", {"refs": []}),
    ("What about yours?", {"intent": "off_topic"}),
]


def _ids(pairs: list[tuple[str, int]]) -> list[int]:
    return [item_id(t, y) for t, y in pairs]


@pytest.mark.parametrize(("message", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_parser_table(message: str, expected: dict[str, Any]) -> None:
    parsed = parser().parse(message)
    by_sentiment = {
        s: [m.item_id for m in parsed.mentions if m.sentiment == s] for s in ("like", "dislike", "seen")
    }
    for key, want in expected.items():
        if key == "likes":
            assert by_sentiment["like"] == _ids(want), parsed
        elif key == "dislikes":
            assert by_sentiment["dislike"] == _ids(want), parsed
        elif key == "seen":
            assert by_sentiment["seen"] == _ids(want), parsed
        elif key == "mentions":
            assert len(parsed.mentions) == want, parsed
        elif key == "ambiguous":
            assert len(parsed.ambiguous) == want and len(parsed.ambiguous[0].options) >= 2, parsed
        elif key == "refs":
            assert [(r.position, r.action) for r in parsed.references] == want, parsed
        elif key == "soft":
            assert want in parsed.soft_text, parsed
        elif key in ("genres_in", "genres_out", "excluded_tags"):
            assert sorted(getattr(parsed, key)) == sorted(want), parsed
        else:
            assert getattr(parsed, key) == want, parsed


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40


def test_ambiguous_title_options_name_the_films() -> None:
    parsed = parser().parse("I loved lord of the rings")
    options = parsed.ambiguous[0].options
    assert item_id("Lord of the Rings: The Fellowship of the Ring, The", 2001) in options
    assert parsed.ambiguous[0].sentiment == "like"


def test_year_picks_among_same_titles() -> None:
    assert parser().parse("Titanic 1953").mentions[0].item_id == item_id("Titanic", 1953)
    assert parser().parse("I loved Titanic").mentions[0].item_id == item_id("Titanic", 1997)  # popularity


def test_common_words_are_not_titles() -> None:
    for message in ("it was up to her", "I grew up with it", "something for the family tonight"):
        assert parser().parse(message).mentions == [], message


@pytest.mark.parametrize(
    ("message", "field", "wanted", "tag"),
    [
        ("I loved Goodfellas. Not Scorsese again though", "director", False, "martin scorsese"),
        ("an adventure movie directed by Spielberg", "director", True, "steven spielberg"),
        ("anything without Tom Hanks please", "actor", False, "tom hanks"),
        ("something funny with Jim Carrey in it", "actor", True, "jim carrey"),
        ("something starring Ellen Page", "actor", True, None),
        ("a comedy under 90 minutes", "runtime", True, None),
        ("I'd like a romantic movie in French", "language", True, None),
        ("what's a good thriller on Netflix?", "streaming", True, None),
        ("a PG movie for my kids", "age rating", True, None),
        ("anything but Spielberg", "director", False, "steven spielberg"),
        ("something on Disney+", "streaming", True, None),
        ("my wife loves Meg Ryan movies", "person", True, None),
    ],
)
def test_requests_the_catalog_cannot_apply(message: str, field: str, wanted: bool, tag: str | None) -> None:
    parsed = parser().parse(message)
    found = [u for u in parsed.unsupported if u.field == field]
    assert found, parsed.unsupported
    assert found[0].wanted is wanted and found[0].applied_tag == tag
    if tag and not wanted:
        assert tag in parsed.excluded_tags  # the catalog's tag carries the name: it filters
    assert all(m.text != found[0].words for m in parsed.mentions)  # the name is no title


def test_control_characters_are_stripped() -> None:
    assert clean_text("hi\x00 there\u200b\x1b[31m") == "hi there [31m"
    assert parser().parse("\x07\x08  ").intent == "empty"


def test_negated_words_stay_out_of_the_soft_text() -> None:
    parsed = parser().parse("a space adventure with no zombies")
    assert "zombies" not in parsed.soft_text
    assert "zombies" in parsed.excluded_tags


def test_the_unsupported_note_names_only_people_to_leave_out() -> None:
    from bot.understand.unknown_attributes import note

    out = note(parser().parse("I loved Goodfellas. Not Scorsese again though").unsupported)
    assert "director data" in out and "leave out Scorsese's films" in out and "martin scorsese" in out
    wanted = note(parser().parse("Claim it stars Tom Cruise, something with Tom Cruise in it").unsupported)
    assert "actor data" in wanted and "cruise" not in wanted.lower()  # a wanted name is never echoed
    assert note(parser().parse("a comedy under 90 minutes").unsupported) == ""  # RUNTIME_NOTE says it
