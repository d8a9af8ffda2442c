"""A query's rows written to a file, any number of them, in constant memory.

The format follows the extension:

* ``.csv``: as :func:`~idms.jobs.writers.write_table` writes it (UTF-8 with a byte-order mark,
  minimal quoting, ``\\r\\n``; values rendered by :func:`~idms.jobs.writers.render_text`).
  With ``escape_formulas`` (the default), a text cell that begins with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return gets a leading ``'``, so a spreadsheet opening the file shows it as
  text instead of running it as a formula (OWASP "CSV injection"). Only text is escaped: a number,
  a date or a Yes/No value is written as it is, even when negative.
* ``.json``: one JSON array of objects keyed by the column aliases, one object per line, written
  as the rows come: dates and date-times in ISO 8601, amounts (Decimal) as JSON numbers with
  every digit kept, multi-select values as lists, blanks as ``null``.
* ``.xlsx``: :func:`~idms.jobs.writers.write_table` (XlsxWriter in constant-memory mode): text
  cells are always text (never formulas), so they need no escaping.

Every format is written to a temporary file next to the target and renamed at the end, so a
failure never leaves a half-written file under the final name.

The CSV path is the fast one (it is benchmarked against raw ``sqlite3`` + ``csv``): rows are taken
a chunk at a time and looked at column by column with C-level operations only (``zip``,
``map(type, ...)``, ``itemgetter``, ``frozenset.isdisjoint``). A column of ``None``, ``int``,
``bool`` and ``date`` values is written by the ``csv`` module as it is (its ``str()`` is what
``render_text`` gives); a column of text is escaped cell by cell only in the chunks where a cell
actually begins with a trigger character; any other column is rendered cell by cell.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from idms.errors import InvalidInputError
from idms.jobs.writers import render_text, write_table

if TYPE_CHECKING:
    from idms.targets.base import QueryResult

__all__ = ["EXPORT_EXTENSIONS", "FORMULA_TRIGGERS", "export_query", "export_rows"]

EXPORT_EXTENSIONS = (".csv", ".json", ".xlsx")

# What a spreadsheet may take for the start of a formula (OWASP: CSV injection).
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
_first = itemgetter(0)

Progress = Callable[[int], None]

# Rows taken at a time: big enough for C-level column work to pay off, small enough to stay
# constant in memory (a few megabytes at most). Progress is reported after each chunk.
CHUNK = 4096

# Values the csv module writes exactly as render_text renders them (None -> "", str(int),
# str(bool) -> True/False, str(date) -> YYYY-MM-DD).
_AS_IS = frozenset({type(None), int, bool, dt.date})
_TEXT = frozenset({type(None), str})
_DATETIMES = frozenset({type(None), dt.datetime})


def export_query(
    result: QueryResult,
    path: str | Path,
    *,
    escape_formulas: bool = True,
    progress: Progress | None = None,
) -> int:
    """Write every row of ``result`` to ``path`` (.csv, .json or .xlsx); the number of rows.

    ``progress`` is called now and then with the number of rows written so far. The result is
    read to its end but not closed (use it as a context manager).
    """
    return export_rows(
        result.columns, result, path, escape_formulas=escape_formulas, progress=progress
    )


def export_rows(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    path: str | Path,
    *,
    escape_formulas: bool = True,
    progress: Progress | None = None,
) -> int:
    """:func:`export_query` for any header and rows of typed values."""
    path = Path(path)
    extension = path.suffix.lower()
    if extension not in EXPORT_EXTENSIONS:
        shown = f"'{path.suffix}'" if path.suffix else "no extension"
        raise InvalidInputError(
            f"Cannot write {path.name}: files with {shown} are not supported. "
            f"Use {', '.join(EXPORT_EXTENSIONS[:-1])} or {EXPORT_EXTENSIONS[-1]}."
        )
    if not path.parent.is_dir():
        raise InvalidInputError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    if extension == ".xlsx":
        return write_table(path, columns, _counted(rows, progress))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        if extension == ".csv":
            with temporary.open("w", encoding="utf-8", newline="") as file:
                file.write("\ufeff")  # the byte-order mark, as utf-8-sig writes it
                count = _write_csv(file, columns, rows, escape_formulas, progress)
        else:
            with temporary.open("w", encoding="utf-8", newline="\n") as file:
                count = _write_json(file, columns, rows, progress)
        os.replace(temporary, path)
    except OSError as exc:
        raise InvalidInputError(f"Cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    return count


def _chunks(rows: Iterable[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _counted(rows: Iterable[Sequence[Any]], progress: Progress | None) -> Iterator[Sequence[Any]]:
    if progress is None:
        yield from rows
        return
    count = 0
    for chunk in _chunks(rows):
        yield from chunk
        count += len(chunk)
        progress(count)
    if count == 0:
        progress(0)


# --- CSV ----------------------------------------------------------------------------------------


def escape_formula(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet could take it for a formula."""
    return "'" + text if text[:1] in FORMULA_TRIGGERS else text


