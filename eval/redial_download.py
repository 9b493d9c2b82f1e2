"""Download the official ReDial release (train/test jsonl + movies_with_mentions.csv).

Not needed when the files are already in place (this machine has no internet: the dev half of the
test split is provided under shared data). For a user with internet::

    python -m eval.redial_download [DIR]     # default: settings.redial_dir or <home>/data/redial

then ``recbot eval redial --data DIR --split test``. The archive is published by the ReDial authors
(Li et al., NeurIPS 2018) at :data:`RELEASE_URL`; its files keep their official names.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

from bot.settings import Settings, load_settings

RELEASE_URL = "https://github.com/ReDialData/website/raw/data/redial_dataset.zip"
EXPECTED = ("train_data.jsonl", "test_data.jsonl", "movies_with_mentions.csv")


class RedialDownloadError(RuntimeError):
    """The release could not be fetched or did not contain the expected files."""


def redial_dir(settings: Settings) -> Path:
    return settings.redial_dir or settings.home / "data" / "redial"


def download_redial(target: Path, url: str = RELEASE_URL, timeout_s: float = 120.0) -> list[Path]:
    """Fetch the release zip and extract the official files into ``target``; returns their paths."""
    import httpx

    try:
        response = httpx.get(url, follow_redirects=True, timeout=timeout_s)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise RedialDownloadError(f"could not download {url}: {exc}") from exc
    try:
        archive = zipfile.ZipFile(io.BytesIO(response.content))
    except zipfile.BadZipFile as exc:
        raise RedialDownloadError(f"{url} is not a zip archive: {exc}") from exc
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    names = {Path(n).name: n for n in archive.namelist()}
    for wanted in EXPECTED:
        if wanted not in names:
            raise RedialDownloadError(f"{url} lacks {wanted} (it has {', '.join(sorted(names))})")
        path = target / wanted
        path.write_bytes(archive.read(names[wanted]))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else redial_dir(load_settings())
    try:
        for path in download_redial(target):
            print(f"wrote {path}")
    except RedialDownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
