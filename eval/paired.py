"""Paired comparison of two systems' successes on the same users (same seeds, targets and messages)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from eval.retrieval_eval import paired_bootstrap


def sign_test(a_only: int, b_only: int) -> float:
    """Exact two-sided sign test (McNemar's exact test) on the discordant pairs."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    k = min(a_only, b_only)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def paired_success(
    a: Sequence[bool], b: Sequence[bool], rng: np.random.Generator, resamples: int = 10_000
) -> dict[str, Any]:
    """Success rates of ``a`` and ``b`` (paired per user), their difference with a 95% bootstrap
    interval, the discordant pairs and the sign test's p-value."""
    if len(a) != len(b):
        raise ValueError(f"paired comparison of {len(a)} and {len(b)} users")
    x = np.asarray(a, dtype=bool)
    y = np.asarray(b, dtype=bool)
    boot = paired_bootstrap(x.astype(float), y.astype(float), rng, resamples)
    a_only = int((x & ~y).sum())
    b_only = int((~x & y).sum())
    return {
        "n": int(x.size),
        "success_a": float(x.mean()) if x.size else 0.0,
        "success_b": float(y.mean()) if y.size else 0.0,
        "difference": boot["mean"],
        "ci95": boot["ci95"],
        "a_only": a_only,
        "b_only": b_only,
        "sign_test_p": sign_test(a_only, b_only),
    }
