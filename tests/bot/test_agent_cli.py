"""`recbot chat --json`, `recbot feedback`, `recbot retrain` and `recbot doctor` as a user runs them.

Each invocation is a new Runtime (a new "process" on the same home), so the session must live in the
database. The vector index is pointed at a closed port (CF only) to keep this test to seconds.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import _register, app


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cli_env(tmp_path: Path, movielens_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("RECBOT_HOME", str(home))
    monkeypatch.setenv("RECBOT_DATA_DIR", str(movielens_dir))
    monkeypatch.setenv("RECBOT_LLM_BACKEND", "template")
    monkeypatch.setenv("RECBOT_CF_MODEL", "itemknn")
    monkeypatch.setenv("RECBOT_CHROMA_URL", f"http://127.0.0.1:{_closed_port()}")
    _register()
    return home


def _json(output: str) -> dict:  # type: ignore[type-arg]
    return json.loads(output[output.index("{") :])


@pytest.mark.slow
def test_one_shot_json_turns_continue_a_named_session(cli_env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(
        app, ["chat", "--session", "s1", "--user", "dana", "--json", "I loved Heat, no romance"]
    )
    assert first.exit_code == 0, first.output
    data = _json(first.stdout)
    assert set(data) >= {"session_id", "turn_id", "reply", "question", "recommendations", "latency_ms"}
    assert data["session_id"] == "s1" and len(data["recommendations"]) == 3
    rec = data["recommendations"][0]
    assert set(rec) >= {
        "item_id",
        "title",
        "year",
        "genres",
        "explanation",
        "explanation_source",
        "score",
        "evidence",
    }
    assert all("Romance" not in r["genres"] for r in data["recommendations"])

    fb = runner.invoke(app, ["feedback", "--session", "s1", "--item", str(rec["item_id"]), "--kind", "down"])
    assert fb.exit_code == 0, fb.output
    assert _json(fb.stdout)["kind"] == "down"
    bad = runner.invoke(app, ["feedback", "--session", "s1", "--item", "1", "--kind", "up"])
    assert bad.exit_code == 2 and "never shown" in bad.output

    second = runner.invoke(app, ["chat", "--session", "s1", "--json", "more"])
    assert second.exit_code == 0, second.output
    more = _json(second.stdout)
    assert more["turn_id"] > data["turn_id"]
    shown_now = {r["item_id"] for r in more["recommendations"]}
    assert shown_now and not shown_now & {r["item_id"] for r in data["recommendations"]}
    assert all("Romance" not in r["genres"] for r in more["recommendations"])  # constraint remembered

    retrain = runner.invoke(app, ["retrain"])
    assert retrain.exit_code == 0, retrain.output
    assert "1 new" in retrain.stdout

    doctor = runner.invoke(app, ["doctor"])
    assert "cf" in doctor.stdout and "recbot.db" in doctor.stdout


def test_bad_session_id_and_empty_message_are_clear_errors(cli_env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["chat", "--session", "no spaces!", "--json", "hi"])
    assert result.exit_code == 2 and "session id" in result.output
