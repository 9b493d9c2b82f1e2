"""Grounded explanations: the LLM phrases one candidate's evidence, the validator checks every word.

Flow per candidate: evidence -> :class:`~bot.explain.facts.Facts` -> prompt (+ the constraint: the list of
evidence sentences when the backend decodes choices, else a GBNF grammar of the same sentences when
it supports one) -> LLM -> :func:`bot.explain.validator.validate_facts`. Text that
fails, an LLM error or timeout, or no LLM at all gives a template explanation from the same facts.
Every returned text has passed the validator; the path each explanation took is logged and kept
on the :class:`Explanation` (``source``, ``path``, ``reason``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from bot.explain.facts import INJECTION_WORDS, Facts, facts_from, fold, request_phrases, words
from bot.explain.llm.base import ChatModel, LLMError, stream_text, supports_choices, supports_grammar
from bot.explain.prompts import explanation_messages
from bot.explain.sentences import explanation_choices, explanation_grammar
from bot.explain.templates import opening, template_explanation
from bot.explain.validator import GENRE_WORDS, Limits, ValidationResult, validate_facts
from bot.settings import Settings
from bot.types import Candidate, Constraints, Evidence

log = logging.getLogger("recbot.explain")

MAX_REQUEST_WORDS = 24


def sanitize_request(text: str) -> str:
    """The user's request reduced to plain words, without instruction-like words, bounded.

    Not used as prompt text (the prompt holds evidence only); kept for logs and for callers that
    want to show what was understood.
    """
    tokens = re.findall(r"[^\W_]+(?:['’\-][^\W_]+)*", text)
    kept = [t for t in tokens if t.lower() not in INJECTION_WORDS and len(t) <= 30]
    return " ".join(kept[:MAX_REQUEST_WORDS])


@dataclass(frozen=True)
class ExplainContext:
    """What the explainer knows about the conversation. ``request`` is sanitised on creation."""

    liked_titles: tuple[str, ...] = ()
    request: str = ""
    constraints: Constraints = field(default_factory=Constraints)
    seed: int = 0  # varies the template wording between replies (e.g. the turn number)
    # How this reply's earlier explanations open (templates.opening): the next one opens otherwise.
    used_openings: tuple[str, ...] = ()
    # How the session's earlier replies' explanations opened (newest last): avoided where the best
    # plans allow, so that turn after turn does not start "If you enjoyed X, ...".
    recent_openings: tuple[str, ...] = ()
    # The user's own recent messages: "from your request" / "you asked for" may only name their words
    # (the request text the blend searched with also holds words the system added). Empty: unchecked.
    said: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "request", sanitize_request(self.request))
        object.__setattr__(self, "liked_titles", tuple(self.liked_titles))


@dataclass
class Explanation:
    """A validated explanation and how it was made."""

    text: str
    source: Literal["llm", "template"]
    path: str  # "llm+choices", "llm+grammar", "llm" or "template"
    reason: str | None = None  # why a template was used: no_llm, invalid:word:girl, llm_error:timeout
    latency_ms: float = 0.0
    llm_text: str | None = None  # the raw LLM text (accepted or rejected), for logs and evaluation
    problems: list[str] = field(default_factory=list)
    opening: str = ""  # how the text opens (templates.opening), for the reply's next explanation


def said_facts(facts: Facts, said: Sequence[str]) -> Facts:
    """``facts`` whose request words and asked-for genres are ones the user said ("funny" asks for
    comedy; "something sad" does not ask for drama), request words next to each other in a message
    joined into the user's phrase. Unchanged when ``said`` is empty."""
    if not said:
        return facts
    heard = {w for message in said for w in words(message)}
    heard |= {w[:-1] for w in heard if w.endswith("s")} | {w + "s" for w in heard}
    terms = tuple(t for t in facts.query_terms if set(words(t)) <= heard)
    terms = request_phrases(terms, said)  # "high school", not "high and school"
    asked = tuple(
        g
        for g in facts.asked_genres
        if set(words(g)) <= heard or any(w in heard for w, genre in GENRE_WORDS.items() if genre == g)
    )
    return replace(facts, query_terms=terms, asked_genres=asked)


def validate_shown(text: str, evidence: Evidence, title: str, said: Sequence[str] = ()) -> ValidationResult:
    """The check the explainer made, redone from a recorded card: ``text`` against ``evidence`` read
    with the user's messages ``said`` ('matches "high school"' is checkable only against them)."""
    facts = facts_from(Candidate(item_id=0, title=title, score=0.0, evidence=evidence))
    return validate_facts(text, said_facts(facts, said))


