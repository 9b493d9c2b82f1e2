"""What training, indexing and a turn cost as the catalog grows: generated catalogs of 10k, 30k, 100k items.

For each size: bench/gen_catalog.py writes a seeded generic catalog (20 interactions per item, one
user per 40 interactions), then, each as the user runs it and measured by ``/usr/bin/time`` (wall
seconds and peak RSS of the process):

1. ``recbot train`` (the default CF model, EASE);
2. ``recbot index`` (embeds every item into the embedded Chroma index). Its report says how many of
   the build's seconds were spent inside the embedding model; ``model`` then measures the model
   alone, in a separate process, on the same texts: evenly spaced blocks of the build's own
   batches (the build's length-sorted order, the same batch size and threads), so the build's
   throughput can be compared with the model's own (target >= 90%);
3. ``recbot serve --no-ui`` with template explanations (no LLM is loaded): ``--turns`` turns one
   after another over HTTP; the candidates + blend time is the ``candidates`` entry of the
   ``latency_ms`` the agent reports (policy, CF and semantic candidates, blend, MMR), taken over the
   turns that recommended; the turn time is the client's wall clock; the server's RSS after start
   and its peak (VmHWM) after the turns come from /proc;
4. ``memory``: bench/serve_memory.py loads the same runtime part by part in one process (dataset,
   CF, index, features, store, agent, item vectors, query model, fusion, turns) with RSS after each:
   where the serving memory goes.

``recbot index`` (or ``recbot train``, whichever completes the pair) also fits the learned fusion
(``fusion_s``), so the serving process only loads it.

``--steps`` runs part of it on an existing ``--workdir`` (e.g. ``--steps train,serve`` after a
change to the CF artifact, without re-embedding). Writes bench/results/scale.json (one entry per
size, with ``uptime``'s load average before each step) and prints a table. Expensive: run it under
``heavy --idle``::

    heavy --idle python bench/bench_scale.py --sizes 10000 --workdir /tmp/scale
    heavy --idle python bench/bench_scale.py --sizes 10000,30000,100000 --workdir /tmp/scale
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from bench_api import pct  # noqa: E402
from gen_catalog import write_catalog  # noqa: E402

from tests.ui.recbot_server import RecbotServer  # noqa: E402

RESULTS = REPO / "bench" / "results" / "scale.json"
STEPS = ("gen", "train", "index", "model", "serve", "memory")
MESSAGES = [
    "something funny",
    "a dark thriller about revenge",
    "a sci-fi film from the 80s",
    "something atmospheric, no horror",
    "a family film about friendship",
    "a western with a twist ending",
]
# The model-only check: this share of the catalog (at least 4 batches), in evenly spaced blocks.
MODEL_SAMPLE_SHARE = 0.05
MODEL_SCRIPT = """
import json, sys, time
from bot.settings import load_settings
from cf_engine.data import load_dataset
from retrieval import embeddings as emb
from retrieval.documents import item_document
from retrieval.index import UPSERT_BATCH

share = float(sys.argv[1])
settings = load_settings()
config = settings.retrieval_config()
catalog = load_dataset(settings.cf_config(), progress=False).catalog
docs = {str(it.item_id): item_document(it) for it in catalog}
ids = sorted(docs, key=lambda i: (len(docs[i]), i))  # the build's order
batches = [ids[a : a + UPSERT_BATCH] for a in range(0, len(ids), UPSERT_BATCH)]
n_blocks = min(len(batches), max(4, round(share * len(batches))))
picked = [batches[round(k * (len(batches) - 1) / max(1, n_blocks - 1))] for k in range(n_blocks)]
emb.embed_texts(config, [docs[i] for i in batches[0][:32]])  # load and warm up, untimed
items, seconds = 0, 0.0
for batch in picked:
    started = time.perf_counter()
    emb.embed_texts(config, [docs[i] for i in batch])
    seconds += time.perf_counter() - started
    items += len(batch)
print(json.dumps({"items": items, "blocks": n_blocks, "seconds": round(seconds, 2),
                  "items_per_s": round(items / seconds, 1), "threads": config.index_build_threads,
                  "batch_size": config.embedding_batch_size}))
