"""Download the official ReDial release (train/test jsonl + movies_with_mentions.csv).

The dialogue model's default corpus for users with internet (ReDial's ~10k training dialogues,
CC BY 4.0, Li et al., NeurIPS 2018), fetched the way MovieLens is: on first start when recbot also
downloads the dataset, or with ``recbot train --download-redial``. The archive is published by the
ReDial authors at :data:`RELEASE_URL`; its files keep their official names.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

RELEASE_URL = "https://github.com/ReDialData/website/raw/data/redial_dataset.zip"
EXPECTED = ("train_data.jsonl", "test_data.jsonl", "movies_with_mentions.csv")


class RedialDownloadError(RuntimeError):
    """The release could not be fetched or did not contain the expected files."""


def download_redial(
    target: Path, url: str = RELEASE_URL, timeout_s: float = 120.0, connect_timeout_s: float = 10.0
) -> list[Path]:
    """Fetch the release zip and extract the official files into ``target``; returns their paths."""
    import httpx

    try:
        timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        response = httpx.get(url, follow_redirects=True, timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise RedialDownloadError(f"could not download {url}: {exc}") from exc
    try:
        archive = zipfile.ZipFile(io.BytesIO(response.content))
    except zipfile.BadZipFile as exc:
        raise RedialDownloadError(f"{url} is not a zip archive: {exc}") from exc
    names = {Path(n).name: n for n in archive.namelist()}
    missing = [wanted for wanted in EXPECTED if wanted not in names]
    if missing:  # checked before anything is written: a partial release is never left behind
        raise RedialDownloadError(f"{url} lacks {', '.join(missing)} (it has {', '.join(sorted(names))})")
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for wanted in EXPECTED:
        path = target / wanted
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(archive.read(names[wanted]))
        partial.replace(path)  # atomic: a killed download leaves no half-written corpus
        written.append(path)
    return written
