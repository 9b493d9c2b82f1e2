"""API benchmark: one turn through HTTP vs the agent's own turn time, 20 concurrent sessions, widget size.

Starts ``recbot serve`` (API only) on a free loopback port in a subprocess, waits until it answers
``/api/v1/health`` (a first start builds the CF artifact and the index), then

1. sends ``--turns`` messages one after another; the agent's own time is the ``latency_ms.total`` it
   reports in each turn, the API time is the client's wall clock (HTTP + queue + JSON included);
2. runs ``--sessions`` sessions at once, each sending ``--rounds`` messages (a bounded loop that
   stops by itself), and counts every non-200 answer as an error;
3. measures the widget script (raw and gzip bytes; budget 30 kB).

Writes bench/results/api.json and prints a table. Example::

    python bench/bench_api.py --llm-backend template          # fast path, CPU-light
    python bench/bench_api.py                                 # the default LLM (llamacpp)
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "api.json"
WIDGET = REPO / "ui" / "widget" / "recbot.js"
WIDGET_BUDGET_BYTES = 30 * 1024
P95_TARGET_S = 5.0

MESSAGES = [
    "I loved Toy Story and Finding Nemo, something funny please",
    "a scary movie from the 80s",
    "something like The Matrix but less violent",
    "a romantic comedy",
    "something older, before 1970",
    "I liked Heat, more crime movies",
    "an animated film for a family evening",
    "a war movie that is not too long",
]


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    if args.home:
        env["RECBOT_HOME"] = str(args.home)
    if args.data_dir:
        env["RECBOT_DATA_DIR"] = str(args.data_dir)
    cmd = [sys.executable, "-c", "from ui.cli import main; main()", "serve", "--no-ui", "--port", str(port)]
    if args.llm_backend:
        cmd += ["--llm-backend", args.llm_backend]
    log = open(REPO / "bench" / "results" / "api_server.log", "wb")  # noqa: SIM115 (lives with the process)
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"recbot serve exited with {proc.returncode}; see bench/results/api_server.log")
        try:
            if httpx.get(base + "/api/v1/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"recbot serve was not ready after {timeout_s:.0f} s")


def one_turn(client: httpx.Client, base: str, sid: str, message: str) -> tuple[int, float, float | None]:
    """(status, wall seconds, the agent's own total ms or None)."""
    start = time.perf_counter()
    r = client.post(f"{base}/api/v1/sessions/{sid}/messages", json={"message": message})
    wall = time.perf_counter() - start
    agent_ms = r.json().get("latency_ms", {}).get("total") if r.status_code == 200 else None
    return r.status_code, wall, agent_ms


def sequential(base: str, n: int) -> dict[str, Any]:
    with httpx.Client(timeout=300) as client:
        sid = client.post(f"{base}/api/v1/sessions", json={}).json()["session_id"]
        one_turn(client, base, sid, "hello")  # warm-up (first LLM call loads the model)
        walls, agent = [], []
        for i in range(n):
            status, wall, agent_ms = one_turn(client, base, sid, MESSAGES[i % len(MESSAGES)])
            if status != 200:
                raise SystemExit(f"sequential turn {i} answered {status}")
            walls.append(wall)
            if agent_ms is not None:
                agent.append(agent_ms / 1000)
    return {
        "turns": n,
        "api_p50_s": pct(walls, 50),
        "api_p95_s": pct(walls, 95),
        "agent_p50_s": pct(agent, 50),
        "agent_p95_s": pct(agent, 95),
        "overhead_p50_ms": 1000 * (pct(walls, 50) - pct(agent, 50)),
    }


def concurrent(base: str, sessions: int, rounds: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def visitor(k: int) -> None:
        with httpx.Client(timeout=600) as client:
            try:
                sid = client.post(f"{base}/api/v1/sessions", json={}).json()["session_id"]
            except Exception as exc:  # every failure is counted, none stops the run
                with lock:
                    errors.append(f"create: {exc!r}")
                return
            for r in range(rounds):
                try:
                    status, wall, _ = one_turn(client, base, sid, MESSAGES[(k + r) % len(MESSAGES)])
                except Exception as exc:
                    with lock:
                        errors.append(f"turn: {exc!r}")
                    continue
                with lock:
                    latencies.append(wall)
                    if status != 200:
                        errors.append(f"HTTP {status}")

    start = time.perf_counter()
    threads = [threading.Thread(target=visitor, args=(k,)) for k in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {
        "sessions": sessions,
        "rounds": rounds,
        "requests": sessions * rounds,
        "errors": len(errors),
        "error_samples": errors[:5],
        "p50_s": pct(latencies, 50),
        "p95_s": pct(latencies, 95),
        "max_s": max(latencies) if latencies else float("nan"),
        "wall_s": elapsed,
        "throughput_turns_per_s": len(latencies) / elapsed if elapsed else 0.0,
        "p95_target_s": P95_TARGET_S,
        "p95_within_target": pct(latencies, 95) <= P95_TARGET_S,
    }


def widget_size() -> dict[str, Any]:
    raw = WIDGET.read_bytes()
    return {
        "bytes": len(raw),
        "gzip_bytes": len(gzip.compress(raw)),
        "budget_bytes": WIDGET_BUDGET_BYTES,
        "within_budget": len(raw) <= WIDGET_BUDGET_BYTES,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-backend", default=None, help="default: settings (llamacpp)")
    parser.add_argument("--home", type=Path, default=None, help="RECBOT_HOME for the server")
    parser.add_argument("--data-dir", type=Path, default=None, help="RECBOT_DATA_DIR for the server")
    parser.add_argument("--turns", type=int, default=10, help="sequential turns")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions")
    parser.add_argument("--rounds", type=int, default=2, help="turns per concurrent session")
    parser.add_argument(
        "--ready-timeout", type=float, default=1800.0, help="seconds to wait for a first start"
    )
    args = parser.parse_args()

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(args, port)
    try:
        started = time.perf_counter()
        wait_ready(base, proc, args.ready_timeout)
        ready_s = time.perf_counter() - started
        seq = sequential(base, args.turns)
        conc = concurrent(base, args.sessions, args.rounds)
        health = httpx.get(base + "/api/v1/health", timeout=30).json()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    result = {
        "command": "python bench/bench_api.py " + " ".join(sys.argv[1:]),
        "llm_backend": args.llm_backend
        or health.get("components", {}).get("llm", {}).get("detail", "default"),
        "cpu_count": os.cpu_count(),
        "server_ready_s": ready_s,
        "sequential": seq,
        "concurrent": conc,
        "widget": widget_size(),
        "health": health,
    }
    # One file, one entry per LLM backend, so the template and the real-LLM runs sit side by side.
    runs = json.loads(RESULTS.read_text()).get("runs", {}) if RESULTS.is_file() else {}
    runs[result["llm_backend"]] = result
    RESULTS.write_text(json.dumps({"runs": runs}, indent=2, default=str))
    rows = [
        ("agent turn p50 / p95 (s)", f"{seq['agent_p50_s']:.2f} / {seq['agent_p95_s']:.2f}"),
        ("API turn p50 / p95 (s)", f"{seq['api_p50_s']:.2f} / {seq['api_p95_s']:.2f}"),
        ("API overhead p50 (ms)", f"{seq['overhead_p50_ms']:.0f}"),
        (f"{conc['sessions']} concurrent sessions x {conc['rounds']}: errors", str(conc["errors"])),
        (
            "concurrent p50 / p95 / max (s)",
            f"{conc['p50_s']:.2f} / {conc['p95_s']:.2f} / {conc['max_s']:.2f}",
        ),
        (f"concurrent p95 <= {P95_TARGET_S:.0f} s", "yes" if conc["p95_within_target"] else "NO"),
        ("widget bytes (gzip)", f"{result['widget']['bytes']} ({result['widget']['gzip_bytes']})"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"API benchmark ({result['llm_backend']}), results in {RESULTS.relative_to(REPO)}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
