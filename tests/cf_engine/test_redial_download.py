"""ReDial's release is fetched over HTTP (a loopback server here) and unpacked; the runtime fetches it
on first start only when it also downloads the dataset (online), never with a local data folder."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.runtime import Runtime
from bot.settings import Settings
from cf_engine.data import redial_download
from cf_engine.data.redial_download import EXPECTED, RedialDownloadError, download_redial


def _zip(names: tuple[str, ...]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(f"redial/{name}", f"contents of {name}\n")
    return buffer.getvalue()


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, bytes]]]:
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *_args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", files
    httpd.shutdown()


def test_the_release_is_downloaded_and_unpacked(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, files = server
    files["/redial.zip"] = _zip(EXPECTED)
    written = download_redial(tmp_path / "redial", url=f"{base}/redial.zip")
    assert sorted(p.name for p in written) == sorted(EXPECTED)
    assert (tmp_path / "redial" / "train_data.jsonl").read_text() == "contents of train_data.jsonl\n"


def test_broken_downloads_are_clear_errors(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, files = server
    files["/partial.zip"] = _zip(EXPECTED[:1])
    files["/not-a-zip"] = b"<html>moved</html>"
    with pytest.raises(RedialDownloadError, match="lacks"):
        download_redial(tmp_path / "a", url=f"{base}/partial.zip")
    with pytest.raises(RedialDownloadError, match="not a zip"):
        download_redial(tmp_path / "b", url=f"{base}/not-a-zip")
    with pytest.raises(RedialDownloadError, match="could not download"):
        download_redial(tmp_path / "c", url=f"{base}/missing.zip")
    assert not (tmp_path / "a" / "train_data.jsonl").exists()


def test_first_start_fetches_redial_only_when_it_downloads_the_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    def fake_download(target: Path, *args: object, **kwargs: object) -> list[Path]:
        calls.append(target)
        target.mkdir(parents=True, exist_ok=True)
        (target / "train_data.jsonl").write_text("{}\n")
        return [target / "train_data.jsonl"]

    monkeypatch.setattr(redial_download, "download_redial", fake_download)
    local = Runtime(Settings(home=tmp_path / "a", data_dir=tmp_path / "data"))
    assert local._download_dialogue_corpus() is None and calls == []  # a local data folder: offline use
    generic = Runtime(Settings(home=tmp_path / "b", catalog_format="generic"))
    assert generic._download_dialogue_corpus() is None and calls == []  # ReDial names movies only
    online = Runtime(Settings(home=tmp_path / "c"))
    assert online._download_dialogue_corpus() == tmp_path / "c" / "data" / "redial" / "train_data.jsonl"
    assert calls == [tmp_path / "c" / "data" / "redial"]


def test_a_failed_download_serves_without_the_dialogue_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(*_args: object, **_kwargs: object) -> list[Path]:
        raise RedialDownloadError("could not download: no route to host")

    monkeypatch.setattr(redial_download, "download_redial", offline)
    assert Runtime(Settings(home=tmp_path))._download_dialogue_corpus() is None
