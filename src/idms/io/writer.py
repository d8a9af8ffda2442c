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
  text) and JSON is not opened by spreadsheets: neither needs escaping.
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

from idms.errors import InvalidInputError
from idms.io.csv import write_csv
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
    "export_query",
    "export_rows",
    "output_path",
    "write_table",
]

TABLE_EXTENSIONS = (".csv", ".xlsx")  # tables the readers can read back
EXPORT_EXTENSIONS = (".csv", ".json", ".xlsx")
CONVERT_EXTENSIONS = (".csv", ".tsv", ".json", ".ndjson", ".xlsx")  # a workflow's Convert step
TEXT_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")  # what CSV and TSV files may be written in

Progress = Callable[[int], None]

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
) -> int:
    """Write ``columns`` as a header row and then ``rows``; the number of rows written.

    The format follows the extension (one of ``extensions``); see the module docstring for the
    rules and :mod:`idms.io.csv`, :mod:`idms.io.xlsx` and :mod:`idms.io.jsonrows` for the formats.
    ``header``, ``delimiter`` (default ``,`` for CSV, a tab for TSV), ``line_ending`` and
    ``encoding`` (one of :data:`TEXT_ENCODINGS`) shape CSV and TSV files only.
    """
    path = output_path(path, extensions, make_folder=make_folder)
    extension = path.suffix.lower()
    if encoding not in TEXT_ENCODINGS:
        raise InvalidInputError(
            f"Cannot write {path.name} in {encoding}: use {', '.join(TEXT_ENCODINGS)}."
        )
    chunks = _chunks(rows, progress)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    opener = private_opener if private else None
    try:
        if extension in (".csv", ".tsv"):
            with open(temporary, "w", encoding=encoding, newline="", opener=opener) as file:
                count = write_csv(
                    file,
                    columns,
                    chunks,
                    escape_formulas=escape_formulas,
                    delimiter=delimiter or ("\t" if extension == ".tsv" else ","),
                    line_ending=line_ending,
                    header=header,
                )
        elif extension in (".json", ".ndjson"):
            write = write_json_rows if extension == ".json" else write_ndjson_rows
            with open(temporary, "w", encoding="utf-8", newline="\n", opener=opener) as file:
                count = write(file, columns, chunks)
        else:
            if private:
                private_file(temporary)  # the workbook is written into it, keeping its mode
            count = write_xlsx(temporary, columns, chain.from_iterable(chunks))
            if private:
                os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except OSError as exc:
        raise InvalidInputError(f"Cannot write {path}: {exc.strerror or exc}") from None
    except UnicodeEncodeError as exc:
        character = exc.object[exc.start : exc.end]
        raise InvalidInputError(
            f"Cannot write {path.name} in {encoding}: the data holds {character!r} "
            f"(U+{ord(character[0]):04X}), which {encoding} cannot encode. Write it in utf-8 "
            f"or utf-8-sig instead."
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
    rows: Iterable[Sequence[Any]], progress: Progress | None
) -> Iterator[list[Sequence[Any]]]:
    """The rows, ``CHUNK`` at a time; ``progress`` hears the count once each chunk is written."""
    iterator = iter(rows)
    count = 0
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk
        count += len(chunk)
        if progress is not None:
            progress(count)
    if progress is not None and count == 0:
        progress(0)
