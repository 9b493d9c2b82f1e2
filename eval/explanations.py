"""``recbot eval explanations``: what the shown explanations say, over scripted dialogues and simulated users.

Every shown explanation is recorded with what it was shown in (the user's messages so far, a known
user's id, the items given a thumbs up), its claims are parsed and checked against the MovieLens
files by :mod:`eval.claim_check` (independent of the validator), and the run reports:

* ``user_linked``: share of explanations citing a fact about this person (a liked title it is
  linked to, their own rating, a co-rating of their liked title, what they asked for);
* ``mean_facts``: mean number of distinct checked claims per explanation;
* ``unique_sentences``: distinct sentences / sentences shown;
* ``session_unique_sentences`` / ``session_repeated_openings``: per scripted dialogue or simulated
  session, distinct sentences / sentences, and the share of its explanations whose opening (first
  three words, the item's own title read as one word T and numbers as N, so "Alien is a" and
  "Psycho is a" open alike) repeats an earlier explanation's in the same session; the mean over
  sessions (``sessions``);
* ``llm_share``: share written by the LLM (the rest are templates); ``llm_texts``: how many LLM texts
  the validator accepted (shown), rejected (``invalid:...``, a template shown instead, with the
  first problems by kind) and how many LLM calls failed (``llm_error:...``: deadline, crash);
* ``false_claims``: share of explanations with a false claim in this run, and on the labelled sample.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.chat_agent import ChatAgent
from bot.types import TurnResult
from eval.claim_check import USER_LINKED_KINDS, Context, MovieLens, check, label

LABELLED = Path(__file__).resolve().parent / "data" / "explanations_labelled_issue15.jsonl"
Progress = Callable[[str], None]


@dataclass
class Shown:
    """One explanation as a user saw it."""

    run: str  # "dialogues" or "simulate"
    session: str  # dialogue name or simulated user
    turn: int
    item_id: int
    title: str
    text: str
    source: str  # llm / template
    messages: list[str]
    user_id: int | None
    liked_ids: list[int]
    earlier_ids: list[int]
    evidence: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why a template was shown (invalid:word:girl, llm_error:timeout, no_llm)


class RecordingAgent:
    """Delegates to ``agent`` and records every shown explanation with its conversation."""

    def __init__(self, agent: ChatAgent, run: str) -> None:
        self._agent = agent
        self.run = run
        self.shown: list[Shown] = []
        self._sessions: dict[str, dict[str, Any]] = {}
        self.name = ""  # the dialogue or simulated user now playing (set by the caller)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._agent, name)

    def create_session(self, user_id: int | str | None = None, **kwargs: Any) -> str:
        session = self._agent.create_session(user_id=user_id, **kwargs)
        uid = int(user_id) if user_id is not None and str(user_id).isdigit() else None
        self._sessions[session] = self._new(uid)
        return session

    def feedback(self, session_id: str, item_id: int | None, kind: str, **kwargs: Any) -> dict[str, Any]:
        if kind == "up" and item_id is not None and session_id in self._sessions:
            self._sessions[session_id]["liked"].append(int(item_id))
        return self._agent.feedback(session_id, item_id, kind, **kwargs)

    def turn(self, session_id: str, message: str, **kwargs: Any) -> TurnResult:
        result = self._agent.turn(session_id, message, **kwargs)
        reasons = self._reasons(session_id, result.turn_id) if result.recommendations else {}
        info = self._sessions.setdefault(session_id, self._new(None))
        info["messages"].append(message)
        info["turn"] += 1
        for rec in result.recommendations:
            self.shown.append(
                Shown(
                    self.run,
                    info["name"] or session_id,
                    info["turn"],
                    rec.item_id,
                    rec.title,
                    rec.explanation,
                    rec.explanation_source,
                    list(info["messages"]),
                    info["user_id"],
                    list(info["liked"]),
                    list(info["shown"]),
                    evidence_summary(rec.evidence),
                    reasons.get(rec.item_id),
                )
            )
        info["shown"].extend(r.item_id for r in result.recommendations)
        return result

    def _reasons(self, session_id: str, turn_id: int) -> dict[int, str | None]:
        """item id -> why its explanation is a template, as the agent recorded the turn."""
        turns = self._agent.session(session_id).get("turns", [])
        row: dict[str, Any] = next((t for t in turns if t.get("turn_id") == turn_id), {})
        return {int(e["item_id"]): e.get("reason") for e in row.get("explanations") or []}

    def _new(self, user_id: int | None) -> dict[str, Any]:
        return {"messages": [], "user_id": user_id, "liked": [], "shown": [], "turn": 0, "name": self.name}


def evidence_summary(ev: dict[str, Any]) -> dict[str, Any]:
    """The parts of the evidence a reader of the labelled sample needs, compactly."""
    return {
        "liked": [
            {
                "title": n.get("title"),
                "shared_genres": n.get("shared_genres", []),
                "shared_tags": n.get("shared_tags", []),
                "user_rating": n.get("user_rating"),
            }
            for n in ev.get("neighbours", [])
        ],
        "co_ratings": [
            {"seed": c.get("seed_title"), "mean": round(float(c.get("mean", 0)), 3), "n": c.get("n")}
            for c in ev.get("co_ratings", [])
        ],
        "genres": ev.get("genres", []),
        "asked_genres": ev.get("asked_genres", []),
        "tags": [*ev.get("matched_tags", []), *ev.get("item_tags", [])],
        "avoided_tags": ev.get("avoided_tags", []),
        "mean_rating": None if ev.get("mean_rating") is None else round(float(ev["mean_rating"]), 3),
        "n_ratings": ev.get("n_ratings"),
    }


def labelled_row(shown: Shown, ml: MovieLens) -> dict[str, Any]:
    """A row of the labelled sample: the text, its item and evidence, the checker's label and reason."""
    claims = check(shown.text, _context(shown), ml)
    verdict, reason = label(claims)
    return {
        "run": shown.run,
        "session": shown.session,
        "turn": shown.turn,
        "user_id": shown.user_id,
        "messages": shown.messages,
        "liked_ids": shown.liked_ids,
        "earlier_ids": shown.earlier_ids,
        "item_id": shown.item_id,
        "title": shown.title,
        "source": shown.source,
        "template_reason": shown.reason,
        "text": shown.text,
        "evidence": shown.evidence,
        "claims": [{"kind": c.kind, "args": list(c.args), "ok": c.ok} for c in claims],
        "label": verdict,
        "reason": reason,
    }


