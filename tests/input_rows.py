"""The rows of a test's input file, counted without idms's readers.

A run's counts always add up (``Counts.rows`` *is* the sum of the outcomes), so checking that they
do proves nothing. What a test can check is that every row it wrote got an outcome: this module
counts those rows with the standard library's csv module and openpyxl, independently of the code
under test.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl


def data_rows(path: str | Path, sheet: str | None = None) -> int:
    """The non-blank rows below the header row (the first) of a CSV or XLSX file."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        try:
            cells = book[sheet] if sheet else book.worksheets[0]
            rows = [[str(c) if c is not None else "" for c in r] for r in cells.values]
        finally:
            book.close()
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        rows = list(csv.reader(io.StringIO(text, newline="")))
    return sum(1 for row in rows[1:] if any(cell.strip() for cell in row))
