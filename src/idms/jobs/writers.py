"""Writing tables (the failed-rows file, exports) as CSV or XLSX, streaming row by row.

* ``.csv``: UTF-8 with a byte-order mark (so Excel shows accents right), comma-separated, minimal
  quoting, ``\\r\\n`` line ends. Values as text: None -> "", dates as ``YYYY-MM-DD``, date-times as
  ``YYYY-MM-DD HH:MM:SS``, booleans as ``True``/``False``, numbers without exponent, tuples and
  lists joined with ",".
* ``.xlsx``: XlsxWriter in ``constant_memory`` mode; bold, frozen header row; dates and date-times
  as real Excel dates; numbers as numbers (integers of 16 digits or more as text, because Excel
  keeps only 15 significant digits); text always as text, so "02139" keeps its zero and "=1+1" is
  not a formula.

Both write to a temporary file next to the target and rename it at the end, so a failure never
leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import math
import os
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from idms.errors import InvalidInputError

__all__ = ["WRITE_EXTENSIONS", "render_text", "write_table"]

WRITE_EXTENSIONS = (".csv", ".xlsx")

_EXCEL_MAX_ROWS = 1_048_576
_EXCEL_MAX_COLUMNS = 16_384
_EXCEL_MAX_TEXT = 32_767
_EXCEL_EXACT_INTEGER = 10**15  # Excel keeps 15 significant digits
_MAX_WIDTH = 60


def write_table(path: str | Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write ``columns`` as a header row and then ``rows``; return the number of rows written.

    The format follows the extension (.csv or .xlsx); rows are consumed one at a time.
    """
    path = Path(path)
    extension = path.suffix.lower()
    if extension not in WRITE_EXTENSIONS:
        shown = f"'{path.suffix}'" if path.suffix else "no extension"
        raise InvalidInputError(
            f"Cannot write {path.name}: files with {shown} are not supported. "
            f"Use {' or '.join(WRITE_EXTENSIONS)}."
        )
    if not path.parent.is_dir():
        raise InvalidInputError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        if extension == ".csv":
            count = _write_csv(temporary, columns, rows)
        else:
            count = _write_xlsx(temporary, columns, rows)
        os.replace(temporary, path)
    except OSError as exc:
        raise InvalidInputError(f"Cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    return count


# --- CSV ----------------------------------------------------------------------------------------


def render_text(value: Any) -> str:
    """A value as CSV text (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f") if math.isfinite(value) else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple | list):
        return ",".join(render_text(item) for item in value)
    return str(value)


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow([render_text(name) for name in columns])
        for row in rows:
            writer.writerow([render_text(value) for value in row])
            count += 1
    return count


# --- XLSX ---------------------------------------------------------------------------------------


class _Sheet:
    """Typed cell writing on one XlsxWriter worksheet, tracking column widths."""

    def __init__(self, workbook: Any) -> None:
        self.sheet = workbook.add_worksheet("Data")
        self.bold = workbook.add_format({"bold": True})
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


def _write_xlsx(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
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
    try:
        sheet = _Sheet(workbook)
        for column, name in enumerate(columns):
            sheet.text(0, column, render_text(name), sheet.bold)
        header_widths = list(sheet.widths)
        sheet.widths = []
        sheet.sheet.freeze_panes(1, 0)
        count = 0
        for count, row in enumerate(rows, start=1):
            if count >= _EXCEL_MAX_ROWS:
                raise InvalidInputError(
                    f"More than {_EXCEL_MAX_ROWS - 1:,} rows do not fit in an Excel sheet. "
                    f"Write the file as .csv instead."
                )
            if len(row) > _EXCEL_MAX_COLUMNS:
                raise InvalidInputError(
                    f"Row {count + 1} has {len(row):,} values; an Excel sheet holds at most "
                    f"{_EXCEL_MAX_COLUMNS:,} columns. Write the file as .csv instead."
                )
            for column, value in enumerate(row):
                sheet.value(count, column, value)
        sheet.finish(header_widths)
    finally:
        workbook.close()
    return count