def _context(shown: Shown) -> Context:
    return Context(
        shown.item_id, shown.title, shown.messages, shown.user_id, shown.liked_ids, shown.earlier_ids
    )


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def sentences(text: str) -> list[str]:
    return [p.strip() for p in _SENTENCE.split(text) if p.strip()]


def opening(text: str, title: str) -> str:
    """The first three words of ``text``, the item's own title as T and numbers as N."""
    if title:
        text = re.sub(r"(?<!\w)" + re.escape(title) + r"(?!\w)", " T ", text, flags=re.IGNORECASE)
    text = re.sub(r"\d+(?:[.,]\d+)*", " N ", text)
    return " ".join(re.findall(r"[\w']+", text.lower())[:3])


def session_figures(shown: Sequence[Shown]) -> dict[str, Any]:
    """Per session (dialogue or simulated user): unique-sentence ratio and repeated-opening share;
    their means over sessions."""
    by_session: dict[tuple[str, str], list[Shown]] = defaultdict(list)
    for s in shown:
        by_session[(s.run, s.session)].append(s)
    unique: list[float] = []
    repeated: list[float] = []
    for items in by_session.values():
        said = [p for s in items for p in sentences(s.text)]
        if said:
            unique.append(len(set(said)) / len(said))
        seen: set[str] = set()
        again = 0
        for s in items:
            o = opening(s.text, s.title)
            again += o in seen
            seen.add(o)
        repeated.append(again / len(items))
    return {
        "sessions": len(by_session),
        "session_unique_sentences": round(sum(unique) / len(unique), 4) if unique else None,
        "session_repeated_openings": round(sum(repeated) / len(repeated), 4) if repeated else None,
    }


