"""CSV files: reading CSV/TSV/TXT as a stream of rows, decoded strictly, and writing tables.

Values are handed over exactly as they are in the file (never stripped, never typed: "02139"
stays "02139"); the engine decides what they mean. The encoding and the dialect come from
:mod:`idms.io.detect` when the job says ``auto``. The file is decoded strictly while it streams:
a row that does not fit the encoding stops the run with its row number, never with silently
replaced text.

Row numbers are the ones a spreadsheet program shows for the record: the n-th record is row n
(the header is row 1 when it is the first record), and a quoted cell holding line breaks is still
one row; a blank line is an (empty) row, as it is in Excel.

Writing (:func:`write_csv`) takes rows a chunk at a time; see its docstring for the format.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Literal

from idms.errors import InvalidInputError, printable
from idms.io.cells import ESCAPE_STARTS, escape_formula, render_text, unescape_formula
from idms.io.detect import (
    DELIMITER_NAMES,
    Detected,
    column_names,
    detect_dialect,
    is_auto,
    one_character,
)
from idms.io.encoding import EncodingFound, encoding_label, find_encoding
from idms.io.records import InputReader, InputRow, ReadOptions

__all__ = ["QUOTING", "CellError", "open_csv", "write_csv"]

_SAMPLE_SIZE = 64 * 1024  # bytes read to detect the encoding and the delimiter
_CHUNK_SIZE = 64 * 1024  # bytes decoded at a time while streaming
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
# The csv module's own cap on a cell (128 KiB by default, and process-wide) is lifted: the line
# source bounds a row (InputLimits.max_row_chars) and the reader a cell (max_cell_chars), each
# with a message that says so.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


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


class _RowTooLong(Exception):
    """Raised by the line source when the record being read passes ``max_row_chars``."""


# Given to the csv module after the last line. Outside a quoted cell it is a record of its own
# (the end); inside one, the cell swallows it: a quote that never closed.
_END = "\x00idms:end-of-file\x00"


class _Lines:
    """The lines of a binary stream, decoded strictly in chunks, then :data:`_END`.

    Lines are split like ``open(..., newline="")`` does, so the csv module sees every line end.
    Undecodable bytes raise :class:`_Undecodable` once every complete line before them is out.
    ``lines`` counts the lines given so far; ``record_chars`` the characters given since
    :meth:`new_record`, and the source raises :class:`_RowTooLong` as soon as those, with a line
    still being gathered, pass ``max_row_chars``: memory stays bounded, and each character is
    looked at a fixed number of times however long its line (a 50 MB cell took 44 seconds when
    the unfinished line was copied on every chunk).
    """

    def __init__(self, raw: IO[bytes], encoding: str, max_row_chars: int) -> None:
        self.raw = raw
        self.encoding = encoding
        self.max_row_chars = max_row_chars
        self.lines = 0
        self.record_chars = 0

    def new_record(self) -> None:
        self.record_chars = 0

    def __iter__(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        pending: list[str] = []  # pieces of the line being gathered (no line end among them)
        pending_chars = 0
        while True:
            chunk = self.raw.read(_CHUNK_SIZE)
            final = not chunk
            try:
                text = decoder.decode(chunk, final)
            except UnicodeDecodeError as error:
                lines, _ = _split_lines("".join(pending) + _valid_prefix(decoder, error), False)
                yield from self._counted(lines)
                raise _Undecodable(error) from None
            end = len(text) - 1 if not final and text.endswith("\r") else len(text)
            cut = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
            if cut:
                lines, _ = _split_lines("".join(pending) + text[:cut], final=True)
                pending, pending_chars = [], 0
                yield from self._counted(lines)
                text = text[cut:]
            if text:
                pending.append(text)
                pending_chars += len(text)
                if self.record_chars + pending_chars > self.max_row_chars:
                    raise _RowTooLong
            if final:
                if pending:
                    yield from self._counted(["".join(pending)])
                yield _END
                return

    def _counted(self, lines: list[str]) -> Iterator[str]:
        for line in lines:
            self.lines += 1
            self.record_chars += len(line)
            if self.record_chars > self.max_row_chars:
                raise _RowTooLong
            yield line


def _encoding_error(
    path: Path, row: int, found: EncodingFound, error: UnicodeDecodeError
) -> InvalidInputError:
    encoding = found.name
    label = encoding_label(encoding)
    bad = error.object[error.start : error.end][:4]
    shown = " ".join(f"0x{b:02X}" for b in bad)
    shown = f"byte {shown} does not fit" if len(bad) == 1 else f"bytes {shown} do not fit"
    if encoding.replace("_", "-").lower().startswith(("utf-8", "utf8")):
        other = "windows-1252"
        hint = (
            'add "encoding: windows-1252" (Excel\'s "ANSI" on Western Windows) or the code page '
            "it was saved in (windows-1250 Central European, windows-1251 Cyrillic, ...) to the "
            "job's input"
        )
    else:
        other = "utf-8"
        hint = 'add "encoding: utf-8" (or the code page it was saved in) to the job\'s input'
    how = (
        "The start of the file looked like"
        if found.basis != "given"
        else "The job says the file is"
    )
    return InvalidInputError(
        f"Row {row} of {path.name} could not be read as {label} ({shown}). "
        f"{how} {label}, so the file probably mixes encodings or is saved in another one: {hint}.",
        hint=f"On the command line: --encoding {other}.",
    )


def open_csv(
    path: Path,
    options: ReadOptions,
    default_delimiter: str | None,
    *,
    opener: Callable[[Path], IO[bytes]] | None = None,
) -> InputReader:
    try:
        raw = opener(path) if opener is not None else path.open("rb")
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
    given = None if is_auto(options.encoding) else options.encoding.strip()
    found = find_encoding(sample, at_end, given, path.name)
    encoding = found.name

    delimiter: str | None = default_delimiter
    if not is_auto(options.delimiter):
        delimiter = one_character(options.delimiter, "delimiter", DELIMITER_NAMES)
    quotechar: str | None = None
    if not is_auto(options.quotechar):
        quotechar = one_character(options.quotechar, "quotechar", {})
    if delimiter is None or quotechar is None:
        sample_text = codecs.getincrementaldecoder(encoding)("replace").decode(sample, at_end)
        sample_lines, _ = _split_lines(sample_text, final=at_end)
        delimiter, quotechar = detect_dialect(
            sample_lines, options.header_row - 1, delimiter, quotechar
        )
    if delimiter == quotechar:
        raise InvalidInputError(
            f"The delimiter and the quote character cannot both be {delimiter!r}."
        )

    limits = options.limits
    lines = _Lines(raw, encoding, limits.max_row_chars)
    records = csv.reader(
        lines, delimiter=delimiter, quotechar=quotechar, doublequote=True, strict=False
    )

    rows_read = 0  # records so far: a spreadsheet's row number, whatever lines they span
    columns: tuple[str, ...] = ()  # once the header is read

    def column(index: int) -> str:
        """Column ``index`` (0-based) for a message: its number, and its name when it has one."""
        named = f' ("{printable(columns[index])}")' if index < len(columns) else ""
        return f"column {index + 1}{named}"

    def record() -> tuple[int, list[str]] | None:
        nonlocal rows_read
        number = rows_read + 1
        first_line = lines.lines + 1
        lines.new_record()
        try:
            cells = next(records)
        except StopIteration:
            return None
        except _Undecodable as exc:
            raise _encoding_error(path, number, found, exc.error) from None
        except _RowTooLong:
            raise InvalidInputError(
                f"Row {number} of {path.name} (from line {first_line:,} of the file) is longer "
                f"than {limits.max_row_chars:,} characters, more than idms reads in one row. "
                f"A quote ({quotechar}) opened in it is probably never closed, or the file has "
                f"no line breaks idms recognises."
            ) from None
        except csv.Error as exc:
            raise InvalidInputError(
                f"Row {number} of {path.name} could not be read ({exc}). A quote ({quotechar}) "
                f"opened in this row is probably never closed."
            ) from None
        if cells and cells[-1].endswith(_END):
            if cells == [_END]:
                return None
            last = lines.lines
            span = f"line {last:,}" if last == first_line else f"lines {first_line:,} to {last:,}"
            raise InvalidInputError(
                f"A quote ({quotechar}) opens in row {number} of {path.name}, "
                f"{column(len(cells) - 1)}, and is never closed, so everything after it "
                f"({span} of the file) would be one cell. Close the quote, or double a quote "
                f"that is part of the text ({quotechar * 2})."
            )
        if lines.record_chars > limits.max_cell_chars:  # only a long row can hold a long cell
            for index, text in enumerate(cells):
                if len(text) > limits.max_cell_chars:
                    raise InvalidInputError(
                        f"Row {number} of {path.name}, {column(index)}, holds {len(text):,} "
                        f"characters; idms reads at most {limits.max_cell_chars:,} in a cell. "
                        f"If that cell starts with a quote ({quotechar}), the quote is probably "
                        f"closed much later than meant."
                    )
        rows_read = number
        return number, cells

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
    header_cells = [unescape_formula(cell) for cell in header_cells]
    _, columns = column_names(
        header_cells, header_line, lambda i: str(i + 1), path.name, limits=limits
    )
    detected = Detected(
        format="csv",
        columns=columns,
        header_row=header_line,
        encoding=encoding,
        encoding_basis=found.basis,
        encoding_confidence=found.confidence,
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
        if "'" in map(_first, filter(None, cells)):  # rare: the check runs in C
            cells = [unescape_formula(cell) for cell in cells]  # escape_formula's, undone
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


# --- writing ------------------------------------------------------------------------------------
#
# The fast path (benchmarked against raw ``sqlite3`` + ``csv``): rows come a chunk at a time and
# are looked at column by column with C-level operations only (``zip``, ``map(type, ...)``,
# ``itemgetter``, ``frozenset.isdisjoint``). A column of ``None``, ``int``, ``bool`` and ``date``
# values is written by the ``csv`` module as it is (its ``str()`` is what ``render_text`` gives);
# a column of text is escaped cell by cell only in the chunks where a cell actually begins with a
# trigger character; any other column is rendered cell by cell.

# Values the csv module writes exactly as render_text renders them (None -> "", str(int),
# str(bool) -> True/False, str(date) -> YYYY-MM-DD).
_AS_IS = frozenset({type(None), int, bool, dt.date})
# With quoting "nonnumeric", True/False are quoted as the texts they are (the csv module would
# take them for the numbers 1 and 0, and a nonnumeric reader could not read them back).
_AS_IS_QUOTED = _AS_IS - {bool}
_TEXT = frozenset({type(None), str})
_DATETIMES = frozenset({type(None), dt.datetime})
_NUMBERS = frozenset({type(None), int, float})
_first = itemgetter(0)


QUOTING: dict[str, Literal[0, 1, 2, 3]] = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
    "none": csv.QUOTE_NONE,
}


class CellError(Exception):
    """A cell the file cannot hold as asked: ``row`` (1 for the first row after the header; 0
    for the header), ``column`` (its name) and what is wrong (the message)."""

    def __init__(self, row: int, column: str, message: str) -> None:
        super().__init__(message)
        self.row = row
        self.column = column
        self.message = message


class _Number(str):
    """A number already rendered as text (``12.50``, every digit of a Decimal kept) that the csv
    module still takes for a number, so ``quoting: nonnumeric`` leaves it unquoted."""

    __slots__ = ()

    def __float__(self) -> float:
        return float(str(self))


def write_csv(
    file: IO[str],
    columns: Sequence[str],
    chunks: Iterable[list[Sequence[Any]]],
    *,
    escape_formulas: bool,
    delimiter: str = ",",
    line_ending: str = "\r\n",
    header: bool = True,
    quoting: str = "minimal",
    quotechar: str = '"',
    escapechar: str | None = None,
) -> int:
    """Write the header and the rows, a chunk at a time; the number of rows written.

    Comma-separated (or ``delimiter``), ``quoting`` as the csv module does it (``minimal``: only
    cells that need it; ``all``; ``nonnumeric``: all but numbers; ``none``: never, a delimiter,
    quote or line break in a cell escaped by ``escapechar`` or refused), ``\\r\\n`` line ends
    (or ``line_ending``); values as :func:`~idms.io.cells.render_text` gives them, text escaped
    with :func:`~idms.io.cells.escape_formula` when ``escape_formulas`` (numbers, dates and
    Yes/No values never are, even when negative); no header row when ``header`` is False.
    ``file`` is opened with ``newline=""`` and the encoding the file is to have (``utf-8-sig``
    by default, so that Excel shows accents right: :func:`idms.io.writer.write_table` opens it).

    :class:`CellError` names the row and column of a cell the encoding cannot hold, or that
    needs quoting when ``quoting`` is ``none`` and there is no ``escapechar``.
    """
    # The csv module writes a chunk into memory, and the file gets it in one write: one encoding
    # call per chunk instead of one per row.
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        lineterminator=line_ending,
        quoting=QUOTING[quoting],
        quotechar=quotechar,
        escapechar=escapechar,
        doublequote=True,
    )
    numbers = quoting == "nonnumeric"
    count = 0

    def put(rows: Iterable[Sequence[Any]], first: int) -> None:
        written = rows if isinstance(rows, list) else list(rows)
        try:
            writer.writerows(written)
            text = buffer.getvalue()
            file.write(text)
        except csv.Error:
            raise _unquotable(written, first, columns, delimiter, quotechar) from None
        except UnicodeEncodeError as exc:
            raise _unencodable(written, first, columns, exc) from None
        buffer.seek(0)
        buffer.truncate()

    if header:
        names = [render_text(name) for name in columns]
        put([[escape_formula(h) for h in names] if escape_formulas else names], 0)
    for chunk in chunks:
        put(_csv_chunk(chunk, escape_formulas, numbers), count + 1)
        count += len(chunk)
    return count


def _unquotable(
    rows: list[Sequence[Any]], first: int, columns: Sequence[str], delimiter: str, quotechar: str
) -> CellError:
    """The first cell of ``rows`` that needs quoting, which ``quoting: none`` forbids."""
    special = {delimiter, quotechar, "\r", "\n"}
    for number, row in enumerate(rows, start=first):
        for index, value in enumerate(row):
            text = value if isinstance(value, str) else render_text(value)
            if not special.isdisjoint(text):
                shown = {"\r": "a line break", "\n": "a line break", delimiter: "the delimiter"}
                what = shown.get(next(c for c in text if c in special), "the quote character")
                return CellError(
                    number,
                    _column_name(columns, index),
                    f"it holds {what} ({next(c for c in text if c in special)!r}), which "
                    "quoting: none cannot write without an escape character: set escape_char "
                    "(e.g. \\), or choose quoting: minimal",
                )
    return CellError(first, "?", "a cell needs quoting, which quoting: none cannot write")


def _unencodable(
    rows: list[Sequence[Any]], first: int, columns: Sequence[str], error: UnicodeEncodeError
) -> CellError:
    """The first cell of ``rows`` the file's encoding cannot hold."""
    for number, row in enumerate(rows, start=first):
        for index, value in enumerate(row):
            text = value if isinstance(value, str) else render_text(value)
            try:
                text.encode(error.encoding)
            except UnicodeEncodeError as cell:
                character = cell.object[cell.start : cell.end]
                return CellError(
                    number,
                    _column_name(columns, index),
                    f"the data holds {character!r} (U+{ord(character[0]):04X})",
                )
    character = error.object[error.start : error.end]
    return CellError(first, "?", f"the data holds {character!r} (U+{ord(character[0]):04X})")


