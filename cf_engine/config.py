"""What ``cf_engine`` reads of the configuration: one small dataclass, built by the caller.

The CF engine does not know the chatbot's settings object; ``bot.settings.Settings.cf_config()``
builds this from it (and ``bot/runtime.py`` passes it on), tests and scripts may build it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CFConfig:
    """Where the dataset and the CF artifacts live, and how a model is trained."""

    home: Path  # a downloaded dataset goes to home/data/<dataset>
    dataset_dir: Path  # the folder read first (a given data_dir is only ever read)
    dataset: str = "ml-latest-small"
    # False: the dataset was not named in the configuration, so a generic catalog takes its
    # folder's name ("./books" is "books").
    dataset_named: bool = True
    catalog_format: str = "movielens"  # "movielens" or "generic"
    download_base_url: str = "https://files.grouplens.org/datasets/movielens"
    download_timeout_s: float = 60.0
    models_dir: Path = Path("models")  # versioned CF artifacts and the ``latest`` pointer
    cf_model: str = "ease"
    cf_params: dict[str, float | int | str] = field(default_factory=dict)
    positive_threshold: float = 3.0  # ratings at or above it are positives
