"""The failed-rows file: the rows that errored, in their original columns, plus an Error column.

Fix the cells the Error column names and import the file again with the same job: the Error
column is simply not mapped. Passwords are masked in it (``********``): type them again.
Like every CSV idms writes, a cell a spreadsheet would run as a formula (``=HYPERLINK(…)``,
``+cmd|…``) is written with a ``'`` in front, which the reader takes off again on import.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from idms.errors import InvalidInputError
from idms.io.writer import TABLE_EXTENSIONS, write_table
from idms.runs.record import RunStore
from idms.runs.rows import RowResult
from idms.runs.status import JOB_KINDS

__all__ = ["ERROR_COLUMN", "error_text", "write_error_file"]

ERROR_COLUMN = "Error"


def error_text(row: RowResult) -> str:
    where = f"Row {row.row_number}"
    if row.column:
        where += f", column '{row.column}'"
    return f"{where}: {row.message}"


def write_error_file(runs: RunStore, run_ref: str, path: str | Path) -> Path:
    """Write the run's failed rows to ``path`` (.csv or .xlsx; the folder is made); the path."""
    run = runs.get(run_ref)
    if run.kind not in JOB_KINDS:
        raise InvalidInputError(f"Run {run.id} is an undo; it has no input rows to write back.")
    columns = list(run.columns)
    error_column = ERROR_COLUMN
    while error_column in columns:
        error_column = f"idms {error_column}"

    def rows() -> Iterator[list[Any]]:
        for row in runs.rows(run.id, outcomes=["error"]):
            cells = row.input or {}
            yield [cells.get(c) for c in columns] + [error_text(row)]

    target = Path(path)
    write_table(
        target,
        [*columns, error_column],
        rows(),
        extensions=TABLE_EXTENSIONS,
        make_folder=True,
        private=True,
    )
    return target