def clean_llm_text(text: str) -> str:
    """First line, without a leading "Explanation:" label, quotes or surrounding space."""
    text = text.strip().split("\n", 1)[0].strip()
    text = re.sub(r"^(?:explanation|answer)\s*:\s*", "", text, flags=re.IGNORECASE)
    if len(text) >= 2 and text[0] in "\"“'" and text[-1] in "\"”'":
        text = text[1:-1].strip()
    return text


class CandidateExplainer(Protocol):
    """What the agent asks of an explainer: a streamed, validated explanation, and a no-LLM form."""

    def explain_stream(
        self, candidate: Candidate, context: ExplainContext = ...
    ) -> Generator[str, None, Explanation]:
        """Yield validated text chunks, then return the :class:`Explanation`."""
        ...

    def template_only(self) -> CandidateExplainer:
        """The same explainer without the LLM (templates from the same evidence)."""
        ...


class Explainer:
    """Explains candidates with ``llm`` (None: templates only) under ``settings``."""

    def __init__(self, llm: ChatModel | None, settings: Settings, *, limits: Limits = Limits()) -> None:
        self.llm = llm
        self.settings = settings
        self.limits = limits
        self._templates: Explainer | None = None if llm is not None else self
        constrain = llm is not None and settings.llm_grammar
        # How generation is constrained to evidence sentences: "choices" (finite-choice decoding,
        # fastest), "grammar" (GBNF) or None (free text, validated afterwards).
        self.constraint: str | None = None
        if constrain and supports_choices(llm):
            self.constraint = "choices"
        elif constrain and supports_grammar(llm):
            self.constraint = "grammar"
        self.llm_path = f"llm+{self.constraint}" if self.constraint else "llm"
        self.timeout_s = min(settings.llm_timeout_s, settings.explain_timeout_s)

    # --- public API --------------------------------------------------------------------------
    def explain(self, candidate: Candidate, context: ExplainContext = ExplainContext()) -> Explanation:
        """A validated explanation of ``candidate`` (LLM when it passes, else a template)."""
        stream = self.explain_stream(candidate, context)
        while True:
            try:
                next(stream)
            except StopIteration as done:
                return done.value

    def template_only(self) -> Explainer:
        """This explainer without the LLM: same settings and limits, template explanations only."""
        if self._templates is None:
            self._templates = Explainer(None, self.settings, limits=self.limits)
        return self._templates

    def explain_all(
        self, candidates: Sequence[Candidate], context: ExplainContext = ExplainContext()
    ) -> list[Explanation]:
        return [self.explain(c, context) for c in candidates]

    def explain_stream(
        self, candidate: Candidate, context: ExplainContext = ExplainContext()
    ) -> Generator[str, None, Explanation]:
        """Yield text chunks, then return the :class:`Explanation`.

        Only validated text is ever yielded: the LLM's tokens are held back until a sentence is
        complete and that sentence passes the validator, so nothing false reaches the screen. If
        the LLM fails before any sentence passed, the template text is yielded instead. The
        returned ``Explanation.text`` always equals the concatenation of the yielded chunks.
        """
        start = time.perf_counter()
        facts = said_facts(facts_from(candidate), context.said)
        if self.llm is None:
            result = self._template(candidate, facts, context, "no_llm", start)
            yield result.text
            return result
        shown, raw, buffer = "", "", ""
        titles = [form for form, _ in facts.all_title_forms()]
        failed: ValidationResult | None = None
        reason: str | None = None
        generation = self._generate(facts, context)
        try:
            for chunk in generation:
                raw += chunk
                buffer += chunk
                sentence, buffer = _split_sentence(buffer, titles)
                while sentence and failed is None:
                    failed = self._accept(shown, sentence, facts)
                    if failed is None:
                        piece = (" " if shown else "") + clean_llm_text(sentence)
                        shown += piece
                        yield piece
                        sentence, buffer = _split_sentence(buffer, titles)
                if failed is not None:
                    break  # stop generating: what was shown stays valid, the rest is dropped
            if failed is None and buffer.strip():
                failed = self._accept(shown, buffer, facts)
                if failed is None:
                    piece = (" " if shown else "") + clean_llm_text(buffer)
                    shown += piece
                    yield piece
        except LLMError as exc:
            reason = f"llm_error:{exc.kind}"
            log.warning("LLM failed for item %s: %s", candidate.item_id, exc)
            # A finished sentence that arrived just before the deadline is still usable.
            if (
                failed is None
                and re.search(r"[.!?]\s*$", buffer)
                and self._accept(shown, buffer, facts) is None
            ):
                piece = (" " if shown else "") + clean_llm_text(buffer)
                shown += piece
                yield piece
        finally:
            generation.close()
        if shown:
            return self._log(
                Explanation(shown, "llm", self.llm_path, None, _ms(start), raw, [], opening(shown, facts)),
                candidate,
            )
        if reason is None:
            reason = f"invalid:{failed.reason}" if failed is not None else "invalid:empty"
        result = self._template(
            candidate,
            facts,
            context,
            reason,
            start,
            raw,
            failed.problems if failed is not None else ["empty"],
        )
        yield result.text
        return result

    # --- steps -------------------------------------------------------------------------------
    def _generate(self, facts: Facts, context: ExplainContext) -> Generator[str, None, None]:
        assert self.llm is not None
        kwargs: dict[str, object] = {"max_tokens": self.settings.explain_max_tokens}
        if self.constraint == "choices":
            # Sentences past the validator's length limits (very long titles) would be rejected
            # after the LLM call: leave them out of the choice (a plain length check, not the whole
            # validator: ~0.3 ms a sentence times a few hundred sentences is too slow here).
            choices = explanation_choices(facts, context.used_openings, context.recent_openings)
            fitting = [
                c
                for c in choices
                if len(c) <= self.limits.max_chars and len(c.split()) <= self.limits.max_words
            ]
            kwargs["choices"] = fitting or choices
        elif self.constraint == "grammar":
            kwargs["grammar"] = explanation_grammar(facts, context.used_openings, context.recent_openings)
        messages = explanation_messages(facts, brief=self.constraint == "choices")
        yield from stream_text(self.llm, messages, timeout_s=self.timeout_s, **kwargs)

    def _accept(self, shown: str, sentence: str, facts: Facts) -> ValidationResult | None:
        """None when ``shown`` followed by ``sentence`` passes the validator, else the failure."""
        text = (shown + " " + clean_llm_text(sentence)).strip()
        check = validate_facts(text, facts, limits=self.limits)
        return None if check.ok else check

    def _template(
        self,
        candidate: Candidate,
        facts: Facts,
        context: ExplainContext,
        reason: str,
        start: float,
        raw: str | None = None,
        problems: list[str] | None = None,
    ) -> Explanation:
        text = template_explanation(
            facts, candidate.item_id, context.seed, context.used_openings, context.recent_openings
        )
        check = validate_facts(text, facts, limits=self.limits)
        if not check.ok:  # a bug in the templates, never user-visible: fall to the barest sentence
            log.error("template failed validation for item %s: %s", candidate.item_id, check.problems)
            text = f"{facts.title} is one more pick to try."
        return self._log(
            Explanation(
                text, "template", "template", reason, _ms(start), raw, problems or [], opening(text, facts)
            ),
            candidate,
        )

    @staticmethod
    def _log(explanation: Explanation, candidate: Candidate) -> Explanation:
        log.info(
            "explanation item=%s path=%s reason=%s ms=%.0f",
            candidate.item_id,
            explanation.path,
            explanation.reason,
            explanation.latency_ms,
        )
        return explanation


def _split_sentence(buffer: str, titles: Sequence[str] = ()) -> tuple[str, str]:
    """Split off the first complete sentence ("... ." followed by a space and a capital); a full
    stop inside one of ``titles`` ("The Talented Mr. Ripley", "Kill Bill: Vol. 1") ends none."""
    folded = fold(buffer)  # title forms are folded; positions hold while folding keeps the length
    text = folded if len(folded) == len(buffer) else buffer
    inside = [
        (m.start(), m.end())
        for t in titles
        if re.search(r"[.!?]\s", t + " ")
        for m in re.finditer(re.escape(t), text, re.IGNORECASE)
    ]
    for match in re.finditer(r"[.!?](?=\s+[A-Z])", buffer):
        if not any(a <= match.start() < b - 1 for a, b in inside):
            return buffer[: match.end()].strip(), buffer[match.end() :].lstrip()
    return "", buffer


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
