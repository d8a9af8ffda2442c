"""Streaming readers for the spreadsheets data managers hand in: CSV/TSV/TXT and Excel workbooks.

:func:`open_input` opens a file, reads its header row and returns an
:class:`~idms.io.records.InputReader` whose ``detected`` says what was found (format, encoding,
delimiter, quote character, sheet, columns; see :mod:`idms.io.detect`), so a run can show it
before anything is written. Rows then come one at a time as :class:`~idms.io.records.InputRow`;
memory stays bounded whatever the file's size (CSV streams in fixed-size chunks; for XLSX see
:mod:`idms.io.xlsx`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

from idms.errors import InvalidInputError
from idms.io.csv import open_csv
from idms.io.records import InputReader, ReadOptions
from idms.io.xlsx import open_xlsx

__all__ = ["CSV_EXTENSIONS", "READ_EXTENSIONS", "XLSX_EXTENSIONS", "open_input"]

CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
READ_EXTENSIONS = CSV_EXTENSIONS + XLSX_EXTENSIONS


Opener = Callable[[Path], IO[bytes]]
"""How a file's bytes are read when they are not simply its content (a sealed copy)."""


def open_input(
    path: str | Path, options: ReadOptions = ReadOptions(), *, opener: Opener | None = None
) -> InputReader:
    """Open a CSV/TSV/TXT or XLSX/XLSM file, read its header row and say what was detected.
    ``opener`` gives the file's bytes when they are not its content as it lies (a copy sealed
    in the runs folder: :func:`idms.runs.sealed.open_sealed`); the name still says its format.

    Raises :class:`~idms.errors.InvalidInputError` for a missing file, an unsupported extension, an
    unknown encoding, a header row that is missing, has a nameless column in the middle, or
    repeats a column name, and (while iterating) for a row that cannot be decoded.
    """
    path = Path(path)
    extension = path.suffix.lower()
    if extension not in READ_EXTENSIONS:
        shown = f"'{path.suffix}'" if path.suffix else "no extension"
        accepted = ", ".join(READ_EXTENSIONS)
        raise InvalidInputError(
            f"Cannot read {path.name}: files with {shown} are not supported. "
            f"Accepted file types: {accepted}."
        )
    if not path.exists():
        raise InvalidInputError(f"File not found: {path}")
    if not path.is_file():
        raise InvalidInputError(f"{path} is a folder, not a file.")
    if isinstance(options.header_row, bool) or options.header_row < 1:
        raise InvalidInputError(
            f"header_row must be 1 or more (the row holding the column names), "
            f"not {options.header_row!r}."
        )
    if extension in XLSX_EXTENSIONS:
        return open_xlsx(path, options, opener=opener)
    default_delimiter = "\t" if extension == ".tsv" else None
    return open_csv(path, options, default_delimiter, opener=opener)