def _column_name(columns: Sequence[str], index: int) -> str:
    return str(columns[index]) if index < len(columns) else str(index + 1)


def _csv_chunk(
    chunk: list[Sequence[Any]], escape: bool, numbers: bool = False
) -> Iterable[Sequence[Any]]:
    """The chunk's rows as the csv module should write them (the chunk itself when it can).

    ``numbers``: a float or Decimal is rendered as a :class:`_Number`, which the csv module's
    ``QUOTE_NONNUMERIC`` leaves unquoted like an int."""
    render: Callable[[Any], Any] = _rendered_escaped if escape else render_text
    if numbers:
        render = _numeric(render)
    try:
        columns: list[Iterable[Any]] = list(zip(*chunk, strict=True))
    except ValueError:  # rows of different lengths: rendered row by row
        return [[render(value) for value in row] for row in chunk]
    changed = False
    as_is = _AS_IS_QUOTED if numbers else _AS_IS
    for index, values in enumerate(columns):
        kinds = set(map(type, values))
        if kinds <= as_is:
            continue
        if kinds <= _TEXT:
            if escape and _any_trigger(values):
                columns[index] = [
                    escape_formula(v) if v and v[0] in ESCAPE_STARTS else v for v in values
                ]
                changed = True
            continue
        if kinds <= _NUMBERS and _plain_floats(values):
            continue  # the csv module's repr() of each float is render_text's text
        if kinds <= _DATETIMES:
            columns[index] = map(_datetime_text, values)
        else:
            columns[index] = map(render, values)
        changed = True
    return zip(*columns, strict=True) if changed else chunk


