"""A llama.cpp GBNF grammar per candidate whose only terminals are its evidence phrases.

Free generation from the 135M/270M models invents plot and titles; under this grammar the model
can only choose which facts to state, in which order, and how to open the sentence. Each
predicate binds a fact to its own wording ("is rated 3.9 on average by 120 people"), so a number
cannot drift to the wrong slot. One sentence, at most two predicates, each used once. The output
is still validated (:mod:`bot.explain.validator`): the grammar is a constraint, not the proof.
"""

from __future__ import annotations

from itertools import permutations

from bot.explain.facts import Facts, format_rating
from bot.explain.templates import article, join, query_phrase


def gbnf_literal(text: str) -> str:
    """A GBNF string literal for ``text``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return f'"{escaped}"'


def kinded_predicates(facts: Facts) -> list[tuple[str, str]]:
    """(kind, verb phrase) pairs about the item, each phrase stating exactly one piece of evidence.

    The kind groups phrases that say the same sort of thing ("is a crime film" / "is a crime and
    drama film"): a sentence joins two predicates only of different kinds, so it never says one
    thing twice.
    """
    preds: list[tuple[str, str]] = []
    if facts.liked:
        preds.append(("liked", f"is similar to {join(facts.liked)}"))
        preds.append(("liked", f"should suit fans of {join(facts.liked)}"))
    if facts.genres:
        one = facts.genres[0]
        preds.append(("genre", f"is {article(one)} {one} film"))
        if len(facts.genres) > 1:
            two = join(facts.genres[:2])
            preds.append(("genre", f"is {article(two)} {two} film"))
    for tag in facts.tags[:2]:
        preds.append(("tag", f"is tagged {tag}"))
    if facts.mean_text is not None and facts.n_ratings > 0:
        people = "person" if facts.n_ratings == 1 else "people"
        preds.append(("rating", f"is rated {facts.mean_text} on average by {facts.n_ratings} {people}"))
    if facts.co_ratings:
        preds.append(("co_rating", _co_predicate(facts)))
    if facts.year is not None:
        preds.append(("year", f"came out in {facts.year}"))
    if q := query_phrase(facts):
        preds.append(("request", q.removeprefix("it ")))
    return preds


def predicates(facts: Facts) -> list[str]:
    """Verb phrases about the item, each stating exactly one piece of evidence."""
    return [phrase for _, phrase in kinded_predicates(facts)]


def _co_predicate(facts: Facts) -> str:
    co = facts.co_ratings[0]
    who = "people" if co.n != 1 else "person"
    return f"was rated {format_rating(co.mean)} on average by the {co.n} {who} who liked {co.seed_title}"


def openers(facts: Facts) -> list[str]:
    """Sentence openings, subject included."""
    result = [facts.title]
    for liked in facts.liked[:2]:
        result.append(f"Because you liked {liked}, {facts.title}")
        result.append(f"If you enjoyed {liked}, {facts.title}")
    if not facts.liked:
        result.append(f"For your request, {facts.title}")
    return result


def _bodies(facts: Facts, max_predicates: int, max_chars: int) -> tuple[list[str], list[tuple[int, ...]]]:
    """The predicates, and the index tuples of the sentence bodies: one predicate, or two of different
    kinds joined by "and".

    Two predicates only where the sentence still fits the token budget (~4 characters a token):
    a sentence cut at max_tokens fails validation and wastes the LLM call.
    """
    kinded = kinded_predicates(facts) or [("none", "is one more pick to try")]
    preds = [phrase for _, phrase in kinded]
    bodies: list[tuple[int, ...]] = [(i,) for i in range(len(preds))]
    if max_predicates >= 2:
        room = max_chars - max(len(o) for o in openers(facts))
        bodies += [
            (a, b)
            for a, b in permutations(range(len(preds)), 2)
            if kinded[a][0] != kinded[b][0] and len(preds[a]) + len(preds[b]) + 6 <= room
        ]
    return preds, bodies


def explanation_choices(facts: Facts, max_predicates: int = 2, max_chars: int = 150) -> list[str]:
    """Every sentence :func:`explanation_grammar` admits, spelled out (for finite-choice decoding)."""
    preds, bodies = _bodies(facts, max_predicates, max_chars)
    texts = [" and ".join(preds[i] for i in body) for body in bodies]
    return list(dict.fromkeys(f"{opener} {text}." for opener in openers(facts) for text in texts))


def explanation_grammar(facts: Facts, max_predicates: int = 2, max_chars: int = 150) -> str:
    """The GBNF text for one explanation of the item described by ``facts``."""
    preds, index_bodies = _bodies(facts, max_predicates, max_chars)
    names = [f"p{i}" for i in range(len(preds))]
    bodies = [' " and " '.join(names[i] for i in body) for body in index_bodies]
    lines = [
        'root ::= " "? opener " " body "."',
        "opener ::= " + " | ".join(gbnf_literal(o) for o in openers(facts)),
        "body ::= " + " | ".join(bodies),
    ]
    lines += [f"{name} ::= {gbnf_literal(p)}" for name, p in zip(names, preds, strict=True)]
    return "\n".join(lines) + "\n"
