"""Reading delimited tables strictly: a malformed row becomes a :class:`MalformedFileError` with its line.

The fast path lets pandas parse typed columns directly (20M+ rows for the large MovieLens sets);
only when that fails is the file re-read as text to find and name the first bad line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cf_engine.data.errors import MalformedFileError, read_text

_PANDAS_LINE = re.compile(r"line (\d+)")


def read_typed_table(
    path: Path,
    columns: Mapping[str, str],
    *,
    required: tuple[str, ...] | None = None,
    header: bool = True,
    separator: str = ",",
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Read ``path`` keeping ``columns`` (name -> numpy dtype), checking every value parses.

    Parameters
    ----------
    columns
        The columns to return, in the file's header names (or the names given to a headerless file,
        in file order), with their dtype: ``"int64"``, ``"float64"`` or ``"str"``.
    required
        Columns that must be present and non-empty; default all of ``columns``. Optional missing
        numeric values become NaN (floats) and make the caller decide.
    separator
        A single character, or ``"::"`` (MovieLens 1M), which is rewritten to a tab before parsing.
    """
    required = tuple(columns) if required is None else required
    source = _open_source(path, separator, encoding)
    sep = "\t" if separator == "::" else separator
    names = None if header else list(columns)
    try:
        head = pd.read_csv(
            source,
            sep=sep,
            nrows=0,
            header=0 if header else None,
            names=names,
            encoding=encoding if isinstance(source, Path) else None,
        )
    except UnicodeDecodeError:
        read_text(path, encoding)  # raises MalformedFileError naming the line of the bad byte
        raise
    except pd.errors.EmptyDataError as exc:
        raise MalformedFileError(path, 1, f"no readable header ({exc})") from None
    present = [str(c).strip() for c in head.columns]
    missing = [c for c in required if c not in present]
    if missing:
        raise MalformedFileError(path, 1, f"missing column(s) {missing}; header has {present}")
    usecols = [c for c in columns if c in present]
    fast_dtypes = {
        c: ("str" if columns[c] == "str" else "float64" if columns[c] == "float64" else "int64")
        for c in usecols
        if c in required or columns[c] != "int64"
    }
    try:
        source = _open_source(path, separator, encoding)
        frame = pd.read_csv(
            source,
            sep=sep,
            header=0 if header else None,
            names=names,
            dtype=fast_dtypes,
            keep_default_na=False,
            na_values={c: [""] for c in usecols if columns[c] != "str"},
            encoding=encoding if isinstance(source, Path) else None,
            on_bad_lines="error",
            engine="c",
        )
    except pd.errors.ParserError as exc:
        match = _PANDAS_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        raise MalformedFileError(path, line, f"wrong number of fields ({_short(exc)})") from None
    except UnicodeDecodeError:
        read_text(path, encoding)  # raises MalformedFileError naming the line of the bad byte
        raise
    except (ValueError, TypeError):
        # A value that is not a number (or bad text): find the first offending row precisely.
        _diagnose(path, columns, usecols, required, header, separator, encoding)
        raise  # _diagnose always raises; this keeps type checkers satisfied
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame[usecols]  # read whole rows first, so a row with extra fields is an error
    for name in usecols:
        if name in required and columns[name] != "str" and frame[name].isna().any():
            row = int(np.flatnonzero(frame[name].isna().to_numpy())[0])
            raise MalformedFileError(
                path, line_of_row(path, row, header, separator, encoding), f"empty value in column {name!r}"
            )
    return frame


def _open_source(path: Path, separator: str, encoding: str) -> Path | io.StringIO:
    if separator != "::":
        return path
    text = read_text(path, encoding)
    return io.StringIO(text.replace("::", "\t"))


def _diagnose(
    path: Path,
    columns: Mapping[str, str],
    usecols: list[str],
    required: tuple[str, ...],
    header: bool,
    separator: str,
    encoding: str,
) -> None:
    """Re-read as text and raise for the first value that does not convert to its column's type."""
    sep = "\t" if separator == "::" else separator
    try:
        text_frame = pd.read_csv(
            _open_source(path, separator, encoding),
            sep=sep,
            header=0 if header else None,
            names=None if header else list(columns),
            usecols=usecols,
            dtype=str,
            keep_default_na=False,
            encoding=encoding if separator != "::" else None,
        )
    except UnicodeDecodeError:
        read_text(path, encoding)  # raises MalformedFileError naming the line of the bad byte
        raise
    text_frame.columns = [str(c).strip() for c in text_frame.columns]
    first_bad: tuple[int, str, str] | None = None
    for name in usecols:
        kind = columns[name]
        if kind == "str":
            continue
        values = text_frame[name].str.strip()
        parsed = pd.to_numeric(values, errors="coerce")
        bad = parsed.isna() & (values != "") if name not in required else parsed.isna()
        if kind == "int64":
            bad |= parsed.notna() & (parsed != np.floor(parsed.fillna(0)))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            if first_bad is None or row < first_bad[0]:
                first_bad = (row, name, str(text_frame[name].iloc[row]))
    if first_bad is None:
        line, count, expected_count = _first_wrong_field_count(
            path, header, separator, encoding, len(columns)
        )
        if line is not None:
            raise MalformedFileError(
                path, line, f"wrong number of fields (expected {expected_count}, saw {count})"
            )
        raise MalformedFileError(path, None, "could not be parsed")
    row, name, value = first_bad
    expected = "an integer" if columns[name] == "int64" else "a number"
    raise MalformedFileError(
        path,
        line_of_row(path, row, header, separator, encoding),
        f"column {name!r} should be {expected}, got {value!r}",
    )


def _first_wrong_field_count(
    path: Path, header: bool, separator: str, encoding: str, n_columns: int
) -> tuple[int | None, int, int]:
    """(line, fields seen, fields expected) of the first row whose field count is off, if any."""
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        lines = (line.rstrip("\r\n") for line in fh)
        rows = (
            (line.split("::") for line in lines)
            if separator == "::"
            else csv.reader(lines, delimiter=separator)
        )
        expected = None if header else n_columns
        for number, fields in enumerate(rows, start=1):
            if not fields or not any(f.strip() for f in fields):
                continue
            if expected is None:
                expected = len(fields)
            elif len(fields) != expected:
                return number, len(fields), expected
    return None, 0, expected or n_columns


def line_of_row(path: Path, row: int, header: bool, separator: str, encoding: str) -> int:
    """1-based file line of data row ``row`` (pandas skips blank lines, so count them)."""
    seen = -1 if header else 0
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if seen == row:
                return number
            seen += 1
    return row + (2 if header else 1)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text.replace("Error tokenizing data. ", "")
