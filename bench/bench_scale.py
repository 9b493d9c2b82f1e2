"""What training, indexing and a turn cost as the catalog grows: generated catalogs of 10k, 30k, 100k items.

For each size: bench/gen_catalog.py writes a seeded generic catalog (20 interactions per item, one
user per 40 interactions), then, each as the user runs it and measured by ``/usr/bin/time`` (wall
seconds and peak RSS of the process):

1. ``recbot train`` (the default CF model, EASE);
2. ``recbot index`` (embeds every item into the embedded Chroma index);
3. ``recbot serve --no-ui`` with template explanations: ``--turns`` turns one after another over HTTP;
   the candidates and blend time is the ``latency_ms`` the agent reports, the turn time the client's
   wall clock; the server's peak RSS (VmHWM) is read from /proc after the turns.

Writes bench/results/scale.json (one entry per size, with ``uptime``'s load average before each size)
and prints a table. Expensive: run under ``heavy --idle`` and one size at a time if need be::

    heavy --idle python bench/bench_scale.py --sizes 10000
    heavy --idle python bench/bench_scale.py --sizes 10000,30000,100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import free_port, pct  # noqa: E402
from gen_catalog import write_catalog  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "scale.json"
MESSAGES = [
    "something funny",
    "a dark thriller about revenge",
    "a sci-fi film from the 80s",
    "something atmospheric, no horror",
    "a family film about friendship",
    "a western with a twist ending",
]


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (numbers taken while others run are labelled by it)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def environment(home: Path, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECBOT_")}
    env.update(
        RECBOT_HOME=str(home),
        RECBOT_DATA_DIR=str(data),
        RECBOT_CATALOG_FORMAT="generic",
        RECBOT_DATASET=data.name,
        RECBOT_LLM_BACKEND="template",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        GRADIO_ANALYTICS_ENABLED="False",
        PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    return env


def timed(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run ``cmd`` under /usr/bin/time; wall seconds and peak RSS (GiB)."""
    stats = log.with_suffix(".time")
    with log.open("wb") as out:
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%e %M", "-o", str(stats), *cmd],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}); see {log}")
    wall, kib = stats.read_text().split()[-2:]
    return {"wall_s": round(float(wall), 1), "peak_rss_gib": round(int(kib) / 2**20, 2)}


def recbot(*args: str) -> list[str]:
    return [sys.executable, "-c", "from ui.cli import main; main()", *args]


def turns(env: dict[str, str], log: Path, n: int) -> dict[str, Any]:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            recbot("serve", "--no-ui", "--port", str(port)), env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        started = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"recbot serve exited; see {log}")
            try:
                if httpx.get(url + "/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > 900:
                raise RuntimeError("recbot serve did not start within 900 s")
            time.sleep(0.5)
        start_s = time.monotonic() - started
        walls: list[float] = []
        candidates: list[float] = []
        with httpx.Client(base_url=url, timeout=120) as client:
            sid = client.post("/sessions", json={}).json()["session_id"]
            for k in range(n):
                if k % len(MESSAGES) == 0:
                    sid = client.post("/sessions", json={}).json()["session_id"]
                t0 = time.perf_counter()
                r = client.post(f"/sessions/{sid}/messages", json={"message": MESSAGES[k % len(MESSAGES)]})
                walls.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
                latency = r.json()["latency_ms"]
                candidates.append(float(latency.get("candidates", 0.0)))
        status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        return {
            "start_s": round(start_s, 1),
            "turns": n,
            "candidates_p50_ms": round(pct(candidates, 50), 1),
            "candidates_p95_ms": round(pct(candidates, 95), 1),
            "turn_p50_ms": round(pct(walls, 50), 1),
            "turn_p95_ms": round(pct(walls, 95), 1),
            "serve_peak_rss_gib": round(hwm / 2**20, 2),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_size(n_items: int, workdir: Path, n_turns: int) -> dict[str, Any]:
    data = workdir / f"catalog-{n_items}"
    counts = write_catalog(data, n_items, 20 * n_items, max(1000, n_items // 2), seed=0)
    home = workdir / f"home-{n_items}"
    env = environment(home, data)
    row: dict[str, Any] = {
        "items": n_items,
        **{f"n_{k}": v for k, v in counts.items()},
        "load": load_average(),
    }
    row["train"] = timed(recbot("train"), env, workdir / f"train-{n_items}.log")
    row["index"] = timed(recbot("index"), env, workdir / f"index-{n_items}.log")
    row["index"]["items_per_s"] = round(n_items / max(row["index"]["wall_s"], 1e-9), 1)
    row["serve"] = turns(env, workdir / f"serve-{n_items}.log", n_turns)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json-out", type=Path, default=RESULTS)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="recbot-scale-"))
    old = json.loads(args.json_out.read_text()) if args.json_out.is_file() else {}
    results = {int(k): v for k, v in old.get("sizes", {}).items()}
    for size in (int(s) for s in args.sizes.split(",")):
        results[size] = run_size(size, workdir, args.turns)
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(
            json.dumps({"sizes": {str(k): v for k, v in sorted(results.items())}}, indent=2)
        )
    print(
        f"{'items':>7} {'inter.':>9} {'train s':>8} {'train GiB':>9} {'index s':>8} {'items/s':>8} "
        f"{'index GiB':>9} {'cand p95':>9} {'turn p95':>9} {'serve GiB':>9}"
    )
    for size, r in sorted(results.items()):
        print(
            f"{size:>7} {r['n_interactions']:>9} {r['train']['wall_s']:>8} {r['train']['peak_rss_gib']:>9} "
            f"{r['index']['wall_s']:>8} {r['index']['items_per_s']:>8} {r['index']['peak_rss_gib']:>9} "
            f"{r['serve']['candidates_p95_ms']:>9} {r['serve']['turn_p95_ms']:>9} "
            f"{r['serve']['serve_peak_rss_gib']:>9}"
        )


if __name__ == "__main__":
    main()
