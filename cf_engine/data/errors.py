"""Errors raised while finding, downloading or reading a dataset.

Every message names the file (and line or field where there is one), so the CLI can print it as is.
"""

from __future__ import annotations

from pathlib import Path


class DataError(Exception):
    """A dataset that cannot be read: missing files, malformed rows, inconsistent ids."""


class MalformedFileError(DataError):
    """A row or field of a dataset file that does not parse."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {problem}")


class DatasetNotFoundError(DataError):
    """The dataset's files are neither on disk nor downloadable."""


class DownloadError(DataError):
    """Downloading or verifying a dataset archive failed."""
