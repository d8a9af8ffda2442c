"""What reading a file gives: the options it honours, its rows, and the reader that yields them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from idms.io.detect import Detected
from idms.io.limits import InputLimits

__all__ = ["InputReader", "InputRow", "ReadOptions"]


@dataclass(frozen=True)
class ReadOptions:
    """How to read an input file; ``auto`` lets the reader detect the setting."""

    encoding: str = "auto"  # or any Python codec name ("cp1252", "utf-16", ...)
    delimiter: str = "auto"  # or one character; "\\t" and "tab" mean tab
    quotechar: str = "auto"  # or one character
    sheet: str | None = None  # xlsx: sheet name (default: the first sheet); ignored for CSV
    header_row: int = 1  # 1-based row number of the header (rows above it are skipped)
    # Sizes refused before they cost memory or time (idms.io.limits).
    limits: InputLimits = field(default_factory=InputLimits)


@dataclass(slots=True)
class InputRow:
    """One data row: its number as the file shows it, its cells by column, and any problem.

    Not frozen: a frozen dataclass sets each field through ``object.__setattr__``, three calls
    per row, about a tenth of what reading a workbook adds per row to python-calamine's own
    iteration (bench/bench_xlsx.py). Treat it as read-only all the same."""

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
