"""Shared printing: Rich tables on a terminal, JSON with ``--json``, errors in red on stderr.

Nothing printed carries a control character from the data: both consoles pass every piece of text
through :func:`~idms.errors.printable` as it is rendered (a cell or a column name read from a
file, such as ``"\\x1b]0;title\\x07"``, shows as that text instead of retitling the terminal),
and tab-separated output does the same in :func:`tsv_text`. Rich's own styling is added after.

Typed values (dates, Decimals, multi-select tuples) are shown with
:func:`~idms.values.coerce.to_text`; in JSON, dates and datetimes are ISO strings and Decimals
strings of plain digits (never floats, so no cents are lost).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import typer
from rich import box
from rich.console import (
    Console,
    ConsoleOptions,
    ConsoleRenderable,
    RenderableType,
    RenderHook,
    RenderResult,
)
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from idms import jsontext
from idms.errors import EXIT_FAILED, printable
from idms.sources.model import SourceDef
from idms.values.types import FieldType

# A terminal table of records hides the columns empty in every row when it has more than this.
MANY_COLUMNS = 8


# Piped output has no screen to fit: tables are laid out this wide unless COLUMNS says otherwise.
PIPED_WIDTH = 200


class _Printable:
    """A renderable whose text segments are made :func:`~idms.errors.printable` (line breaks
    kept); Rich's control segments (cursor moves it makes itself) pass as they are."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            if segment.control:
                yield segment
            else:
                yield Segment(printable(segment.text, lines=True), segment.style)


class _PrintableHook(RenderHook):
    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Printable(r) for r in renderables]


def _console(**options: Any) -> Console:
    console = Console(highlight=False, **options)
    console.push_render_hook(_PrintableHook())
    return console


def out() -> Console:
    """A console on the current stdout (made per call: tests swap ``sys.stdout``)."""
    console = _console()
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = PIPED_WIDTH
    return console


def err() -> Console:
    return _console(stderr=True)


def stdout_is_terminal() -> bool:
    return out().is_terminal


def stdin_is_terminal() -> bool:
    """Whether someone can answer a question (a confirmation) on standard input."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


def confirm_or_stop(question: str, *, yes: bool, cancelled: str = "nothing deleted") -> None:
    """Ask ``question`` on a terminal (not with ``--yes``, nor without a terminal to answer
    on); a no ends the command: "Cancelled: ``cancelled``.", exit 1."""
    if yes or not stdin_is_terminal() or typer.confirm(question):
        return
    print_note(f"Cancelled: {cancelled}.")
    raise typer.Exit(EXIT_FAILED)


def print_error(message: str) -> None:
    """``message`` in red on stderr, never wrapped mid-line, markup characters left alone."""
    err().print(Text(message, style="bold red"), soft_wrap=True)


def print_note(message: str, *, style: str = "dim") -> None:
    """A side remark on stderr, so piped stdout stays clean."""
    err().print(Text(message, style=style), soft_wrap=True)


def print_line(message: str = "", *, style: str | None = None) -> None:
    """A plain line on stdout, no markup interpretation, no wrapping."""
    out().print(Text(message, style=style or ""), soft_wrap=True)


# ---- JSON ----------------------------------------------------------------------------------


def dumps(data: object, *, indent: bool = True) -> str:
    return jsontext.dumps(data, indent=indent)


def print_json(data: object) -> None:
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def print_json_array(items: Iterable[Mapping[str, Any]]) -> int:
    """Stream ``items`` as one JSON array; how many were written.

    The first item is fetched before anything is written, so an error raised by the query itself
    (an unknown field, say) leaves stdout empty.
    """
    iterator = iter(items)
    first = next(iterator, None)
    if first is None:
        sys.stdout.write("[]\n")
        return 0
    count = 1
    sys.stdout.write("[\n" + _indented(first))
    for item in iterator:
        sys.stdout.write(",\n" + _indented(item))
        count += 1
    sys.stdout.write("\n]\n")
    sys.stdout.flush()
    return count


def _indented(item: Mapping[str, Any]) -> str:
    return "\n".join("  " + line for line in dumps(dict(item)).splitlines())


# ---- tables --------------------------------------------------------------------------------


def new_table(
    *columns: str,
    title: str | None = None,
    no_wrap: Sequence[str] = (),
    min_width: Mapping[str, int] | None = None,
) -> Table:
    """A plain table: bold header, a rule under it, no outer frame (more room for the cells)."""
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    widths = min_width or {}
    for name in columns:
        table.add_column(name, no_wrap=name in no_wrap, overflow="fold", min_width=widths.get(name))
    return table


def print_table(table: Table) -> None:
    """The table on stdout; piped, without the padding Rich puts at the end of lines."""
    console = out()
    if console.is_terminal:
        console.print(table)
        return
    with console.capture() as captured:
        console.print(table)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    sys.stdout.flush()


def cell(value: object, ftype: FieldType = FieldType.STRING) -> str:
    """A typed value as text, the way it reads back in (dates ISO, Decimals in plain digits)."""
    from idms.values.coerce import to_text  # imported when used: --help stays quick

    return to_text(value, ftype)


def print_records(source: SourceDef, records: Sequence[Mapping[str, Any]]) -> None:
    """Records on stdout, laid out for where stdout goes.

    Piped: tab-separated lines under a header row. On a terminal: a table; with many columns,
    those empty in every row are left out; and if the table is still wider than the terminal,
    one block per record (field: value, blanks left out), like ``psql``'s expanded display.
    """
    if not records:
        print_note(f"No {source.label} records found.")
        return
    columns = list(dict.fromkeys(name for record in records for name in record))
    types = {name: _type_of(source, name) for name in columns}
    rows = [[cell(record.get(c), types[c]) for c in columns] for record in records]
    console = out()
    if not console.is_terminal:
        lines = ["\t".join(map(tsv_text, columns))]
        lines += ["\t".join(map(tsv_text, row)) for row in rows]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        return
    hidden: list[str] = []
    if len(columns) > MANY_COLUMNS:
        keep = [i for i in range(len(columns)) if any(row[i] for row in rows)] or [0]
        hidden = [c for i, c in enumerate(columns) if i not in keep]
        columns = [columns[i] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
    natural = sum(
        max(len(name), *(len(line) for row in rows for line in row[i].splitlines() or [""]))
        for i, name in enumerate(columns)
    ) + 3 * (len(columns) - 1)
    if natural <= console.width:
        table = new_table(*columns)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        if hidden:
            print_note("Empty in every row, not shown: " + ", ".join(hidden) + ".")
    else:
        _print_blocks(console, source, columns, rows)
    plural = "record" if len(records) == 1 else "records"
    print_note(f"{len(records)} {plural}.")


def _print_blocks(
    console: Console, source: SourceDef, columns: list[str], rows: list[list[str]]
) -> None:
    width = max(len(c) for c in columns)
    for number, row in enumerate(rows, start=1):
        console.rule(Text(f"{source.name} {number} of {len(rows)}", style="bold"), align="left")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", min_width=width, no_wrap=True)
        grid.add_column(overflow="fold")
        for name, text in zip(columns, row, strict=True):
            if text:
                grid.add_row(name, text)
        console.print(grid)


def _type_of(source: SourceDef, name: str) -> FieldType:
    fdef = source.find_field(name)
    return fdef.type if fdef is not None else FieldType.STRING


def tsv_text(text: str) -> str:
    """``text`` fit for one tab-separated cell: tabs and line breaks become spaces, any other
    control character its escape (:func:`~idms.errors.printable`)."""
    return printable(text.replace("\t", " ").replace("\r", " ").replace("\n", " "))
