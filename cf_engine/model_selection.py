"""Tune each engine on the validation split, then compare all of them on the test split.

The one function ``compare_models`` is what ``recbot eval cf`` runs: every model sees the same
split, is tuned on validation only over a small grid, and is reported once on test.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

from cf_engine.data.catalog import Dataset
from cf_engine.evaluation import Protocol, Split, prepare_split, ranking_metrics
from cf_engine.registry import available, create

# Small grids: the CPU is shared, and these cover the values that matter on MovieLens-sized data.
GRIDS: dict[str, dict[str, list[Any]]] = {
    "ease": {"l2": [50.0, 100.0, 200.0, 400.0, 800.0, 1600.0]},
    "als": {
        "factors": [8, 16, 32, 64],
        "regularization": [0.05, 0.5],
        "alpha": [1.0, 4.0, 10.0],
        "iterations": [15],
    },
    "itemknn": {"k": [5, 10, 20, 50, 100], "shrink": [0.0, 10.0]},
    "popularity": {},
}


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (one empty point for an empty grid)."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


def tune(
    name: str,
    split: Split,
    grid: dict[str, list[Any]] | None = None,
    metric: str = "ndcg@10",
    fixed: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Best params of ``name`` by validation ``metric``, and every point tried with its score."""
    trials: list[dict[str, Any]] = []
    for point in grid_points(GRIDS.get(name, {}) if grid is None else grid):
        params = {**(fixed or {}), **point}
        engine = create(name, **params).fit(split.train)
        score = ranking_metrics(engine, split, phase="valid")[metric]
        trials.append({"params": params, f"valid_{metric}": round(score, 5)})
        if log:
            log(f"  {name} {params}: valid {metric} = {score:.4f}")
    best = max(trials, key=lambda t: t[f"valid_{metric}"])
    return best["params"], trials


def compare_models(
    dataset: Dataset,
    models: Sequence[str] | None = None,
    protocol: Protocol = Protocol(),
    default_model: str = "ease",
    fixed_params: dict[str, dict[str, Any]] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the protocol for every model on one split: the JSON report of ``recbot eval cf``."""
    models = list(models or available())
    split = prepare_split(dataset, protocol)
    report: dict[str, Any] = {
        "dataset": dataset.name,
        "protocol": {**protocol.describe(), "core_used": split.core_used, **split.stats},
        "models": {},
        "default_model": default_model,
    }
    for name in models:
        params, trials = tune(name, split, fixed=(fixed_params or {}).get(name), log=log)
        started = time.perf_counter()
        engine = create(name, **params).fit(split.train)
        fit_seconds = time.perf_counter() - started
        metrics = ranking_metrics(engine, split, phase="test", k=protocol.k)
        report["models"][name] = {
            **{key: round(value, 5) for key, value in metrics.items()},
            "fit_seconds": round(fit_seconds, 3),
            "params": params,
            "valid_ndcg@10": max(t["valid_ndcg@10"] for t in trials),
            "trials": trials,
        }
        if log:
            log(f"{name}: test ndcg@10 = {metrics['ndcg@10']:.4f} ({params})")
    if default_model in report["models"]:
        others = [m for n, m in report["models"].items() if n != default_model]
        best_other = max((m["ndcg@10"] for m in others), default=float("-inf"))
        report["default_beats_others"] = report["models"][default_model]["ndcg@10"] >= best_other
    return report
