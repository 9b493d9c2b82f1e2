"""The words and patterns the message parser knows: genres, cues, critiques, decades, requests.

Kept apart from the parsing logic (:mod:`bot.understand.parser`) so the vocabulary can be read and
extended in one place; the critique mapping is documented in :mod:`bot.understand.parser`.
"""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from bot.understand.titles import COMMON_WORDS

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

# A one-word genre typo ("comdy", "horor", "documentry") is read as the genre when rapidfuzz's ratio
# reaches this and the word is not an ordinary word; shorter words are left alone ("scar", "dram").
GENRE_TYPO_CUTOFF = 88.0
GENRE_TYPO_MIN_LEN = 5
_ONE_WORD_GENRES = tuple(k for k in GENRE_PHRASES if " " not in k)


def genre_typo(word: str) -> tuple[str, ...] | None:
    """The genres of the one-word genre phrase ``word`` is a typo of, or None."""
    if len(word) < GENRE_TYPO_MIN_LEN or word in GENRE_PHRASES or word in COMMON_WORDS or not word.isalpha():
        return None  # COMMON_WORDS holds the stop words too
    best = process.extractOne(word, _ONE_WORD_GENRES, scorer=fuzz.ratio, score_cutoff=GENRE_TYPO_CUTOFF)
    return None if best is None else GENRE_PHRASES[best[0]]


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
# A cue verb after a title with one of these subjects in between is about its own object
# ("Aladdin and I hated Titanic"), unless that object points back ("Heat and I loved it").
SUBJECTS = frozenset("i we my wife husband kids".split())
OBJECT_PRONOUNS = frozenset("it that this them those both".split())
RELATIVE = frozenset("which that who".split())  # "Heat, which I loved": about Heat
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
# Negated "new" phrases mean older; matched before NEWER_WORDS so "recent" is consumed.
NOT_NEWER_WORDS = ("nothing too recent", "not too recent", "nothing too new", "not too new", "nothing recent")
# Negated "old" phrases come first: they are matched before OLDER_WORDS and consume "old".
NEWER_WORDS = (
    "nothing too old",
    "not too old",
    "nothing old",
    "not old",
    "no old",
    "more recent",
    "newer",
    "recent",
    "latest",
    "modern",
    "new releases",
)
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
    mood feel feeling think mind never ok okay fine alright sorry yes yeah yep lol haha hahaha omg""".split()
    )
)

RE_GREETING = re.compile(
    r"^\s*(hi|hello|hey|hiya|howdy|yo|hallo|greetings|good (morning|afternoon|evening))\b", re.I
)
RE_THANKS = re.compile(r"\b(thanks|thank you|thx|cheers|bye|goodbye|see you|good night)\b", re.I)
RE_RESET = re.compile(
    r"\b(start over|start again|start from scratch|reset|restart|forget (everything|all that"
    r"|it all|what i said)|new search|clear (it|everything|my preferences))\b",
    re.I,
)
RE_WHY = re.compile(
    r"^\s*(why|how come|what makes|explain)\b|\bwhy (did|do|would|is|was|that|this|the|these|"
    r"those|it|recommend)\b|\btell me (more )?about (the|that|this|it|number)\b",
    re.I,
)
RE_MORE = re.compile(
    r"^\s*(more|(show|give) me more|more please|next|others?|other (ones|options|suggestions|"
    r"movies|films)|something else|anything else|different ones|what else|keep going)\b"
    r"|\b(show|give|got|have) (me )?(some )?more\b|\bmore like (that|this|it|those|these|them|"
    r"the)\b|\b(other|more|different) (options|ones|suggestions|picks)\b"
    # "how about one more for my list?", "know of any others?", "any other ones?", "another one?"
    r"|\b(one|a few) more\b|\bany others?\b|\bany other (ones|movies|films|suggestions|recommendations)\b"
    r"|\b(know|got) (of )?any\b|\banother (one|movie|film|suggestion|recommendation|pick|idea)\b",
    re.I,
)
# A reaction to movies already named ("I enjoyed them both", "I love that", "sounds good"): part of
# the movie conversation, not off-topic, even when it names nothing new.
RE_REACTION = re.compile(
    r"\b(enjoy(ed|s)?|lov(e|ed|es)|lik(e|ed|es)|favou?rite|classics?|"
    r"(great|good|nice) (one|ones|movie|film|choice|pick|suggestions?)|"
    r"sounds? (good|great|interesting|fun|amazing)|check (it|that|them|those|these) out|heard of)\b",
    re.I,
)
RE_SURPRISE = re.compile(
    r"\b(surprise me|random|you pick|you choose|up to you|dunno|i don'?t know|no idea|"
    r"not sure|idk|doesn'?t matter|whatever|anything is fine|anything goes)\b",
    re.I,
)
RE_ALL_SEEN = re.compile(
    r"\b(seen|watched|saw) (them|those|these|all|both|all of (them|those|these)|"
    r"them all|every one)\b|\b(all|both) (of them|of those)? ?(seen|watched)\b",
    re.I,
)
RE_DECADE = re.compile(r"(?<![\w$])(?P<mod>early|late|mid)?[\s-]*'?(?P<dec>(?:19|20)?\d0)'?s\b", re.I)
RE_AFTER = re.compile(
    r"\b(after|since|post|newer than|from|later than)\s+(?:the\s+)?((?:19|20)\d{2})(?!s)\b", re.I
)
RE_BEFORE = re.compile(
    r"\b(before|pre|older than|until|prior to|earlier than)\s+(?:the\s+)?((?:19|20)\d{2})(?!s)\b", re.I
)
RE_BETWEEN = re.compile(
    r"\b(?:between|from)\s+((?:19|20)\d{2})\s*(?:and|to|-|–|until)\s*((?:19|20)\d{2})\b", re.I
)
RE_IN_YEAR = re.compile(r"\b(?:in|released in|made in)\s+((?:19|20)\d{2})(?!s)\b", re.I)
RE_RATING_NUM = re.compile(
    r"\b(?:rated|rating|ratings|score|stars?)\s*(?:of\s+)?(?:above|over|at least|>=?|"
    r"higher than|more than)\s*(\d(?:\.\d)?)|\bat least\s*(\d(?:\.\d)?)\s*stars?"
    r"|\b(\d(?:\.\d)?)\s*stars?\s*(?:or (?:more|higher|better|above)|and up|\+)",
    re.I,
)
RE_RATING_VAGUE = re.compile(
    r"\b(highly|well|top|best|high(ly)?[- ]rated|critically acclaimed|acclaimed|"
    r"good ratings|high ratings|well reviewed|great reviews)\b[- ]?(rated)?",
    re.I,
)
RE_REF = re.compile(
    r"\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b(?:\s+(?:one|"
    r"movie|film|pick|option|suggestion))?|\b(?:number|no\.?|#|option)\s*(\d)\b",
    re.I,
)
RE_THAT_ONE = re.compile(r"\b(that one|this one|that movie|this movie|that film|that|it)\b", re.I)
RE_OFF_TOPIC = re.compile(
    r"^\s*(who|what|whats|what's|when|where|how|is|are|can you|could you|will|do you|"
    r"tell me a joke|help me)\b",
    re.I,
)
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
