"""The cold-start comparison's statistics: the paired bootstrap interval and its line in the table."""

from __future__ import annotations

import numpy as np

from eval.retrieval_eval import format_results, paired_bootstrap


def test_paired_bootstrap_brackets_the_mean_difference_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    base = rng.random(200)
    better = base + 0.05 + rng.normal(0, 0.02, 200)  # paired: the user-to-user spread cancels
    out = paired_bootstrap(better, base, np.random.default_rng(1))
    assert out["n"] == 200
    assert out["mean"] == np.mean(better - base)
    lo, hi = out["ci95"]
    assert 0.0 < lo < out["mean"] < hi
    assert out == paired_bootstrap(better, base, np.random.default_rng(1))
    same = paired_bootstrap(base, base, np.random.default_rng(1))
    assert same["mean"] == 0.0 and same["ci95"] == [0.0, 0.0]
    assert paired_bootstrap([], [], np.random.default_rng(1))["n"] == 0


def test_table_reports_each_difference_with_its_interval() -> None:
    row = {"ndcg@10": 0.3, "recall@10": 0.1, "n": 2, "by_n_liked": {"1": {"ndcg@10": 0.3}}}
    results = {
        "text_queries": {"skipped": "no tags"},
        "cold_start": {"cf": row, "blend": row},
        "cold_start_differences": {"blend - cf": {"mean": 0.05, "ci95": [0.01, 0.09], "n": 2}},
    }
    text = format_results(results)
    assert "blend - cf NDCG@10: +0.050 (95% paired bootstrap CI +0.010 .. +0.090, 2 users)" in text
