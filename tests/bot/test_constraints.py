"""The exact constraint check, its vectorised form over the catalog, and edge cases of each filter."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from bot.recommend.constraints import CatalogFilter, ItemStats, chroma_where, has_excluded_tag, satisfies
from bot.settings import Settings
from bot.types import Constraints
from cf_engine.data import load_dataset
from cf_engine.data.catalog import Dataset, Item


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, movielens_dir: Path) -> Dataset:
    return load_dataset(Settings(home=tmp_path_factory.mktemp("home"), data_dir=movielens_dir).cf_config())


@pytest.fixture(scope="module")
def stats(dataset: Dataset) -> list[ItemStats]:
    table = dataset.item_stats()
    return [
        ItemStats(int(c), None if np.isnan(m) else float(m))
        for c, m in zip(table["count"], table["mean_rating"], strict=True)
    ]


def random_constraints(rng: random.Random, genres: list[str], tags: list[str]) -> Constraints:
    """A random mix of the filters, sometimes empty, sometimes contradictory."""

    def maybe(p: float) -> bool:
        return rng.random() < p

    year_min = rng.randint(1920, 2015) if maybe(0.4) else None
    year_max = rng.randint(1930, 2018) if maybe(0.4) else None
    return Constraints(
        genres_in=frozenset(rng.sample(genres, rng.randint(1, 3))) if maybe(0.5) else frozenset(),
        genres_out=frozenset(rng.sample(genres, rng.randint(1, 2))) if maybe(0.4) else frozenset(),
        year_min=year_min,
        year_max=year_max,
        min_rating=round(rng.uniform(2.0, 4.5), 1) if maybe(0.4) else None,
        excluded_tags=frozenset(rng.sample(tags, rng.randint(1, 2))) if maybe(0.4) else frozenset(),
    )


def test_vectorised_filter_equals_satisfies(dataset: Dataset, stats: list[ItemStats]) -> None:
    genres = sorted({g for item in dataset.catalog for g in item.genres})
    tags = sorted({t for item in dataset.catalog for t in item.tags})[:400]
    rng = random.Random(7)
    catalog_filter = CatalogFilter(dataset.catalog, stats)
    for _ in range(40):
        constraints = random_constraints(rng, genres, tags)
        expected = np.array(
            [satisfies(item, stats[i], constraints) for i, item in enumerate(dataset.catalog)]
        )
        assert np.array_equal(catalog_filter.mask(constraints), expected), constraints


def _item(**fields: object) -> Item:
    return Item(item_id=1, title="X", **fields)  # type: ignore[arg-type]


def test_genres_in_and_out_ignore_case() -> None:
    item = _item(genres=("Comedy", "Sci-Fi"))
    assert satisfies(item, ItemStats(), Constraints(genres_in=frozenset({"sci-fi"})))
    assert not satisfies(item, ItemStats(), Constraints(genres_in=frozenset({"Horror"})))
    assert not satisfies(item, ItemStats(), Constraints(genres_out=frozenset({"COMEDY"})))


def test_unknown_values_fail_bounds() -> None:
    assert not satisfies(_item(year=None), ItemStats(), Constraints(year_min=1990))
    assert not satisfies(_item(year=None), ItemStats(), Constraints(year_max=1990))
    assert satisfies(_item(year=1990), ItemStats(), Constraints(year_min=1990, year_max=1990))
    assert not satisfies(_item(), ItemStats(0, None), Constraints(min_rating=1.0))
    assert not satisfies(_item(), ItemStats(3, 3.9), Constraints(min_rating=4.0))
    assert satisfies(_item(), ItemStats(3, 4.0), Constraints(min_rating=4.0))


def test_excluded_tags_match_plurals_and_words() -> None:
    assert has_excluded_tag(["Zombies"], ["zombie"])
    assert has_excluded_tag(["zombie apocalypse"], ["zombies"])
    assert has_excluded_tag(["time travel"], ["Time Travel"])
    assert not has_excluded_tag(["zombieland fan"], ["zombie"])
    assert not has_excluded_tag(["funny"], ["zombies"])
    no_zombies = Constraints(excluded_tags=frozenset({"zombie"}))
    assert not satisfies(_item(tags=("gore", "zombies")), ItemStats(), no_zombies)
    # The title and genres count too: an untagged "I Walked with a Zombie" is still about zombies.
    assert not satisfies(Item(item_id=2, title="I Walked with a Zombie"), ItemStats(), no_zombies)
    assert not satisfies(
        _item(genres=("Sci-Fi",)), ItemStats(), Constraints(excluded_tags=frozenset({"sci-fi"}))
    )
    assert satisfies(Item(item_id=3, title="Zombieland"), ItemStats(), no_zombies)


def test_chroma_where_shape() -> None:
    genres = ["Comedy", "Sci-Fi", "Drama"]
    assert chroma_where(Constraints(), genres) is None
    assert chroma_where(Constraints(genres_in=frozenset({"comedy"})), genres) == {"genre_Comedy": True}
    where = chroma_where(Constraints(genres_out=frozenset({"Sci-Fi"}), year_min=1990, min_rating=3.5), genres)
    assert where == {
        "$and": [{"genre_Sci_Fi": False}, {"year": {"$gte": 1990}}, {"mean_rating": {"$gte": 3.5}}]
    }
    # An unknown requested genre matches nothing, as satisfies() would say.
    nothing = chroma_where(Constraints(genres_in=frozenset({"Western-Noir"})), genres)
    assert nothing is not None and "item_id" in str(nothing)
