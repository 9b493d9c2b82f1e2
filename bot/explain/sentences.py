"""What a constrained LLM may write for one candidate: the most specific sentence plans, as options.

Free generation from the 135M/270M models invents plot and titles; constrained, the model can only
choose among whole plans (:mod:`bot.explain.templates`), each one or two sentences that bind every
fact to its own wording ("the 62 people who liked Heat rated Ronin 4.1 on average"), so a number
cannot drift to the wrong slot and a "because you liked X" always names what the item shares
with X. Only the plans of the best tier are offered (specific before generic), less those whose
opening this reply already used, and of the rest those the session's recent replies opened with
least. With finite-choice decoding (llama.cpp) the options are spelled
out; a backend that takes only a GBNF grammar gets the same options as one alternation. The
output is still validated (:mod:`bot.explain.validator`): the constraint is not the proof.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.explain.facts import Facts
from bot.explain.templates import top_plans


def gbnf_literal(text: str) -> str:
    """A GBNF string literal for ``text``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return f'"{escaped}"'


def explanation_choices(
    facts: Facts, used_openings: Sequence[str] = (), recent_openings: Sequence[str] = ()
) -> list[str]:
    """The texts the LLM may choose from: the best plans whose openings this reply has not used,
    least used by the session's recent replies (:func:`bot.explain.templates.top_plans`)."""
    return list(dict.fromkeys(p.text for p in top_plans(facts, used_openings, recent_openings)))


def explanation_grammar(
    facts: Facts, used_openings: Sequence[str] = (), recent_openings: Sequence[str] = ()
) -> str:
    """The GBNF text admitting exactly :func:`explanation_choices` (an optional leading space)."""
    options = explanation_choices(facts, used_openings, recent_openings)
    lines = ['root ::= " "? plan', "plan ::= " + " | ".join(gbnf_literal(o) for o in options)]
    return "\n".join(lines) + "\n"
