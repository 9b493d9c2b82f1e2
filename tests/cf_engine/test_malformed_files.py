"""Broken data files that tests/cf_engine/test_cf_loaders.py does not cover: bytes that are not UTF-8.

Whatever is wrong with a file, the error is a :class:`DataError` that names the file (and the line
where one can be named), never a bare ``UnicodeDecodeError`` from deep inside a parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from cf_engine.data import load_dataset
from cf_engine.data.errors import DataError, MalformedFileError

MOVIES = "movieId,title,genres\r\n1,Toy Story (1995),Comedy\r\n2,Heat (1995),Crime\r\n"
RATINGS = "userId,movieId,rating,timestamp\r\n1,1,4.0,1\r\n1,2,3.0,2\r\n"
TAGS = "userId,movieId,tag,timestamp\r\n1,1,pixar,1\r\n"
BAD_BYTES = b"\xff\xfe\x80"


def _folder(tmp_path: Path, broken: str) -> Path:
    folder = tmp_path / "ml"
    folder.mkdir()
    for name, text in (("movies.csv", MOVIES), ("ratings.csv", RATINGS), ("tags.csv", TAGS)):
        data = text.encode()
        if name == broken:  # garbage bytes inside the last line
            head, _, last = data.rstrip(b"\r\n").rpartition(b"\r\n")
            data = head + b"\r\n" + last[:3] + BAD_BYTES + last[3:] + b"\r\n"
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize(
    "broken",
    ["movies.csv", "ratings.csv", "tags.csv"],
)
def test_invalid_utf8_is_a_data_error_naming_the_file(tmp_path: Path, broken: str) -> None:
    folder = _folder(tmp_path, broken)
    try:
        load_dataset(Settings(home=tmp_path / "home", data_dir=folder).cf_config())
    except DataError as exc:
        assert broken in str(exc), str(exc)
    else:  # a loader may also decide to accept and replace the bytes: then the data must still load
        assert broken == "tags.csv"


@pytest.mark.parametrize(
    ("broken", "line"), [("movies.csv", 3), ("ratings.csv", 3), ("tags.csv", 2), ("links.csv", 3)]
)
def test_invalid_utf8_names_the_line_and_byte(tmp_path: Path, broken: str, line: int) -> None:
    folder = _folder(tmp_path, broken if broken != "links.csv" else "")
    if broken == "links.csv":
        (folder / "links.csv").write_bytes(b"movieId,imdbId,tmdbId\r\n1,114709,862\r\n2,11\xff3277,949\r\n")
    with pytest.raises(MalformedFileError) as info:
        load_dataset(Settings(home=tmp_path / "home", data_dir=folder).cf_config())
    assert info.value.path.name == broken
    assert info.value.line == line, str(info.value)  # the bad byte sits in the file's last line
    assert "not valid utf-8" in str(info.value) and "0x" in str(info.value)


def test_generic_items_with_invalid_utf8_name_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "books"
    folder.mkdir()
    (folder / "items.jsonl").write_bytes(b'{"item_id": 1, "title": "A"}\n{"item_id": 2, "title": "B\xff"}\n')
    (folder / "interactions.csv").write_text("user_id,item_id\n1,1\n1,2\n")
    settings = Settings(home=tmp_path / "home", data_dir=folder, catalog_format="generic")
    with pytest.raises(MalformedFileError, match=r"items.jsonl, line 2: not valid utf-8"):
        load_dataset(settings.cf_config())


def test_movielens_1m_is_latin1_so_any_byte_decodes(tmp_path: Path) -> None:
    """ml-1m files are latin-1, where every byte is a character: no decoding error is possible."""
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "movies.dat").write_bytes(b"1::Toy Story (1995)::Comedy\n2::Caf\xe9 \xff (1995)::Drama\n")
    (folder / "ratings.dat").write_bytes(b"1::1::5::1\n1::2::3::2\n")
    dataset = load_dataset(Settings(home=tmp_path / "home", data_dir=folder).cf_config())
    assert dataset.catalog.get(2).title == "Caf\u00e9 \u00ff"
