"""How big an input file may be in the ways that cost memory or time, checked before (or while)
it is read, each refused with a message that says which limit and how to get under it.

The defaults are generous for real files and far below what hurts a server:

* A workbook (XLSX is a zip archive) is checked from its directory before any of it is
  unpacked: at most :attr:`InputLimits.max_unpacked_bytes` (1 GiB) unpacked in all, which holds a
  full-height Excel sheet (1,048,576 rows) of about 20 columns; no entry over
  :attr:`~InputLimits.ratio_floor` (4 MiB) unpacked that is more than
  :attr:`~InputLimits.max_ratio` (100) times its packed size (real sheets pack 5 to 20 times;
  a "zip bomb" about 1,000 times); at most :attr:`~InputLimits.max_entries` (10,000) entries.
  The reader (python-calamine) refuses an entry that unpacks to more than the directory says, so
  the declared sizes bound what is unpacked.
* A row holds at most :attr:`~InputLimits.max_columns` (16,384, Excel's own limit) columns, a
  column name at most :attr:`~InputLimits.max_name_chars` (1,000) characters.
* A CSV cell holds at most :attr:`~InputLimits.max_cell_chars` (1,048,576: 32 times what an
  Excel cell holds), a CSV row at most :attr:`~InputLimits.max_row_chars` (16,777,216)
  characters, so a quote that never closes, or a file with no line break, is refused after a
  few megabytes instead of being held whole.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InputLimits", "describe_bytes"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class InputLimits:
    """The limits an input file is read under (see the module docstring for why each)."""

    max_unpacked_bytes: int = 1024 * MiB
    max_ratio: int = 100
    ratio_floor: int = 4 * MiB
    max_entries: int = 10_000
    max_columns: int = 16_384
    max_name_chars: int = 1_000
    max_cell_chars: int = 1024 * 1024
    max_row_chars: int = 16 * 1024 * 1024


def describe_bytes(size: int) -> str:
    """``size`` for people: "512 bytes", "3.4 MB", "1.2 GB" (powers of 1,024, as Windows shows)."""
    if size < 1024:
        return f"{size:,} bytes"
    value, units = size / 1024, ["KB", "MB", "GB", "TB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{value:,.1f}".removesuffix(".0") + f" {units[0]}"
