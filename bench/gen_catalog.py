"""A seeded synthetic catalog in the generic format (``items.jsonl`` + ``interactions.csv``) of any size.

For measuring what ``recbot train``, ``recbot index`` and a turn cost past ml-latest-small's 9,742
items (bench/bench_scale.py). Items have a year, 1-3 genres, 0-6 tags and a sentence of text built
from them; interactions follow a Zipf-like item popularity, users prefer a few genres (so CF has
structure to find), ratings lean high for preferred genres. The same seed writes the same files.

    python bench/gen_catalog.py --items 100000 --interactions 2000000 --users 50000 --out /tmp/cat100k
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

GENRES = [
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War",
    "Western",
]  # fmt: skip
TAGS = [
    "atmospheric", "dark comedy", "twist ending", "based on a book", "visually stunning", "slow burn",
    "cult classic", "great soundtrack", "heist", "time travel", "space", "road trip", "coming of age",
    "dystopia", "courtroom", "martial arts", "small town", "revenge", "friendship", "satire",
    "biography", "haunted house", "survival", "espionage", "family", "sports", "music", "politics",
]  # fmt: skip
WORDS = [
    "night", "river", "city", "shadow", "summer", "last", "silent", "golden", "broken", "wild", "iron",
    "secret", "lost", "red", "winter", "distant", "crimson", "hidden", "electric", "northern", "empty",
    "glass", "burning", "quiet", "long", "paper", "stone", "velvet", "midnight", "second",
]  # fmt: skip
NOUNS = [
    "road", "house", "garden", "signal", "kingdom", "harbor", "machine", "letter", "promise", "frontier",
    "island", "storm", "station", "mirror", "orchard", "empire", "voyage", "circus", "archive", "tide",
]  # fmt: skip


def write_catalog(
    out: Path, n_items: int, n_interactions: int, n_users: int, seed: int = 0
) -> dict[str, int]:
    """Write the two files under ``out``; returns the counts written."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    n_genres = len(GENRES)
    item_genres = [rng.choice(n_genres, size=rng.integers(1, 4), replace=False) for _ in range(n_items)]
    years = rng.integers(1920, 2024, size=n_items)
    with (out / "items.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n_items):
            genres = [GENRES[g] for g in item_genres[i]]
            tags = [str(t) for t in rng.choice(TAGS, size=rng.integers(0, 7), replace=False)]
            title = f"The {WORDS[rng.integers(len(WORDS))].title()} {NOUNS[rng.integers(len(NOUNS))].title()}"
            if i >= len(WORDS) * len(NOUNS):
                title += f" {i}"  # titles stay mostly distinct past the first combinations
            text = (
                f"A {' and '.join(g.lower() for g in genres)} film from {years[i]}"
                + (f" about {', '.join(tags[:3])}" if tags else "")
                + f": {WORDS[rng.integers(len(WORDS))]} {NOUNS[rng.integers(len(NOUNS))]} and"
                f" {WORDS[rng.integers(len(WORDS))]} {NOUNS[rng.integers(len(NOUNS))]}."
            )
            row = {
                "item_id": i + 1,
                "title": title,
                "year": int(years[i]),
                "genres": genres,
                "tags": tags,
                "text": text,
            }
            fh.write(json.dumps(row) + "\n")

    # Popularity: Zipf-like over a random permutation of the items.
    rank = rng.permutation(n_items)
    popularity = 1.0 / (rank + 10.0) ** 0.9
    by_genre = [np.array([i for i in range(n_items) if g in item_genres[i]]) for g in range(n_genres)]
    genre_weight = [popularity[idx] / popularity[idx].sum() for idx in by_genre]
    overall = popularity / popularity.sum()
    users = rng.integers(1, n_users + 1, size=n_interactions)
    favourite = rng.integers(0, n_genres, size=(n_users + 1, 2))
    from_favourite = rng.random(n_interactions) < 0.7
    items = np.zeros(n_interactions, np.int64)  # 0 = not drawn yet (np.empty held garbage ids)
    for g in range(n_genres):
        for slot in (0, 1):
            mask = (
                from_favourite
                & (favourite[users, slot] == g)
                & (rng.random(n_interactions) < 0.5 + slot * 0.5)
            )
            mask &= items == 0
            items[mask] = rng.choice(by_genre[g], size=int(mask.sum()), p=genre_weight[g]) + 1
    rest = items == 0
    items[rest] = rng.choice(n_items, size=int(rest.sum()), p=overall) + 1
    ratings = np.clip(
        np.round((rng.normal(3.4, 1.0, n_interactions) + from_favourite * 0.6) * 2) / 2, 0.5, 5.0
    )
    timestamps = rng.integers(1_000_000_000, 1_700_000_000, size=n_interactions)
    pairs = np.unique(np.stack([users, items], axis=1), axis=0, return_index=True)[1]  # one row per pair
    with (out / "interactions.csv").open("w", encoding="utf-8") as fh:
        fh.write("user_id,item_id,rating,timestamp\n")
        for k in np.sort(pairs):
            fh.write(f"{users[k]},{items[k]},{ratings[k]:.1f},{timestamps[k]}\n")
    return {"items": n_items, "interactions": int(len(pairs)), "users": int(len(np.unique(users)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--interactions", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    counts = write_catalog(args.out, args.items, args.interactions, args.users, args.seed)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
