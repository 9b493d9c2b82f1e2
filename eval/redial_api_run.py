"""``recbot eval redial-api``: ReDial replayed through a running server, beside the in-process lists.

The samples, the movie mapping and the split handling are :func:`eval.redial_eval.load_inputs`'s, so
both runs score the same points against the same targets; :mod:`eval.redial_api` does the HTTP part.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.settings import Settings
from eval.redial_api import agreement, read_lists, replay_lists, score_lists
from eval.redial_eval import load_inputs

Progress = Callable[[str], None]


def evaluate_redial_api(
    settings: Settings,
    data_dir: Path,
    split: str,
    url: str,
    *,
    compare: Path | None = None,
    api_key: str | None = None,
    timeout_s: float = 120.0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Replay ``split`` through the server at ``url``; with ``compare`` (in-process lists), the agreement."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    expected = read_lists(compare) if compare is not None else None
    inputs = load_inputs(settings, Path(data_dir), split)
    headers = {"x-recbot-key": api_key} if api_key else {}
    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s, headers=headers) as client:
        health = client.get("/api/v1/health").json()
        lists, counts = replay_lists(
            client, inputs.conversations, inputs.samples, inputs.titles, settings.max_message_chars, say
        )
    result: dict[str, Any] = {
        "split": split,
        "data_dir": str(data_dir),
        "url": url,
        "samples": {"all": len(inputs.samples), "fresh": sum(s.fresh for s in inputs.samples)},
        "mapping": inputs.mapping_how,
        "dropped_dialogues_in_training": inputs.dropped_in_training,
        "server_health": {
            "status": health.get("status"),
            **{k: v.get("status") for k, v in (health.get("components") or {}).items()},
        },
        "replay": counts,
        "protocol": (
            "one new session per dialogue; the seeker's messages sent in order; each (recommender "
            "message, named movie) scored against the latest reply's list (no list = miss); the chat "
            "never shows the session's own movies, so 'all' compares with the served row's all_as_served"
        ),
        "systems": {"api": score_lists(lists, inputs.samples, inputs.item_of)},
        "served_system": "api",
    }
    if compare is not None and expected is not None:
        result["systems"]["in_process"] = score_lists(expected, inputs.samples, inputs.item_of)
        result["agreement"] = agreement(lists, expected)
        result["compared_with"] = str(compare)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result