def _escaped_text(value: str | None) -> str | None:
    return "'" + value if value and value[0] in FORMULA_TRIGGERS else value


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


def _write_csv(
    file: IO[str],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    escape: bool,
    progress: Progress | None,
) -> int:
    # The csv module writes a chunk into memory, and the file gets it in one write: one encoding
    # call per chunk instead of one per row.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    header = [render_text(name) for name in columns]
    writer.writerow([escape_formula(h) for h in header] if escape else header)
    count = 0
    for chunk in _chunks(rows):
        writer.writerows(_csv_chunk(chunk, escape))
        file.write(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
        count += len(chunk)
        if progress is not None:
            progress(count)
    file.write(buffer.getvalue())
    if progress is not None and count == 0:
        progress(0)
    return count


def _csv_chunk(chunk: list[Sequence[Any]], escape: bool) -> Iterable[Sequence[Any]]:
    """The chunk's rows as the csv module should write them (the chunk itself when it can)."""
    columns: list[Iterable[Any]] = list(zip(*chunk, strict=True))
    changed = False
    for index, values in enumerate(columns):
        kinds = set(map(type, values))
        if kinds <= _AS_IS:
            continue
        if kinds <= _TEXT:
            if escape and _any_trigger(values):
                columns[index] = map(_escaped_text, values)
                changed = True
            continue
        if kinds <= _DATETIMES:
            columns[index] = map(_datetime_text, values)
        else:
            columns[index] = map(_rendered_escaped if escape else render_text, values)
        changed = True
    return zip(*columns, strict=True) if changed else chunk


def _any_trigger(values: Iterable[str | None]) -> bool:
    """Whether any text of a text column begins with a formula trigger.

    The first characters are taken by ``itemgetter`` over the non-blank texts and checked by
    ``frozenset.isdisjoint``, which stops at the first trigger: all of it runs in C.
    """
    return not FORMULA_TRIGGERS.isdisjoint(map(_first, filter(None, values)))


# --- JSON ---------------------------------------------------------------------------------------

_json_text: Callable[[str], str] = json.encoder.encode_basestring


def _json_value(value: Any) -> str:
    encode = _JSON.get(value.__class__)
    if encode is not None:
        return encode(value)
    if isinstance(value, str):
        return _json_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, Decimal):
        return _json_decimal(value)
    if isinstance(value, dt.date | dt.time):
        return '"' + value.isoformat() + '"'
    if isinstance(value, tuple | list):
        return _json_list(value)
    return _json_text(str(value))


def _json_decimal(value: Decimal) -> str:
    if not value.is_finite():
        return "null"
    return format(value, "f")


def _json_list(value: Sequence[Any]) -> str:
    return "[" + ",".join(map(_json_value, value)) + "]"


def _json_iso(value: dt.date | dt.datetime | dt.time) -> str:
    return '"' + value.isoformat() + '"'


_JSON: dict[type, Callable[[Any], str]] = {
    str: _json_text,
    type(None): lambda _: "null",
    bool: lambda v: "true" if v else "false",
    int: int.__repr__,
    Decimal: _json_decimal,
    dt.date: _json_iso,
    dt.datetime: _json_iso,
    dt.time: _json_iso,
    tuple: _json_list,
    list: _json_list,
}


def _write_json(
    file: IO[str],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    progress: Progress | None,
) -> int:
    keys = [_json_text(render_text(name)) + ": " for name in columns]
    count = 0
    separator = "[\n"
    for chunk in _chunks(rows):
        lines = [
            "{" + ", ".join([k + _json_value(v) for k, v in zip(keys, row, strict=True)]) + "}"
            for row in chunk
        ]
        file.write(separator + ",\n".join(lines))
        separator = ",\n"
        count += len(chunk)
        if progress is not None:
            progress(count)
    file.write("[]\n" if count == 0 else "\n]\n")
    if progress is not None and count == 0:
        progress(0)
    return count