"""


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (numbers taken while others run are labelled by it)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def environment(home: Path, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECBOT_")}
    env.update(catalog_env(data))
    env.update(
        RECBOT_HOME=str(home),
        RECBOT_DATA_DIR=str(data),
        RECBOT_LLM_BACKEND="template",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    return env


def catalog_env(data: Path) -> dict[str, str]:
    return {"RECBOT_CATALOG_FORMAT": "generic", "RECBOT_DATASET": data.name}


def timed(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run ``cmd`` under /usr/bin/time; wall seconds and peak RSS (GiB)."""
    stats = log.with_suffix(".time")
    load = load_average()
    with log.open("wb") as out:
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%e %M", "-o", str(stats), *cmd],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}); see {log}")
    wall, kib = stats.read_text().split()[-2:]
    return {"wall_s": round(float(wall), 1), "peak_rss_gib": round(int(kib) / 2**20, 2), "load": load}


def recbot(*args: str) -> list[str]:
    return [sys.executable, "-c", "from ui.cli import main; main()", *args]


def index_step(env: dict[str, str], log: Path, n_items: int) -> dict[str, Any]:
    row = timed(recbot("index", "--rebuild"), env, log)
    text = log.read_text(errors="replace")
    found = re.search(
        r"(\d+) embedded.* in ([\d.]+) s \(embedding model ([\d.]+) s.*?writes ([\d.]+) s.*?for ([\d.]+) s",
        text,
    )
    if found is None:
        raise RuntimeError(f"no build report in {log}")
    embedded, build_s, model_s = int(found[1]), float(found[2]), float(found[3])
    row.update(
        embedded=embedded,
        build_s=build_s,
        model_in_build_s=model_s,
        model_in_build_items_per_s=round(embedded / model_s, 1),
        chroma_write_s=float(found[4]),
        write_wait_s=float(found[5]),
        build_items_per_s=round(embedded / build_s, 1),
        command_items_per_s=round(n_items / row["wall_s"], 1),
    )
    fusion = re.search(r"learned fusion ready in ([\d.]+) s", text)
    if fusion is not None:  # fitted by the index command once the CF model exists (not by serve)
        row["fusion_s"] = float(fusion[1])
    return row


