"""Streaming readers for the spreadsheets data managers hand in: CSV/TSV/TXT and Excel workbooks.

:func:`open_input` opens a file, reads its header row and returns an :class:`InputReader` whose
``detected`` says what was found (format, encoding, delimiter, quote character, sheet, columns), so
a run can show it before anything is written. Rows then come one at a time as :class:`InputRow`;
memory stays bounded whatever the file's size (see the XLSX caveat below).

CSV values are handed over exactly as they are in the file (never stripped, never typed: "02139"
stays "02139"); the engine decides what they mean. Excel cells keep their type (text, number,
boolean, date, date and time); whole numbers come back as ``int``.

Detection, when the job says ``auto``:

* encoding: a byte-order mark wins (UTF-8 -> ``utf-8-sig``, UTF-16 -> ``utf-16``, UTF-32 ->
  ``utf-32``); without one, many NUL bytes mean UTF-16 (``utf-16-le``/``utf-16-be`` from where the
  NULs sit); otherwise the first 64 KiB are tried as strict UTF-8 (``utf-8``), else ``cp1252``
  (Excel's "ANSI" on Windows). The rest of the file is decoded strictly while it streams: a row that
  does not fit the encoding stops the run with its row number, never with silently replaced text.
* delimiter: ``csv.Sniffer`` over the first lines from the header on, limited to ``, ; tab |``; its
  pick is kept when it occurs in the header line, otherwise the candidate that splits the header
  line into the most columns is taken; ``,`` when the header has none (one column). ``.tsv`` files
  default to tab.
* quote character: ``"``, unless the sniffer finds ``'`` and the header line itself is quoted with
  it (an apostrophe in data, as in "'s-Hertogenbosch", must not switch the quoting).

Row numbers are those of the file: for CSV the physical line on which the record starts (a record
after a quoted cell spanning two lines is one more than a spreadsheet program would show); for XLSX
the sheet's own row number (python-calamine pads the empty rows above the data, so the n-th row it
yields is sheet row n; leading empty columns are dropped by calamine, and column letters in
messages account for that).

XLSX caveat: python-calamine loads the chosen sheet's cells into compact Rust memory when the sheet
is opened (``get_sheet_by_name``); ``iter_rows`` then builds the Python values one row at a time.
So an Excel sheet costs roughly its cell count in native memory, not Python objects; CSV streams
in fixed-size chunks.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal

from idms.errors import InvalidInputError, suggest

if TYPE_CHECKING:
    from python_calamine import CalamineWorkbook

__all__ = [
    "CSV_EXTENSIONS",
    "XLSX_EXTENSIONS",
    "Detected",
    "InputReader",
    "InputRow",
    "ReadOptions",
    "open_input",
]

CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")

_SAMPLE_SIZE = 64 * 1024  # bytes read to detect the encoding and the delimiter
_CHUNK_SIZE = 64 * 1024  # bytes decoded at a time while streaming
_SNIFF_LINES = 50
_SNIFF_CHARS = 16 * 1024
_CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {
    "tab": "\t",
    "\\t": "\t",
    "comma": ",",
    "semicolon": ";",
    "pipe": "|",
    "space": " ",
}
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "utf-32": "UTF-32",
    "cp1252": "cp1252 (Windows-1252)",
}


@dataclass(frozen=True)
class ReadOptions:
    """How to read an input file; ``auto`` lets :func:`open_input` detect the setting."""

    encoding: str = "auto"  # or any Python codec name ("cp1252", "utf-16", ...)
    delimiter: str = "auto"  # or one character; "\\t" and "tab" mean tab
    quotechar: str = "auto"  # or one character
    sheet: str | None = None  # xlsx: sheet name (default: the first sheet); ignored for CSV
    header_row: int = 1  # 1-based row number of the header (rows above it are skipped)


@dataclass(frozen=True)
class Detected:
    """What :func:`open_input` found (or was told): enough to explain how the file was read."""

    format: Literal["csv", "xlsx", "query"]
    columns: tuple[str, ...]
    header_row: int
    encoding: str | None = None  # csv: e.g. "utf-8-sig" (BOM), "utf-8", "utf-16", "cp1252"
    delimiter: str | None = None
    quotechar: str | None = None
    sheet: str | None = None  # xlsx
    sheets: tuple[str, ...] = ()  # xlsx: all sheet names
    query: str | None = None  # query: the saved query's name (or IQA path)
    params: tuple[tuple[str, str], ...] = ()  # query: the prompts' values, as text

    def describe(self) -> str:
        """One line for people, e.g. "CSV, cp1252, ';'-separated, ..., 12 columns"."""
        count = len(self.columns)
        columns = f"{count} column" if count == 1 else f"{count} columns"
        if self.format == "query":
            given = ", ".join(f"{k}={v}" for k, v in self.params)
            with_params = f" with {given}" if given else ""
            return f"saved query {self.query!r}{with_params}, {columns}"
        if self.format == "xlsx":
            return (
                f"Excel workbook, sheet {self.sheet!r} (of {len(self.sheets)}), "
                f"header on row {self.header_row}, {columns}"
            )
        separator = "tab-separated" if self.delimiter == "\t" else f"{self.delimiter!r}-separated"
        return (
            f"CSV, {self.encoding}, {separator}, quoted with {self.quotechar!r}, "
            f"header on row {self.header_row}, {columns}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return {
            "format": self.format,
            "columns": list(self.columns),
            "header_row": self.header_row,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "quotechar": self.quotechar,
            "sheet": self.sheet,
            "sheets": list(self.sheets),
            **({"query": self.query, "params": dict(self.params)} if self.query else {}),
        }


@dataclass(frozen=True, slots=True)
class InputRow:
    """One data row: its number as the file shows it, its cells by column, and any problem."""

    number: int
    values: dict[str, Any]
    problem: str | None = None


class InputReader:
    """The rows of an opened input file, one at a time. Iterate once; close when done."""

    detected: Detected
    blank_rows: int

    def __init__(
        self,
        detected: Detected,
        rows: Callable[[InputReader], Iterator[InputRow]],
        closers: Iterable[Callable[[], None]],
    ) -> None:
        self.detected = detected
        self.blank_rows = 0  # fully empty rows skipped so far (``rows`` counts them here)
        self._closers = list(closers)
        self._rows = rows(self)

    def __iter__(self) -> Iterator[InputRow]:
        return self._rows

    def close(self) -> None:
        """Release the file (safe to call twice)."""
        closers, self._closers = self._closers, []
        for close in closers:
            close()

    def __enter__(self) -> InputReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_input(path: str | Path, options: ReadOptions = ReadOptions()) -> InputReader:
    """Open a CSV/TSV/TXT or XLSX/XLSM file, read its header row and say what was detected.

    Raises :class:`~idms.errors.InvalidInputError` for a missing file, an unsupported extension, an
    unknown encoding, a header row that is missing, has a nameless column in the middle, or
    repeats a column name, and (while iterating) for a row that cannot be decoded.
    """
    path = Path(path)
    extension = path.suffix.lower()
    if extension not in CSV_EXTENSIONS + XLSX_EXTENSIONS:
        shown = f"'{path.suffix}'" if path.suffix else "no extension"
        accepted = ", ".join(CSV_EXTENSIONS + XLSX_EXTENSIONS)
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
        return _open_xlsx(path, options)
    return _open_csv(path, options, default_delimiter="\t" if extension == ".tsv" else None)


# --- header checks (shared) -------------------------------------------------------------------


def _column_names(
    cells: list[str],
    header_row: int,
    label: Callable[[int], str],
    where: str,
    skip_leading: bool = False,
) -> tuple[int, tuple[str, ...]]:
    """The index of the first named cell and the column names of a header row.

    Cells are stripped (and a stray BOM removed); trailing empty cells are dropped, and leading
    ones too with ``skip_leading`` (a sheet whose table starts in column C under a title in A1).
    ``label(i)`` names the i-th (0-based) cell for messages ("4", or "D" in a sheet).
    """
    names = [cell.strip().lstrip("\ufeff").strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise InvalidInputError(
            f"Row {header_row} of {where}, the header row, is empty. If the column names are on a "
            f"later row, set header_row in the job."
        )
    first = 0
    if skip_leading:
        while not names[first]:
            first += 1
    nameless = [label(i) for i, name in enumerate(names) if not name and i >= first]
    if nameless:
        which = _join_and(nameless)
        plural = "s" if len(nameless) > 1 else ""
        raise InvalidInputError(
            f"Column{plural} {which} of {where} {'have' if plural else 'has'} no name in the "
            f"header row (row {header_row}). Give every column a name, or delete the empty column."
        )
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(names[first:], start=first):
        positions.setdefault(name.casefold(), []).append(i)
    duplicated = [found for found in positions.values() if len(found) > 1]
    if duplicated:
        listed = ", ".join(
            f'"{names[found[0]]}" (columns {_join_and([label(i) for i in found])})'
            for found in duplicated
        )
        raise InvalidInputError(
            f"Duplicate column names in the header row of {where}: {listed}. "
            f"Every column needs its own name."
        )
    return first, tuple(names[first:])


def _join_and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- CSV ----------------------------------------------------------------------------------------


class _Undecodable(Exception):
    """Raised by the line source when the bytes that follow do not fit the encoding."""

    def __init__(self, error: UnicodeDecodeError) -> None:
        super().__init__(str(error))
        self.error = error


def _split_lines(text: str, final: bool) -> tuple[list[str], str]:
    """Complete lines of ``text`` (ends kept; ``\\r\\n``, ``\\r`` or ``\\n``) and the remainder."""
    end = len(text) - 1 if not final and text.endswith("\r") else len(text)  # "\r" + next "\n"?
    cut = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
    lines: list[str] = _LINE.findall(text, 0, cut)
    rest = text[cut:]
    if final and rest:
        lines.append(rest)
        rest = ""
    return lines, rest


def _valid_prefix(decoder: codecs.IncrementalDecoder, error: UnicodeDecodeError) -> str:
    """The text of the bytes before a decoding error, or "" where the codec cannot say."""
    try:
        _, flag = decoder.getstate()
        decoder.setstate((b"", flag))
        return decoder.decode(error.object[: error.start], False)
    except Exception:  # an exotic codec: the error is then reported one line early at worst
        return ""


def _decoded_lines(raw: IO[bytes], encoding: str) -> Iterator[str]:
    """The lines of a binary stream, decoded strictly in chunks (bounded memory).

    Lines are split like ``open(..., newline="")`` does, so the csv module sees every line end.
    Undecodable bytes raise :class:`_Undecodable` once every complete line before them is out.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    pending = ""
    while True:
        chunk = raw.read(_CHUNK_SIZE)
        final = not chunk
        try:
            text = decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            lines, _ = _split_lines(pending + _valid_prefix(decoder, error), final=False)
            yield from lines
            raise _Undecodable(error) from None
        lines, pending = _split_lines(pending + text, final)
        yield from lines
        if final:
            return


