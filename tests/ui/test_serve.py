"""``recbot serve`` as a user runs it: a subprocess on a free port serving the page, API and widget."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.settings import Settings
from tests.ui.live import free_port

REPO = Path(__file__).resolve().parents[2]


def test_serve_help_lists_options() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from ui.cli import main; main()", "serve", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0
    for option in ("--host", "--port", "--llm-backend", "--no-ui"):
        assert option in out.stdout


@pytest.mark.slow
def test_serve_starts_and_serves_everything(built_settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECBOT_")}
    env.update(
        RECBOT_HOME=str(built_settings.home),
        RECBOT_DATA_DIR=str(built_settings.data_dir),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    log = tmp_path / "serve.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from ui.cli import main; main()",
                "serve",
                "--port",
                str(port),
                "--llm-backend",
                "template",
            ],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 300
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    if httpx.get(base + "/api/v1/health", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(1)
            assert httpx.get(base + "/api/v1/health").json()["status"] == "ok"
            page = httpx.get(base + "/", timeout=30)
            assert page.status_code == 200 and "gradio" in page.text.lower()
            assert httpx.get(base + "/widget/recbot.js").status_code == 200
            assert httpx.get(base + "/api/v1/openapi.json").json()["info"]["title"] == "recbot API"
            sid = httpx.post(base + "/api/v1/sessions", json={}).json()["session_id"]
            turn = httpx.post(
                f"{base}/api/v1/sessions/{sid}/messages", json={"message": "I liked Heat"}, timeout=120
            ).json()
            assert turn["recommendations"]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    output = log.read_text()
    assert "preparing data, models and index" in output and "serving on" in output
