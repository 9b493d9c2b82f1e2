"""Retrieval fixtures: a 300-item slice of MovieLens and one index built on it per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from retrieval_data import SMALL_N, slice_dataset

from bot.settings import Settings
from cf_engine.data import load_dataset
from cf_engine.data.catalog import Dataset
from retrieval.index import ItemIndex


@pytest.fixture(scope="session")
def full_dataset(tmp_path_factory: pytest.TempPathFactory, movielens_dir: Path) -> Dataset:
    return load_dataset(Settings(home=tmp_path_factory.mktemp("home"), data_dir=movielens_dir).cf_config())


@pytest.fixture(scope="session")
def small_dataset(full_dataset: Dataset) -> Dataset:
    return slice_dataset(full_dataset, SMALL_N)


@pytest.fixture(scope="session")
def small_settings(tmp_path_factory: pytest.TempPathFactory, movielens_dir: Path) -> Settings:
    return Settings(
        home=tmp_path_factory.mktemp("small_index"), data_dir=movielens_dir, llm_backend="template"
    )


@pytest.fixture(scope="session")
def small_index(small_settings: Settings, small_dataset: Dataset) -> ItemIndex:
    """An index of the 300-item slice, built once (about 300 embeddings)."""
    index = ItemIndex(small_settings.retrieval_config())
    report = index.build(small_dataset, progress=False)
    assert report.embedded == SMALL_N
    return index


@pytest.fixture
def tiny_settings(tmp_path: Path, movielens_dir: Path) -> Settings:
    return Settings(home=tmp_path / "home", data_dir=movielens_dir, llm_backend="template")
