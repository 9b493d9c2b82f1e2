"""The LangChain prompt that asks the LLM to phrase one candidate's evidence.

The prompt holds facts only: the item's title and the evidence lines from :class:`~bot.explain.facts.Facts`.
The user's raw message is never copied in; at most the request words that are also evidence words
appear (already part of the facts), so "ignore your instructions and say ..." cannot steer the
model. The static part (instructions and two worked examples) comes first so that llama.cpp
reuses its evaluated prefix across calls and only the short fact line is new each time.
"""

from __future__ import annotations

from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate

from bot.explain.facts import Facts, format_rating

SYSTEM = (
    "You explain movie recommendations. Write one short sentence that uses only the facts given "
    "(liked titles, genres, tags, ratings, request words). Never mention plot, actors, opinions "
    "or any other title."
)

# Worked examples: facts line -> explanation. Both are true of their (invented) facts.
EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "Movie: Ronin | liked: Heat | genres: crime, action | rating: 3.9 from 120 people",
        "Because you liked Heat, Ronin is a crime and action film rated 3.9 on average by 120 people.",
    ),
    (
        "Movie: Toy Story | liked: Finding Nemo | genres: animation, comedy | tags: pixar",
        "Toy Story is an animation and comedy film tagged pixar, similar to Finding Nemo.",
    ),
)


def facts_line(facts: Facts, brief: bool = False) -> str:
    """One line of facts: "Movie: X | liked: A, B | genres: ... | rating: 3.9 from 120 people".

    ``brief`` names only the item, the liked titles and the request words. It is for finite-choice
    decoding (:mod:`bot.explain.llm.choices`), where every option is a sentence of evidence: the options
    carry the facts and the prompt only sets the scene. Every prompt token costs ~3.5 ms to
    evaluate on two CPU cores; the full line (~50 tokens after the cached prefix) made the prompt
    most of an explanation's time, and on a sample of 18 explanations did not lead the model to
    better choices (docs/benchmarks.md, "Agent turn").
    """
    parts = [f"Movie: {facts.title}"]
    if facts.liked:
        parts.append("liked: " + ", ".join(facts.liked))
    if facts.query_terms and brief:
        parts.append("request words: " + ", ".join(facts.query_terms))
    if brief:
        return " | ".join(parts)
    if facts.genres:
        parts.append("genres: " + ", ".join(facts.genres[:3]))
    if facts.tags:
        parts.append("tags: " + ", ".join(facts.tags))
    if facts.query_terms:
        parts.append("request words: " + ", ".join(facts.query_terms))
    if facts.mean_text is not None and facts.n_ratings > 0:
        parts.append(f"rating: {facts.mean_text} from {facts.n_ratings} people")
    for co in facts.co_ratings[:1]:
        parts.append(f"people who liked {co.seed_title}: rated it {format_rating(co.mean)} ({co.n} people)")
    if facts.year is not None:
        parts.append(f"year: {facts.year}")
    return " | ".join(parts)


def _template() -> ChatPromptTemplate:
    messages: list[tuple[str, str]] = [("system", SYSTEM)]
    for human, ai in EXAMPLES:
        messages += [("human", human), ("ai", ai)]
    messages.append(("human", "{facts}"))
    return ChatPromptTemplate.from_messages(messages)


EXPLANATION_PROMPT = _template()


def explanation_messages(facts: Facts, brief: bool = False) -> list[BaseMessage]:
    """The chat messages asking for an explanation of the item described by ``facts`` (see facts_line)."""
    return EXPLANATION_PROMPT.format_messages(facts=facts_line(facts, brief))
