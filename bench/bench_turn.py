"""Agent turn benchmark: one full turn with its explanations, as a user of ``recbot chat`` sees it.

Measures, on the real Runtime (dataset, CF artifact, Chroma index and the configured LLM):

* full turn latency incl. ``n_recommendations`` explanations, p50 / p95 (targets 0.8 s / 1.5 s);
* time to the first card: the first ``CardReady`` of ``Agent.turn_events`` (the streaming path the
  page, the SSE API and the widget use), i.e. the first recommendation whose explanation passed the
  validator (target p50 300 ms), and to each later card;
* time to the first streamed text chunk (the list intro);
* parse + candidates (state, policy, blend) p95 (target 40 ms), and each stage's p50;
* peak resident memory of the serving process (target 2 GiB).

Every turn starts a fresh session with one of a set of realistic opening messages, so each turn
recommends (no clarifying questions) and nothing is cached between turns except the models.
Writes bench/results/turn.json and prints a table::

    RECBOT_HOME=... RECBOT_DATA_DIR=.../ml-latest-small python bench/bench_turn.py --turns 30

``--compare-isolation`` instead runs the same turns with the LLM in its supervised worker process
(the default, ``llm_isolation=true``) and in this process, interleaved, and measures the IPC cost
per explanation (bench/results/turn_isolation.json).
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
    "first_card_p50_ms": 300.0,
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
        change = apply_message(state, parsed, agent.features.years, agent.features.max_year)
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
    from bot.types import CardReady, TurnResult

    settings = load_settings()
    started = time.perf_counter()
    runtime = Runtime.from_settings(settings, progress=True)
    agent = runtime.agent
    load_s = time.perf_counter() - started
    health = runtime.health(load=False)

    load_start = round(os.getloadavg()[0], 2)
    totals: list[float] = []
    first: list[float] = []
    cards: list[list[float]] = []  # per turn: ms from the message to each card
    parse_cand: list[float] = []
    stages: dict[str, list[float]] = {}
    sources: dict[str, int] = {}
    for i in range(warmup + turns):
        sid = agent.create_session()
        message = MESSAGES[i % len(MESSAGES)]
        t0 = time.perf_counter()
        t_first = None
        t_cards: list[float] = []
        result = None
        for event in agent.turn_events(sid, message):
            now = time.perf_counter()
            if t_first is None and isinstance(event, str):
                t_first = now
            if isinstance(event, CardReady):
                t_cards.append((now - t0) * 1000)
            if isinstance(event, TurnResult):
                result = event
        t_end = time.perf_counter()
        if i < warmup or result is None or t_first is None:
            continue
        totals.append(t_end - t0)
        first.append((t_first - t0) * 1000)
        cards.append(t_cards)
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
        "first_card_p50_ms": round(percentile([c[0] for c in cards if c], 0.5), 1),
        "first_card_p95_ms": round(percentile([c[0] for c in cards if c], 0.95), 1),
        # p50 of the time to the k-th card (k = 1 .. n_recommendations) over the turns that had one
        "card_k_p50_ms": [
            round(percentile([c[k] for c in cards if len(c) > k], 0.5), 1)
            for k in range(max((len(c) for c in cards), default=0))
        ],
        "turns_without_cards": sum(1 for c in cards if not c),
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


def compare_isolation(turns: int, warmup: int) -> dict[str, Any]:
    """The same turns with the LLM in its worker process (shipped) and in this process, interleaved.

    One runtime (dataset, CF, index, store); two explainers over two copies of the model: the
    served one (``llm_isolation=true``, :mod:`bot.explain.llm.supervisor`) and one loaded here. Turns
    alternate between them, so both see the same machine load; then every candidate of a fixed set
    is explained by both, back to back, and the median paired difference is the IPC cost.
    """
    from bot.explain.explainer import Explainer
    from bot.explain.llm.llamacpp import load_llamacpp
    from bot.recommend.request import BlendRequest
    from bot.runtime import Runtime
    from bot.settings import load_settings
    from bot.types import TurnResult

    settings = load_settings(llm_isolation=True)
    runtime = Runtime.from_settings(settings, progress=True)
    agent = runtime.agent
    runtime.warm_up()
    explainers = {"isolated": agent.explainer, "in_process": Explainer(load_llamacpp(settings), settings)}
    load_start = round(os.getloadavg()[0], 2)
    totals: dict[str, list[float]] = {m: [] for m in explainers}
    explain_ms: dict[str, list[float]] = {m: [] for m in explainers}
    sources: dict[str, dict[str, int]] = {m: {} for m in explainers}
    for i in range(2 * (warmup + turns)):
        mode = ("in_process", "isolated")[i % 2]
        agent.explainer = explainers[mode]
        sid = agent.create_session()
        t0 = time.perf_counter()
        result = None
        for chunk in agent.turn_stream(sid, MESSAGES[(i // 2) % len(MESSAGES)]):
            if isinstance(chunk, TurnResult):
                result = chunk
        if i < 2 * warmup or result is None:
            continue
        totals[mode].append(time.perf_counter() - t0)
        explain_ms[mode].append(result.latency_ms.get("explain", float("nan")))
        for rec in result.recommendations:
            sources[mode][rec.explanation_source] = sources[mode].get(rec.explanation_source, 0) + 1
    agent.explainer = explainers["isolated"]
    paired: list[float] = []
    per_call: dict[str, list[float]] = {m: [] for m in explainers}
    candidates = [c for m in MESSAGES for c in agent.blender.blend(BlendRequest(text=m, k=3))]
    for n, candidate in enumerate(candidates):
        order = list(explainers) if n % 2 else list(reversed(explainers))
        took = {}
        for mode in order:
            start = time.perf_counter()
            explainers[mode].explain(candidate)
            took[mode] = (time.perf_counter() - start) * 1000
            per_call[mode].append(took[mode])
        paired.append(took["isolated"] - took["in_process"])
    # The transport alone: an explanation request of the real size (prompt messages + every
    # candidate sentence as choices) to the worker and back, and one reply chunk's worth.
    from bot.explain.facts import facts_from
    from bot.explain.prompts import explanation_messages
    from bot.explain.sentences import explanation_choices

    supervisor = agent.explainer.llm.supervisor
    trips, chunk_trips, sizes = [], [], []
    for candidate in candidates:
        facts = facts_from(candidate)
        choices = explanation_choices(facts)
        sizes.append(len(choices))
        messages = explanation_messages(facts, brief=True)
        trips.append(supervisor.round_trip(messages, {"choices": choices, "max_tokens": 40}) * 1000)
        chunk_trips.append(supervisor.round_trip([], {"text": "a chunk"}) * 1000)
    out = {
        "command": f"python bench/bench_turn.py --compare-isolation --turns {turns}",
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "load_average_1m": [load_start, round(os.getloadavg()[0], 2)],
        "llm": runtime.health(load=False)["llm"]["detail"],
        "turns_per_mode": turns,
        "modes": {
            mode: {
                "turn_p50_s": round(percentile(totals[mode], 0.5), 3),
                "turn_p95_s": round(percentile(totals[mode], 0.95), 3),
                "explain_stage_p50_ms": round(percentile(explain_ms[mode], 0.5), 1),
                "explanation_p50_ms": round(percentile(per_call[mode], 0.5), 1),
                "explanation_sources": sources[mode],
            }
            for mode in explainers
        },
        "paired_explanations": len(paired),
        "ipc_cost_per_explanation_p50_ms": round(percentile(paired, 0.5), 2),
        "ipc_cost_per_explanation_mean_ms": round(statistics.fmean(paired), 2),
        "transport_request_p50_ms": round(percentile(trips, 0.5), 3),
        "transport_request_p95_ms": round(percentile(trips, 0.95), 3),
        "transport_small_message_p50_ms": round(percentile(chunk_trips, 0.5), 3),
        "choices_per_request_p50": percentile([float(n) for n in sizes], 0.5),
    }
    runtime.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="where the JSON goes")
    parser.add_argument(
        "--compare-isolation",
        action="store_true",
        help="LLM in its worker process vs in this process, interleaved (bench/results/turn_isolation.json)",
    )
    args = parser.parse_args()
    if args.compare_isolation:
        compared = compare_isolation(args.turns, args.warmup)
        out = args.out or RESULTS.with_name("turn_isolation.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(compared, indent=2) + "\n")
        print(f"{'LLM':<11} {'turn p50 (s)':>12} {'turn p95 (s)':>12} {'explain p50 (ms)':>16}  sources")
        for mode, row in compared["modes"].items():
            print(
                f"{mode:<11} {row['turn_p50_s']:>12} {row['turn_p95_s']:>12} "
                f"{row['explanation_p50_ms']:>16}  {row['explanation_sources']}"
            )
        print(
            f"IPC cost per explanation (paired, {compared['paired_explanations']}): "
            f"p50 {compared['ipc_cost_per_explanation_p50_ms']} ms, "
            f"mean {compared['ipc_cost_per_explanation_mean_ms']} ms"
        )
        print(
            f"transport alone: request with {compared['choices_per_request_p50']:.0f} choices "
            f"p50 {compared['transport_request_p50_ms']} ms (p95 {compared['transport_request_p95_ms']}), "
            f"small message {compared['transport_small_message_p50_ms']} ms"
        )
        print(f"1-minute load average at start / end: {compared['load_average_1m']}; wrote {out}")
        return
    args.out = args.out or RESULTS
    result = run(args.turns, args.warmup)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        ("full turn p50 (s)", result["turn_p50_s"], f"<= {TARGETS['turn_p50_s']}"),
        ("full turn p95 (s)", result["turn_p95_s"], f"<= {TARGETS['turn_p95_s']}"),
        ("first card p50 (ms)", result["first_card_p50_ms"], f"<= {TARGETS['first_card_p50_ms']:.0f}"),
        ("first card p95 (ms)", result["first_card_p95_ms"], ""),
        ("first streamed chunk p50 (ms)", result["first_chunk_p50_ms"], ""),
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
    print(f"card k p50 (ms): {result['card_k_p50_ms']}")
    print(f"stage p50 (ms): {result['stage_p50_ms']}")
    print(f"explanations: {result['explanation_sources']}  (llm backend: {result['llm_backend']})")
    print(f"1-minute load average at start / end: {result['load_average_1m']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