def _detect_encoding(sample: bytes, at_end: bool) -> str:
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = sample[:4096]
    head = head[: len(head) - len(head) % 2]
    if head:
        even_nuls = head[0::2].count(0)
        odd_nuls = head[1::2].count(0)
        if even_nuls + odd_nuls > len(head) // 4:  # ASCII text in UTF-16: every other byte is 0
            return "utf-16-le" if odd_nuls >= even_nuls else "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, at_end)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _is_auto(setting: str | None) -> bool:
    return not setting or setting.strip().lower() == "auto"


def _check_encoding(name: str) -> str:
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise InvalidInputError(
            f"Unknown encoding '{name}'. Common ones: utf-8, cp1252 (Excel's \"ANSI\" on "
            f"Windows), utf-16, latin-1; or leave encoding out to detect it."
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise InvalidInputError(f"'{name}' is not a text encoding. Try utf-8 or cp1252.")
    return name


def _one_character(value: str, setting: str, names: dict[str, str]) -> str:
    named = names.get(value.strip().casefold()) if len(value) != 1 else None
    if named is not None:
        return named
    if len(value) != 1 or value in "\r\n":
        raise InvalidInputError(
            f"{setting} must be a single character (or 'auto'), not {value!r}."
            + (" Write 'tab' for a tab." if setting == "delimiter" else "")
        )
    return value


def _fields(line: str, delimiter: str, quotechar: str = '"') -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter, quotechar=quotechar), [])
    except csv.Error:
        return line.split(delimiter)


