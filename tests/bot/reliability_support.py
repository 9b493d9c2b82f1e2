"""A small real recbot home for the reliability tests of tests/bot (injection, degradation).

The full MovieLens catalog takes minutes to train and index on a small CPU; these tests need the
real components (EASE artifact, Chroma index, blender, explainer, store), not their scale. So the
400 most-rated MovieLens movies with all their ratings and tags are written to a temp folder once
per test process, trained and indexed once (:func:`small_home`), and each test copies that home.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from bot.settings import Settings

# Same location as tests/conftest.py: ../shared/data beside the checkout, or RECBOT_TEST_SHARED.
SHARED = (
    Path(os.environ.get("RECBOT_TEST_SHARED", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
    / "ml-latest-small"
)
N_MOVIES = 400
# Read at import (the autouse fixture clears RECBOT_* later): keeps the built subset between local runs.
KEPT_DIR = os.environ.get("RECBOT_TEST_RELIABILITY_DIR")


@lru_cache(maxsize=1)
def _root() -> Path:
    if KEPT_DIR:
        Path(KEPT_DIR).mkdir(parents=True, exist_ok=True)
        return Path(KEPT_DIR)
    root = Path(tempfile.mkdtemp(prefix="recbot-reliability-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


@lru_cache(maxsize=1)
def small_movielens() -> Path:
    """A MovieLens-format folder: the N_MOVIES most-rated movies, their ratings and tags."""
    out = _root() / "ml-small-subset"
    if (out / "tags.csv").is_file():
        return out
    out.mkdir(exist_ok=True)
    ratings = pd.read_csv(SHARED / "ratings.csv")
    top = ratings.groupby("movieId").size().sort_values(ascending=False).index[:N_MOVIES]
    movies = pd.read_csv(SHARED / "movies.csv")
    movies[movies.movieId.isin(top)].to_csv(out / "movies.csv", index=False)
    ratings[ratings.movieId.isin(top)].to_csv(out / "ratings.csv", index=False)
    tags = pd.read_csv(SHARED / "tags.csv")
    tags[tags.movieId.isin(top)].to_csv(out / "tags.csv", index=False)
    return out


def small_settings(home: Path, **overrides: Any) -> Settings:
    """Template-LLM settings on the subset, with ``home`` as the recbot home."""
    values: dict[str, Any] = {"home": home, "data_dir": small_movielens(), "llm_backend": "template"}
    values.update(overrides)
    return Settings(**values)


@lru_cache(maxsize=1)
def small_home() -> Path:
    """A home with the subset's CF artifact and Chroma index built (once per test process)."""
    from bot.runtime import Runtime

    home = _root() / "home"
    if (home / "models").is_dir() and (home / "chroma").is_dir():
        return home  # built by an earlier run (RECBOT_TEST_RELIABILITY_DIR)
    runtime = Runtime.from_settings(small_settings(home))
    health = runtime.health()
    runtime.close()
    assert all(part["status"] == "ok" for part in health.values()), health
    return home


def copy_of_small_home(dst: Path) -> Path:
    """A private copy of :func:`small_home` (without its database) that a test may break."""
    shutil.copytree(small_home(), dst, ignore=shutil.ignore_patterns("recbot.db*"))
    return dst
