"""Each evaluation run gets its own home: a later or concurrent run never deletes an earlier one's output."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from eval.suite import SHARED_DIRS, eval_settings


def test_each_run_has_its_own_home_and_keeps_earlier_ones(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", llm_backend="template")
    first = eval_settings(settings, "dialogues")
    (first.home / "recbot.db").write_text("first run's sessions")
    second = eval_settings(settings, "dialogues")
    assert first.home != second.home
    assert first.home.parent == second.home.parent == settings.home / "eval-runs"
    assert second.home.name.startswith("dialogues-")
    assert (first.home / "recbot.db").read_text() == "first run's sessions"  # not wiped by the second run
    for sub in SHARED_DIRS:  # index, models and data are shared with the main home, not copied
        assert (second.home / sub).resolve() == (settings.home / sub).resolve()


def test_concurrent_runs_never_share_a_folder(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", llm_backend="template")
    homes = {eval_settings(settings, "dialogues").home for _ in range(20)}  # same second, same name
    assert len(homes) == 20
