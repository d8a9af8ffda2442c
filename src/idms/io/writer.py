"""Writing tables to files: the one place that decides where and how a file may be written.

Every table the suite writes (the failed-rows file, query exports, the demo's sample files)
goes through :func:`write_table`, so the output rules hold for all of them alike (and
``tests/architecture/test_table_writers.py`` keeps every other module off the csv module's
writers and XlsxWriter):

* the format follows the extension, and only the formats the caller accepts are written
  (a failed-rows file must be readable again: ``.csv`` or ``.xlsx``; an export may also be
  ``.json``; a workflow's Convert step may also write ``.tsv`` and ``.ndjson``);
* CSV and TSV are UTF-8 with a byte-order mark unless the caller names another ``encoding``
  (a text the encoding cannot hold is refused, naming the character), with ``\\r\\n`` line
  ends unless told otherwise, and a header row unless ``header=False``;
* the folder must exist (or is made, when the caller says so);
* the file is written to a temporary file next to the target and renamed at the end, so a
  failure never leaves a half-written file under the final name, and an existing file is only
  replaced by a complete one;
* a CSV text cell that a spreadsheet could run as a formula is escaped
  (:func:`~idms.io.cells.escape_formula`: ``'=HYPERLINK(…)``; a plain number such as ``-5`` is
  not), unless the caller says the file is for a program (``escape_formulas=False``: only a
  query export, with ``--no-escape-formulas``). The CSV reader takes the escape off again, so a
  failed-rows file imports back exactly. XLSX cells are never formulas (text is written as
  text); when escaping is asked for, such a text is also given Excel's quote prefix, so that
  editing the cell in Excel keeps it text. JSON is not opened by spreadsheets: it is never
  escaped.
* a cell the file cannot hold as asked (a character the encoding lacks; a delimiter inside a
  cell when quoting is ``none`` and there is no escape character) fails the write naming its
  row and column, and the delimiter, quote and escape characters must be printable and differ.
* a file the caller says is ``private`` (the failed-rows file: input rows, in the runs folder)
  is created 0600 (:mod:`idms.private`); an export the user asked for follows their umask.

Rows are consumed a chunk at a time, so any number of them is written in constant memory;
``progress`` is called with the number of rows written after each chunk.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idms.errors import InvalidInputError, printable
from idms.io.csv import QUOTING, CellError, write_csv
from idms.io.datetext import DateFormatter, date_formatter
from idms.io.jsonrows import write_json_rows, write_ndjson_rows
from idms.io.xlsx import write_xlsx
from idms.private import FILE_MODE, private_file, private_opener

if TYPE_CHECKING:
    from idms.targets.base import QueryResult

__all__ = [
    "CONVERT_EXTENSIONS",
    "EXPORT_EXTENSIONS",
    "TABLE_EXTENSIONS",
    "TEXT_ENCODINGS",
    "Progress",
    "check_layout",
    "export_query",
    "export_rows",
    "output_path",
    "write_table",
]

TABLE_EXTENSIONS = (".csv", ".xlsx")  # tables the readers can read back
EXPORT_EXTENSIONS = (".csv", ".json", ".xlsx")
# A workflow's Convert step: a delimited feed may also be .txt, NDJSON also .jsonl.
CONVERT_EXTENSIONS = (".csv", ".tsv", ".txt", ".json", ".ndjson", ".jsonl", ".xlsx")
TEXT_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")  # what CSV and TSV files may be written in

Progress = Callable[[int], None]

# The format an extension means when the caller names none.
_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".xlsx": "xlsx",
}

# Rows taken at a time: big enough for C-level column work to pay off, small enough to stay
# constant in memory (a few megabytes at most). Progress is reported after each chunk.
CHUNK = 2048


def output_path(
    path: str | Path, extensions: Sequence[str] = TABLE_EXTENSIONS, *, make_folder: bool = False
) -> Path:
    """``path`` checked as a file to write: an accepted extension, a folder that exists.

    With ``make_folder``, a missing folder is made instead of refused.
    """
    path = Path(path)
    if path.suffix.lower() not in extensions:
        shown = f"'{path.suffix}'" if path.suffix else "no extension"
        accepted = f"{', '.join(extensions[:-1])} or {extensions[-1]}"
        raise InvalidInputError(
            f"Cannot write {path.name}: files with {shown} are not supported. Use {accepted}."
        )
    if make_folder:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInputError(f"Cannot write {path}: {exc.strerror or exc}") from None
    if not path.parent.is_dir():
        raise InvalidInputError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    return path


def check_layout(
    delimiter: str, quotechar: str = '"', escapechar: str | None = None, quoting: str = "minimal"
) -> None:
    """Refuse a text layout that would write a file no reader can split back into its cells:
    a delimiter, quote or escape character that is not one printable character (a tab is
    allowed as a delimiter), or two of them alike."""
    named = {"delimiter": delimiter, "quote character": quotechar}
    if escapechar is not None:
        named["escape character"] = escapechar
    for what, character in named.items():
        if len(character) != 1:
            raise InvalidInputError(f"The {what} must be one character, not {character!r}.")
        if character in "\r\n":
            raise InvalidInputError(f"The {what} cannot be a line break: line breaks end the rows.")
        if not (character.isprintable() or (what == "delimiter" and character == "\t")):
            raise InvalidInputError(
                f"The {what} cannot be {character!r} (U+{ord(character):04X}), a control "
                "character: use a printable character (a tab is allowed as the delimiter)."
            )
    values = list(named.values())
    if len(set(values)) != len(values):
        raise InvalidInputError(
            "The delimiter, the quote character and the escape character must differ: "
            + ", ".join(f"{what} {character!r}" for what, character in named.items())
            + "."
        )
    if quoting not in QUOTING:
        raise InvalidInputError(f"quoting {quoting!r}: use {', '.join(QUOTING)}.")


def write_table(
    path: str | Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    extensions: Sequence[str] = TABLE_EXTENSIONS,
    escape_formulas: bool = True,
    make_folder: bool = False,
    private: bool = False,
    progress: Progress | None = None,
    header: bool = True,
    delimiter: str | None = None,
    line_ending: str = "\r\n",
    encoding: str = "utf-8-sig",
    format: str | None = None,
    quoting: str = "minimal",
    quotechar: str = '"',
    escapechar: str | None = None,
    date_format: str | None = None,
    datetime_format: str | None = None,
) -> int:
    """Write ``columns`` as a header row and then ``rows``; the number of rows written.

    The format follows the extension (one of ``extensions``), or is ``format`` (``csv``,
    ``tsv``, ``json``, ``ndjson``, ``xlsx``) when given: a pipe-separated feed may be named
    ``.txt``. See the module docstring for the rules and :mod:`idms.io.csv`, :mod:`idms.io.xlsx`
    and :mod:`idms.io.jsonrows` for the formats. ``delimiter`` (default ``,`` for CSV, a tab for
    TSV), ``quoting``, ``quotechar``, ``escapechar``, ``line_ending`` and ``encoding`` (one of
    :data:`TEXT_ENCODINGS`) shape CSV and TSV files only; ``header`` CSV, TSV and XLSX;
    ``date_format`` and ``datetime_format`` (strftime patterns) every format
    (:mod:`idms.io.datetext`). A cell the file cannot hold (a character the encoding lacks, a
    delimiter with ``quoting="none"`` and no escape character) is refused naming its row and
    column.
    """
    path = output_path(path, extensions, make_folder=make_folder)
    kind = format or _FORMATS.get(path.suffix.lower(), "xlsx")
    if kind not in _FORMATS.values():
        raise InvalidInputError(f"Cannot write {path.name} as {format}: no such format.")
    if encoding not in TEXT_ENCODINGS:
        raise InvalidInputError(
            f"Cannot write {path.name} in {encoding}: use {', '.join(TEXT_ENCODINGS)}."
        )
    delimiter = delimiter or ("\t" if kind == "tsv" else ",")
    if kind in ("csv", "tsv"):
        check_layout(delimiter, quotechar, escapechar, quoting)
    dates = date_formatter(date_format, datetime_format)
    chunks = _chunks(rows, progress, dates)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    opener = private_opener if private else None
    try:
        if kind in ("csv", "tsv"):
            with open(temporary, "w", encoding=encoding, newline="", opener=opener) as file:
                count = write_csv(
                    file,
                    columns,
                    chunks,
                    escape_formulas=escape_formulas,
                    delimiter=delimiter,
                    line_ending=line_ending,
                    header=header,
                    quoting=quoting,
                    quotechar=quotechar,
                    escapechar=escapechar,
                )
        elif kind in ("json", "ndjson"):
            write = write_json_rows if kind == "json" else write_ndjson_rows
            with open(temporary, "w", encoding="utf-8", newline="\n", opener=opener) as file:
                count = write(file, columns, chunks)
        else:
            if private:
                private_file(temporary)  # the workbook is written into it, keeping its mode
            count = write_xlsx(
                temporary,
                columns,
                chain.from_iterable(chunks),
                header=header,
                escape_formulas=escape_formulas,
            )
            if private:
                os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except OSError as exc:
        raise InvalidInputError(f"Cannot write {path}: {exc.strerror or exc}") from None
    except CellError as exc:
        where = "the header" if exc.row == 0 else f"row {exc.row:,}"
        column = printable(exc.column)
        if exc.message.startswith("the data holds"):
            raise InvalidInputError(
                f"Cannot write {path.name} in {encoding}: {exc.message} in {where}, column "
                f"{column!r}, which {encoding} cannot encode. Write it in utf-8 or utf-8-sig "
                "instead."
            ) from None
        raise InvalidInputError(
            f"Cannot write {path.name}: {where}, column {column!r}: {exc.message}."
        ) from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    return count


def export_rows(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    path: str | Path,
    *,
    escape_formulas: bool = True,
    progress: Progress | None = None,
) -> int:
    """Any header and rows of typed values to ``path`` (.csv, .json or .xlsx); the row count.

    CSV text cells are escaped against formula injection unless ``escape_formulas`` is False.
    """
    return write_table(
        path,
        columns,
        rows,
        extensions=EXPORT_EXTENSIONS,
        escape_formulas=escape_formulas,
        progress=progress,
    )


def export_query(
    result: QueryResult,
    path: str | Path,
    *,
    escape_formulas: bool = True,
    progress: Progress | None = None,
) -> int:
    """Write every row of a query's ``result`` to ``path`` (.csv, .json or .xlsx); the row count.

    ``progress`` is called now and then with the number of rows written so far. The result is
    read to its end but not closed (use it as a context manager).
    """
    return export_rows(
        result.columns, result, path, escape_formulas=escape_formulas, progress=progress
    )


def _chunks(
    rows: Iterable[Sequence[Any]], progress: Progress | None, dates: DateFormatter | None = None
) -> Iterator[list[Sequence[Any]]]:
    """The rows, ``CHUNK`` at a time, their dates written by ``dates``; ``progress`` hears the
    count once each chunk is written."""
    iterator = iter(rows)
    count = 0
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk if dates is None else [list(map(dates, row)) for row in chunk]
        count += len(chunk)
        if progress is not None:
            progress(count)
    if progress is not None and count == 0:
        progress(0)
