"""ReDial replayed through a running recbot's HTTP API: what a client of the public API gets.

For every dialogue of the split a new session is created (``POST /api/v1/sessions``) and the seeker's
messages (``@id`` mentions replaced by ReDial's movie names, cut to the server's message limit, as
:mod:`eval.redial_served` does in process) are sent one by one (``POST .../messages``). Each
recommender message that names a movie is scored against the latest reply's recommendations, in the
order shown; a point whose latest reply showed none (a greeting, a question, no seeker message yet) is
a miss. The chat never shows the session's own movies, so "all" here is the served row's
``all_as_served`` protocol; "fresh" is the same on both sides.

With the in-process run's lists (``recbot eval redial --lists-out``, same split, data and settings,
in particular ``RECBOT_N_RECOMMENDATIONS``) the report adds the agreement: the share of points whose
API list is the in-process list, item for item.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from cf_engine.data.redial import Conversation, Sample, replace_mentions
from eval.metrics import summarise

Progress = Callable[[str], None]
API = "/api/v1"
RETRIES = 20  # answers 429 / 503 (busy) are retried after their Retry-After


class ApiReplayError(RuntimeError):
    """The server did not answer a replayed message usably (after the retries for busy answers)."""


def point_key(conversation_id: str, message_index: int) -> str:
    """How the per-point lists are keyed in JSON (the in-process run writes the same keys)."""
    return f"{conversation_id}/{message_index}"


def replay_lists(
    client: httpx.Client,
    conversations: Sequence[Conversation],
    samples: Sequence[Sample],
    titles: dict[int, str],
    max_chars: int,
    say: Progress | None = None,
) -> tuple[dict[str, list[int]], dict[str, int]]:
    """({point key: the item ids the latest reply showed}, counts) for every scored point."""
    tell = say or (lambda _msg: None)
    points = {(s.conversation_id, s.message_index) for s in samples}
    wanted = {cid for cid, _ in points}
    lists: dict[str, list[int]] = {}
    counts = dict.fromkeys(
        ("dialogues", "turns", "turns_with_question_only", "points", "points_without_list"), 0
    )
    scored = [c for c in conversations if c.conversation_id in wanted]
    for done, conv in enumerate(scored):
        names = {**titles, **conv.titles}
        session = _post(client, f"{API}/sessions", None)["session_id"]
        shown: list[int] = []
        counts["dialogues"] += 1
        for index, message in enumerate(conv.messages):
            if (conv.conversation_id, index) in points:
                lists[point_key(conv.conversation_id, index)] = list(shown)
                counts["points"] += 1
                counts["points_without_list"] += int(not shown)
            if message.sender != conv.seeker:
                continue
            text = " ".join(replace_mentions(message.text, names).split())[:max_chars]
            if not text:
                continue
            reply = _post(client, f"{API}/sessions/{session}/messages", {"message": text})
            shown = [int(r["item_id"]) for r in reply.get("recommendations", [])]
            counts["turns"] += 1
            counts["turns_with_question_only"] += int(bool(reply.get("question")) and not shown)
        if done % 50 == 0:
            tell(f"api replay: {done}/{len(scored)} dialogues")
    return lists, counts


def score_lists(
    lists: dict[str, list[int]], samples: Sequence[Sample], item_of: dict[int, int]
) -> dict[str, dict[str, float]]:
    """R@1 / R@10 / R@N (N: the longest list) over all samples and fresh ones; unmapped = miss."""
    length = max((len(v) for v in lists.values()), default=0)
    cutoffs = tuple(sorted({1, 10, max(length, 1)}))

    def rank(sample: Sample) -> int | None:
        target = item_of.get(sample.target)
        shown = lists.get(point_key(sample.conversation_id, sample.message_index), [])
        return shown.index(target) + 1 if target is not None and target in shown else None

    ranks = [rank(s) for s in samples]
    fresh = [r for r, s in zip(ranks, samples, strict=True) if s.fresh]
    return {"all": summarise(ranks, cutoffs), "fresh": summarise(fresh, cutoffs)}


def agreement(api: dict[str, list[int]], in_process: dict[str, list[int]]) -> dict[str, Any]:
    """How many points got exactly the same list (and the same first item) both ways."""
    keys = sorted(set(api) & set(in_process))
    same = sum(api[k] == in_process[k] for k in keys)
    first = sum(api[k][:1] == in_process[k][:1] for k in keys)
    differing = [k for k in keys if api[k] != in_process[k]]
    return {
        "points_compared": len(keys),
        "points_only_one_side": len(set(api) ^ set(in_process)),
        "same_list": same / len(keys) if keys else 0.0,
        "same_first_item": first / len(keys) if keys else 0.0,
        "differing_examples": differing[:10],
    }


def read_lists(path: Path) -> dict[str, list[int]]:
    """Per-point lists written by ``recbot eval redial --lists-out``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {str(k): [int(i) for i in v] for k, v in data["lists"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a lists file of `recbot eval redial --lists-out` ({exc})") from exc


def _post(client: httpx.Client, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
    for _ in range(RETRIES):
        try:
            answer = client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise ApiReplayError(f"POST {path}: {type(exc).__name__}: {exc}") from exc
        if answer.status_code in (429, 503):
            time.sleep(min(float(answer.headers.get("retry-after") or 1.0), 30.0))
            continue
        if answer.status_code >= 400:
            raise ApiReplayError(f"POST {path}: HTTP {answer.status_code}: {answer.text[:300]}")
        return dict(answer.json())
    raise ApiReplayError(f"POST {path}: still busy after {RETRIES} tries")
