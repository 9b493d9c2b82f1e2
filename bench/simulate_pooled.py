"""Pool several ``recbot eval simulate`` results (one per seed): success rates, paired tests, by target.

Each seed draws its own simulated users (and so its own training split); pooling treats every
(seed, user) episode as one pair, so a user drawn by two seeds counts twice. Example::

    python bench/simulate_pooled.py docs/results/simulate.json docs/results/simulate_seed{1,2,3}.json \\
        --json-out docs/results/simulate_pooled.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from eval.paired import paired_success
from eval.simulate import TARGET_RATING_BINS


def pool(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The pooled figures of ``results`` (each a ``recbot eval simulate`` JSON with its episodes)."""
    served = results[0]["served_system"]
    if any(r["served_system"] != served for r in results):
        raise ValueError("the results name different served systems")
    systems = list(results[0]["episodes"])
    success: dict[str, list[bool]] = {name: [] for name in systems}
    ratings: list[int] = []
    for r in results:
        by_user = {name: {e["user_id"]: e["success"] for e in r["episodes"][name]} for name in systems}
        for target in r["targets"]:
            ratings.append(target["target_ratings"])
            for name in systems:
                success[name].append(by_user[name][target["user_id"]])
    rng = np.random.default_rng(0)
    comparisons = {
        f"{served} - {name}": paired_success(success[served], success[name], rng)
        for name in systems
        if name != served
    }
    counts = np.asarray(ratings)
    hits = np.asarray(success[served])
    by_target: dict[str, Any] = {}
    edges = (*TARGET_RATING_BINS, None)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (counts >= lo) & (counts < hi if hi is not None else True)
        name = f"{lo}+" if hi is None else f"{lo}-{hi - 1}"
        rate = float(hits[sel].mean()) if sel.any() else None
        by_target[name] = {"users": int(sel.sum()), "success_rate": rate}
    return {
        "served_system": served,
        "seeds": [r["seed"] for r in results],
        "episodes": int(hits.size),
        "success_rate": {name: float(np.mean(v)) for name, v in success.items()},
        "comparisons": comparisons,
        "by_target_ratings": by_target,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    pooled = pool([json.loads(p.read_text()) for p in args.results])
    pooled["files"] = [str(p) for p in args.results]
    text = json.dumps(pooled, indent=2)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
