"""``recbot index`` SIGKILLed mid-build: the rerun embeds only the items the killed build had not written.

The killed process is the real command (a subprocess, its progress bar on stderr); it is killed
after the bar shows two batches written, which is proof that the bar advances while it builds. The
rerun's bar starts at the items the killed build wrote, out of the whole catalog.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.settings import Settings
from retrieval.index import UPSERT_BATCH, ItemIndex

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
N_ITEMS = 6 * UPSERT_BATCH
GENRES = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller", "Western"]
WORDS = ["river", "storm", "garden", "machine", "letter", "island", "mirror", "station", "harbor"]


def write_catalog(data: Path) -> None:
    data.mkdir()
    with (data / "items.jsonl").open("w") as fh:
        for i in range(1, N_ITEMS + 1):
            words = " ".join(WORDS[(i * k) % len(WORDS)] for k in range(1, 2 + i % 7))
            item = {
                "item_id": i,
                "title": f"Film {i}",
                "year": 1950 + i % 70,
                "genres": [GENRES[i % len(GENRES)], GENRES[(i // 3) % len(GENRES)]],
                "text": f"A story of a {words}.",
            }
            fh.write(json.dumps(item) + "\n")
    rows = ["user_id,item_id,rating,timestamp"]
    rows += [f"{u},{i},{(u + i) % 5 + 1},0" for u in range(1, 21) for i in range(u, N_ITEMS + 1, 20)]
    (data / "interactions.csv").write_text("\n".join(rows) + "\n")


def index_command(env: dict[str, str]) -> list[str]:
    return [sys.executable, "-c", "from ui.cli import main; main()", "index"]


def test_killed_index_build_resumes_with_only_the_missing_items(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_catalog(data)
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECBOT_")}
    env.update(
        RECBOT_HOME=str(home),
        RECBOT_DATA_DIR=str(data),
        RECBOT_CATALOG_FORMAT="generic",
        RECBOT_DATASET="killed",
        RECBOT_INDEX_BUILD_THREADS="1",
        HF_HUB_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    proc = subprocess.Popen(index_command(env), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    os.set_blocking(proc.stderr.fileno(), False)
    seen = b""
    written = 0
    deadline = time.monotonic() + 600
    while written < 2 * UPSERT_BATCH:  # the bar counts written (durable) items
        assert proc.poll() is None, f"recbot index ended before it was killed: {seen[-2000:]!r}"
        assert time.monotonic() < deadline, "the progress bar did not reach two batches"
        chunk = proc.stderr.read()
        if chunk:
            seen += chunk
            counts = re.findall(rb"embedding items:.*?(\d+)/%d" % N_ITEMS, seen)
            written = int(counts[-1]) if counts else 0
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert written < N_ITEMS

    settings = Settings(home=home, data_dir=data, catalog_format="generic", dataset="killed")
    kept = ItemIndex(settings.retrieval_config()).client().get_collection(settings.chroma_collection).count()
    assert written <= kept < N_ITEMS  # what the bar showed is on disk; the kill cut the build short

    rerun = subprocess.run(index_command(env), env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{N_ITEMS} items indexed: {N_ITEMS - kept} embedded" in rerun.stdout
    # The resumed build's bar counts the whole catalog from what is already on disk.
    bar = re.findall(r"embedding items:.*?(\d+)/(\d+)", rerun.stderr)
    assert bar[0] == (str(kept), str(N_ITEMS)) and bar[-1] == (str(N_ITEMS), str(N_ITEMS))
