"""Soak test: N minutes of 20 concurrent simulated visitors against a real ``recbot serve``.

Starts ``recbot serve --no-ui`` (template LLM unless ``--llm-backend``) in a subprocess on loopback,
on a copy of a built home (``--home``, default RECBOT_HOME; its database is not copied, so the run
starts with an empty one). Twenty threads each play visitors: a new session, a few messages from a
fixed script, feedback with client event ids on the items shown (every fifth event sent twice, as a
retry), a read of the session, then a new visitor. The loop is bounded by ``--minutes`` and stops by
itself. Throughout, the server's RSS is read from /proc every few seconds.

Pass criteria (printed, and written to bench/results/soak.json):

* zero 5xx answers;
* zero lost feedback: every event acknowledged with 2xx is in its session exactly once;
* memory growth under 10%: final RSS vs RSS at the end of the warm-up (a quarter of the run, at
  most one minute).

Example::

    python bench/soak.py --minutes 2          # the short run documented in docs/reliability.md
    python bench/soak.py                      # the 10-minute target
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.ui.recbot_server import RecbotServer, copy_home  # noqa: E402

RESULTS = REPO / "bench" / "results" / "soak.json"
SCRIPT = [
    "hi",
    "I loved Toy Story, something funny please",
    "more like that",
    "something older",
    "why the first one?",
    "no horror, and nothing before 1980",
    "a dark thriller from the 90s",
    "start over",
    "I liked The Matrix and Heat",
]
KINDS = ("up", "down", "seen", "not_interested", "click")
MEMORY_LIMIT = 0.10


class Soak:
    """Shared counters of all simulated visitors."""

    def __init__(self, url: str, deadline: float, seed: int) -> None:
        self.url = url
        self.deadline = deadline
        self.seed = seed
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.errors_5xx: list[str] = []
        self.transport_errors = 0
        self.acked: dict[str, str] = {}  # event id -> session id
        self.sessions = 0
        self.turns = 0
        self.latencies: list[float] = []

    def _record(self, r: httpx.Response, what: str) -> None:
        with self.lock:
            self.statuses[r.status_code] += 1
            if r.status_code >= 500:
                self.errors_5xx.append(f"{r.status_code} {what}: {r.text[:200]}")

    def visitor_loop(self, worker: int) -> None:
        rng = random.Random(self.seed * 1000 + worker)
        with httpx.Client(base_url=self.url, timeout=120) as client:
            visit = 0
            while time.monotonic() < self.deadline:
                visit += 1
                try:
                    self._visit(client, rng, f"v{worker:02d}-{visit:04d}")
                except httpx.TransportError as exc:
                    with self.lock:
                        self.transport_errors += 1
                    print(f"transport error in worker {worker}: {exc}", file=sys.stderr)
                    time.sleep(1)

    def _visit(self, client: httpx.Client, rng: random.Random, visitor: str) -> None:
        r = client.post("/api/v1/sessions", json={})
        self._record(r, "create session")
        if r.status_code != 201:
            return
        sid = r.json()["session_id"]
        with self.lock:
            self.sessions += 1
        for n, message in enumerate(rng.sample(SCRIPT, k=rng.randint(3, 6))):
            if time.monotonic() >= self.deadline:
                return
            time.sleep(rng.uniform(1.0, 2.5))  # a person reads, then types (and the per-session limit holds)
            t0 = time.perf_counter()
            r = client.post(f"/api/v1/sessions/{sid}/messages", json={"message": message})
            self._record(r, f"message {message!r}")
            if r.status_code != 200:
                continue
            with self.lock:
                self.turns += 1
                self.latencies.append(time.perf_counter() - t0)
            shown = [rec["item_id"] for rec in r.json()["recommendations"]]
            if shown:
                event = {
                    "item_id": rng.choice(shown),
                    "kind": rng.choice(KINDS),
                    "event_id": f"{visitor}-{n}",
                }
                for _ in range(2 if n % 5 == 0 else 1):  # every fifth event is retried
                    fr = client.post(f"/api/v1/sessions/{sid}/feedback", json=event)
                    self._record(fr, "feedback")
                    if 200 <= fr.status_code < 300:
                        with self.lock:
                            self.acked[event["event_id"]] = sid
        self._record(client.get(f"/api/v1/sessions/{sid}"), "read session")

    def lost_feedback(self) -> tuple[int, int]:
        """(acknowledged events missing from their session, events stored more than once)."""
        by_session: dict[str, list[str]] = {}
        for event_id, sid in self.acked.items():
            by_session.setdefault(sid, []).append(event_id)
        missing = duplicated = 0
        with httpx.Client(base_url=self.url, timeout=120) as client:
            for sid, events in by_session.items():
                feedback = client.get(f"/api/v1/sessions/{sid}").json()["feedback"]
                stored = Counter(e["event_id"] for e in feedback)
                missing += sum(1 for e in events if stored[e] == 0)
                duplicated += sum(1 for c in stored.values() if c > 1)
        return missing, duplicated


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bot.settings import load_settings

    settings = load_settings()
    source_home = Path(args.home) if args.home else settings.home
    work = Path(tempfile.mkdtemp(prefix="recbot-soak-"))
    try:
        home = copy_home(source_home, work / "home")
        env = {"RECBOT_LLM_BACKEND": args.llm_backend}
        server = RecbotServer(home, settings.dataset_dir, work / "serve.log", env=env)
        t_start = time.monotonic()
        server.start(timeout_s=900)
        startup_s = time.monotonic() - t_start
        duration = args.minutes * 60.0
        warmup = min(60.0, duration / 4)
        begin = time.monotonic()
        soak = Soak(server.url, begin + duration, args.seed)
        threads = [
            threading.Thread(target=soak.visitor_loop, args=(w,), daemon=True) for w in range(args.sessions)
        ]
        for t in threads:
            t.start()
        rss: list[tuple[float, int]] = [(0.0, server.rss_bytes())]
        baseline = None
        while any(t.is_alive() for t in threads):
            time.sleep(5)
            elapsed = time.monotonic() - begin
            rss.append((round(elapsed, 1), server.rss_bytes()))
            if baseline is None and elapsed >= warmup:
                baseline = rss[-1][1]
        for t in threads:
            t.join()
        final = server.rss_bytes()
        baseline = baseline or rss[0][1]
        missing, duplicated = soak.lost_feedback()
        server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    latencies = sorted(soak.latencies)
    growth = (final - baseline) / baseline
    result = {
        "minutes": args.minutes,
        "concurrent_sessions": args.sessions,
        "llm_backend": args.llm_backend,
        "startup_s": round(startup_s, 1),
        "visitor_sessions": soak.sessions,
        "turns": soak.turns,
        "requests": sum(soak.statuses.values()),
        "statuses": {str(k): v for k, v in sorted(soak.statuses.items())},
        "errors_5xx": len(soak.errors_5xx),
        "first_5xx": soak.errors_5xx[:5],
        "transport_errors": soak.transport_errors,
        "feedback_acknowledged": len(soak.acked),
        "feedback_missing": missing,
        "feedback_duplicated": duplicated,
        "turn_p50_s": round(latencies[len(latencies) // 2], 3) if latencies else None,
        "turn_p95_s": round(latencies[int(len(latencies) * 0.95)], 3) if latencies else None,
        "rss_start_mb": round(rss[0][1] / 2**20, 1),
        "rss_after_warmup_mb": round(baseline / 2**20, 1),
        "rss_final_mb": round(final / 2**20, 1),
        "rss_growth": round(growth, 4),
        "rss_samples_mb": [(t, round(b / 2**20, 1)) for t, b in rss],
    }
    result["ok"] = (
        result["errors_5xx"] == 0
        and missing == 0
        and duplicated == 0
        and soak.transport_errors == 0
        and growth < MEMORY_LIMIT
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to soak (default 10)")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent simulated visitors (default 20)")
    parser.add_argument("--home", default=None, help="a built recbot home (default: RECBOT_HOME)")
    parser.add_argument("--llm-backend", default="template", help="template (default), llamacpp, ...")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = run(args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        ("duration (min)", args.minutes, ""),
        (
            "visitor sessions / turns / requests",
            f"{result['visitor_sessions']} / {result['turns']} / {result['requests']}",
            "",
        ),
        ("5xx answers", result["errors_5xx"], "0"),
        ("transport errors", result["transport_errors"], "0"),
        (
            "feedback acked / missing / duplicated",
            f"{result['feedback_acknowledged']} / {result['feedback_missing']} / "
            f"{result['feedback_duplicated']}",
            "missing 0, duplicated 0",
        ),
        ("turn p50 / p95 (s)", f"{result['turn_p50_s']} / {result['turn_p95_s']}", ""),
        (
            "RSS after warm-up -> final (MB)",
            f"{result['rss_after_warmup_mb']} -> {result['rss_final_mb']}",
            "",
        ),
        ("RSS growth", f"{result['rss_growth']:.1%}", f"< {MEMORY_LIMIT:.0%}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':<28} target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {str(value):<28} {target}")
    print(f"{'PASS' if result['ok'] else 'FAIL'}; written to {RESULTS.relative_to(REPO)}")
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
