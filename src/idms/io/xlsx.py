"""Excel workbooks: reading XLSX/XLSM with python-calamine one row at a time, writing XLSX.

Cells keep their type (text, number, boolean, date, date and time); whole numbers come back as
``int``. Row numbers are the sheet's own (python-calamine pads the empty rows above the data, so
the n-th row it yields is sheet row n; leading empty columns are dropped by calamine, and column
letters in messages account for that).

Memory: python-calamine loads the chosen sheet's cells into compact Rust memory when the sheet
is opened (``get_sheet_by_name``); ``iter_rows`` then builds the Python values one row at a time.
So an Excel sheet costs roughly its cell count in native memory, not Python objects.

Writing (:func:`write_xlsx`) streams rows into XlsxWriter's constant-memory mode.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from idms.errors import InvalidInputError, printable, suggest
from idms.io.cells import FORMULA_TRIGGERS, render_text, runs_as_formula
from idms.io.detect import Detected, column_names, is_blank, join_and
from idms.io.limits import InputLimits, describe_bytes
from idms.io.records import InputReader, InputRow, ReadOptions

if TYPE_CHECKING:
    from python_calamine import CalamineWorkbook

__all__ = ["open_xlsx", "write_xlsx"]

_EXCEL_MAX_ROWS = 1_048_576
_EXCEL_MAX_COLUMNS = 16_384
_EXCEL_MAX_TEXT = 32_767
_EXCEL_EXACT_INTEGER = 10**15  # Excel keeps 15 significant digits
_MAX_WIDTH = 60


def _column_letter(index: int) -> str:
    """Excel's letter for a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value if value else None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _header_text(value: Any) -> str:
    value = _cell(value)
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def check_archive(path: Path, limits: InputLimits, data: IO[bytes] | None = None) -> None:
    """Refuse a workbook whose zip directory says it unpacks to more than ``limits`` allow.

    Only the directory is read (a few kilobytes), so a "zip bomb" is refused before any of it is
    unpacked; python-calamine then refuses any entry that unpacks to more than its declared size.
    ``data``: the workbook's bytes when they are not read from ``path`` (a sealed copy).
    """
    try:
        with zipfile.ZipFile(data if data is not None else path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InvalidInputError(
            f"{path.name} could not be opened as an Excel workbook ({exc}). Is it a real .xlsx "
            f"file, not protected by a password?"
        ) from None
    if len(entries) > limits.max_entries:
        raise InvalidInputError(
            f"{path.name} is not a workbook idms reads: its archive holds {len(entries):,} "
            f"entries, more than the {limits.max_entries:,} a workbook needs. Open it in Excel "
            f"and save it again, or export the sheet as CSV."
        )
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_unpacked_bytes:
        raise InvalidInputError(
            f"{path.name} unpacks to {describe_bytes(total)}, more than the "
            f"{describe_bytes(limits.max_unpacked_bytes)} idms reads from one workbook "
            f"({describe_bytes(_size(path, data))} on disk). Split it into smaller "
            f"workbooks, or export the sheet as CSV (read as a stream, whatever its size)."
        )
    for entry in entries:
        if entry.file_size <= limits.ratio_floor:
            continue
        ratio = entry.file_size / max(entry.compress_size, 1)
        if ratio > limits.max_ratio:
            raise InvalidInputError(
                f"{path.name} is refused as a likely zip bomb: its part "
                f"{printable(entry.filename)} unpacks to {describe_bytes(entry.file_size)} from "
                f"{describe_bytes(entry.compress_size)}, {ratio:,.0f} times its size (real "
                f"workbooks pack 5 to 20 times; idms allows {limits.max_ratio}). If the file is "
                f"genuine, open it in Excel and save it again, or export the sheet as CSV."
            )


def _size(path: Path, data: IO[bytes] | None) -> int:
    if data is None:
        return path.stat().st_size
    return data.seek(0, io.SEEK_END)


def open_xlsx(
    path: Path, options: ReadOptions, *, opener: Callable[[Path], IO[bytes]] | None = None
) -> InputReader:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        if opener is not None:
            with opener(path) as raw:  # a sealed copy: the workbook is read into memory
                data = io.BytesIO(raw.read())
            check_archive(path, options.limits, data)
            data.seek(0)
            workbook = CalamineWorkbook.from_filelike(data)
        else:
            check_archive(path, options.limits)
            workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise InvalidInputError(
            f"{path.name} could not be opened as an Excel workbook ({exc}). Is it a real .xlsx "
            f"file, not protected by a password?"
        ) from None
    try:
        return _start_xlsx(workbook, path, options)
    except BaseException:
        workbook.close()
        raise


def _start_xlsx(workbook: CalamineWorkbook, path: Path, options: ReadOptions) -> InputReader:
    from python_calamine import CalamineError

    sheets = tuple(str(name) for name in workbook.sheet_names)
    listed = ", ".join(f'"{name}"' for name in sheets)
    if not sheets:
        raise InvalidInputError(f"{path.name} has no sheets.")
    name = sheets[0] if options.sheet is None else options.sheet
    if name not in sheets:
        close = suggest(name, sheets)
        hint = f' Did you mean "{close}"?' if close else ""
        raise InvalidInputError(
            f'Sheet "{name}" not found in {path.name}. Its sheets are: {listed}.{hint}'
        )
    try:
        sheet = workbook.get_sheet_by_name(name)
    except CalamineError as exc:
        raise InvalidInputError(
            f'Sheet "{name}" of {path.name} could not be read ({exc}).'
        ) from None
    where = f'sheet "{name}" of {path.name}'
    start = sheet.start
    if start is None:
        raise InvalidInputError(f"The {where} is empty: it has no header row.")
    first_column = int(start[1])

    def label(index: int) -> str:
        return _column_letter(first_column + index)

    rows: Iterator[list[Any]] = iter(sheet.iter_rows())
    header: list[Any] | None = None
    for _ in range(options.header_row):
        header = next(rows, None)
        if header is None:
            raise InvalidInputError(
                f"The {where} has no row {options.header_row}, which the job names as the "
                f"header row (header_row)."
            )
    assert header is not None
    first, columns = column_names(
        [_header_text(cell) for cell in header],
        options.header_row,
        label,
        where,
        skip_leading=True,
        limits=options.limits,
    )
    detected = Detected(
        format="xlsx",
        columns=columns,
        header_row=options.header_row,
        sheet=name,
        sheets=sheets,
    )
    return InputReader(
        detected,
        lambda reader: _xlsx_rows(reader, rows, first, columns, options.header_row, label),
        [workbook.close],
    )


def _xlsx_rows(
    reader: InputReader,
    rows: Iterator[list[Any]],
    first: int,
    columns: tuple[str, ...],
    header_row: int,
    label: Callable[[int], str],
) -> Iterator[InputRow]:
    end = first + len(columns)
    for number, raw_cells in enumerate(rows, start=header_row + 1):
        if not first and len(raw_cells) == end:  # the usual shape: as many cells as names
            # The whole cost of a large sheet is here, once per cell: _cell, inlined, straight
            # into the row's dict (no list in between). Text, most cells, is told by its type
            # first. The lengths match (tested just above), so zip needs no strict= (whose keyword
            # costs a dict per row).
            values = {
                name: (value or None)
                if type(value) is str
                else (int(value) if type(value) is float and value.is_integer() else value)
                for name, value in zip(columns, raw_cells)  # noqa: B905
            }
            # Blank as is_blank says, told from the cells as read: conversion keeps a cell
            # blank or not. Usually the first cell settles it.
            for value in raw_cells:
                if value is not None and (type(value) is not str or value.strip()):
                    yield InputRow(number, values)
                    break
            else:
                reader.blank_rows += 1
            continue
        cells = [
            (value or None)
            if type(value) is str
            else (int(value) if type(value) is float and value.is_integer() else value)
            for value in raw_cells
        ]
        for value in cells:
            if value is not None and (type(value) is not str or value.strip()):
                break
        else:
            reader.blank_rows += 1
            continue
        problem = None
        outside = [
            i for i, value in enumerate(cells) if (i < first or i >= end) and not is_blank(value)
        ]
        if outside:
            where = join_and([label(i) for i in outside[:3]]) + (" ..." if len(outside) > 3 else "")
            problem = (
                f"row {number} has a value in column {where}, which has no name in the header row"
                if len(outside) == 1
                else f"row {number} has values in columns {where}, which have no name in the "
                "header row"
            )
        named = cells[first:end]
        named.extend([None] * (len(columns) - len(named)))
        yield InputRow(number, dict(zip(columns, named, strict=True)), problem)


# --- writing ------------------------------------------------------------------------------------


class _Sheet:
    """Typed cell writing on one XlsxWriter worksheet, tracking column widths."""

    def __init__(self, workbook: Any, escape_formulas: bool = False) -> None:
        self.sheet = workbook.add_worksheet("Data")
        self.bold = workbook.add_format({"bold": True})
        # Excel's own mark of "this is text, though it starts like a formula": what typing
        # '=1+1 in a cell gives. The value stays =1+1 (no ' in it), shown as typed, and editing
        # the cell does not turn it into a formula.
        self.escape = escape_formulas
        self.quoted = workbook.add_format({"quote_prefix": True})
        self.bold_quoted = workbook.add_format({"bold": True, "quote_prefix": True})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.time = workbook.add_format({"num_format": "hh:mm:ss"})
        self.duration = workbook.add_format({"num_format": "[h]:mm:ss"})
        self.widths: list[int] = []

    def _width(self, column: int, width: int) -> None:
        if column >= len(self.widths):
            self.widths.extend([0] * (column + 1 - len(self.widths)))
        self.widths[column] = max(self.widths[column], min(width, _MAX_WIDTH))

    def text(self, row: int, column: int, value: str, fmt: Any = None) -> None:
        if len(value) > _EXCEL_MAX_TEXT // 2 and len(value.encode("utf-16-le")) // 2 > (
            _EXCEL_MAX_TEXT
        ):
            raise InvalidInputError(
                f"Row {row + 1}, column {column + 1} holds {len(value):,} characters; an Excel "
                f"cell holds at most {_EXCEL_MAX_TEXT:,}. Write the file as .csv instead."
            )
        if self.escape and value[:1] in FORMULA_TRIGGERS and runs_as_formula(value):
            fmt = self.bold_quoted if fmt is self.bold else self.quoted
        self.sheet.write_string(row, column, value, fmt)
        self._width(column, max((len(line) for line in value.splitlines()), default=0))

    def value(self, row: int, column: int, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str):
            self.text(row, column, value)
        elif isinstance(value, bool):
            self.sheet.write_boolean(row, column, value)
            self._width(column, 5)
        elif isinstance(value, dt.datetime):
            self.sheet.write_datetime(row, column, value, self.datetime)
            self._width(column, 19)
        elif isinstance(value, dt.date):
            self.sheet.write_datetime(row, column, value, self.date)
            self._width(column, 10)
        elif isinstance(value, dt.time):
            self.sheet.write_datetime(row, column, value, self.time)
            self._width(column, 8)
        elif isinstance(value, dt.timedelta):
            self.sheet.write_datetime(row, column, value, self.duration)
            self._width(column, 10)
        elif isinstance(value, int):
            if abs(value) >= _EXCEL_EXACT_INTEGER:
                self.text(row, column, str(value))
            else:
                self.sheet.write_number(row, column, value)
                self._width(column, len(str(value)))
        elif isinstance(value, float | Decimal):
            self.sheet.write_number(row, column, float(value))
            self._width(column, min(len(render_text(value)), 15))
        else:
            self.text(row, column, render_text(value))

    def finish(self, header_widths: list[int]) -> None:
        for column, width in enumerate(self.widths):
            header = header_widths[column] if column < len(header_widths) else 0
            self.sheet.set_column(column, column, max(width, header, 8) + 2)


