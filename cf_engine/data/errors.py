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


def decoding_error(
    path: Path | str, data: bytes, encoding: str, exc: UnicodeDecodeError
) -> MalformedFileError:
    """A :class:`MalformedFileError` naming the line and column of the first byte that is not ``encoding``.

    ``data`` is the whole file's bytes and ``exc`` the error from decoding exactly those bytes, so
    ``exc.start`` is an offset into ``data``.
    """
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    return MalformedFileError(
        path, line, f"not valid {encoding} text: byte 0x{data[exc.start]:02x} at column {column}"
    )


def read_text(path: Path | str, encoding: str = "utf-8") -> str:
    """The whole file decoded strictly; a bad byte raises :class:`MalformedFileError` with its line."""
    data = Path(path).read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise decoding_error(path, data, encoding, exc) from None
