"""Loaders for the GroupLens MovieLens formats: ml-latest-small / ml-20m / ml-25m / ml-32m (CSV) and
ml-1m (``::``-separated ``.dat``, latin-1).

Titles come as "Name (1995)"; the year is split off and the name kept as the catalog writes it
("American President, The"). The natural word order ("The American President") and any "a.k.a."
names are kept as :attr:`Item.aliases` so that chat messages can match either form.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from cf_engine.data.catalog import Catalog, Dataset, Item
from cf_engine.data.errors import DataError, MalformedFileError, read_text
from cf_engine.data.tables import line_of_row, read_typed_table

_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$")
_ARTICLE_SUFFIX = re.compile(r"^(?P<name>.*), (?P<article>The|A|An|Les|La|Le|L'|Il|El|Das|Der|Die)$")
_AKA = re.compile(r"\s*\((?:a\.k\.a\. )?(?P<alt>[^()]+)\)\s*$")
NO_GENRES = "(no genres listed)"

CSV_FILES = ("movies.csv", "ratings.csv")  # tags.csv and links.csv are optional
DAT_FILES = ("movies.dat", "ratings.dat")


def split_title(raw: str) -> tuple[str, int | None]:
    """``"Toy Story (1995)"`` -> ``("Toy Story", 1995)``; a title without a year keeps ``None``."""
    raw = raw.strip()
    match = _TITLE_YEAR.match(raw)
    if match and match.group("title"):
        return match.group("title").strip(), int(match.group("year"))
    return raw, None


def title_aliases(title: str) -> tuple[str, ...]:
    """Other ways people write ``title``: article moved to the front, the a.k.a. / original name."""
    aliases: list[str] = []
    base = title
    alt = _AKA.search(title)
    if alt and alt.start() > 0:
        base = title[: alt.start()].strip()
        aliases.append(base)
        aliases.extend(_natural_order(alt.group("alt").strip()))
    aliases.extend(_natural_order(base))
    return tuple(dict.fromkeys(a for a in aliases if a and a != title))


def _natural_order(name: str) -> list[str]:
    match = _ARTICLE_SUFFIX.match(name)
    if not match:
        return [name]
    article = match.group("article")
    glue = "" if article.endswith("'") else " "
    return [f"{article}{glue}{match.group('name')}", name]


def split_genres(raw: str) -> tuple[str, ...]:
    """``"Comedy|Romance"`` -> ``("Comedy", "Romance")``; ``"(no genres listed)"`` -> ``()``."""
    raw = raw.strip()
    if not raw or raw == NO_GENRES:
        return ()
    return tuple(g.strip() for g in raw.split("|") if g.strip())


def load_movielens(folder: Path, name: str | None = None) -> Dataset:
    """Read a MovieLens folder in whichever format it holds (CSV sets or ml-1m's ``.dat``)."""
    folder = Path(folder)
    name = name or folder.name
    if all((folder / f).is_file() for f in CSV_FILES):
        return _load_csv(folder, name)
    if all((folder / f).is_file() for f in DAT_FILES):
        return _load_dat(folder, name)
    raise DataError(
        f"{folder}: no MovieLens files (expected {' + '.join(CSV_FILES)} or {' + '.join(DAT_FILES)})"
    )


def _load_csv(folder: Path, name: str) -> Dataset:
    movies_path = folder / "movies.csv"
    rows = _read_movies_csv(movies_path)
    tags = _read_tags_csv(folder / "tags.csv") if (folder / "tags.csv").is_file() else {}
    links = _read_links_csv(folder / "links.csv") if (folder / "links.csv").is_file() else {}
    items = [
        _make_item(movie_id, raw_title, raw_genres, tags.get(movie_id, ()), links.get(movie_id, {}))
        for movie_id, raw_title, raw_genres in rows
    ]
    catalog = _catalog(items, movies_path)
    ratings_path = folder / "ratings.csv"
    ratings = read_typed_table(
        ratings_path, {"userId": "int64", "movieId": "int64", "rating": "float64", "timestamp": "int64"}
    )
    interactions = _interactions(ratings, ratings_path)
    _check_items_known(interactions, catalog, ratings_path, header=True)
    return Dataset(name=name, catalog=catalog, interactions=interactions)


def _load_dat(folder: Path, name: str) -> Dataset:
    movies_path = folder / "movies.dat"
    items = []
    # latin-1 maps every byte, so this cannot fail to decode (read_text keeps one path for all readers).
    with io.StringIO(read_text(movies_path, "latin-1"), newline="") as fh:
        for number, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("::")
            if len(parts) != 3:
                raise MalformedFileError(
                    movies_path, number, f"expected 3 '::'-separated fields, got {len(parts)}"
                )
            movie_id = _parse_int(parts[0], movies_path, number, "MovieID")
            items.append(_make_item(movie_id, parts[1], parts[2], (), {}))
    catalog = _catalog(items, movies_path)
    ratings_path = folder / "ratings.dat"
    ratings = read_typed_table(
        ratings_path,
        {"userId": "int64", "movieId": "int64", "rating": "float64", "timestamp": "int64"},
        header=False,
        separator="::",
        encoding="latin-1",
    )
    interactions = _interactions(ratings, ratings_path)
    _check_items_known(interactions, catalog, ratings_path, header=False, separator="::", encoding="latin-1")
    return Dataset(name=name, catalog=catalog, interactions=interactions)


def _read_movies_csv(path: Path) -> list[tuple[int, str, str]]:
    rows: list[tuple[int, str, str]] = []
    # Decoded strictly up front: a bad byte names its line instead of escaping as UnicodeDecodeError.
    with io.StringIO(read_text(path, "utf-8"), newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        if header[:3] != ["movieId", "title", "genres"]:
            raise MalformedFileError(
                path, 1, f"header should be movieId,title,genres, got {','.join(header)}"
            )
        for fields in reader:
            number = reader.line_num
            if not fields or not any(f.strip() for f in fields):
                continue
            if len(fields) != 3:
                raise MalformedFileError(path, number, f"expected 3 fields, got {len(fields)}")
            rows.append((_parse_int(fields[0], path, number, "movieId"), fields[1], fields[2]))
    return rows


def _read_tags_csv(path: Path) -> dict[int, tuple[str, ...]]:
    """Per movie, its distinct lower-cased tags, most frequent first (ties alphabetically)."""
    frame = read_typed_table(
        path, {"userId": "int64", "movieId": "int64", "tag": "str"}, required=("movieId", "tag")
    )
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for movie_id, tag in zip(frame["movieId"].to_numpy(), frame["tag"].astype(str), strict=True):
        tag = " ".join(tag.lower().split())
        if tag:
            counts[int(movie_id)][tag] += 1
    return {
        m: tuple(t for t, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for m, c in counts.items()
    }


def _read_links_csv(path: Path) -> dict[int, dict[str, str]]:
    frame = read_typed_table(
        path, {"movieId": "int64", "imdbId": "str", "tmdbId": "str"}, required=("movieId",)
    )
    links: dict[int, dict[str, str]] = {}
    for movie_id, imdb, tmdb in zip(
        frame["movieId"].to_numpy(), frame.get("imdbId", ""), frame.get("tmdbId", ""), strict=True
    ):
        entry = {
            key: str(value).strip() for key, value in (("imdb", imdb), ("tmdb", tmdb)) if str(value).strip()
        }
        if entry:
            links[int(movie_id)] = entry
    return links


def _make_item(
    movie_id: int, raw_title: str, raw_genres: str, tags: tuple[str, ...], links: dict[str, str]
) -> Item:
    title, year = split_title(raw_title)
    return Item(
        item_id=movie_id,
        title=title,
        year=year,
        genres=split_genres(raw_genres),
        tags=tags,
        links=links,
        aliases=title_aliases(title),
    )


def _catalog(items: list[Item], path: Path) -> Catalog:
    try:
        return Catalog(items)
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None


def _interactions(ratings: pd.DataFrame, path: Path) -> pd.DataFrame:
    if ratings.empty:
        raise DataError(f"{path}: no ratings")
    return pd.DataFrame(
        {
            "user_id": ratings["userId"].to_numpy(np.int64),
            "item_id": ratings["movieId"].to_numpy(np.int64),
            "rating": ratings["rating"].to_numpy(np.float32),
            "timestamp": ratings["timestamp"].to_numpy(np.int64),
        }
    )


def _check_items_known(
    interactions: pd.DataFrame,
    catalog: Catalog,
    path: Path,
    header: bool,
    separator: str = ",",
    encoding: str = "utf-8",
) -> None:
    known = np.isin(interactions["item_id"].to_numpy(), catalog.item_ids)
    if not known.all():
        row = int(np.flatnonzero(~known)[0])
        item = int(interactions["item_id"].iloc[row])
        raise MalformedFileError(
            path, line_of_row(path, row, header, separator, encoding), f"item id {item} is not in the catalog"
        )


def _parse_int(text: str, path: Path, line: int, field: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise MalformedFileError(path, line, f"{field} should be an integer, got {text!r}") from None