def _sniff(lines: list[str]) -> type[csv.Dialect] | None:
    text = "".join(lines)[:_SNIFF_CHARS]
    try:
        return csv.Sniffer().sniff(text, delimiters="".join(_CANDIDATE_DELIMITERS))
    except csv.Error:
        return None


def _detect_dialect(
    sample_lines: list[str], header_index: int, delimiter: str | None, quotechar: str | None
) -> tuple[str, str]:
    lines = sample_lines[header_index : header_index + _SNIFF_LINES] or sample_lines[-1:]
    header_line = lines[0] if lines else ""
    dialect = _sniff(lines) if lines and (delimiter is None or quotechar is None) else None
    if delimiter is None:
        splits = {d: len(_fields(header_line, d)) - 1 for d in _CANDIDATE_DELIMITERS}
        sniffed = getattr(dialect, "delimiter", None)
        if sniffed in splits and splits[sniffed] > 0:
            delimiter = sniffed
        elif max(splits.values()) > 0:
            delimiter = max(_CANDIDATE_DELIMITERS, key=lambda d: splits[d])  # first on a tie
        else:
            delimiter = ","
    if quotechar is None:
        quotechar = '"'
        if getattr(dialect, "quotechar", None) == "'":
            header_cells = header_line.split(delimiter)
            if any(cell.lstrip().startswith("'") for cell in header_cells):
                quotechar = "'"
    return delimiter, quotechar


