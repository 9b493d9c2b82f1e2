"""Draw the labelled sample of shown explanations from ``recbot eval explanations --sample-out`` files.

    python -m eval.labelled_sample A.jsonl B.jsonl --per-file 120 --seed 0 \
        --data DIR --out eval/data/explanations_labelled_issue15.jsonl

Each input row was labelled by :mod:`eval.claim_check` against the MovieLens files when it was written;
the rows are re-checked here (the files may have moved on), drawn at random per file, and written
with their claims, the label (true / false / unverified) and the reason. Rows a person has read keep
a ``reviewed`` note in the output; unverified rows must be read and labelled by hand.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from eval.claim_check import Context, MovieLens, check, label


def relabel(row: dict, ml: MovieLens) -> dict:
    """``row`` with its claims, label and reason from a fresh check (as written without ``liked_ids``:
    a thumbs up given in the session cannot be seen again)."""
    if "liked_ids" not in row:
        return row
    ctx = Context(
        row["item_id"],
        row["title"],
        row["messages"],
        row["user_id"],
        row["liked_ids"],
        row.get("earlier_ids", []),
    )
    claims = check(row["text"], ctx, ml)
    verdict, reason = label(claims)
    return {
        **row,
        "claims": [{"kind": c.kind, "args": list(c.args), "ok": c.ok} for c in claims],
        "label": verdict,
        "reason": reason,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("inputs", nargs="+", type=Path)
    parser.add_argument("--per-file", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, required=True, help="MovieLens folder (movies/ratings/tags.csv)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    ml = MovieLens.load(args.data)
    rng = random.Random(args.seed)
    rows: list[dict] = []
    for path in args.inputs:
        found = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for row in rng.sample(found, min(args.per_file, len(found))):
            rows.append(relabel({**row, "sample_of": path.name}, ml))
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    counts = {v: sum(r["label"] == v for r in rows) for v in ("true", "false", "unverified")}
    print(f"{len(rows)} rows -> {args.out}: {counts}")


if __name__ == "__main__":
    main()
