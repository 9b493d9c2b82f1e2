"""Downloader: a zip served by a local http.server is fetched, verified and extracted atomically."""

from __future__ import annotations

import functools
import random
import socket
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.settings import Settings
from cf_engine.data import DatasetNotFoundError, load_dataset
from cf_engine.data.download import ensure_movielens

MOVIES = "movieId,title,genres\n1,Toy Story (1995),Animation\n2,Heat (1995),Action|Crime\n"
RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,1\n1,2,3.0,2\n2,2,5.0,3\n"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A web root served on 127.0.0.1 from a thread; yields (base_url, root)."""
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def make_zip(path: Path, files: dict[str, bytes], folder: str = "ml-test") -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(f"{folder}/{name}", data)


def settings_for(tmp_path: Path, base_url: str, dataset: str = "ml-test") -> Settings:
    return Settings(home=tmp_path / "home", dataset=dataset, download_base_url=base_url, download_timeout_s=5)


def test_download_extracts_and_loads(tmp_path: Path, served: tuple[str, Path]) -> None:
    base_url, root = served
    make_zip(
        root / "ml-test.zip",
        {"movies.csv": MOVIES.encode(), "ratings.csv": RATINGS.encode(), "README.txt": b"hello"},
    )
    settings = settings_for(tmp_path, base_url)
    dataset = load_dataset(settings.cf_config())
    target = settings.home / "data" / "ml-test"
    assert (target / "movies.csv").is_file() and (target / "ratings.csv").is_file()
    assert len(dataset.catalog) == 2 and len(dataset.interactions) == 3
    assert sorted(p.name for p in target.parent.iterdir()) == ["ml-test"]  # no temp leftovers
    (root / "ml-test.zip").unlink()  # a second call must not download again
    assert ensure_movielens(settings.cf_config(), progress=False) == target


def test_download_from_shared_movielens(
    tmp_path: Path, served: tuple[str, Path], movielens_dir: Path
) -> None:
    base_url, root = served
    make_zip(
        root / "ml-latest-small.zip",
        {p.name: p.read_bytes() for p in movielens_dir.iterdir() if p.is_file()},
        folder="ml-latest-small",
    )
    settings = settings_for(tmp_path, base_url, dataset="ml-latest-small")
    dataset = load_dataset(settings.cf_config())
    assert len(dataset.catalog) == 9742 and dataset.name == "ml-latest-small"


def test_broken_zip_is_a_clear_error_and_leaves_nothing(tmp_path: Path, served: tuple[str, Path]) -> None:
    base_url, root = served
    noise = random.Random(0).randbytes(30_000)  # incompressible: the middle of the file is member data
    make_zip(
        root / "ml-test.zip",
        {"movies.csv": MOVIES.encode(), "ratings.csv": RATINGS.encode(), "README.txt": noise},
    )
    data = bytearray((root / "ml-test.zip").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # damage the stored bytes: the CRC check must notice
    (root / "ml-test.zip").write_bytes(bytes(data))
    settings = settings_for(tmp_path, base_url)
    with pytest.raises(DatasetNotFoundError, match=r"ml-test.zip: corrupt member ml-test/README.txt") as info:
        load_dataset(settings.cf_config())
    assert "could not be downloaded" in str(info.value)
    assert list((settings.home / "data").iterdir()) == []  # nothing half-extracted, no temp folder


def test_zip_without_movielens_files(tmp_path: Path, served: tuple[str, Path]) -> None:
    base_url, root = served
    make_zip(root / "ml-test.zip", {"notes.txt": b"nothing here"})
    with pytest.raises(DatasetNotFoundError, match="has no movies.csv"):
        load_dataset(settings_for(tmp_path, base_url).cf_config())


def test_not_a_zip_and_http_404(tmp_path: Path, served: tuple[str, Path]) -> None:
    base_url, root = served
    (root / "ml-test.zip").write_text("<html>not a zip</html>")
    with pytest.raises(DatasetNotFoundError, match="not a valid zip"):
        load_dataset(settings_for(tmp_path, base_url).cf_config())
    with pytest.raises(DatasetNotFoundError, match="HTTP 404"):
        load_dataset(settings_for(tmp_path, base_url, dataset="ml-missing").cf_config())


def test_unreachable_url(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DatasetNotFoundError, match="could not fetch") as info:
        load_dataset(settings_for(tmp_path, f"http://127.0.0.1:{port}").cf_config())
    assert "RECBOT_DATA_DIR" in str(info.value)


def test_known_archive_checksum_is_enforced(
    tmp_path: Path, served: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from cf_engine.data import download

    base_url, root = served
    make_zip(root / "ml-test.zip", {"movies.csv": MOVIES.encode(), "ratings.csv": RATINGS.encode()})
    payload = (root / "ml-test.zip").read_bytes()
    monkeypatch.setitem(download.KNOWN_ARCHIVES, "ml-test", (len(payload), "0" * 64))
    with pytest.raises(DatasetNotFoundError, match="SHA-256 differs"):
        load_dataset(settings_for(tmp_path, base_url).cf_config())
    monkeypatch.setitem(
        download.KNOWN_ARCHIVES, "ml-test", (len(payload), hashlib.sha256(payload).hexdigest())
    )
    assert len(load_dataset(settings_for(tmp_path, base_url).cf_config()).catalog) == 2
