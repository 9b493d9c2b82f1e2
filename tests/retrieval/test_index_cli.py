"""``recbot index`` end to end on a tiny generic catalog: builds, reruns idempotently, reports errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import _register, app

ITEMS = [
    {"item_id": 1, "title": "Toy Story", "year": 1995, "genres": ["Animation", "Comedy"], "tags": ["pixar"]},
    {"item_id": 2, "title": "Heat", "year": 1995, "genres": ["Crime", "Thriller"], "tags": ["heist"]},
    {
        "item_id": 3,
        "title": "Alien",
        "year": 1979,
        "genres": ["Horror", "Sci-Fi"],
        "text": "A crew in space.",
    },
    {"item_id": 4, "title": "Amelie", "year": 2001, "genres": ["Comedy", "Romance"]},
]


@pytest.fixture
def generic_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "items.jsonl").write_text("\n".join(json.dumps(item) for item in ITEMS) + "\n")
    rows = ["user_id,item_id,rating,timestamp"] + [
        f"{u},{i},{(u + i) % 5 + 1},0" for u in range(1, 6) for i in range(1, 5)
    ]
    (data / "interactions.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setenv("RECBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECBOT_DATA_DIR", str(data))
    monkeypatch.setenv("RECBOT_CATALOG_FORMAT", "generic")
    monkeypatch.setenv("RECBOT_DATASET", "tiny")
    _register()
    return data


def test_index_builds_then_embeds_nothing(generic_env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["index", "--no-progress", "--recall"])
    assert first.exit_code == 0, first.output
    assert "4 items indexed: 4 embedded" in first.output
    assert "recall@20" in first.output
    second = runner.invoke(app, ["index", "--no-progress"])
    assert second.exit_code == 0, second.output
    assert "4 items indexed: 0 embedded" in second.output
    forced = runner.invoke(app, ["index", "--no-progress", "--rebuild"])
    assert "4 embedded" in forced.output


def test_index_reports_a_bad_server_url(generic_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECBOT_CHROMA_URL", "localhost:8000")
    result = CliRunner().invoke(app, ["index", "--no-progress"])
    assert result.exit_code == 2
    assert "error:" in result.output and "http" in result.output
