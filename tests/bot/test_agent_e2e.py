"""The real path: Runtime on the shared MovieLens data (CF trained here, no vector index to keep it fast),
persistence across process restarts, and retrain folding feedback into a new CF artifact."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.retrain import cf_user_id, retrain
from bot.runtime import Runtime
from bot.settings import Settings


def _runtime(settings: Settings) -> Runtime:
    runtime = Runtime.from_settings(settings)
    runtime.__dict__["index"] = None  # "index unavailable": CF only (the degradation path)
    return runtime


@pytest.fixture
def cf_settings(tmp_path: Path, movielens_dir: Path) -> Settings:
    return Settings(
        home=tmp_path / "home", data_dir=movielens_dir, llm_backend="template", cf_model="itemknn"
    )


@pytest.mark.slow
def test_session_survives_a_restart_and_retrain_learns_feedback(cf_settings: Settings) -> None:
    first = _runtime(cf_settings)
    agent = first.agent
    assert first.health(load=False)["cf"]["status"] == "ok"
    sid = agent.create_session(user_id="newbie")
    shown = [r.item_id for r in agent.turn(sid, "I loved Heat and The Matrix").recommendations]
    assert len(shown) == cf_settings.n_recommendations
    agent.feedback(sid, shown[0], "up")
    agent.feedback(sid, shown[1], "down")
    first.close()

    second = _runtime(cf_settings)  # a new process on the same home
    result = second.agent.turn(sid, "more")
    again = [r.item_id for r in result.recommendations]
    assert again and not set(again) & set(shown)
    assert result.turn_id > 1 and len(second.agent.session(sid)["turns"]) == 2

    report = retrain(cf_settings, second.store)
    assert report.n_new_users == 1 and report.n_interactions >= 4
    from cf_engine.artifact import CFArtifact

    latest = CFArtifact.load_latest(cf_settings.cf_config())
    assert latest.path == report.path
    assert latest.knows_user(cf_user_id("newbie"))
    assert latest.metrics["n_extra_interactions"] == report.n_interactions
    second.close()


@pytest.mark.slow
def test_known_movielens_user_gets_cf_from_history(cf_settings: Settings) -> None:
    runtime = _runtime(cf_settings)
    agent = runtime.agent
    sid = agent.create_session(user_id=1)
    result = agent.turn(sid, "recommend me something")
    assert result.recommendations, result.reply  # history is enough: no question needed
    assert any(r.evidence["from_user_history"] for r in result.recommendations)
    rated = set(runtime.dataset.interactions.query("user_id == 1")["item_id"])
    assert not rated & {r.item_id for r in result.recommendations}
    runtime.close()
