"""CFArtifact: train on a small dataset, save a versioned folder, load it back, score sessions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.settings import Settings
from cf_engine.artifact import ArtifactNotFoundError, CatalogMismatchError, CFArtifact
from cf_engine.data.catalog import Catalog, Dataset, Item, UnknownItemError
from cf_engine.data.errors import DataError


def small_dataset() -> Dataset:
    """Items 100..111 (two clusters of 6); users 1..20 rate their cluster 5 and one other item 1."""
    items = [
        Item(item_id=100 + i, title=f"Film {i}", year=2000 + i, genres=("A",) if i < 6 else ("B",))
        for i in range(12)
    ]
    rng = np.random.default_rng(3)
    rows = []
    for user in range(1, 21):
        own = range(100, 106) if user <= 10 else range(106, 112)
        for item in rng.choice(list(own), size=4, replace=False):
            rows.append((user, int(item), 5.0, 0))
        rows.append((user, 111 if user <= 10 else 100, 1.0, 0))  # a dislike: not a positive
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    return Dataset(name="tiny", catalog=Catalog(items), interactions=frame)


@pytest.fixture
def tiny_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", cf_model="ease", cf_params={"l2": 5.0, "min_item_count": 1})


def test_train_save_load_latest_round_trip(tiny_settings: Settings) -> None:
    dataset = small_dataset()
    artifact = CFArtifact.train(dataset, tiny_settings.cf_config())
    path = artifact.save(tiny_settings.cf_config())
    assert path.parent == tiny_settings.models_dir and path.name.startswith("ease-")
    assert (tiny_settings.models_dir / "latest").read_text().strip() == path.name
    meta = json.loads((path / "artifact.json").read_text())
    assert meta["dataset"] == "tiny" and meta["params"]["l2"] == 5.0 and meta["metrics"]["n_users"] == 20
    loaded = CFArtifact.load_latest(tiny_settings.cf_config(), dataset.catalog)
    assert loaded.engine_name == "ease" and loaded.path == path
    np.testing.assert_allclose(loaded.score_for([100], user_id=3), artifact.score_for([100], user_id=3))


def test_latest_points_at_the_newest_of_several(tiny_settings: Settings) -> None:
    dataset = small_dataset()
    config = tiny_settings.cf_config()
    first = CFArtifact.train(dataset, config, engine="popularity").save(config)
    second = CFArtifact.train(dataset, config, engine="itemknn").save(config)
    assert first != second and first.is_dir()
    assert CFArtifact.load_latest(tiny_settings.cf_config()).engine_name == "itemknn"
    assert not [p for p in tiny_settings.models_dir.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_no_artifact_is_a_clear_error(tiny_settings: Settings) -> None:
    with pytest.raises(ArtifactNotFoundError, match="recbot train"):
        CFArtifact.load_latest(tiny_settings.cf_config())


def test_catalog_mismatch_is_refused(tiny_settings: Settings) -> None:
    dataset = small_dataset()
    CFArtifact.train(dataset, tiny_settings.cf_config()).save(tiny_settings.cf_config())
    other = Catalog([*dataset.catalog, Item(item_id=999, title="New film")])
    with pytest.raises(CatalogMismatchError, match="1 ids differ"):
        CFArtifact.load_latest(tiny_settings.cf_config(), other)


def test_score_for_is_catalog_ordered_and_uses_session(tiny_settings: Settings) -> None:
    dataset = small_dataset()
    artifact = CFArtifact.train(dataset, tiny_settings.cf_config())
    scores = artifact.score_for([100, 101])
    assert scores.dtype == np.float32 and scores.shape == (len(dataset.catalog),)
    cluster_a, cluster_b = scores[2:6].mean(), scores[6:].mean()
    assert cluster_a > cluster_b
    pushed = artifact.score_for([100, 101], disliked_ids=[102])
    assert pushed[3:6].mean() < scores[3:6].mean()  # items like the disliked one drop


def test_known_user_history_is_used(tiny_settings: Settings) -> None:
    artifact = CFArtifact.train(small_dataset(), tiny_settings.cf_config())
    assert artifact.knows_user(1) and not artifact.knows_user(12345) and not artifact.knows_user(None)
    history_only = artifact.score_for([], user_id=15)  # a cluster-B user
    assert history_only[6:].mean() > history_only[:6].mean()
    recommended = [item for item, _ in artifact.recommend(user_id=15, k=3)]
    seen = set(small_dataset().interactions.query("user_id == 15 and rating >= 3")["item_id"])
    assert not seen & set(recommended)


def test_empty_profile_falls_back_to_popularity(tiny_settings: Settings) -> None:
    artifact = CFArtifact.train(small_dataset(), tiny_settings.cf_config())
    np.testing.assert_allclose(artifact.score_for([]), artifact.popularity())
    assert artifact.popularity().max() <= 1.0


def test_similar_and_unknown_items(tiny_settings: Settings) -> None:
    artifact = CFArtifact.train(small_dataset(), tiny_settings.cf_config())
    similar = artifact.similar(100, k=3)
    assert len(similar) == 3 and all(100 <= item < 106 for item, _ in similar)
    with pytest.raises(UnknownItemError):
        artifact.score_for([4242])
    with pytest.raises(UnknownItemError):
        artifact.similar(4242)


def test_extra_interactions_are_folded_in(tiny_settings: Settings) -> None:
    dataset = small_dataset()
    extra = pd.DataFrame(
        {
            "user_id": [500, 500, 500],
            "item_id": [100, 106, 107],
            "rating": [5.0, 5.0, 5.0],
            "timestamp": [1, 2, 3],
        }
    )
    artifact = CFArtifact.train(dataset, tiny_settings.cf_config(), extra_interactions=extra)
    assert artifact.knows_user(500) and artifact.metrics["n_extra_interactions"] == 3
    assert artifact.metrics["n_users"] == 21
    rated = int(dataset.interactions.query("user_id == 1 and rating >= 3")["item_id"].iloc[0])
    overruled = pd.DataFrame({"user_id": [1], "item_id": [rated], "rating": [1.0]})  # a chat dislike
    retrained = CFArtifact.train(dataset, tiny_settings.cf_config(), extra_interactions=overruled)
    assert retrained.metrics["n_positives"] == artifact.metrics["n_positives"] - 3 - 1
    with pytest.raises(DataError, match="item id 31337"):
        CFArtifact.train(
            dataset,
            tiny_settings.cf_config(),
            extra_interactions=pd.DataFrame({"user_id": [1], "item_id": [31337]}),
        )
    with pytest.raises(DataError, match="lack column"):
        CFArtifact.train(dataset, tiny_settings.cf_config(), extra_interactions=pd.DataFrame({"user": [1]}))


@pytest.mark.slow
def test_movielens_artifact_recommends_sensibly(settings: Settings, movielens_dir: Path) -> None:
    from cf_engine.data import load_dataset

    dataset = load_dataset(settings.cf_config())
    artifact = CFArtifact.train(dataset, settings.cf_config())
    artifact.save(settings.cf_config())
    loaded = CFArtifact.load_latest(settings.cf_config(), dataset.catalog)
    toy_story = 1
    similar = [dataset.catalog.get(i).title for i, _ in loaded.similar(toy_story, k=5)]
    assert "Toy Story 2" in similar
    assert len(loaded.recommend(user_id=1, k=10)) == 10
