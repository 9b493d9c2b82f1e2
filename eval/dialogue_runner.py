"""``recbot eval dialogues``: play scripted dialogues against the agent and score every expectation.

The runner calls the same agent methods the chat UI does (``create_session``, ``turn``,
``feedback``). ``grounded`` is checked on every turn even when a file does not ask for it: an
explanation that states something its evidence does not hold is a failure wherever it appears.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.chat_agent import ChatAgent
from bot.recommend.served import SAID_KEPT
from bot.types import TurnResult
from cf_engine.data.catalog import Dataset
from eval.dialogue_checks import CHECKS, CheckContext
from eval.dialogue_spec import DialogueSpec, DialogueSpecError

REJECTING = {"seen", "not_interested", "down"}


@dataclass
class CheckOutcome:
    key: str
    passed: bool
    detail: str
    turn: int  # 1-based index of the 'say' turn
    line: int  # line of the turn in the file


@dataclass
class DialogueOutcome:
    name: str
    path: str
    checks: list[CheckOutcome] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.passed for c in self.checks)


def validate_against_catalog(specs: Sequence[DialogueSpec], dataset: Dataset) -> None:
    """Genres and users named in the files must exist in the catalog (typos would pass silently)."""
    genres = {g.lower() for item in dataset.catalog for g in item.genres}
    users = set(int(u) for u in dataset.user_ids)
    for spec in specs:
        if spec.user is not None and spec.user not in users:
            raise DialogueSpecError(
                spec.path, None, f"'user': {spec.user} has no interactions in the catalog"
            )
        for step in spec.steps:
            for key in ("any_genre", "all_genres", "no_genre"):
                for genre in step.expect.get(key, []):
                    if genre.lower() not in genres:
                        raise DialogueSpecError(
                            spec.path,
                            step.line,
                            f"{key}: unknown genre {genre!r} (catalog genres: {', '.join(sorted(genres))})",
                        )


def run_dialogue(agent: ChatAgent, spec: DialogueSpec) -> DialogueOutcome:
    """Play one dialogue; a crash of the agent is recorded as the dialogue's error, not raised."""
    outcome = DialogueOutcome(name=spec.name, path=str(spec.path))
    ctx = CheckContext()
    last: TurnResult | None = None
    say_index = 0
    try:
        session = agent.create_session(user_id=spec.user)
        for step in spec.steps:
            if step.say is None:
                assert step.feedback_item is not None and step.feedback_kind is not None  # spec checked
                if last is None or not last.recommendations or step.feedback_item > len(last.recommendations):
                    shown = len(last.recommendations) if last else 0
                    outcome.checks.append(
                        CheckOutcome(
                            "feedback_target",
                            False,
                            f"item {step.feedback_item} asked, {shown} shown",
                            say_index,
                            step.line,
                        )
                    )
                    continue
                item = last.recommendations[step.feedback_item - 1]
                agent.feedback(
                    session, item.item_id, step.feedback_kind, event_id=f"{spec.path.name}:{step.line}"
                )
                if step.feedback_kind in REJECTING:
                    ctx.rejected_ids.add(item.item_id)
                outcome.transcript.append({"feedback": step.feedback_kind, "item": item.title})
                continue
            say_index += 1
            started = time.perf_counter()
            last = agent.turn(session, step.say)
            ctx.said = [*ctx.said, step.say][-SAID_KEPT:]
            outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
            outcome.transcript.append(
                {
                    "user": step.say,
                    "bot": last.reply,
                    "question": last.question,
                    "shown": [f"{r.title} ({r.year})" for r in last.recommendations],
                    "intent": last.intent,
                }
            )
            expectations = {"grounded": True, **step.expect}
            for key, expected in expectations.items():
                passed, detail = CHECKS[key](last, expected, ctx)
                outcome.checks.append(CheckOutcome(key, passed, detail, say_index, step.line))
    except Exception as exc:  # noqa: BLE001 - one broken dialogue must not hide the others' results
        outcome.error = f"{type(exc).__name__}: {exc}"
    return outcome


def summarise_outcomes(outcomes: Sequence[DialogueOutcome]) -> dict[str, Any]:
    """Pass rate per key and per dialogue, and turn latency percentiles."""
    per_key: dict[str, dict[str, int]] = {}
    for o in outcomes:
        for c in o.checks:
            entry = per_key.setdefault(c.key, {"passed": 0, "total": 0})
            entry["total"] += 1
            entry["passed"] += int(c.passed)
    latencies = sorted(x for o in outcomes for x in o.latencies_ms)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    checks_total = sum(v["total"] for v in per_key.values())
    return {
        "dialogues": len(outcomes),
        "dialogues_passed": sum(o.passed for o in outcomes),
        "dialogue_pass_rate": sum(o.passed for o in outcomes) / len(outcomes) if outcomes else 0.0,
        "check_pass_rate": sum(v["passed"] for v in per_key.values()) / checks_total if checks_total else 0.0,
        "per_key": {k: {**v, "rate": v["passed"] / v["total"]} for k, v in sorted(per_key.items())},
        "latency_ms": {
            "mean": statistics.fmean(latencies) if latencies else 0.0,
            "p50": pct(0.5),
            "p95": pct(0.95),
            "max": latencies[-1] if latencies else 0.0,
            "turns": len(latencies),
        },
        "per_dialogue": [
            {
                "name": o.name,
                "path": o.path,
                "passed": o.passed,
                "error": o.error,
                "checks_passed": sum(c.passed for c in o.checks),
                "checks": len(o.checks),
                "failed": [asdict(c) for c in o.checks if not c.passed],
                "latency_ms": o.latencies_ms,
                "transcript": o.transcript,
            }
            for o in outcomes
        ],
    }


def run_dialogues(
    agent: ChatAgent, specs: Sequence[DialogueSpec], progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Play every dialogue and summarise."""
    outcomes = []
    for spec in specs:
        outcome = run_dialogue(agent, spec)
        if progress:
            status = "PASS" if outcome.passed else ("ERROR " + outcome.error if outcome.error else "FAIL")
            progress(
                f"{status:5} {spec.path.name}: {sum(c.passed for c in outcome.checks)}/"
                f"{len(outcome.checks)} checks"
            )
        outcomes.append(outcome)
    return summarise_outcomes(outcomes)
