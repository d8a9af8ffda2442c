"""The failed-rows file: the rows that errored, in their original columns, plus an Error column.

Fix the cells the Error column names and import the file again with the same job: the Error
column is simply not mapped. Passwords are masked in it (``********``): type them again.
"""

from __future__ import annotations

from pathlib import Path

from idms.errors import InvalidInputError
from idms.jobs.writers import WRITE_EXTENSIONS, write_table
from idms.runs.record import RowResult, RunStore
from idms.runs.status import JOB_KINDS

ERROR_COLUMN = "Error"


def error_text(row: RowResult) -> str:
    where = f"Row {row.row_number}"
    if row.column:
        where += f", column '{row.column}'"
    return f"{where}: {row.message}"


def write_error_file(runs: RunStore, run_ref: str, path: str | Path) -> Path:
    """Write the run's failed rows to ``path`` (.csv or .xlsx); returns the path."""
    run = runs.get(run_ref)
    if run.kind not in JOB_KINDS:
        raise InvalidInputError(f"Run {run.id} is an undo; it has no input rows to write back.")
    columns = list(run.columns)
    error_column = ERROR_COLUMN
    while error_column in columns:
        error_column = f"idms {error_column}"
    target = Path(path)
    if target.suffix.lower() not in WRITE_EXTENSIONS:
        raise InvalidInputError(
            f"The failed-rows file must end in .csv or .xlsx, not '{target.suffix or target.name}'."
        )
    target.parent.mkdir(parents=True, exist_ok=True)

    def rows() -> object:
        for row in runs.rows(run.id, outcomes=["error"]):
            cells = row.input or {}
            yield [cells.get(c) for c in columns] + [error_text(row)]

    write_table(target, [*columns, error_column], rows())  # type: ignore[arg-type]
    return target