def llm_texts(shown: Sequence[Shown]) -> dict[str, Any]:
    """How the LLM's texts fared: accepted by the validator (shown), rejected, or no text at all."""
    reasons = [s.reason or "" for s in shown]
    rejected = [r.removeprefix("invalid:") for r in reasons if r.startswith("invalid:")]
    return {
        "accepted": sum(s.source == "llm" for s in shown),
        "rejected": len(rejected),
        "failed": sum((s.reason or "").startswith(("llm_error", "explainer_error")) for s in shown),
        "not_asked": sum(s.source == "template" and s.reason in (None, "no_llm") for s in shown),
        # the first problem of each rejected text, by kind ("word", "number", "claim:liked_definition")
        "rejected_by": dict(Counter(_problem_kind(r) for r in rejected).most_common(8)),
    }


def _problem_kind(problem: str) -> str:
    kind, _, rest = problem.partition(":")
    return f"{kind}:{rest.split()[0]}" if kind == "claim" and rest else kind


def summarise(
    shown: Sequence[Shown],
    ml: MovieLens,
    labelled: Iterable[dict[str, Any]] = (),
    by_run: Mapping[str, MovieLens] | None = None,
) -> dict[str, Any]:
    """The figures of one run (see the module docstring); ``by_run``: the data a run's agent served
    from when it is not ``ml`` (the simulation's agent is built without the simulated users)."""
    n = len(shown)
    linked = facts = false = unverified = 0
    said: list[str] = []
    for s in shown:
        claims = check(s.text, _context(s), (by_run or {}).get(s.run, ml))
        linked += any(c.kind in USER_LINKED_KINDS and c.ok for c in claims)
        facts += len({(c.kind, c.args) for c in claims if c.ok})
        verdict, _ = label(claims)
        false += verdict == "false"
        unverified += verdict == "unverified"
        said += sentences(s.text)
    rows = list(labelled)
    sample_false = sum(r["label"] == "false" for r in rows)
    return {
        "explanations": n,
        "user_linked": round(linked / n, 4) if n else None,
        "mean_facts": round(facts / n, 3) if n else None,
        "unique_sentences": round(len(set(said)) / len(said), 4) if said else None,
        **session_figures(shown),
        "llm_share": round(sum(s.source == "llm" for s in shown) / n, 4) if n else None,
        "llm_texts": llm_texts(shown),
        "false_claims_run": round(false / n, 4) if n else None,
        "unverified_run": round(unverified / n, 4) if n else None,
        "labelled_sample": len(rows),
        "false_claims_labelled": round(sample_false / len(rows), 4) if rows else None,
    }


def load_labelled(path: Path = LABELLED) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def evaluate_explanations(
    dialogue_agent: ChatAgent | None,
    specs: Sequence[Any],
    simulation: Callable[[RecordingAgent], None] | None,
    sim_agent: ChatAgent | None,
    ml: MovieLens,
    labelled: Sequence[dict[str, Any]] = (),
    progress: Progress | None = None,
    sim_ml: MovieLens | None = None,
) -> tuple[dict[str, Any], list[Shown]]:
    """Play the dialogues and the simulation through recording agents; figures per run and overall.

    ``sim_ml``: what the simulation's agent serves from (the files without the simulated users), which
    its explanations are checked against; default ``ml``."""
    from eval.dialogue_runner import run_dialogue

    runs: dict[str, list[Shown]] = {}
    if dialogue_agent is not None:
        rec = RecordingAgent(dialogue_agent, "dialogues")
        for spec in specs:
            rec.name = spec.name
            run_dialogue(rec, spec)  # type: ignore[arg-type]
        runs["dialogues"] = rec.shown
        if progress:
            progress(f"dialogues: {len(rec.shown)} explanations from {len(specs)} dialogues")
    if simulation is not None and sim_agent is not None:
        rec = RecordingAgent(sim_agent, "simulate")
        simulation(rec)
        runs["simulate"] = rec.shown
        if progress:
            progress(f"simulate: {len(rec.shown)} explanations")
    every = [s for shown in runs.values() for s in shown]
    by_run = {"simulate": sim_ml} if sim_ml is not None else None
    result: dict[str, Any] = {name: summarise(shown, ml, by_run=by_run) for name, shown in runs.items()}
    result["all"] = summarise(every, ml, labelled, by_run=by_run)
    return result, every
