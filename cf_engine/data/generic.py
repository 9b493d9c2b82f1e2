"""Loader for any catalog in the generic format: ``items.jsonl`` + ``interactions.csv``.

``items.jsonl``: one JSON object per line with ``item_id`` (int) and ``title`` (str) and optionally
``year`` (int), ``genres`` and ``tags`` (lists of strings, or "a|b" strings), ``text`` (str) and
``links`` (object of strings), ``aliases`` (list of strings) and any metadata: a ``metadata``
object, and every other top-level field, whose values are strings, numbers or lists of them
(``"director": "Martin Scorsese"``, ``"cast": ["Robert De Niro", "Joe Pesci"]``, ``"runtime": 112``,
``"language": "en"``); they become :attr:`Item.metadata` (values as strings, "a|b" split).
``interactions.csv``: header with ``user_id,item_id`` and optionally
``rating`` and ``timestamp`` (default 0). Without a ``rating`` column the data is implicit: every
row is a positive with weight 1.0 and ``positive_threshold`` does not apply.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cf_engine.data.catalog import Catalog, Dataset, Item
from cf_engine.data.errors import DataError, MalformedFileError, read_text
from cf_engine.data.tables import line_of_row, read_typed_table

ITEMS_FILE = "items.jsonl"
INTERACTIONS_FILE = "interactions.csv"
GENERIC_FILES = (ITEMS_FILE, INTERACTIONS_FILE)
# The fields Item has of its own; any other field of a line is metadata.
ITEM_FIELDS = frozenset({"item_id", "title", "year", "genres", "tags", "text", "links", "aliases"})


def load_generic(folder: Path, name: str | None = None) -> Dataset:
    """Read ``folder/items.jsonl`` and ``folder/interactions.csv`` into a :class:`Dataset`."""
    folder = Path(folder)
    missing = [f for f in GENERIC_FILES if not (folder / f).is_file()]
    if missing:
        raise DataError(f"{folder}: missing {', '.join(missing)} (generic catalog format)")
    items = read_items(folder / ITEMS_FILE)
    try:
        catalog = Catalog(items)
    except ValueError as exc:
        raise DataError(f"{folder / ITEMS_FILE}: {exc}") from None
    path = folder / INTERACTIONS_FILE
    frame = read_typed_table(
        path,
        {"user_id": "int64", "item_id": "int64", "rating": "float64", "timestamp": "int64"},
        required=("user_id", "item_id"),
    )
    if frame.empty:
        raise DataError(f"{path}: no interactions")
    rating = frame["rating"].to_numpy(np.float32) if "rating" in frame else np.ones(len(frame), np.float32)
    timestamp = (
        frame["timestamp"].fillna(0).to_numpy(np.int64)
        if "timestamp" in frame
        else np.zeros(len(frame), np.int64)
    )
    interactions = pd.DataFrame(
        {
            "user_id": frame["user_id"].to_numpy(np.int64),
            "item_id": frame["item_id"].to_numpy(np.int64),
            "rating": np.where(np.isnan(rating), 1.0, rating).astype(np.float32),
            "timestamp": timestamp,
        }
    )
    known = np.isin(interactions["item_id"].to_numpy(), catalog.item_ids)
    if not known.all():
        row = int(np.flatnonzero(~known)[0])
        raise MalformedFileError(
            path,
            line_of_row(path, row, True, ",", "utf-8"),
            f"item id {interactions['item_id'].iloc[row]} is not in {ITEMS_FILE}",
        )
    return Dataset(
        name=name or folder.name,
        catalog=catalog,
        interactions=interactions,
        explicit_ratings="rating" in frame,
    )


def read_items(path: Path) -> list[Item]:
    """Parse ``items.jsonl``; each bad line raises with its number and the offending field."""
    items: list[Item] = []
    with io.StringIO(read_text(path, "utf-8")) as fh:  # a bad byte names its line
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MalformedFileError(path, number, f"invalid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise MalformedFileError(path, number, "expected a JSON object")
            items.append(_item(record, path, number))
    if not items:
        raise DataError(f"{path}: no items")
    return items


def _item(record: dict[str, Any], path: Path, line: int) -> Item:
    def bad(field: str, why: str) -> MalformedFileError:
        return MalformedFileError(path, line, f"field {field!r} {why}")

    item_id = record.get("item_id")
    if isinstance(item_id, bool) or not isinstance(item_id, int):
        raise bad("item_id", f"must be an integer, got {item_id!r}")
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        raise bad("title", "must be a non-empty string")
    year = record.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise bad("year", f"must be an integer or null, got {year!r}")
    text = record.get("text") or ""
    if not isinstance(text, str):
        raise bad("text", "must be a string")
    links = record.get("links") or {}
    if not isinstance(links, dict) or not all(isinstance(v, str | int) for v in links.values()):
        raise bad("links", "must be an object of strings")
    metadata = {  # other top-level fields of a usable shape (others are left alone, as before)
        str(k): v
        for k, v in record.items()
        if k not in ITEM_FIELDS and k != "metadata" and v is not None and _is_metadata_value(v)
    }
    nested = record.get("metadata") or {}
    if not isinstance(nested, dict):
        raise bad("metadata", "must be an object")
    metadata.update({str(k): v for k, v in nested.items() if v is not None})
    return Item(
        item_id=item_id,
        title=title.strip(),
        year=year,
        genres=_strings(record, "genres", bad),
        tags=_strings(record, "tags", bad),
        text=text,
        links={str(k): str(v) for k, v in links.items()},
        aliases=_strings(record, "aliases", bad),
        metadata={k: _metadata_values(k, v, bad) for k, v in metadata.items()},
    )


def _is_metadata_value(value: Any) -> bool:
    values = value if isinstance(value, list | tuple) else [value]
    return all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values)


def _metadata_values(name: str, value: Any, bad: Any) -> tuple[str, ...]:
    """A metadata value as strings: "a|b" -> ("a", "b"); 112 -> ("112",); [..] each element."""
    values = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise bad(name, "must be a string, a number or a list of them")
        out.extend(v.split("|") if isinstance(v, str) else [f"{v:g}" if isinstance(v, float) else str(v)])
    return tuple(dict.fromkeys(v.strip() for v in out if v.strip()))


def _strings(record: dict[str, Any], field: str, bad: Any) -> tuple[str, ...]:
    value = record.get(field) or ()
    if isinstance(value, str):
        value = value.split("|")
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise bad(field, "must be a list of strings")
    return tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
