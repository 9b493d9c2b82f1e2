"""llama.cpp's extra buffer types (AMX / weight repacking) on vs off, for both packaged models.

The measurement behind ``llm_extra_buffers="auto"`` (bot/explain/llm/extra_buffers.py). For each model and
setting, on a model loaded in this process exactly as recbot loads it (``load_llamacpp``):

* prompt speed: tokens/s evaluating one explanation prompt (~190 tokens for Gemma) from an empty cache;
* generation: the same prompt then ``--gen-tokens`` tokens of free text, tokens/s and total seconds
  (the shape of the issue's AMX-machine figures: 190-token prompt, then 48 tokens, one thread);
* explanation time: ``Explainer.explain`` p50 / p95 over ``--candidates`` realistic candidates with
  the shipped settings (finite-choice decoding), as a turn explains them.

Writes bench/results/extra_buffers.json and prints a table::

    heavy --idle python bench/bench_extra_buffers.py --candidates 12
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results" / "extra_buffers.json"


def prompt_tokens(llm: Any, candidate: Any) -> list[int]:
    from langchain_community.chat_models.llamacpp import _convert_message_to_dict

    from bot.explain.facts import facts_from
    from bot.explain.llm.llamacpp import chat_prompt_tokens
    from bot.explain.prompts import explanation_messages

    messages = [_convert_message_to_dict(m) for m in explanation_messages(facts_from(candidate))]
    return chat_prompt_tokens(llm.client, messages)


def speed(llm: Any, tokens: list[int], gen_tokens: int, repeats: int) -> dict[str, float]:
    """Median prompt tokens/s, generation tokens/s and prompt+generation seconds."""
    llama = llm.client
    prompt_rates, gen_rates, totals, generated = [], [], [], []
    for _ in range(repeats):
        llama.reset()
        start = time.perf_counter()
        llama.eval(tokens)
        prompt_rates.append(len(tokens) / (time.perf_counter() - start))
        llama.reset()
        start = time.perf_counter()
        stamps = [
            time.perf_counter()
            for _ in llama.create_completion(tokens, max_tokens=gen_tokens, temperature=0.0, stream=True)
        ]
        totals.append(stamps[-1] - start)
        generated.append(len(stamps))
        if len(stamps) > 2:
            gen_rates.append((len(stamps) - 1) / (stamps[-1] - stamps[0]))
    return {
        "prompt_tokens": len(tokens),
        "prompt_tokens_per_s": round(statistics.median(prompt_rates), 1),
        "generated_tokens": int(statistics.median(generated)),
        "generation_tokens_per_s": round(statistics.median(gen_rates), 1),
        "prompt_and_generation_s": round(statistics.median(totals), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=12)
    parser.add_argument("--models", default="gemma,smollm2")
    parser.add_argument("--gen-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads for the speed rows")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "ml-latest-small")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from bench.bench_llm import realistic_candidates
    from bot.explain.explainer import Explainer
    from bot.explain.llm.extra_buffers import has_amx, loaded_with_extra_buffers, read_cpuinfo
    from bot.explain.llm.llamacpp import load_llamacpp
    from bot.explain.llm.models import packaged_model_path
    from bot.settings import load_settings

    candidates = realistic_candidates(args.data_dir, args.candidates)
    load_before = [round(x, 2) for x in os.getloadavg()]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as home:
        base = load_settings(home=Path(home), llm_backend="llamacpp", llm_isolation=False)
        for model in args.models.split(","):
            path = packaged_model_path(model, base)  # type: ignore[arg-type]
            for mode in ("on", "off"):
                settings = base.model_copy(update={"llm_model_path": path, "llm_extra_buffers": mode})
                timing = load_llamacpp(settings.model_copy(update={"llm_threads": args.threads}))
                timing.invoke("warm up", max_tokens=2)
                row: dict[str, Any] = {
                    "model": model,
                    "extra_buffers": mode,
                    "loaded_with_extra_buffers": loaded_with_extra_buffers(timing.client),
                    "threads": args.threads,
                    **speed(timing, prompt_tokens(timing, candidates[0]), args.gen_tokens, args.repeats),
                }
                del timing
                llm = load_llamacpp(settings)  # the shipped thread settings for the explanation rows
                explainer = Explainer(llm, settings)
                explainer.explain(candidates[0])  # warm the prompt cache as a server's warm-up does
                latencies, used_llm = [], 0
                for candidate in candidates:
                    start = time.perf_counter()
                    used_llm += explainer.explain(candidate).source == "llm"
                    latencies.append(time.perf_counter() - start)
                ordered = sorted(latencies)
                row.update(
                    {
                        "explain_threads": settings.llm_threads,
                        "explanation_p50_s": round(statistics.median(latencies), 3),
                        "explanation_p95_s": round(
                            ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3
                        ),
                        "validated_llm_rate": round(used_llm / len(candidates), 2),
                        "n": len(candidates),
                    }
                )
                del llm, explainer
                rows.append(row)
                print(json.dumps(row), flush=True)
    result = {
        "command": (
            f"heavy --idle python bench/bench_extra_buffers.py --candidates {args.candidates} "
            f"--repeats {args.repeats} --gen-tokens {args.gen_tokens} --threads {args.threads}"
        ),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "cpu_has_amx": has_amx(read_cpuinfo()),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{'model':8} {'extra':5} {'prompt tok/s':>12} {'gen tok/s':>9} {'p+g s':>6} "
        f"{'expl p50':>8} {'p95':>6}"
    )
    for r in rows:
        print(
            f"{r['model']:8} {r['extra_buffers']:5} {r['prompt_tokens_per_s']:>12} "
            f"{r['generation_tokens_per_s']:>9} {r['prompt_and_generation_s']:>6} "
            f"{r['explanation_p50_s']:>8} {r['explanation_p95_s']:>6}"
        )
    print(f"load average before / after: {result['load_average_before']} / {result['load_average_after']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
