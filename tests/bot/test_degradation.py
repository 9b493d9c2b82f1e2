"""Each component failing for real: the turn still answers, says nothing false, and the failure is logged.

* the LLM server dies mid-session, or answers too slowly, or the model does not load -> template
  explanations (validated like everything else);
* Chroma is unreachable (a closed port), at start or after the blender was built -> CF-only
  candidates and a logged warning;
* the CF artifact folder is deleted -> semantic-only candidates (or a retrained artifact when the
  runtime may build).

All on the MovieLens subset home of :mod:`tests.bot.reliability_support` (real EASE, real Chroma).
"""

from __future__ import annotations

import logging
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.explain.explainer import validate_shown
from bot.recommend.fusion_fit import build_blender
from bot.recommend.request import BlendRequest
from bot.runtime import Runtime
from bot.types import Evidence, Neighbour, TurnResult
from retrieval.index import ItemIndex
from tests.bot.openai_stub import StubState, running_stub
from tests.bot.reliability_support import copy_of_small_home, small_settings

pytestmark = pytest.mark.slow

TOY_STORY = 1
MESSAGE = "I loved Toy Story, something funny please"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return copy_of_small_home(tmp_path / "home")


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def runtimes() -> Iterator[list[Runtime]]:
    made: list[Runtime] = []
    yield made
    for runtime in made:
        runtime.close()


def _evidence(data: dict[str, Any]) -> Evidence:
    ev = dict(data)
    ev["neighbours"] = [Neighbour(**n) for n in ev.get("neighbours", [])]
    return Evidence(**{k: v for k, v in ev.items() if k in Evidence.__dataclass_fields__})


def assert_truthful(agent: Any, result: TurnResult) -> list[dict[str, Any]]:
    """Recommendations exist and every explanation validates against its recorded evidence."""
    assert result.recommendations, result.reply
    session = agent.session(result.session_id)
    turn = session["turns"][-1]
    said = session["state"]["said"]  # what the explainer read the request words with
    recorded = {c["item_id"]: c for c in turn["candidates"]}
    for rec in result.recommendations:
        cand = recorded[rec.item_id]
        check = validate_shown(rec.explanation, _evidence(cand["evidence"]), cand["title"], said)
        assert check.ok, (rec.explanation, check.problems)
    return list(turn["explanations"])


# --- the LLM --------------------------------------------------------------------------------
def test_llm_server_killed_mid_session_falls_back_to_templates(home: Path, runtimes: list[Runtime]) -> None:
    state = StubState(reply="It is close to Toy Story, which you liked.")
    with running_stub(state) as url:
        runtime = Runtime.from_settings(
            small_settings(home, llm_backend="openai", openai_base_url=url, llm_timeout_s=10.0)
        )
        runtimes.append(runtime)
        agent = runtime.agent
        sid = agent.create_session()
        first = agent.turn(sid, MESSAGE)
        assert state.requests, "the LLM server was never called while it was up"
        assert any(r.explanation_source == "llm" for r in first.recommendations)
    # The server is stopped now: its port refuses connections.
    calls_before = len(state.requests)
    second = agent.turn(sid, "more like that")
    assert len(state.requests) == calls_before
    explanations = assert_truthful(agent, second)
    assert all(r.explanation_source == "template" for r in second.recommendations)
    # The first failure is the LLM's; the agent then stops asking it for the rest of the turn.
    assert explanations[0]["reason"].startswith("llm_error"), explanations
    assert all(e["reason"].startswith(("llm_error", "no_llm")) for e in explanations), explanations


def test_llm_timeout_falls_back_to_templates(home: Path, runtimes: list[Runtime]) -> None:
    state = StubState(reply="It is close to Toy Story, which you liked.", delay_s=3.0)
    with running_stub(state) as url:
        runtime = Runtime.from_settings(
            small_settings(home, llm_backend="openai", openai_base_url=url, llm_timeout_s=0.5)
        )
        runtimes.append(runtime)
        result = runtime.agent.turn(runtime.agent.create_session(), MESSAGE)
        explanations = assert_truthful(runtime.agent, result)
    assert state.requests
    assert all(r.explanation_source == "template" for r in result.recommendations)
    assert explanations[0]["reason"] == "llm_error:timeout", explanations
    assert all(e["reason"].startswith(("llm_error", "no_llm")) for e in explanations), explanations


