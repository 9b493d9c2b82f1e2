"""LLM benchmark: packaged Gemma 270M vs SmolLM2 135M on realistic evidence, constrained and free.

"grammar" below is the ``llm_grammar`` setting: on llama.cpp it now means finite-choice decoding
(bot/explain/llm/choices.py); off means free generation, validated afterwards.

For each model and mode it measures raw generation speed (time to first token, tokens/s on the
explanation prompt without grammar), explanation latency (p50/p95 of ``Explainer.explain``, which
includes validation and the template fallback), the latency of a 3-explanation turn, and the
validated-LLM rate (share of explanations whose LLM text passed the validator). Candidates are built
from MovieLens ratings: a liked film, a film its fans also rated >= 4, genres, top tags, mean
rating and the fans' co-rating. Every generated text is written to bench/results/llm_samples.jsonl
(source of eval/data/explanations_labelled.jsonl). Writes bench/results/llm.json, prints a table::

    python bench/bench_llm.py --candidates 30
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results" / "llm.json"
SAMPLES = REPO / "bench" / "results" / "llm_samples.jsonl"
EXPLANATION_P50_TARGET_S = 0.25
TURN_P50_TARGET_S = 0.8


def realistic_candidates(data_dir: Path, n: int, seed: int = 7) -> list[Any]:
    """``n`` candidates with true evidence computed from MovieLens (see module docstring)."""
    import pandas as pd

    from bot.types import Candidate, Evidence, Neighbour

    movies = pd.read_csv(data_dir / "movies.csv").set_index("movieId")
    ratings = pd.read_csv(data_dir / "ratings.csv")
    tags = pd.read_csv(data_dir / "tags.csv")
    stats = ratings.groupby("movieId")["rating"].agg(["mean", "count"])
    popular = stats.index[stats["count"] >= 40].to_numpy()
    rng = random.Random(seed)
    out: list[Candidate] = []
    while len(out) < n:
        liked = int(rng.choice(popular))
        fans = ratings.loc[(ratings.movieId == liked) & (ratings.rating >= 4), "userId"]
        fan_rows = ratings[ratings.userId.isin(fans) & (ratings.movieId != liked)]
        top = fan_rows[fan_rows.rating >= 4].movieId.value_counts()
        top = [int(m) for m in top.index[:25] if int(m) in set(popular)]
        if len(top) < 2:
            continue
        item, other = rng.sample(top, 2)
        co = fan_rows[fan_rows.movieId == item].rating
        item_genres = [g for g in movies.at[item, "genres"].split("|") if not g.startswith("(")]
        liked_genres = set(movies.at[liked, "genres"].split("|"))
        item_tags = tags[tags.movieId == item].tag.str.lower().value_counts().index[:2].tolist()
        year_match = re.search(r"\((\d{4})\)\s*$", movies.at[item, "title"])
        neighbours = [Neighbour(liked, movies.at[liked, "title"], round(rng.uniform(0.3, 0.9), 3), "cf")]
        if rng.random() < 0.4:
            neighbours.append(Neighbour(other, movies.at[other, "title"], 0.25, "embedding"))
        evidence = Evidence(
            neighbours=neighbours,
            matched_genres=[g for g in item_genres if g in liked_genres],
            matched_tags=item_tags if rng.random() < 0.6 else [],
            genres=item_genres,
            year=int(year_match.group(1)) if year_match else None,
            n_ratings=int(stats.at[item, "count"]),
            mean_rating=round(float(stats.at[item, "mean"]), 2),
            co_ratings=[
                {
                    "seed_item_id": liked,
                    "seed_title": movies.at[liked, "title"],
                    "mean": round(float(co.mean()), 2),
                    "n": int(co.size),
                }
            ]
            if rng.random() < 0.5
            else [],
        )
        out.append(Candidate(item_id=item, title=movies.at[item, "title"], score=1.0, evidence=evidence))
    return out


def raw_speed(llm: Any, candidates: list[Any], max_tokens: int) -> dict[str, float]:
    """Time to first token and tokens/s of free generation on the explanation prompt."""
    from bot.explain.facts import facts_from
    from bot.explain.prompts import explanation_messages

    ttft, rates = [], []
    for candidate in candidates:
        start = time.perf_counter()
        stamps = [
            time.perf_counter()
            for _ in llm.stream(explanation_messages(facts_from(candidate)), max_tokens=max_tokens)
        ]
        if stamps:
            ttft.append(stamps[0] - start)
        if len(stamps) > 2:
            rates.append((len(stamps) - 1) / (stamps[-1] - stamps[0]))
    return {"ttft_p50_s": statistics.median(ttft), "tokens_per_s": statistics.median(rates)}


def generate_samples(args: argparse.Namespace) -> None:
    """Only generate explanations (no timing), appending each to SAMPLES as soon as it exists.

    Used to build eval/data/explanations_labelled.jsonl on a busy machine: models alternate and
    free generation comes first (that is where false claims occur), the deadline is generous.
    """
    from bot.explain.explainer import Explainer
    from bot.explain.llm import load_llm
    from bot.explain.llm.models import packaged_model_path
    from bot.settings import load_settings

    candidates = realistic_candidates(args.data_dir, args.samples, seed=args.seed)
    with tempfile.TemporaryDirectory() as home:
        base = load_settings(
            home=Path(home),
            llm_backend="llamacpp",
            llm_timeout_s=300.0,
            explain_timeout_s=300.0,
            llm_threads=args.threads,
        )
        explainers = {}
        for model in args.models.split(","):
            settings = base.model_copy(update={"llm_model_path": packaged_model_path(model, base)})  # type: ignore[arg-type]
            llm = load_llm(settings)
            for grammar in (False, True):
                explainers[(model, grammar)] = Explainer(
                    llm, settings.model_copy(update={"llm_grammar": grammar})
                )
        models = args.models.split(",")
        SAMPLES.parent.mkdir(parents=True, exist_ok=True)
        with (args.out or SAMPLES).open("a") as f:
            for i, candidate in enumerate(candidates):
                model, grammar = models[i % len(models)], i % 3 == 2  # one in three under the grammar
                result = explainers[(model, grammar)].explain(candidate)
                sample = sample_row(model, grammar, candidate, result)
                f.write(json.dumps(sample, ensure_ascii=False) + "\n")
                f.flush()


def sample_row(model: str, grammar: bool, candidate: Any, result: Any) -> dict[str, Any]:
    """One generated explanation as a line of llm_samples.jsonl (the source of the labelled set)."""
    from bot.explain.facts import facts_from
    from bot.explain.prompts import facts_line

    return {
        "model": model,
        "grammar": grammar,
        "item_id": candidate.item_id,
        "title": candidate.title,
        "facts": facts_line(facts_from(candidate)),
        "evidence": asdict(candidate.evidence),
        "llm_text": result.llm_text,
        "validated": result.source == "llm",
        "reason": result.reason,
        "shown": result.text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=30)
    parser.add_argument("--models", default="gemma,smollm2")
    parser.add_argument("--speed-prompts", type=int, default=5)
    parser.add_argument("--samples", type=int, default=0, help="only generate N samples (no timing)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the sampled candidates")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    parser.add_argument("--out", type=Path, default=None, help="samples file (default: results folder)")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "ml-latest-small")
    args = parser.parse_args()
    if args.samples:
        generate_samples(args)
        return

    from bot.explain.explainer import Explainer
    from bot.explain.llm import load_llm
    from bot.explain.llm.models import packaged_model_path
    from bot.settings import load_settings

    candidates = realistic_candidates(args.data_dir, args.candidates)
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as home:
        base = load_settings(home=Path(home), llm_backend="llamacpp")
        for model in args.models.split(","):
            settings = base.model_copy(update={"llm_model_path": packaged_model_path(model, base)})  # type: ignore[arg-type]
            llm = load_llm(settings)
            llm.invoke("warm up", max_tokens=2)  # type: ignore[union-attr]
            speed = raw_speed(llm, candidates[: args.speed_prompts], settings.explain_max_tokens)
            for grammar in (True, False):
                explainer = Explainer(llm, settings.model_copy(update={"llm_grammar": grammar}))
                latencies, used_llm = [], 0
                for candidate in candidates:
                    start = time.perf_counter()
                    result = explainer.explain(candidate)
                    latencies.append(time.perf_counter() - start)
                    used_llm += result.source == "llm"
                    samples.append(sample_row(model, grammar, candidate, result))
                turns = [sum(latencies[i : i + 3]) for i in range(0, len(latencies) - 2, 3)]
                rows.append(
                    {
                        "model": model,
                        "grammar": grammar,
                        **speed,
                        "explanation_p50_s": float(np.percentile(latencies, 50)),
                        "explanation_p95_s": float(np.percentile(latencies, 95)),
                        "turn3_p50_s": float(np.percentile(turns, 50)),
                        "validated_llm_rate": used_llm / len(candidates),
                        "n": len(candidates),
                    }
                )
            del llm
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "targets": {"explanation_p50_s": EXPLANATION_P50_TARGET_S, "turn3_p50_s": TURN_P50_TARGET_S},
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    with SAMPLES.open("w") as f:
        for sample in samples:
            f.write(json.dumps(sample, ensure_ascii=False) + "\n")
    print(
        f"{'model':8} {'grammar':7} {'tok/s':>6} {'ttft':>6} {'p50':>6} {'p95':>6} {'turn3':>6} {'llm%':>5}"
    )
    for r in rows:
        print(
            f"{r['model']:8} {r['grammar']!s:7} {r['tokens_per_s']:6.1f} {r['ttft_p50_s']:6.2f} "
            f"{r['explanation_p50_s']:6.2f} {r['explanation_p95_s']:6.2f} {r['turn3_p50_s']:6.2f} "
            f"{100 * r['validated_llm_rate']:5.0f}"
        )
    print(f"load average before/after: {load_before} / {os.getloadavg()}  -> {RESULTS}")


if __name__ == "__main__":
    main()
