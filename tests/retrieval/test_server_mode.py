"""ItemIndex against a real Chroma server (``chroma run``) started by the test, via settings.chroma_url."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from retrieval_data import slice_dataset

from bot.settings import Settings
from cf_engine.data.catalog import Dataset
from retrieval.index import ItemIndex
from retrieval.store import ChromaConnectionError

N = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chroma_cli() -> str:
    beside = Path(sys.executable).with_name("chroma")
    found = str(beside) if beside.is_file() else shutil.which("chroma")
    if not found:
        pytest.fail("the `chroma` CLI (installed with chromadb) is missing from the environment")
    return found


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    proc = subprocess.Popen(
        [
            _chroma_cli(),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma server did not start: {(tmp_path / 'chroma.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.slow
def test_build_and_search_on_a_chroma_server(
    chroma_server: str, tmp_path: Path, movielens_dir: Path, small_dataset: Dataset
) -> None:
    dataset = slice_dataset(small_dataset, N)
    settings = Settings(home=tmp_path / "home", data_dir=movielens_dir, chroma_url=chroma_server)
    index = ItemIndex(settings.retrieval_config())
    report = index.build(dataset, progress=False)
    assert report.embedded == N and report.n_items == N
    assert not settings.chroma_dir.exists()  # nothing was written locally

    again = ItemIndex(settings.retrieval_config()).build(dataset, progress=False)
    assert again.embedded == 0

    hits = ItemIndex(settings.retrieval_config()).search("Toy Story, Pixar animation about toys", 3)
    assert hits[0][0] == 1
    ids, matrix = ItemIndex(settings.retrieval_config()).vectors()
    assert len(ids) == N and matrix.shape[1] == 384


def test_unreachable_server_is_a_clear_error(tmp_path: Path, movielens_dir: Path) -> None:
    settings = Settings(
        home=tmp_path / "home", data_dir=movielens_dir, chroma_url=f"http://127.0.0.1:{_free_port()}"
    )
    with pytest.raises(ChromaConnectionError, match="127.0.0.1"):
        ItemIndex(settings.retrieval_config()).client()


def test_malformed_url_is_a_clear_error(tmp_path: Path, movielens_dir: Path) -> None:
    settings = Settings(home=tmp_path / "home", data_dir=movielens_dir, chroma_url="localhost:8000")
    with pytest.raises(ChromaConnectionError, match="http"):
        ItemIndex(settings.retrieval_config()).client()