def _encoding_error(
    path: Path, row: int, encoding: str, detected: bool, error: UnicodeDecodeError
) -> InvalidInputError:
    label = _ENCODING_LABELS.get(encoding, encoding)
    bad = error.object[error.start : error.end][:4]
    shown = " ".join(f"0x{b:02X}" for b in bad)
    shown = f"byte {shown} does not fit" if len(bad) == 1 else f"bytes {shown} do not fit"
    if encoding.replace("_", "-").lower().startswith(("utf-8", "utf8")):
        hint = 'add "encoding: cp1252" to the job (Excel\'s "ANSI" on Windows)'
    elif encoding.lower() in ("cp1252", "windows-1252"):
        hint = 'add "encoding: utf-8" to the job (or "encoding: latin-1", which reads any byte)'
    else:
        hint = 'add "encoding: utf-8" or "encoding: cp1252" to the job'
    how = "The start of the file looked like" if detected else "The job says the file is"
    return InvalidInputError(
        f"Row {row} of {path.name} could not be read as {label} ({shown}). "
        f"{how} {label}, so the file probably mixes encodings or is saved in another one: {hint}."
    )


def _open_csv(path: Path, options: ReadOptions, default_delimiter: str | None) -> InputReader:
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InvalidInputError(f"Cannot open {path}: {exc.strerror or exc}") from None
    try:
        return _start_csv(raw, path, options, default_delimiter)
    except BaseException:
        raw.close()
        raise


