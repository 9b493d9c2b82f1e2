"""Slices of the MovieLens dataset for retrieval and blend tests (most tests use a few hundred items)."""

from __future__ import annotations

from cf_engine.data.catalog import Catalog, Dataset

SMALL_N = 300


def slice_dataset(dataset: Dataset, n: int) -> Dataset:
    """The first ``n`` catalog items and the interactions on them."""
    catalog = Catalog(list(dataset.catalog)[:n])
    frame = dataset.interactions[dataset.interactions["item_id"].isin(catalog.item_ids)]
    return Dataset(dataset.name, catalog, frame.reset_index(drop=True))
