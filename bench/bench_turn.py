"""Agent turn benchmark: one full turn with its explanations, as a user of ``recbot chat`` sees it.

Measures, on the real Runtime (dataset, CF artifact, Chroma index and the configured LLM):

* full turn latency incl. ``n_recommendations`` explanations, p50 / p95 (targets 0.8 s / 1.5 s);
* time to the first streamed chunk of ``Agent.turn_stream`` (target 300 ms);
* parse + candidates (state, policy, blend) p95 (target 40 ms), and each stage's p50;
* peak resident memory of the serving process (target 2 GiB).

Every turn starts a fresh session with one of a set of realistic opening messages, so each turn
recommends (no clarifying questions) and nothing is cached between turns except the models.
Writes bench/results/turn.json and prints a table::

    RECBOT_HOME=... RECBOT_DATA_DIR=.../ml-latest-small python bench/bench_turn.py --turns 30
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results" / "turn.json"
TARGETS = {
    "turn_p50_s": 0.8,
    "turn_p95_s": 1.5,
    "first_chunk_p50_ms": 300.0,
    "parse_candidates_p95_ms": 40.0,
    "peak_rss_gib": 2.0,
}
MESSAGES = [
    "I loved The Matrix and Inception",
    "a funny crime movie from the 90s",
    "something like Toy Story but for adults",
    "I liked Heat, no romance please",
    "highly rated dramas from the seventies",
    "a space adventure with robots",
    "I enjoyed Amelie and Before Sunrise",
    "a scary movie but not too gory",
    "Fight Club was great, something darker",
    "a feel good musical",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def peak_rss_gib() -> float:
    """VmHWM (peak resident set) of this process from /proc, in GiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def parse_candidates_cpu(agent: Any, n: int) -> list[float]:
    """Process CPU milliseconds of parse + state + policy + blend for ``n`` opening messages."""
    from bot.recommend.request import BlendRequest
    from bot.state import DialogueState, apply_message

    out = []
    for i in range(n):
        start = time.process_time()
        state = DialogueState()
        parsed = agent.parser.parse(MESSAGES[i % len(MESSAGES)])
        change = apply_message(state, parsed, agent.years, agent.max_year)
        agent.policy.decide(state, parsed, change)
        agent.blender.blend(
            BlendRequest(
                liked=state.all_liked(), text=state.soft_text or None, constraints=state.constraints, k=3
            )
        )
        out.append((time.process_time() - start) * 1000)
    return out


def run(turns: int, warmup: int) -> dict[str, Any]:
    from bot.runtime import Runtime
    from bot.settings import load_settings
    from bot.types import TurnResult

    settings = load_settings()
    started = time.perf_counter()
    runtime = Runtime.from_settings(settings, progress=True)
    agent = runtime.agent
    load_s = time.perf_counter() - started
    health = runtime.health(load=False)

    load_start = round(os.getloadavg()[0], 2)
    totals: list[float] = []
    first: list[float] = []
    parse_cand: list[float] = []
    stages: dict[str, list[float]] = {}
    sources: dict[str, int] = {}
    for i in range(warmup + turns):
        sid = agent.create_session()
        message = MESSAGES[i % len(MESSAGES)]
        t0 = time.perf_counter()
        t_first = None
        result = None
        for chunk in agent.turn_stream(sid, message):
            if t_first is None:
                t_first = time.perf_counter()
            if isinstance(chunk, TurnResult):
                result = chunk
        t_end = time.perf_counter()
        if i < warmup or result is None or t_first is None:
            continue
        totals.append(t_end - t0)
        first.append((t_first - t0) * 1000)
        parse_cand.append(result.latency_ms["parse"] + result.latency_ms["candidates"])
        for key, value in result.latency_ms.items():
            stages.setdefault(key, []).append(value)
        for rec in result.recommendations:
            sources[rec.explanation_source] = sources.get(rec.explanation_source, 0) + 1
    cpu_ms = parse_candidates_cpu(agent, turns)
    out = {
        "command": f"python bench/bench_turn.py --turns {turns}",
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "load_average_1m": [load_start, round(os.getloadavg()[0], 2)],  # at start and end of the turns
        "llm_backend": settings.llm_backend,
        "n_recommendations": settings.n_recommendations,
        "turns": len(totals),
        "load_s": round(load_s, 2),
        "health": {k: v["status"] for k, v in health.items()},
        "turn_p50_s": round(percentile(totals, 0.5), 3),
        "turn_p95_s": round(percentile(totals, 0.95), 3),
        "first_chunk_p50_ms": round(percentile(first, 0.5), 1),
        "first_chunk_p95_ms": round(percentile(first, 0.95), 1),
        "parse_candidates_p95_ms": round(percentile(parse_cand, 0.95), 1),
        # The same work (parse, state, policy, blend) timed in process CPU time: what it costs
        # without waiting for a CPU on a shared machine.
        "parse_candidates_cpu_p95_ms": round(percentile(cpu_ms, 0.95), 1),
        "stage_p50_ms": {k: round(statistics.median(v), 1) for k, v in stages.items()},
        "explanation_sources": sources,
        "peak_rss_gib": round(peak_rss_gib(), 2),
        "targets": TARGETS,
    }
    runtime.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args()
    result = run(args.turns, args.warmup)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        ("full turn p50 (s)", result["turn_p50_s"], f"<= {TARGETS['turn_p50_s']}"),
        ("full turn p95 (s)", result["turn_p95_s"], f"<= {TARGETS['turn_p95_s']}"),
        (
            "first streamed chunk p50 (ms)",
            result["first_chunk_p50_ms"],
            f"<= {TARGETS['first_chunk_p50_ms']:.0f}",
        ),
        (
            "parse+candidates p95 (ms)",
            result["parse_candidates_p95_ms"],
            f"<= {TARGETS['parse_candidates_p95_ms']:.0f}",
        ),
        ("  same, process CPU time p95 (ms)", result["parse_candidates_cpu_p95_ms"], ""),
        ("peak RSS (GiB)", result["peak_rss_gib"], f"<= {TARGETS['peak_rss_gib']}"),
    ]
    print(f"{'metric':<32} {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name:<32} {value:>10}  {target}")
    print(f"stage p50 (ms): {result['stage_p50_ms']}")
    print(f"explanations: {result['explanation_sources']}  (llm backend: {result['llm_backend']})")
    print(f"1-minute load average at start / end: {result['load_average_1m']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