def _start_csv(
    raw: IO[bytes], path: Path, options: ReadOptions, default_delimiter: str | None
) -> InputReader:
    sample = raw.read(_SAMPLE_SIZE)
    at_end = len(sample) < _SAMPLE_SIZE
    raw.seek(0)
    if sample.startswith(b"PK\x03\x04"):
        raise InvalidInputError(
            f"{path.name} looks like an Excel workbook, not a text file. "
            f"Save it with the .xlsx extension (or export it as CSV)."
        )
    auto_encoding = _is_auto(options.encoding)
    encoding = _detect_encoding(sample, at_end) if auto_encoding else options.encoding.strip()
    encoding = _check_encoding(encoding)

    delimiter: str | None = default_delimiter
    if not _is_auto(options.delimiter):
        delimiter = _one_character(options.delimiter, "delimiter", _DELIMITER_NAMES)
    quotechar: str | None = None
    if not _is_auto(options.quotechar):
        quotechar = _one_character(options.quotechar, "quotechar", {})
    if delimiter is None or quotechar is None:
        sample_text = codecs.getincrementaldecoder(encoding)("replace").decode(sample, at_end)
        sample_lines, _ = _split_lines(sample_text, final=at_end)
        delimiter, quotechar = _detect_dialect(
            sample_lines, options.header_row - 1, delimiter, quotechar
        )
    if delimiter == quotechar:
        raise InvalidInputError(
            f"The delimiter and the quote character cannot both be {delimiter!r}."
        )

    lines = _decoded_lines(raw, encoding)
    records = csv.reader(
        lines, delimiter=delimiter, quotechar=quotechar, doublequote=True, strict=False
    )

    def record() -> tuple[int, list[str]] | None:
        start = records.line_num + 1
        try:
            return start, next(records)
        except StopIteration:
            return None
        except _Undecodable as exc:
            raise _encoding_error(path, start, encoding, auto_encoding, exc.error) from None
        except csv.Error as exc:
            raise InvalidInputError(
                f"Row {start} of {path.name} could not be read ({exc}). A quote ({quotechar}) "
                f"opened in this row is probably never closed."
            ) from None

    header: tuple[int, list[str]] | None = None
    for _ in range(options.header_row):
        header = record()
        if header is None:
            if options.header_row == 1:
                raise InvalidInputError(f"{path.name} is empty: it has no header row.")
            raise InvalidInputError(
                f"{path.name} has no row {options.header_row}, which the job names as the "
                f"header row (header_row)."
            )
    assert header is not None
    header_line, header_cells = header
    _, columns = _column_names(header_cells, header_line, lambda i: str(i + 1), path.name)
    detected = Detected(
        format="csv",
        columns=columns,
        header_row=header_line,
        encoding=encoding,
        delimiter=delimiter,
        quotechar=quotechar,
    )
    return InputReader(detected, lambda reader: _csv_rows(reader, record, columns), [raw.close])


def _csv_rows(
    reader: InputReader,
    record: Callable[[], tuple[int, list[str]] | None],
    columns: tuple[str, ...],
) -> Iterator[InputRow]:
    width = len(columns)
    while (found := record()) is not None:
        number, cells = found
        if all(not cell.strip() for cell in cells):
            reader.blank_rows += 1
            continue
        problem = None
        if len(cells) > width:
            used = len(cells)
            while used > width and not cells[used - 1].strip():
                used -= 1
            if used > width:
                problem = f"row {number} has {used} values but the header has {width} columns"
        values: dict[str, Any] = dict(zip(columns, cells, strict=False))
        if len(cells) < width:
            for name in columns[len(cells) :]:
                values[name] = None
        yield InputRow(number, values, problem)


# --- XLSX ---------------------------------------------------------------------------------------


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


def _open_xlsx(path: Path, options: ReadOptions) -> InputReader:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
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
    first, columns = _column_names(
        [_header_text(cell) for cell in header], options.header_row, label, where, True
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
        # _cell, inlined: this loop is the reader's whole cost on a large sheet.
        cells = [
            None
            if value == ""
            else (int(value) if type(value) is float and value.is_integer() else value)
            for value in raw_cells
        ]
        for value in cells:
            if value is not None and (type(value) is not str or value.strip()):
                break
        else:
            reader.blank_rows += 1
            continue
        if not first and len(cells) == end:  # the usual shape: nothing outside the header
            yield InputRow(number, dict(zip(columns, cells, strict=True)), None)
            continue
        problem = None
        outside = [
            i for i, value in enumerate(cells) if (i < first or i >= end) and not _is_blank(value)
        ]
        if outside:
            where = _join_and([label(i) for i in outside[:3]]) + (
                " ..." if len(outside) > 3 else ""
            )
            problem = (
                f"row {number} has a value in column {where}, which has no name in the header row"
                if len(outside) == 1
                else f"row {number} has values in columns {where}, which have no name in the "
                "header row"
            )
        named = cells[first:end]
        named.extend([None] * (len(columns) - len(named)))
        yield InputRow(number, dict(zip(columns, named, strict=True)), problem)
