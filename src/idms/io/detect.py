"""What a file looks like: its encoding, its CSV dialect and its header row, sniffed or given.

:class:`Detected` is what a reader found (or was told), shown to people before anything is
written. Detection, when the job says ``auto``:

* encoding: see :mod:`idms.io.encoding` (a byte-order mark, valid UTF-8, or the content weighed,
  refused when it does not tell).
* delimiter: ``csv.Sniffer`` over the first lines from the header on, limited to ``, ; tab |``; its
  pick is kept when it occurs in the header line, otherwise the candidate that splits the header
  line into the most columns is taken; ``,`` when the header has none (one column). ``.tsv`` files
  default to tab.
* quote character: ``"``, unless the sniffer finds ``'`` and the header line itself is quoted with
  it (an apostrophe in data, as in "'s-Hertogenbosch", must not switch the quoting).

The header row's checks (no nameless column in the middle, no repeated name) are shared by the
CSV and the XLSX reader: :func:`column_names`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from idms.errors import InvalidInputError, printable
from idms.io.encoding import describe_encoding
from idms.io.limits import InputLimits

__all__ = [
    "DELIMITER_NAMES",
    "Detected",
    "column_names",
    "detect_dialect",
    "is_auto",
    "is_blank",
    "join_and",
    "one_character",
]

_SNIFF_LINES = 50
_SNIFF_CHARS = 16 * 1024
_CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {
    "tab": "\t",
    "\\t": "\t",
    "comma": ",",
    "semicolon": ";",
    "pipe": "|",
    "space": " ",
}


@dataclass(frozen=True)
class Detected:
    """What a reader found (or was told): enough to explain how the file was read."""

    format: Literal["csv", "xlsx", "query", "rows"]
    columns: tuple[str, ...]
    header_row: int
    encoding: str | None = None  # csv: e.g. "utf-8-sig" (BOM), "utf-8", "utf-16", "windows-1250"
    # csv: why that encoding ("given", "bom", "nul-bytes", "utf-8", "detected") and, when detected
    # from the content, how sure (0..1); see idms.io.encoding
    encoding_basis: str | None = None
    encoding_confidence: float | None = None
    delimiter: str | None = None
    quotechar: str | None = None
    sheet: str | None = None  # xlsx
    sheets: tuple[str, ...] = ()  # xlsx: all sheet names
    query: str | None = None  # query: the saved query's name (or IQA path); rows: their origin
    params: tuple[tuple[str, str], ...] = ()  # query: the prompts' values, as text

    def describe(self) -> str:
        """One line for people, e.g. "CSV, windows-1250 (detected, 97% sure), ';'-separated,
        ..., 12 columns"."""
        count = len(self.columns)
        columns = f"{count} column" if count == 1 else f"{count} columns"
        if self.format == "query":
            given = ", ".join(f"{k}={v}" for k, v in self.params)
            with_params = f" with {given}" if given else ""
            return f"saved query {self.query!r}{with_params}, {columns}"
        if self.format == "rows":
            return f"rows handed over by {self.query}, {columns}"
        if self.format == "xlsx":
            return (
                f"Excel workbook, sheet {self.sheet!r} (of {len(self.sheets)}), "
                f"header on row {self.header_row}, {columns}"
            )
        separator = "tab-separated" if self.delimiter == "\t" else f"{self.delimiter!r}-separated"
        return (
            f"CSV, {self.encoding_text()}, {separator}, quoted with {self.quotechar!r}, "
            f"header on row {self.header_row}, {columns}"
        )

    def encoding_text(self) -> str:
        """The encoding and why: "windows-1250 (detected, 97% sure)", "utf-8 (valid UTF-8)"."""
        if self.encoding is None:
            return "encoding unknown"
        return describe_encoding(self.encoding, self.encoding_basis, self.encoding_confidence)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Detected:
        """What :meth:`to_dict` gave (as a run record keeps it); raises KeyError, TypeError or
        ValueError when it is not that."""
        confidence = data.get("encoding_confidence")
        return cls(
            format=data["format"],
            columns=tuple(data.get("columns") or ()),
            header_row=int(data.get("header_row") or 1),
            encoding=data.get("encoding"),
            encoding_basis=data.get("encoding_basis"),
            encoding_confidence=float(confidence) if confidence is not None else None,
            delimiter=data.get("delimiter"),
            quotechar=data.get("quotechar"),
            sheet=data.get("sheet"),
            sheets=tuple(data.get("sheets") or ()),
            query=data.get("query"),
            params=tuple((data.get("params") or {}).items()),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return {
            "format": self.format,
            "columns": list(self.columns),
            "header_row": self.header_row,
            "encoding": self.encoding,
            **(
                {
                    "encoding_basis": self.encoding_basis,
                    "encoding_confidence": self.encoding_confidence,
                }
                if self.encoding_basis
                else {}
            ),
            "delimiter": self.delimiter,
            "quotechar": self.quotechar,
            "sheet": self.sheet,
            "sheets": list(self.sheets),
            **({"query": self.query, "params": dict(self.params)} if self.query else {}),
        }


# --- the header row ------------------------------------------------------------------------


def column_names(
    cells: list[str],
    header_row: int,
    label: Callable[[int], str],
    where: str,
    skip_leading: bool = False,
    limits: InputLimits = InputLimits(),
) -> tuple[int, tuple[str, ...]]:
    """The index of the first named cell and the column names of a header row.

    Cells are stripped (and a stray BOM removed); trailing empty cells are dropped, and leading
    ones too with ``skip_leading`` (a sheet whose table starts in column C under a title in A1).
    ``label(i)`` names the i-th (0-based) cell for messages ("4", or "D" in a sheet). A header
    of more than ``limits.max_columns`` columns (Excel's 16,384), or with a name longer than
    ``limits.max_name_chars``, is refused.
    """
    names = [cell.strip().lstrip("\ufeff").strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    if len(names) > limits.max_columns:
        raise InvalidInputError(
            f"The header row (row {header_row}) of {where} has {len(names):,} columns; idms "
            f"reads at most {limits.max_columns:,} (as many as an Excel sheet holds). Remove "
            f"the columns the job does not need, or check that the delimiter is right."
        )
    for i, name in enumerate(names):
        if len(name) > limits.max_name_chars:
            raise InvalidInputError(
                f"Column {label(i)} of {where} has a name of {len(name):,} characters in the "
                f'header row (row {header_row}), starting "{printable(name[:40])}..."; a column '
                f"name may have at most {limits.max_name_chars:,}. Is the header row the right "
                f"one (header_row), and are its quotes closed?"
            )
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
        which = join_and(nameless)
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
            f'"{printable(names[found[0]])}" (columns {join_and([label(i) for i in found])})'
            for found in duplicated
        )
        raise InvalidInputError(
            f"Duplicate column names in the header row of {where}: {listed}. "
            f"Every column needs its own name."
        )
    return first, tuple(names[first:])


def join_and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- encoding and dialect --------------------------------------------------------------------


def is_auto(setting: str | None) -> bool:
    return not setting or setting.strip().lower() == "auto"


def one_character(value: str, setting: str, names: dict[str, str]) -> str:
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


def detect_dialect(
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
