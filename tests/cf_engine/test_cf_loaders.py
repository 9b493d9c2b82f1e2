"""Loaders: small files in each supported format, and malformed rows named by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.settings import Settings
from cf_engine.data import DataError, MalformedFileError, load_dataset
from cf_engine.data.movielens import load_movielens, split_genres, split_title, title_aliases

MOVIES_CSV = (
    "movieId,title,genres\r\n"
    "1,Toy Story (1995),Adventure|Animation|Children\r\n"
    '11,"American President, The (1995)",Comedy|Drama|Romance\r\n'
    "32,Twelve Monkeys (a.k.a. 12 Monkeys) (1995),Mystery|Sci-Fi\r\n"
    "99,Untitled Show,(no genres listed)\r\n"
)
RATINGS_CSV = "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,11,2.5,964981247\r\n2,32,5.0,1\r\n"
TAGS_CSV = (
    'userId,movieId,tag,timestamp\r\n1,1,Pixar,1\r\n2,1,fun,2\r\n3,1,pixar,3\r\n4,11,"politics, US",4\r\n'
)
LINKS_CSV = "movieId,imdbId,tmdbId\r\n1,0114709,862\r\n11,0112346,\r\n"


def write(folder: Path, files: dict[str, str], encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode(encoding))
    return folder


def csv_folder(tmp_path: Path, **overrides: str) -> Path:
    files = {
        "movies.csv": MOVIES_CSV,
        "ratings.csv": RATINGS_CSV,
        "tags.csv": TAGS_CSV,
        "links.csv": LINKS_CSV,
    }
    files.update({f"{k}.csv": v for k, v in overrides.items()})
    return write(tmp_path / "ml-test", files)


def test_titles_years_genres() -> None:
    assert split_title("Toy Story (1995)") == ("Toy Story", 1995)
    assert split_title("Babylon 5 (1994-1998)") == ("Babylon 5", 1994)
    assert split_title("Untitled Show") == ("Untitled Show", None)
    assert split_title("  1984 (1984) ") == ("1984", 1984)
    assert title_aliases("American President, The") == ("The American President",)
    assert "12 Monkeys" in title_aliases("Twelve Monkeys (a.k.a. 12 Monkeys)")
    assert split_genres("(no genres listed)") == ()
    assert split_genres("Comedy|Romance") == ("Comedy", "Romance")


def test_movielens_csv(tmp_path: Path) -> None:
    dataset = load_movielens(csv_folder(tmp_path))
    assert dataset.name == "ml-test" and len(dataset.catalog) == 4
    toy = dataset.catalog.get(1)
    assert (toy.title, toy.year, toy.genres) == ("Toy Story", 1995, ("Adventure", "Animation", "Children"))
    assert toy.tags == ("pixar", "fun")  # lower-cased, de-duplicated, most frequent first
    assert toy.links == {"imdb": "0114709", "tmdb": "862"}
    president = dataset.catalog.get(11)
    assert president.title == "American President, The" and president.tags == ("politics, us",)
    assert president.links == {"imdb": "0112346"}
    assert dataset.catalog.get(99).genres == () and dataset.catalog.get(99).year is None
    assert list(dataset.interactions.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert dataset.interactions["rating"].tolist() == [4.0, 2.5, 5.0]


def test_tags_and_links_are_optional(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path)
    (folder / "tags.csv").unlink()
    (folder / "links.csv").unlink()
    assert load_movielens(folder).catalog.get(1).tags == ()


def test_movielens_1m_dat(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "ml-1m",
        {
            "movies.dat": (
                "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Misérables, Les (1995)::Drama\n"
            ),
            "ratings.dat": "1::1::5::978300760\n1::2::3::978302109\n2::1::4::978301968\n",
            "users.dat": "1::F::1::10::48067\n",
        },
        encoding="latin-1",
    )
    dataset = load_movielens(folder)
    assert dataset.catalog.get(2).title == "Misérables, Les"
    assert "Les Misérables" in dataset.catalog.get(2).aliases
    assert dataset.catalog.get(1).genres == ("Animation", "Children's", "Comedy")
    assert len(dataset.interactions) == 3 and dataset.interactions["user_id"].tolist() == [1, 1, 2]


@pytest.mark.parametrize(
    ("ratings", "line", "message"),
    [
        ("userId,movieId,rating,timestamp\n1,1,4.0,1\n1,11,abc,2\n", 3, "'rating' should be a number"),
        ("userId,movieId,rating,timestamp\n1,1,4.0,1\n\n2,1.5,3.0,2\n", 4, "'movieId' should be an integer"),
        ("userId,movieId,rating,timestamp\n1,1,4.0,1\n1,11,3.0,2,9\n", 3, "wrong number of fields"),
        ("userId,movieId,rating,timestamp\n1,1,4.0,1\n1,,3.0,2\n", 3, "'movieId'"),
        ("userId,movieId,rating,timestamp\n1,1,4.0,1\n1,77,3.0,2\n", 3, "item id 77 is not in the catalog"),
        ("user,movie\n1,1\n", 1, "missing column"),
    ],
)
def test_malformed_ratings_name_file_and_line(tmp_path: Path, ratings: str, line: int, message: str) -> None:
    folder = csv_folder(tmp_path, ratings=ratings)
    with pytest.raises(MalformedFileError, match=message) as info:
        load_movielens(folder)
    assert info.value.line == line and info.value.path.name == "ratings.csv"
    assert f"ratings.csv, line {line}" in str(info.value)


def test_malformed_movies_and_dat(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path, movies="movieId,title,genres\n1,Toy Story (1995),A\nx,Bad (2000),B\n")
    with pytest.raises(MalformedFileError, match=r"movies.csv, line 3: movieId should be an integer"):
        load_movielens(folder)
    dat = write(tmp_path / "ml-1m", {"movies.dat": "1::Toy Story (1995)\n", "ratings.dat": "1::1::5::1\n"})
    with pytest.raises(MalformedFileError, match=r"movies.dat, line 1: expected 3"):
        load_movielens(dat)


def test_duplicate_ids_and_missing_files(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path, movies="movieId,title,genres\n1,A (2000),X\n1,B (2001),Y\n")
    with pytest.raises(DataError, match="duplicate item id 1"):
        load_movielens(folder)
    with pytest.raises(DataError, match="no MovieLens files"):
        load_movielens(tmp_path / "empty")


def test_generic_format(tmp_path: Path) -> None:
    items = [
        {
            "item_id": 7,
            "title": "The Book",
            "year": 2001,
            "genres": ["Fiction"],
            "tags": "classic|long",
            "text": "A story.",
            "links": {"isbn": 123},
        },
        {"item_id": 8, "title": "Other"},
    ]
    folder = write(
        tmp_path / "books",
        {
            "items.jsonl": "\n".join(json.dumps(i) for i in items) + "\n",
            "interactions.csv": "user_id,item_id\n1,7\n2,8\n2,7\n",
        },
    )
    settings = Settings(home=tmp_path / "home", data_dir=folder, catalog_format="generic", dataset="books")
    dataset = load_dataset(settings.cf_config())
    book = dataset.catalog.get(7)
    assert (book.title, book.year, book.genres, book.tags, book.text) == (
        "The Book",
        2001,
        ("Fiction",),
        ("classic", "long"),
        "A story.",
    )
    assert book.links == {"isbn": "123"}
    assert dataset.interactions["rating"].tolist() == [1.0, 1.0, 1.0]
    assert not dataset.explicit_ratings  # no rating column: implicit, every row is a positive
    assert dataset.user_matrix(positive_threshold=3.0)[0].nnz == 3
    assert dataset.name == "books"
    unnamed = Settings(home=tmp_path / "home", data_dir=folder, catalog_format="generic")
    assert load_dataset(unnamed.cf_config()).name == "books"  # no dataset configured: the folder's name


@pytest.mark.parametrize(
    ("items", "interactions", "message"),
    [
        (
            '{"item_id": 1, "title": "A"}\n{"item_id": "2", "title": "B"}\n',
            "user_id,item_id\n1,1\n",
            r"items.jsonl, line 2: field 'item_id' must be an integer",
        ),
        (
            '{"item_id": 1, "title": "A"}\n{not json\n',
            "user_id,item_id\n1,1\n",
            r"items.jsonl, line 2: invalid JSON",
        ),
        ('{"item_id": 1, "title": ""}\n', "user_id,item_id\n1,1\n", r"line 1: field 'title'"),
        ('{"item_id": 1, "title": "A", "genres": [1]}\n', "user_id,item_id\n1,1\n", r"field 'genres'"),
        (
            '{"item_id": 1, "title": "A"}\n',
            "user_id,item_id\n1,1\n1,2\n",
            r"interactions.csv, line 3: item id 2",
        ),
        ('{"item_id": 1, "title": "A"}\n', "user_id,item_id,rating\n1,1,good\n", r"line 2: column 'rating'"),
    ],
)
def test_generic_errors(tmp_path: Path, items: str, interactions: str, message: str) -> None:
    folder = write(tmp_path / "g", {"items.jsonl": items, "interactions.csv": interactions})
    settings = Settings(home=tmp_path / "home", data_dir=folder, catalog_format="generic")
    with pytest.raises(DataError, match=message):
        load_dataset(settings.cf_config())


def test_shared_movielens_loads(settings: Settings, movielens_dir: Path) -> None:
    dataset = load_dataset(settings.cf_config())
    assert len(dataset.catalog) == 9742 and len(dataset.interactions) == 100836
    assert dataset.catalog.get(1).display_title == "Toy Story (1995)"
    assert dataset.catalog.get(1).links["imdb"] == "0114709"
    assert "pixar" in dataset.catalog.get(1).tags
    assert not (settings.home / "data").exists()  # a given data_dir is read, never copied


@pytest.mark.parametrize(
    ("ratings", "message"),
    [
        ("1::1::5::978300760::extra\n1::1::4::978300761\n", r"ratings.dat, line 1: wrong number of fields"),
        ("1::1::5::978300760\n2::1::4::978300761::9\n", r"ratings.dat, line 2: wrong number of fields"),
        (
            "1::1::5::978300760\n2::x::4::978300761\n",
            r"ratings.dat, line 2: column 'movieId' should be an integer",
        ),
    ],
)
def test_malformed_1m_ratings(tmp_path: Path, ratings: str, message: str) -> None:
    folder = write(
        tmp_path / "ml-1m", {"movies.dat": "1::Toy Story (1995)::Animation\n", "ratings.dat": ratings}
    )
    with pytest.raises(MalformedFileError, match=message):
        load_movielens(folder)
