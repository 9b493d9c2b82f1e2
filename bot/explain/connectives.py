"""The words that join evidence in an explanation without stating a fact about the item.

Shared by the facts (plain-word titles) and the validator (words a sentence may use freely).
"""

from __future__ import annotations

# Words that connect evidence without stating a fact about the item. Deliberately no nouns or
# adjectives that describe content (plot, people, quality), no negations, no number words.
CONNECTIVES = frozenset(
    """
    a an the and or but with also as of to for by on in at from it its it's this that which who
    is are was were be been has have had you your you're you've you'll i i'd we our both one
    another other more so too just well here here's there's that's if because since given so when
    like likes liked enjoy enjoys enjoyed love loved loves fans fan similar close closely near
    shares share matches match matching fits fit suits suit should might may could would will can
    try watch pick picks choice option recommend recommended suggest suggestion worth
    rated rating ratings average averaged scored people person viewers users raters who out
    came released tagged tag tags genre genres mix blend combines film films movie movies title
    request asked mentioned looking mood taste year gave
    """.split()
)
