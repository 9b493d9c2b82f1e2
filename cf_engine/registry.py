"""Engine factory: the one place that maps a configured name ("ease", "als", ...) to a class."""

from __future__ import annotations

from typing import Any

from cf_engine.als import ALS
from cf_engine.base import Recommender, RecommenderError
from cf_engine.ease import EASE
from cf_engine.itemknn import ItemKNN
from cf_engine.popularity import Popularity

ENGINES: dict[str, type[Recommender]] = {cls.name: cls for cls in (EASE, ALS, ItemKNN, Popularity)}


class UnknownEngineError(RecommenderError, ValueError):
    """A model name that no engine answers to."""


def engine_class(name: str) -> type[Recommender]:
    """The class registered under ``name`` (case-insensitive)."""
    try:
        return ENGINES[name.strip().lower()]
    except KeyError:
        raise UnknownEngineError(f"unknown CF model {name!r}; choose one of {', '.join(ENGINES)}") from None


def create(name: str, **params: Any) -> Recommender:
    """A new, unfitted engine ``name`` with ``params`` (the engine's defaults for anything omitted)."""
    cls = engine_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise UnknownEngineError(f"bad parameters for {name!r}: {exc}") from None


def available() -> list[str]:
    """Names of the registered engines."""
    return list(ENGINES)
