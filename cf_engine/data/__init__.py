"""Datasets: read MovieLens or a generic catalog into a :class:`Dataset`, downloading when absent.

``load_dataset(settings)`` is the one entry point the rest of recbot uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cf_engine.data.catalog import Catalog, Dataset, Item
from cf_engine.data.errors import DataError, DatasetNotFoundError, DownloadError, MalformedFileError

if TYPE_CHECKING:
    from cf_engine.config import CFConfig

__all__ = [
    "Catalog",
    "DataError",
    "Dataset",
    "DatasetNotFoundError",
    "DownloadError",
    "Item",
    "MalformedFileError",
    "load_dataset",
]


def load_dataset(settings: CFConfig, progress: bool = True) -> Dataset:
    """The configured dataset, read from ``settings.dataset_dir``.

    MovieLens files found in neither ``dataset_dir`` nor ``settings.home/data/<dataset>`` are
    downloaded into the latter (a folder given as ``data_dir`` is only ever read).
    ``progress`` shows a download progress bar on stderr. Raises :class:`DataError` (or a
    subclass) with a message naming the file and line.
    """
    # The dataset's name: as configured, else the folder's (a generic catalog in ./books is "books").
    name = settings.dataset if settings.dataset_named else None
    if settings.catalog_format == "generic":
        from cf_engine.data.generic import load_generic

        return load_generic(settings.dataset_dir, name=name)
    from cf_engine.data.download import ensure_movielens
    from cf_engine.data.movielens import load_movielens

    folder = ensure_movielens(settings, progress=progress)
    return load_movielens(folder, name=name)