def test_llm_that_does_not_load_means_templates(
    home: Path, runtimes: list[Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    runtime = Runtime.from_settings(
        small_settings(home, llm_backend="llamacpp", llm_model_path=home / "no-such-model.gguf")
    )
    runtimes.append(runtime)
    with caplog.at_level(logging.WARNING):
        health = runtime.health()
    assert health["llm"]["status"] == "degraded"
    assert "LLM unavailable" in caplog.text
    result = runtime.agent.turn(runtime.agent.create_session(), MESSAGE)
    assert_truthful(runtime.agent, result)
    assert all(r.explanation_source == "template" for r in result.recommendations)


# --- Chroma ---------------------------------------------------------------------------------
def test_chroma_unreachable_at_start_gives_cf_only(
    home: Path, closed_port: int, runtimes: list[Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    runtime = Runtime.from_settings(small_settings(home, chroma_url=f"http://127.0.0.1:{closed_port}"))
    runtimes.append(runtime)
    with caplog.at_level(logging.WARNING):
        health = runtime.health()
    assert health["index"]["status"] == "degraded" and health["cf"]["status"] == "ok"
    assert "recommending from CF only" in caplog.text
    result = runtime.agent.turn(runtime.agent.create_session(), MESSAGE)
    assert_truthful(runtime.agent, result)
    for rec in result.recommendations:
        assert rec.score >= 0
        assert all(n["source"] == "cf" for n in rec.evidence["neighbours"])
    turn = runtime.agent.session(result.session_id)["turns"][-1]
    assert all(c["semantic_score"] == 0 for c in turn["candidates"])
    assert any(c["cf_score"] > 0 for c in turn["candidates"])


def test_chroma_going_away_under_a_built_blender_gives_cf_only(
    home: Path, closed_port: int, runtimes: list[Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    """A blender whose index points at a dead server (as after Chroma crashed) still blends."""
    settings = small_settings(home, chroma_url=f"http://127.0.0.1:{closed_port}")
    runtime = Runtime.from_settings(small_settings(home))
    runtimes.append(runtime)
    blender = build_blender(runtime.dataset, runtime.cf, ItemIndex(settings.retrieval_config()), settings)
    with caplog.at_level(logging.WARNING):
        picks = blender.blend(BlendRequest(liked=[TOY_STORY], text="funny", k=3))
    assert len(picks) == 3 and all(p.semantic_score == 0 and p.cf_score >= 0 for p in picks)
    assert "recommending from CF only" in caplog.text


# --- the CF artifact ------------------------------------------------------------------------
def test_missing_cf_artifact_gives_semantic_only(
    home: Path, runtimes: list[Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    shutil.rmtree(home / "models")
    runtime = Runtime(small_settings(home), build_missing=False)
    runtimes.append(runtime)
    health = runtime.health()
    assert health["cf"]["status"] == "missing" and "recbot train" in health["cf"]["detail"]
    assert health["index"]["status"] == "ok"
    result = runtime.agent.turn(runtime.agent.create_session(), MESSAGE)
    assert_truthful(runtime.agent, result)
    turn = runtime.agent.session(result.session_id)["turns"][-1]
    assert all(c["cf_score"] == 0 for c in turn["candidates"])
    assert all(c["semantic_score"] > 0 for c in turn["candidates"])


def test_missing_cf_artifact_is_retrained_when_the_runtime_may_build(
    home: Path, runtimes: list[Runtime]
) -> None:
    shutil.rmtree(home / "models")
    runtime = Runtime.from_settings(small_settings(home))
    runtimes.append(runtime)
    assert runtime.health()["cf"]["status"] == "ok"
    assert any((home / "models").iterdir())
    assert_truthful(runtime.agent, runtime.agent.turn(runtime.agent.create_session(), MESSAGE))


def test_corrupt_cf_artifact_never_crashes_a_turn(home: Path, runtimes: list[Runtime]) -> None:
    for state in (home / "models").rglob("state.pkl"):
        state.write_bytes(b"not a pickle")
    runtime = Runtime.from_settings(small_settings(home))
    runtimes.append(runtime)
    assert runtime.health()["cf"]["status"] in ("ok", "missing")
    assert_truthful(runtime.agent, runtime.agent.turn(runtime.agent.create_session(), MESSAGE))


def test_nothing_but_the_dataset_still_recommends(
    home: Path, closed_port: int, runtimes: list[Runtime]
) -> None:
    """No CF, no index, no LLM: popularity within the constraints, template explanations."""
    shutil.rmtree(home / "models")
    runtime = Runtime(small_settings(home, chroma_url=f"http://127.0.0.1:{closed_port}"), build_missing=False)
    runtimes.append(runtime)
    health = runtime.health()
    assert health["cf"]["status"] == "missing" and health["index"]["status"] != "ok"
    result = runtime.agent.turn(runtime.agent.create_session(), "a comedy please")
    assert_truthful(runtime.agent, result)
    assert all("Comedy" in r.genres for r in result.recommendations)


# --- recbot doctor --------------------------------------------------------------------------
def _doctor(home: Path, **env: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from ui.cli import _register, app

    _register()
    values = {
        "RECBOT_HOME": str(home),
        "RECBOT_DATA_DIR": str(small_settings(home).dataset_dir),
        "RECBOT_LLM_BACKEND": "template",
        **env,
    }
    result = CliRunner().invoke(app, ["doctor"], env=values)
    return result.exit_code, result.output


def test_doctor_on_a_good_home_says_ok(home: Path) -> None:
    code, out = _doctor(home)
    assert code == 0, out
    for part in ("dataset", "cf", "index", "llm", "database"):
        assert re.search(rf"\b{part}\s+ok\b", out, re.MULTILINE), out


def test_doctor_names_each_problem_and_what_to_do(home: Path) -> None:
    from bot.store import Store

    shutil.rmtree(home / "models")
    store = Store(home / "recbot.db")
    with store.transaction() as tx:  # as if the newest migration had not been applied yet
        tx.execute("DELETE FROM migrations WHERE version = (SELECT MAX(version) FROM migrations)")
    store.close()
    code, out = _doctor(home, RECBOT_HNSW_M="16")  # an index built with other settings than these
    assert code == 1, out
    assert re.search(r"\bcf\s+missing", out, re.MULTILINE) and "run `recbot train`" in out
    assert re.search(r"\bindex\s+missing.*hnsw_m", out, re.MULTILINE) and "rebuild" in out
    assert re.search(r"\bdatabase\s+degraded.*migrations not applied", out, re.MULTILINE), out
    assert (home / "models").exists() is False  # the doctor built nothing


def test_doctor_reports_a_broken_database(home: Path) -> None:
    (home / "recbot.db").write_bytes(b"this is not sqlite" * 100)
    code, out = _doctor(home)
    assert code == 1 and re.search(r"\bdatabase\s+missing.*not a usable SQLite", out, re.MULTILINE), out
    assert "move" in out
