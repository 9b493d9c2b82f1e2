"""Fetch a MovieLens archive when its files are not on disk: download, verify, extract atomically.

The archive is streamed to a temporary file (with a tqdm progress bar), checked (readable zip, CRCs,
the expected files, the known size / SHA-256 where we know them), extracted into a temporary folder
and only then renamed into ``settings.home/data/<dataset>``: an interrupted download never leaves a
half-written dataset behind.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import httpx
from tqdm import tqdm

from cf_engine.data.errors import DatasetNotFoundError, DownloadError
from cf_engine.data.movielens import CSV_FILES, DAT_FILES

if TYPE_CHECKING:
    from cf_engine.config import CFConfig

# (size in bytes, sha256) of official archives we have checked; others are verified structurally.
KNOWN_ARCHIVES: dict[str, tuple[int, str]] = {}


def has_movielens_files(folder: Path) -> bool:
    """True when ``folder`` holds a readable MovieLens layout (CSV or ml-1m ``.dat``)."""
    return any(all((folder / f).is_file() for f in files) for files in (CSV_FILES, DAT_FILES))


def ensure_movielens(settings: CFConfig, progress: bool = True) -> Path:
    """The folder with the configured MovieLens files, downloading them if neither place has them.

    Looks in ``settings.dataset_dir`` then ``settings.home/data/<dataset>``; downloads into the latter.
    Raises :class:`DatasetNotFoundError` when the files are absent and the download fails.
    """
    target = settings.home / "data" / settings.dataset
    for folder in (settings.dataset_dir, target):
        if has_movielens_files(folder):
            return folder
    url = f"{settings.download_base_url.rstrip('/')}/{settings.dataset}.zip"
    try:
        download_and_extract(
            url, target, settings.dataset, timeout_s=settings.download_timeout_s, progress=progress
        )
    except DownloadError as exc:
        raise DatasetNotFoundError(
            f"dataset {settings.dataset!r} is not in {settings.dataset_dir} "
            f"and could not be downloaded: {exc}. "
            f"Put its files there or set RECBOT_DATA_DIR to a folder that has them."
        ) from None
    return target


def download_and_extract(
    url: str, target: Path, dataset: str, timeout_s: float = 60.0, progress: bool = True
) -> Path:
    """Download the zip at ``url`` and extract its MovieLens files into ``target`` (replaced whole)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{dataset}-", dir=target.parent) as tmp:
        archive = Path(tmp) / f"{dataset}.zip"
        _download(url, archive, timeout_s, progress)
        _verify_known(archive, dataset)
        extracted = _extract(archive, Path(tmp) / "extracted", url)
        if target.exists():
            shutil.rmtree(target)
        extracted.rename(target)  # same file system: atomic
    return target


def _download(url: str, dest: Path, timeout_s: float, progress: bool) -> None:
    try:
        with httpx.stream("GET", url, timeout=timeout_s, follow_redirects=True) as response:
            if response.status_code != 200:
                raise DownloadError(f"{url} answered HTTP {response.status_code}")
            total = int(response.headers.get("content-length") or 0) or None
            with (
                open(dest, "wb") as fh,
                tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar,
            ):
                for chunk in response.iter_bytes(1 << 16):
                    fh.write(chunk)
                    bar.update(len(chunk))
    except httpx.HTTPError as exc:
        raise DownloadError(f"could not fetch {url} ({type(exc).__name__}: {exc})") from None
    if total is not None and dest.stat().st_size != total:
        raise DownloadError(f"{url}: got {dest.stat().st_size} bytes, expected {total}")


def _verify_known(archive: Path, dataset: str) -> None:
    known = KNOWN_ARCHIVES.get(dataset)
    if known is None:
        return
    size, sha256 = known
    digest = hashlib.sha256()
    with open(archive, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if archive.stat().st_size != size or digest.hexdigest() != sha256:
        raise DownloadError(f"{archive.name}: size or SHA-256 differs from the official archive")


def _extract(archive: Path, dest: Path, url: str) -> Path:
    """Extract into ``dest`` and return the folder inside it that holds the MovieLens files."""
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise DownloadError(f"{url}: corrupt member {bad} in the archive")
            for name in zf.namelist():
                path = PurePosixPath(name)
                if path.is_absolute() or ".." in path.parts:
                    raise DownloadError(f"{url}: unsafe path {name!r} in the archive")
            zf.extractall(dest)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise DownloadError(f"{url}: not a valid zip archive ({exc})") from None
    for folder in [dest, *sorted(p for p in dest.rglob("*") if p.is_dir())]:
        if has_movielens_files(folder):
            return folder
    raise DownloadError(f"{url}: the archive has no {' + '.join(CSV_FILES)} or {' + '.join(DAT_FILES)}")