def _plain_floats(values: Iterable[Any]) -> bool:
    """Whether every float of a column of numbers is finite and shown without an exponent by
    ``repr`` (which the csv module uses): at least 1e-4 and below 1e16 apart from zero. Checked
    with C-level ``sum``, ``min`` and ``max`` over the column, not value by value."""
    present = list(filter(None, values))  # zeros and blanks are always written right
    if not present:
        return True
    if not math.isfinite(sum(present)):  # a NaN or an infinity, rendered as render_text does
        return False
    return bool(min(map(abs, present)) >= 1e-4 and max(map(abs, present)) < 1e16)


def _numeric(render: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def rendered(value: Any) -> Any:
        if isinstance(value, float | Decimal) and not isinstance(value, bool):
            text = render_text(value)
            return _Number(text) if value == value else text  # NaN is no number to quote
        return render(value)

    return rendered


def _escaped_text(value: str | None) -> str | None:
    return escape_formula(value) if value else value


def _rendered_escaped(value: Any) -> str:
    """Any value as text; text (and lists of codes) escaped, numbers and dates never."""
    text = render_text(value)
    if isinstance(value, str | tuple | list):
        return escape_formula(text)
    return text


def _datetime_text(value: Any) -> Any:
    if value.__class__ is dt.datetime and value.tzinfo is None:
        return value.isoformat(" ", "seconds")
    return render_text(value)


def _any_trigger(values: Iterable[str | None]) -> bool:
    """Whether any text of a text column begins with a character escaping may be about.

    The first characters are taken by ``itemgetter`` over the non-blank texts and checked by
    ``frozenset.isdisjoint``, which stops at the first trigger: all of it runs in C.
    """
    return not ESCAPE_STARTS.isdisjoint(map(_first, filter(None, values)))
