"""Where the serving process's memory goes: RSS after each part of the runtime, loaded one at a time.

Loads what ``recbot serve`` loads, in the order its warm-up does (dataset, CF artifact, index, item
features, store, agent, then the blender's warm-up: item vectors, query model, learned fusion), and a
few turns through the agent; after each step it records the resident set (VmRSS) and the peak so far
(VmHWM). bench/bench_scale.py runs it as its ``memory`` step (the same settings as its serve step);
alone, on a built home::

    RECBOT_HOME=... RECBOT_DATA_DIR=... python bench/serve_memory.py --turns 6

Prints one JSON object: ``steps`` ([name, rss_gib, peak_gib, seconds]) and the final figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MESSAGES = ["something funny", "a dark thriller about revenge", "more like that but older"]


def memory_gib() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in GiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 2**20
    return round(fields["VmRSS"], 3), round(fields["VmHWM"], 3)


def profile(n_turns: int) -> dict[str, Any]:
    steps: list[list[Any]] = []

    def step(name: str, started: float) -> None:
        gc.collect()
        rss, peak = memory_gib()
        steps.append([name, rss, peak, round(time.perf_counter() - started, 2)])

    t = time.perf_counter()
    import ui.app  # noqa: F401 - what the server imports before it loads anything
    from bot.runtime import Runtime
    from bot.settings import load_settings

    step("imports", t)
    runtime = Runtime.from_settings(load_settings())
    for part in ("dataset", "cf", "index", "features", "store", "agent"):
        t = time.perf_counter()
        getattr(runtime, part)
        step(part, t)
    blender = runtime.blender
    t = time.perf_counter()
    blender.vectors()
    step("item vectors", t)
    t = time.perf_counter()
    blender._embed_uncached("warm up")
    step("query model", t)
    t = time.perf_counter()
    fusion = blender.fusion()
    step("fusion" if fusion is not None else "fusion (none)", t)
    t = time.perf_counter()
    agent = runtime.agent
    sid = agent.create_session()
    for k in range(n_turns):
        agent.turn(sid, MESSAGES[k % len(MESSAGES)], template_only=True)
    step(f"{n_turns} turns", t)
    rss, peak = memory_gib()
    return {"steps": steps, "rss_gib": rss, "peak_gib": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=6)
    args = parser.parse_args()
    print(json.dumps(profile(args.turns)))


if __name__ == "__main__":
    main()