def write_xlsx(
    path: Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    header: bool = True,
    escape_formulas: bool = False,
) -> int:
    """Write the header (unless ``header`` is False) and the rows to a new workbook at ``path``;
    the number of rows written.

    XlsxWriter in ``constant_memory`` mode, one sheet "Data"; bold, frozen header row; dates and
    date-times as real Excel dates; numbers as numbers (integers of 16 digits or more as text,
    because Excel keeps only 15 significant digits); text always as text, so "02139" keeps its
    zero and "=1+1" is not a formula. With ``escape_formulas``, a text that starts like a
    formula is also marked as Excel marks a typed ``'=1+1`` (the cell's quote prefix): the value
    is unchanged, and editing the cell in Excel keeps it text.
    """
    import xlsxwriter

    if len(columns) > _EXCEL_MAX_COLUMNS:
        raise InvalidInputError(
            f"{len(columns):,} columns do not fit in an Excel sheet (at most "
            f"{_EXCEL_MAX_COLUMNS:,}). Write the file as .csv instead."
        )
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "remove_timezone": True,
            "nan_inf_to_errors": True,
        },
    )
    top = 1 if header else 0  # the sheet row of the first data row (0-based)
    try:
        sheet = _Sheet(workbook, escape_formulas)
        if header:
            for column, name in enumerate(columns):
                sheet.text(0, column, render_text(name), sheet.bold)
            sheet.sheet.freeze_panes(1, 0)
        header_widths = list(sheet.widths)
        sheet.widths = []
        count = 0
        for count, row in enumerate(rows, start=1):
            if count + top > _EXCEL_MAX_ROWS:
                raise InvalidInputError(
                    f"More than {_EXCEL_MAX_ROWS - top:,} rows do not fit in an Excel sheet. "
                    f"Write the file as .csv instead."
                )
            if len(row) > _EXCEL_MAX_COLUMNS:
                raise InvalidInputError(
                    f"Row {count + top} has {len(row):,} values; an Excel sheet holds at most "
                    f"{_EXCEL_MAX_COLUMNS:,} columns. Write the file as .csv instead."
                )
            for column, value in enumerate(row):
                sheet.value(count + top - 1, column, value)
        sheet.finish(header_widths)
    finally:
        workbook.close()
    return count
