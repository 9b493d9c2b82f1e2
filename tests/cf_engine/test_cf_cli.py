"""The CF commands end to end on a small MovieLens-format folder: train, recommend, eval cf, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import ui.cli.data_cmds  # noqa: F401  (registers the commands)
from ui.cli import app

runner = CliRunner()


@pytest.fixture
def movielens_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """30 items, 40 users with 15 ratings each; RECBOT_HOME / RECBOT_DATA_DIR point at tmp folders."""
    folder = tmp_path / "ml-tiny"
    folder.mkdir()
    movies = ["movieId,title,genres"] + [
        f"{i},Film {i} ({1990 + i}),{'Comedy' if i % 2 else 'Drama'}" for i in range(1, 31)
    ]
    rng = np.random.default_rng(1)
    ratings = ["userId,movieId,rating,timestamp"]
    for user in range(1, 41):
        for item in rng.choice(np.arange(1, 31), size=15, replace=False):
            ratings.append(f"{user},{item},{rng.choice([2.0, 4.0, 5.0])},{user * 100 + item}")
    (folder / "movies.csv").write_text("\n".join(movies) + "\n")
    (folder / "ratings.csv").write_text("\n".join(ratings) + "\n")
    monkeypatch.setenv("RECBOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECBOT_DATA_DIR", str(folder))
    monkeypatch.setenv("RECBOT_DATASET", "ml-tiny")
    return folder


def test_train_then_recommend(movielens_folder: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "--model", "itemknn"])
    assert result.exit_code == 0, result.output
    assert "saved" in result.output and "ndcg@10" in result.output
    saved = Path(result.output.strip().splitlines()[-1].removeprefix("saved "))
    meta = json.loads((saved / "artifact.json").read_text())
    assert meta["engine"] == "itemknn" and "test_ndcg@10" in meta["metrics"]
    result = runner.invoke(app, ["recommend", "--user", "1", "-k", "4"])
    assert result.exit_code == 0, result.output
    assert "itemknn recommendations for user 1" in result.output
    assert len([line for line in result.output.splitlines() if "Film" in line]) == 4


def test_recommend_trains_when_no_model(movielens_folder: Path) -> None:
    result = runner.invoke(app, ["recommend", "--like", "1", "--like", "3", "-k", "3"])
    assert result.exit_code == 0, result.output
    assert "training ease first" in result.output
    assert "Film 1 (1991)" not in result.output  # the liked items themselves are never recommended


def test_user_errors_exit_2_without_traceback(
    movielens_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["recommend", "--user", "999"])
    assert result.exit_code == 2 and "error: user 999 has no positive ratings" in result.output
    result = runner.invoke(app, ["train", "--model", "svd"])
    assert result.exit_code == 2 and "unknown CF model 'svd'" in result.output
    result = runner.invoke(app, ["recommend", "--like", "424242"])
    assert result.exit_code == 2 and "unknown item id 424242" in result.output
    (movielens_folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,oops,3\n")
    result = runner.invoke(app, ["train", "--no-eval"])
    assert result.exit_code == 2
    assert "ratings.csv, line 2: column 'rating' should be a number" in result.output
    assert "Traceback" not in result.output


def test_eval_cf_writes_json(movielens_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "cf.json"
    result = runner.invoke(
        app, ["eval", "cf", "--dataset", "ml-tiny", "--models", "popularity,itemknn", "--json-out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["dataset"] == "ml-tiny" and set(report["models"]) == {"popularity", "itemknn"}
    assert report["protocol"]["tuned_on"] == "valid" and report["default_model"] == "ease"
    assert "ndcg@10" in report["models"]["itemknn"] and "itemknn" in result.output
    bad = runner.invoke(app, ["eval", "cf", "--models", "ease,nope"])
    assert bad.exit_code == 2 and "unknown CF model 'nope'" in bad.output


def test_eval_cf_dataset_option(movielens_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECBOT_DATASET")  # settings say ml-latest-small; the folder is ml-tiny
    result = runner.invoke(app, ["eval", "cf", "--dataset", "ml-tiny", "--models", "popularity"])
    assert result.exit_code == 0, result.output
    assert "ml-tiny:" in result.output  # RECBOT_DATA_DIR kept: it is that dataset's folder
    monkeypatch.setenv("RECBOT_DOWNLOAD_BASE_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    result = runner.invoke(app, ["eval", "cf", "--dataset", "ml-1m", "--models", "popularity"])
    assert result.exit_code == 2
    assert "dataset 'ml-1m' is not in" in result.output and "could not be downloaded" in result.output