def json_step(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run a Python script that prints one JSON line last; that object, with the load before it."""
    load = load_average()
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=REPO, capture_output=True, text=True, check=True
    )
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "load": load}


def model_step(env: dict[str, str]) -> dict[str, Any]:
    return json_step(env, "-c", MODEL_SCRIPT, str(MODEL_SAMPLE_SHARE))


def memory_step(env: dict[str, str]) -> dict[str, Any]:
    """bench/serve_memory.py: the serving runtime loaded part by part, RSS after each."""
    return json_step(env, str(REPO / "bench" / "serve_memory.py"))


def serve_step(env: dict[str, str], home: Path, data: Path, log: Path, n: int) -> dict[str, Any]:
    load = load_average()
    server = RecbotServer(home, data, log, env={k: v for k, v in env.items() if k.startswith("RECBOT_")})
    started = time.monotonic()
    server.start(timeout_s=1800)
    start_s = time.monotonic() - started
    assert server.proc is not None
    rss_started = server.rss_bytes()
    walls: list[float] = []
    candidates: list[float] = []
    try:
        with httpx.Client(base_url=server.url + "/api/v1", timeout=120) as client:
            sid = ""
            for k in range(n):
                if k % len(MESSAGES) == 0:
                    sid = client.post("/sessions", json={}).json()["session_id"]
                t0 = time.perf_counter()
                r = client.post(f"/sessions/{sid}/messages", json={"message": MESSAGES[k % len(MESSAGES)]})
                wall = (time.perf_counter() - t0) * 1000
                r.raise_for_status()
                walls.append(wall)
                if r.json()["recommendations"]:  # a clarifying question runs no candidates
                    candidates.append(float(r.json()["latency_ms"]["candidates"]))
        status = Path(f"/proc/{server.proc.pid}/status").read_text().splitlines()
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    finally:
        server.stop()
    return {
        "load": load,
        "start_s": round(start_s, 1),
        "turns": n,
        "turns_recommending": len(candidates),
        "candidates_p50_ms": round(pct(candidates, 50), 1),
        "candidates_p95_ms": round(pct(candidates, 95), 1),
        "turn_p50_ms": round(pct(walls, 50), 1),
        "turn_p95_ms": round(pct(walls, 95), 1),
        "serve_rss_started_gib": round(rss_started / 2**30, 2),
        "serve_peak_rss_gib": round(hwm / 2**20, 2),
    }


def run_size(n_items: int, workdir: Path, n_turns: int, steps: set[str], row: dict[str, Any]) -> None:
    data = workdir / f"catalog-{n_items}"
    home = workdir / f"home-{n_items}"
    env = environment(home, data)
    row["items"] = n_items
    if "gen" in steps:
        started = time.perf_counter()
        counts = write_catalog(data, n_items, 20 * n_items, max(1000, n_items // 2), seed=0)
        row.update({f"n_{k}": v for k, v in counts.items()})
        row["gen_s"] = round(time.perf_counter() - started, 1)
    if "train" in steps:
        row["train"] = timed(recbot("train"), env, workdir / f"train-{n_items}.log")
    if "index" in steps:
        row["index"] = index_step(env, workdir / f"index-{n_items}.log", n_items)
    if "model" in steps:
        row["model"] = model_step(env)
    if "index" in row and "model" in row:
        row["index_vs_model"] = round(row["index"]["build_items_per_s"] / row["model"]["items_per_s"], 3)
    if "serve" in steps:
        row["serve"] = serve_step(env, home, data, workdir / f"serve-{n_items}.log", n_turns)
    if "memory" in steps:
        row["memory"] = memory_step(env)


def table(results: dict[int, dict[str, Any]]) -> str:
    """The printed table (also what docs/benchmarks.md shows)."""
    head = (
        "| items | interactions | train s | train GiB | index s | build items/s | model items/s "
        "| build/model | index GiB | cand p50/p95 ms | turn p50/p95 ms | serve GiB (start/peak) |"
    )
    lines = [head, "|" + "---|" * 12]
    for size, r in sorted(results.items()):
        tr, ix, md, sv = (r.get(k, {}) for k in ("train", "index", "model", "serve"))
        lines.append(
            f"| {size:,} | {r.get('n_interactions', 0):,} "
            f"| {tr.get('wall_s', '')} | {tr.get('peak_rss_gib', '')} "
            f"| {ix.get('wall_s', '')} | {ix.get('build_items_per_s', '')} | {md.get('items_per_s', '')} "
            f"| {r.get('index_vs_model', '')} | {ix.get('peak_rss_gib', '')} "
            f"| {sv.get('candidates_p50_ms', '')} / {sv.get('candidates_p95_ms', '')} "
            f"| {sv.get('turn_p50_ms', '')} / {sv.get('turn_p95_ms', '')} "
            f"| {sv.get('serve_rss_started_gib', '')} / {sv.get('serve_peak_rss_gib', '')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"any of {','.join(STEPS)}")
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json-out", type=Path, default=RESULTS)
    args = parser.parse_args()
    steps = set(args.steps.split(","))
    if steps - set(STEPS):
        parser.error(f"unknown steps {sorted(steps - set(STEPS))}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="recbot-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    old = json.loads(args.json_out.read_text()) if args.json_out.is_file() else {}
    results = {int(k): v for k, v in old.get("sizes", {}).items()}
    for size in (int(s) for s in args.sizes.split(",")):
        row = results.setdefault(size, {})
        row.setdefault("commands", []).append(
            {
                "command": "python bench/bench_scale.py " + " ".join(sys.argv[1:]),
                "steps": sorted(steps),
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
        try:
            run_size(size, workdir, args.turns, steps, row)
        finally:
            args.json_out.parent.mkdir(parents=True, exist_ok=True)
            args.json_out.write_text(
                json.dumps(
                    {"cpu_count": os.cpu_count(), "sizes": {str(k): v for k, v in sorted(results.items())}},
                    indent=2,
                )
            )
    print(table(results))


if __name__ == "__main__":
    main()
