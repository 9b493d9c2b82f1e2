"""The eval commands fail cleanly on bad input, before loading anything heavy."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ui.cli import _register, app

_register()


def test_bad_dialogue_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nturns:\n  - say: hi\n    expect: {recomends: true}\n")
    result = CliRunner().invoke(app, ["eval", "dialogues", str(bad), "--json-out", str(tmp_path / "o.json")])
    assert result.exit_code == 2
    assert f"{bad}:4" in result.output and "'recomends'" in result.output
    assert not (tmp_path / "o.json").exists()


def test_redial_missing_split_is_a_clear_error(tmp_path: Path, movielens_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("RECBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECBOT_DATA_DIR", str(movielens_dir))
    (tmp_path / "movies_with_mentions.csv").write_text("movieId,movieName,nbMentions\n1,Heat (1995),1\n")
    result = CliRunner().invoke(
        app, ["eval", "redial", "--data", str(tmp_path), "--split", "nope", "--systems", "popularity"]
    )
    assert result.exit_code == 2
    assert "nope_data.jsonl" in result.output and "not found" in result.output


def test_unknown_system_is_rejected(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "redial", "--data", str(tmp_path), "--systems", "magic"])
    assert result.exit_code == 2 and "unknown systems" in result.output
