"""The OpenAPI document is a contract: ``schemathesis run --checks all`` against a real server finds nothing.

Other teams generate clients from ``/api/v1/openapi.json``, so every answer must be one the document
declares (status, content type, body schema), every request it allows must be accepted (or refused
with a status it declares for that, such as 404 or 409), and every request it forbids must be refused.
This runs schemathesis' own CLI (coverage, fuzzing and stateful phases, every check) against
``recbot serve --no-ui`` as a user starts it, on the session's built home with template explanations.
The example count and the seed are fixed, so the run is bounded (about a minute of requests) and
repeatable; the per-session rate limit is lifted so that requests reach the routes behind it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.ui.recbot_server import RecbotServer, copy_home

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 60
SEED = 16


def _schemathesis() -> list[str]:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "schemathesis.cli"]


def test_schemathesis_finds_no_contract_violation(built_settings: Settings, tmp_path: Path) -> None:
    home = copy_home(built_settings.home, tmp_path / "home")
    assert built_settings.data_dir is not None
    server = RecbotServer(
        home,
        built_settings.data_dir,
        tmp_path / "serve.log",
        env={"RECBOT_RATE_LIMIT_PER_SESSION_PER_MINUTE": "100000"},
    )
    server.start()
    try:
        run = subprocess.run(
            [
                *_schemathesis(),
                "run",
                f"{server.url}/api/v1/openapi.json",
                "--checks",
                "all",
                "--phases",
                "coverage,fuzzing,stateful",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--workers",
                "1",
                "--request-timeout",
                "30",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
    finally:
        server.stop()
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    assert "No issues found" in report, report[-3000:]
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in report, (phase, report[-3000:])
