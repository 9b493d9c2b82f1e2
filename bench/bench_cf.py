"""CF benchmark: EASE fit time on ml-latest-small and recommend() latency for one user.

Targets: fit <= 10 s, recommend p95 <= 5 ms (CFArtifact.recommend: the user's history scored
against the whole catalog, seen items removed, top 10). Also times a session fold-in
(``score_for`` with three liked items and one dislike), which is what the chat agent calls.

Writes bench/results/cf.json and prints a table. Example::

    RECBOT_DATA_DIR=/work/shared/data/ml-latest-small python bench/bench_cf.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results" / "cf.json"
FIT_TARGET_S = 10.0
RECOMMEND_P95_TARGET_MS = 5.0


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000.0, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="engine to time (default: settings.cf_model)")
    parser.add_argument("--fits", type=int, default=1, help="fits to time (the CPU is shared: keep it low)")
    parser.add_argument("--calls", type=int, default=1000, help="recommend() calls to time")
    parser.add_argument("--user", type=int, default=1, help="dataset user id for recommend()")
    args = parser.parse_args()

    from bot.settings import load_settings
    from cf_engine.artifact import CFArtifact
    from cf_engine.data import load_dataset

    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home=Path(home), **({"cf_model": args.model} if args.model else {}))
        if settings.data_dir is None:
            settings = load_settings(
                home=Path(home), data_dir=REPO.parent / "shared" / "data" / settings.dataset
            )
        started = time.perf_counter()
        dataset = load_dataset(settings.cf_config())
        load_s = time.perf_counter() - started

        fit_times, artifact = [], None
        for _ in range(max(1, args.fits)):
            artifact = CFArtifact.train(dataset, settings.cf_config())
            fit_times.append(float(artifact.metrics["fit_seconds"]))
        assert artifact is not None

        artifact.recommend(user_id=args.user, k=10)  # warm-up
        rec, rec_cpu = [], []
        for _ in range(args.calls):
            t, c = time.perf_counter(), time.thread_time()
            artifact.recommend(user_id=args.user, k=10)
            rec.append(time.perf_counter() - t)
            rec_cpu.append(time.thread_time() - c)
        liked = [int(i) for i in dataset.catalog.item_ids[:3]]
        disliked = [int(dataset.catalog.item_ids[3])]
        session = []
        for _ in range(args.calls):
            t = time.perf_counter()
            artifact.score_for(liked, disliked)
            session.append(time.perf_counter() - t)

    n_history = int(artifact.engine.train_matrix[artifact._row(args.user)].nnz)  # type: ignore[index]
    result: dict[str, Any] = {
        "dataset": dataset.name,
        "engine": artifact.engine_name,
        "params": artifact.params,
        "n_items": len(dataset.catalog),
        "n_users": int(len(artifact.user_ids)),
        "load_seconds": round(load_s, 3),
        "fit_seconds": round(min(fit_times), 3),
        "fit_seconds_all": fit_times,
        "fit_target_seconds": FIT_TARGET_S,
        "recommend_user": args.user,
        "recommend_user_history": n_history,
        "recommend_calls": args.calls,
        "recommend_p50_ms": round(percentile_ms(rec, 50), 3),
        "recommend_p95_ms": round(percentile_ms(rec, 95), 3),
        "recommend_target_p95_ms": RECOMMEND_P95_TARGET_MS,
        # CPU time of the calling thread: the work itself, without waiting for a busy CPU.
        "recommend_cpu_p95_ms": round(percentile_ms(rec_cpu, 95), 3),
        "session_score_p95_ms": round(percentile_ms(session, 95), 3),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_count": os.cpu_count(),
        # The CPU is shared: the 1-minute load average says how contended these timings were.
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    result["fit_ok"] = result["fit_seconds"] <= FIT_TARGET_S
    result["recommend_ok"] = result["recommend_p95_ms"] <= RECOMMEND_P95_TARGET_MS
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")

    rows = [
        ("dataset load", f"{result['load_seconds']:.2f} s", "", ""),
        (
            f"{result['engine']} fit",
            f"{result['fit_seconds']:.2f} s",
            f"<= {FIT_TARGET_S:.0f} s",
            "ok" if result["fit_ok"] else "MISSED",
        ),
        (f"recommend p50 (user {args.user})", f"{result['recommend_p50_ms']:.2f} ms", "", ""),
        (
            f"recommend p95 (user {args.user})",
            f"{result['recommend_p95_ms']:.2f} ms",
            f"<= {RECOMMEND_P95_TARGET_MS:.0f} ms",
            "ok" if result["recommend_ok"] else "MISSED",
        ),
        (f"recommend CPU-time p95 (user {args.user})", f"{result['recommend_cpu_p95_ms']:.2f} ms", "", ""),
        ("session score_for p95", f"{result['session_score_p95_ms']:.2f} ms", "", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  value       target    status")
    for name, value, target, status in rows:
        print(f"{name.ljust(width)}  {value.ljust(10)}  {target.ljust(8)}  {status}")
    print(f"load average {result['load_average_1m']} on {result['cpu_count']} CPUs; wrote {RESULTS}")


if __name__ == "__main__":
    main()
