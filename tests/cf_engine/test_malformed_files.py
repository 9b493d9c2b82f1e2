"""Broken data files that tests/cf_engine/test_cf_loaders.py does not cover: bytes that are not UTF-8.

Whatever is wrong with a file, the error is a :class:`DataError` that names the file (and the line
where one can be named), never a bare ``UnicodeDecodeError`` from deep inside a parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from cf_engine.data import load_dataset
from cf_engine.data.errors import DataError

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
    [
        pytest.param(
            "movies.csv",
            marks=pytest.mark.xfail(
                strict=True,
                raises=UnicodeDecodeError,
                reason="cf_engine/data/movielens.py _read_movies_csv lets UnicodeDecodeError escape "
                "(reported to the cf owner); remove this mark when it raises MalformedFileError",
            ),
        ),
        "ratings.csv",
        "tags.csv",
    ],
)
def test_invalid_utf8_is_a_data_error_naming_the_file(tmp_path: Path, broken: str) -> None:
    folder = _folder(tmp_path, broken)
    try:
        load_dataset(Settings(home=tmp_path / "home", data_dir=folder))
    except DataError as exc:
        assert broken in str(exc), str(exc)
    else:  # a loader may also decide to accept and replace the bytes: then the data must still load
        assert broken == "tags.csv"
