"""Showing runs: what was read, the outcome counts, the rows with their changes, the errors.

Shared by ``idms run``, ``idms import`` and ``idms runs``. Values shown here come from the run
record (JSON: dates as ISO text, decimals as text, multi-select values as lists).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from idms.cli.output import err, new_table, out, print_line, print_table
from idms.runs.status import RunStatus

if TYPE_CHECKING:
    from idms.runs.record import RunInfo, RunStore
    from idms.runs.rows import RowResult

# The outcome rows of a counts table, in this order; the run's "rows" is their sum.
COUNT_ROWS = (
    ("inserted", "inserted"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("deleted", "deleted"),
    ("skipped", "skipped"),
    ("errors", "errors"),
)
STATUS_TEXT: dict[str, tuple[str, str]] = {
    RunStatus.SUCCEEDED: ("succeeded", "green"),
    RunStatus.COMPLETED_WITH_ERRORS: ("completed with errors", "yellow"),
    RunStatus.FAILED: ("failed", "red"),
    RunStatus.CANCELLED: ("cancelled", "red"),
    RunStatus.PLANNED: ("planned", "cyan"),
    RunStatus.RUNNING: ("running", "cyan"),
}
OUTCOME_STYLE = {
    "inserted": "green",
    "updated": "cyan",
    "unchanged": "dim",
    "deleted": "magenta",
    "skipped": "yellow",
    "error": "red",
}
ARROW = "→"
STAMPS = frozenset({"CreatedOn", "UpdatedOn"})  # set by the store on every write: not news

Progress_ = Callable[[int], None]


def error_file_of(info: RunInfo) -> Path | None:
    """The failed-rows file the run wrote, if it is still there."""
    path = Path(info.error_file) if info.error_file else None
    return path if path is not None and path.is_file() else None


# ---- progress ------------------------------------------------------------------------------


class RateColumn(ProgressColumn):
    """Rows per second, once there is enough to measure."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "", style="dim")


class RowsColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{int(task.completed):,} rows")


@contextmanager
def row_progress(
    description: str, *, on_stderr: bool = False, total: int | None = None
) -> Iterator[Progress_ | None]:
    """A progress callback (rows done so far) drawing a bar on a terminal; None otherwise.

    Without ``total`` the bar pulses while the count and the rate go up; with it, the bar fills
    and says how long is left. ``on_stderr`` draws it on standard error (when stdout carries
    JSON).
    """
    console = err() if on_stderr else out()
    if not console.is_terminal:
        yield None
        return
    columns = (
        [MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
        if total is not None
        else [RowsColumn(), RateColumn(), TimeElapsedColumn()]
    )
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        *columns,
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def report(done: int) -> None:
            bar.update(task, completed=done)

        yield report


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def rate_text(self, rows: int) -> str:
        seconds = max(time.monotonic() - self.started, 1e-6)
        rate = f", {rows / seconds:,.0f} rows/s" if rows else ""
        return f"{rows:,} row{'' if rows == 1 else 's'} in {seconds:.1f} s{rate}"


# ---- what was read -------------------------------------------------------------------------


def describe_detected(detected: Mapping[str, Any]) -> str:
    """What the reader found, in words: "CSV, windows-1250 (detected, 97% sure), ';'-separated,
    ..., 5 columns"."""
    from idms.io.detect import Detected

    try:
        found = Detected.from_dict(detected)
    except (KeyError, TypeError, ValueError):
        return ", ".join(f"{k} {v}" for k, v in detected.items() if v not in (None, "", []))
    return found.describe()


# ---- counts --------------------------------------------------------------------------------


def status_text(status: str, *, explain: bool = False) -> Text:
    words, style = STATUS_TEXT.get(status, (status, ""))
    if explain and status == RunStatus.PLANNED:
        words += " (nothing was written)"
    return Text(words, style=f"bold {style}".strip())


def print_counts(counts: Mapping[str, int], *, title: str | None = None) -> None:
    """The outcome counts as a small table, with the total of rows."""
    table = new_table("Outcome", "Rows", title=title)
    table.columns[1].justify = "right"
    for key, label in COUNT_ROWS:
        value = int(counts.get(key, 0))
        style = OUTCOME_STYLE.get("error" if key == "errors" else key, "")
        table.add_row(Text(label, style=style if value else "dim"), f"{value:,}")
    table.add_row(Text("total", style="bold"), Text(f"{int(counts.get('rows', 0)):,}", "bold"))
    print_table(table)


# ---- rows ----------------------------------------------------------------------------------


def value_text(value: Any) -> str:
    if value is None or value == "":
        return "(blank)"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "(none)"
    return str(value)


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def identity_text(identity: Any) -> str:
    """The record a row touched: "ImisId 1042", or several separated by "; "."""
    parts = []
    for one in _many(identity):
        if isinstance(one, Mapping):
            parts.append(", ".join(f"{k} {value_text(v)}" for k, v in one.items()))
    return "; ".join(parts)


def _values_text(values: Any, skip: Iterable[str] = ()) -> str:
    """Field=value pairs, blanks left out (and the ``skip`` fields, shown elsewhere)."""
    left_out = {*skip, *STAMPS}
    blocks = []
    for one in _many(values):
        if isinstance(one, Mapping):
            blocks.append(
                ", ".join(
                    f"{k}={value_text(v)}"
                    for k, v in one.items()
                    if v not in (None, "", []) and k not in left_out
                )
            )
    return "\n".join(blocks)


def _diff_text(before: Any, after: Any) -> str:
    befores, afters = _many(before), _many(after)
    blocks = []
    for i, new in enumerate(afters):
        old = befores[i] if i < len(befores) and isinstance(befores[i], Mapping) else {}
        if not isinstance(new, Mapping):
            continue
        lines = [
            f"{k}: {value_text(old.get(k))} {ARROW} {value_text(v)}"
            for k, v in new.items()
            if old.get(k) != v
        ]
        blocks.append("\n".join(lines))
    return "\n".join(b for b in blocks if b)


def details_text(row: RowResult) -> str:
    """What happened to one row, in words: the change, or why there was none."""
    identity = {k for one in _many(row.identity) if isinstance(one, Mapping) for k in one}
    if row.outcome == "inserted":
        text = _values_text(row.after, skip=identity)
    elif row.outcome == "updated":
        text = _diff_text(row.before, row.after)
    elif row.outcome == "deleted":
        text = _values_text(row.before, skip=identity)
    else:
        text = ""
    if row.message:
        text = f"{text}\n{row.message}" if text else row.message
    return text


def first_rows(
    store: RunStore, run_id: str, outcomes: Iterable[str] | None = None, limit: int = 0
) -> list[RowResult]:
    """The first ``limit`` rows of a run (all of them for 0), with these outcomes if given."""
    wanted = list(outcomes) if outcomes is not None else None
    rows = store.rows(run_id, outcomes=wanted)
    try:
        return list(islice(rows, limit) if limit else rows)
    finally:
        close = getattr(rows, "close", None)  # a generator: let go of its session now
        if close is not None:
            close()


def print_rows(rows: Iterable[RowResult], *, title: str) -> int:
    """Rows as a table (row number, outcome, record, details); how many were shown."""
    table = new_table(
        "Row", "Outcome", "Record", "Details", title=title, no_wrap=("Row", "Outcome")
    )
    table.columns[0].justify = "right"
    shown = 0
    for row in rows:
        table.add_row(
            str(row.row_number),
            Text(row.outcome, style=OUTCOME_STYLE.get(row.outcome, "")),
            identity_text(row.identity),
            details_text(row),
        )
        shown += 1
    if shown:
        print_table(table)
    return shown


def print_errors(rows: Iterable[RowResult], *, total: int, limit: int = 10) -> None:
    """The first ``limit`` errors, one line each: "Row 7, column 'E-mail': message"."""
    from idms.io.errorfile import error_text

    listed = list(rows)
    if not listed:
        return
    heading = "Errors" if total <= len(listed) else f"Errors (the first {len(listed)} of {total:,})"
    print_line(heading, style="bold red")
    for row in listed:
        print_line(f"  {error_text(row)}")


# ---- runs as data --------------------------------------------------------------------------


def run_dict(info: RunInfo) -> dict[str, Any]:
    """A run as JSON: the ``--json`` summary of INTERFACES.md, then what else is known of it."""
    error_file = error_file_of(info)
    return {**info.as_dict(), "error_file": str(error_file) if error_file else None}


def row_dict(row: RowResult) -> dict[str, Any]:
    return {
        "row_number": row.row_number,
        "outcome": row.outcome,
        "code": row.code,
        "message": row.message,
        "field": row.field,
        "column": row.column,
        "identity": row.identity,
        "before": row.before,
        "after": row.after,
    }


def print_next_steps(prefix: str, run_id: str, *, plan: bool, errors: int, undo: bool) -> None:
    """What to do next, as commands to copy (terminal only)."""
    steps: list[tuple[str, str]] = [(f"runs show {run_id}", "every row with its outcome")]
    if errors:
        steps.append(
            (f"runs errors {run_id} -o failed.xlsx", "the failed rows, to fix and import again")
        )
    if plan:
        steps.append(("(the same command without --plan)", "to run it for real"))
    elif undo:
        steps.append((f"runs undo {run_id}", "put back what this run changed"))
    print_line()
    print_line("Next:", style="bold")
    width = max(len(command) for command, _ in steps) + len(prefix) + 1
    for command, what in steps:
        text = command if command.startswith("(") else f"{prefix} {command}"
        line = Text(f"  {text:<{width}}", style="bold")
        line.append(f"  {what}", style="dim")
        out().print(line, soft_wrap=True)
