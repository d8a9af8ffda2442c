"""Convert (iDMS "Convert to CSV", and more): rows of the pipeline written as a file (CSV, TSV or
any other delimited text, JSON, NDJSON or XLSX) in the run's private folder, for a later step to
upload, attach or transfer. It is the one implementation of every transfer format: an export
pipeline (issue 16's iTransfer) is Fetch Query Data -> Convert -> a sending step.

The rows come as an array, as a row set (:mod:`idms.workflows.actions.rowsets`) or straight from
a saved query (``input: {query: NAME, params: {...}, limit: N}``: what a transfer without delta
hashing compiles to, the query's rows streamed into the file as tuples of cells, with no object
per row and no row set in between); they are read a batch at a time; the file is written by
:func:`idms.io.writer.write_table`, the one table writer of the suite, a chunk at a time, so a
million rows cost the memory of a few thousand. Columns are the ``columns`` asked for, else the
query's or the row set's own list, else (an array) the order in which they first appear.

A text cell a spreadsheet could run as a formula (``=HYPERLINK(…)``) is neutralised in CSV, TSV
and XLSX unless ``escape_formulas: false`` says the file is for a program. The step's output
names the file; a small text file (at most 256 KiB) is also given inline as ``content``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from operator import itemgetter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from idms.errors import IdmsError, printable, suggest
from idms.io.writer import CONVERT_EXTENSIONS, check_layout, write_table
from idms.workflows.actions._files import safe_file_name
from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult
from idms.workflows.actions.rowsets import is_row_set, iter_rows
from idms.workflows.templating import is_template

INLINE_BYTES = 256 * 1024  # a text file at most this big is also put in the output as text
LINE_ENDINGS = {"crlf": "\r\n", "lf": "\n"}
# The extensions a file of each format may have (the first is added when the name has none).
EXTENSIONS = {
    "csv": (".csv", ".txt"),
    "tsv": (".tsv", ".txt"),
    "json": (".json",),
    "ndjson": (".ndjson", ".jsonl"),
    "jsonl": (".jsonl", ".ndjson"),
    "xlsx": (".xlsx",),
}
_NESTED = frozenset({dict, list})
_BATCH = 1024  # rows looked at together for objects and arrays


class ConvertParams(BaseModel):
    """A step's ``with:`` for ``convert``."""

    model_config = ConfigDict(extra="forbid")

    input: Any = Field(
        description="The rows to write: an array of objects (each object a row, each property "
        "a column), an earlier step's row set (e.g. `{{ steps.members }}`) or a saved query "
        "read straight into the file (`{query: NAME, params: {...}, limit: N}`; params and "
        "limit optional)."
    )
    format: Literal["csv", "tsv", "json", "ndjson", "jsonl", "xlsx"] = Field(
        default="csv",
        description="csv (or any other delimiter: see `delimiter`), tsv (tab-separated), json "
        "(one array of objects), ndjson or its other name jsonl (one object a line) or xlsx "
        "(an Excel workbook, sheet 'Data').",
    )
    columns: list[str] | None = Field(
        default=None,
        min_length=1,
        description="The columns to write, in this order (others are left out). Default: a "
        "row set's own columns, or for an array the order in which columns first appear.",
    )
    header: bool = Field(
        default=True, description="CSV, TSV and XLSX: write the column names as the first row."
    )
    delimiter: str | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="CSV and TSV: the one character between cells (default `,` for CSV, a tab "
        "for TSV; `;` for a European Excel, `|` for a pipe-separated feed). Any printable "
        "character but the quote and escape characters.",
    )
    quoting: Literal["minimal", "all", "nonnumeric", "none"] = Field(
        default="minimal",
        description="CSV and TSV: which cells are put in quotes: minimal (only those holding "
        "the delimiter, a quote or a line break), all, nonnumeric (all but numbers) or none "
        "(never: such a cell needs `escape_char`, or fails the step naming its row and column).",
    )
    quote_char: str = Field(
        default='"',
        min_length=1,
        max_length=1,
        description="CSV and TSV: the quote character (a quote inside a quoted cell is doubled).",
    )
    escape_char: str | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="CSV and TSV: a character put before a delimiter, quote or line break in a "
        "cell when `quoting: none` (e.g. `\\`). Default: none.",
    )
    line_ending: Literal["crlf", "lf"] = Field(
        default="crlf", description="CSV and TSV: crlf (\\r\\n, as Excel writes) or lf (\\n)."
    )
    encoding: Literal["utf-8", "utf-8-sig", "cp1252"] = Field(
        default="utf-8-sig",
        description="CSV and TSV: utf-8-sig (UTF-8 with a byte-order mark, so Excel shows "
        "accents right), utf-8 (no mark, for programs) or cp1252 (Windows Western European; "
        "a character it cannot hold fails the step, naming its row and column). JSON, NDJSON "
        "and XLSX are always UTF-8.",
    )
    date_format: str | None = Field(
        default=None,
        description="Every format: write dates with this strftime pattern (e.g. `%d/%m/%Y`). "
        "Applies to date values and to texts that are wholly an ISO 8601 date or date-time "
        "(`2024-03-01`, `2024-03-01T09:30:00Z`), and to date-times when `datetime_format` is "
        "not given. Default: dates as they are.",
    )
    datetime_format: str | None = Field(
        default=None,
        description="Every format: the strftime pattern for date-times (e.g. `%d/%m/%Y %H:%M`); "
        "default `date_format`.",
    )
    file_name: str | None = Field(
        default=None,
        description="The file's name (templated, e.g. `members-{{ now | date: '%Y%m%d' }}.csv`); "
        "the format's extension is added when missing (.txt is also accepted for CSV and TSV, "
        ".jsonl and .ndjson for NDJSON). Default: the step's id.",
    )
    escape_formulas: bool = Field(
        default=True,
        description="CSV, TSV and XLSX: neutralise a text cell a spreadsheet could run as a "
        "formula (`=`, `+`, `-`, `@` at the start; plain numbers are left alone): a `'` before "
        "it in CSV and TSV, Excel's quote prefix in XLSX. Turn off only for a file read by a "
        "program, never by a person.",
    )

    @model_validator(mode="after")
    def _layout(self) -> ConvertParams:
        if _looks_like_query(self.input):
            _check_query_source(self.input)
        if self.format in ("csv", "tsv"):
            try:
                check_layout(
                    self.delimiter or ("\t" if self.format == "tsv" else ","),
                    self.quote_char,
                    self.escape_char,
                    self.quoting,
                )
            except IdmsError as exc:
                raise ValueError(exc.message) from None
        if self.columns is not None and len(set(self.columns)) != len(self.columns):
            twice = sorted({c for c in self.columns if self.columns.count(c) > 1})
            raise ValueError(f"columns names {', '.join(map(repr, twice))} more than once.")
        return self


class QuerySource(BaseModel):
    """Convert's ``input`` when the rows come straight from a saved query."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="a saved query's name, or an IQA's $/ path")
    params: dict[str, Any] = Field(default_factory=dict, description="its prompts' values")
    limit: int | None = Field(default=None, ge=1, description="at most this many rows")


def _looks_like_query(value: Any) -> bool:
    return isinstance(value, dict) and "query" in value and not is_row_set(value)


def _check_query_source(value: dict[str, Any]) -> None:
    """A query source's problems, named under ``input`` (a value written as a template is known
    only when the step runs: it is not checked when the workflow is saved)."""
    written = {
        k: ("-" if k == "query" else None) if is_template(v) else v for k, v in value.items()
    }
    try:
        QuerySource.model_validate({k: v for k, v in written.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise ValueError(f"input.{where}: {first.get('msg')}" if where else first["msg"]) from None


def query_source(value: Any) -> QuerySource | None:
    """``value`` as a query source, or None when it is not one (or not a valid one)."""
    if not _looks_like_query(value):
        return None
    try:
        return QuerySource.model_validate(value)
    except ValueError:
        return None


def _check_input(value: Any) -> None:
    """Refuse, in words, an input that is neither an array of objects nor a row set."""
    if is_row_set(value):
        return
    if isinstance(value, list) and all(isinstance(row, dict) for row in value):
        return
    what = (
        "an array holding something else than objects"
        if isinstance(value, list)
        else f"a {type(value).__name__}"
        if value is not None
        else "nothing"
    )
    raise StepFailed(
        f"Convert needs an array of objects (rows) or an earlier step's rows as input, and was "
        f"given {what}: point input at the rows, e.g. {{{{ steps.fetch }}}} or "
        "{{ input.rows | array }}.",
        retryable=False,
    )


def _found_columns(value: Any, context: ActionContext) -> list[str]:
    """The input's columns: a row set's own list, else in the order they first appear (a row
    set without a list is read once more for them, a row at a time)."""
    if is_row_set(value):
        listed = value.get("columns")
        if isinstance(listed, list) and all(isinstance(c, str) for c in listed):
            return listed
    return list(dict.fromkeys(key for row in iter_rows(value, context) for key in row))


def _columns(params: ConvertParams, found: list[str]) -> list[str]:
    if params.columns is None:
        return found
    known = set(found)
    if known:  # an empty input has no columns to check against: the header is as asked
        for name in params.columns:
            if name not in known:
                close = suggest(name, found)
                hint = f" Did you mean {close!r}?" if close else ""
                raise StepFailed(
                    f"columns names {printable(name)!r}, which the rows do not have.{hint} "
                    f"Their columns are: {', '.join(printable(c) for c in found[:30])}"
                    f"{' …' if len(found) > 30 else ''}.",
                    retryable=False,
                )
    return params.columns


def _cell(value: Any) -> Any:
    """A pipeline value as a cell: an object or an array is written as its JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def _cells(
    rows: Iterable[dict[str, Any]], columns: list[str], tabular: bool
) -> Iterator[Sequence[Any]]:
    """Each row as its cells, in ``columns`` order (blank where a row lacks one).

    A batch whose rows hold every column (the usual rows of a row set) is taken by one C-level
    ``itemgetter`` mapped over it; only in a batch where some row lacks one is that row looked
    at column by column. Objects and arrays
    (written as JSON text in a table) are looked for once per batch of rows, in C."""
    if not columns:
        for _ in rows:
            yield []
        return
    take = itemgetter(*columns)
    single = len(columns) == 1
    iterator = iter(rows)
    while batch := list(islice(iterator, _BATCH)):
        cells: list[Sequence[Any]]
        try:
            taken = map(take, batch)  # every row holding every column: the batch in C
            cells = list(zip(taken) if single else taken)
        except KeyError:
            cells = []
            for row in batch:
                try:
                    cells.append((take(row),) if single else take(row))
                except KeyError:
                    cells.append([row.get(column) for column in columns])
        if tabular and not _NESTED.isdisjoint(map(type, chain.from_iterable(cells))):
            cells = [[_cell(value) for value in row] for row in cells]
        yield from cells


def _tuple_cells(
    rows: Iterable[Sequence[Any]], found: list[str], columns: list[str]
) -> Iterable[Sequence[Any]]:
    """A query's rows (tuples of cells, in ``found`` order; in a table, an array already as its
    JSON text) as the cells of ``columns``: as they are when every column is written in the
    query's order, else picked by one C-level ``itemgetter`` (no Python code per row)."""
    if not columns:
        return (() for _ in rows)
    if columns == found:
        return rows
    where = {name: index for index, name in enumerate(found)}
    pick = itemgetter(*(where[name] for name in columns))
    return zip(map(pick, rows)) if len(columns) == 1 else map(pick, rows)


def extension_problem(name: str, kind: str) -> str | None:
    """Why a file called ``name`` cannot hold format ``kind`` (it ends in another format's
    extension), or None. Also used to check a transfer's ``file_name`` when it is saved (the
    text after its last template), so the mismatch is refused before a run, not at 2 a.m."""
    accepted = EXTENSIONS.get(kind)
    lower = name.lower()
    if accepted is None or lower.endswith(accepted):
        return None
    other = next((e for e in CONVERT_EXTENSIONS if lower.endswith(e)), None)
    if other is None:
        return None
    return (
        f"The file name {name} ends in {other} but the format is {kind}: "
        f"name it …{accepted[0]} or change the format."
    )


def _file_name(params: ConvertParams, context: ActionContext) -> str:
    name = safe_file_name(params.file_name or context.step_id)
    why = extension_problem(name, params.format)
    if why is not None:
        raise StepFailed(why, retryable=False)
    accepted = EXTENSIONS[params.format]
    return name if name.lower().endswith(accepted) else name + accepted[0]


def run(params: ConvertParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    source = query_source(params.input)
    if source is not None:
        return _run_query(params, source, context)
    _check_input(params.input)
    _file_name(params, context)  # a wrong name refused before the rows are read
    columns = _columns(params, _found_columns(params.input, context))
    rows = iter_rows(params.input, context, what="input")
    tabular = params.format in ("csv", "tsv", "xlsx")
    return _write(params, context, columns, _cells(rows, columns, tabular=tabular))


def _run_query(params: ConvertParams, source: QuerySource, context: ActionContext) -> StepResult:
    """The file written straight from a saved query's rows (its prompts checked first: one
    needed and not given fails the step, naming it)."""
    name = _file_name(params, context)  # a wrong name refused before the query runs
    tabular = params.format in ("csv", "tsv", "xlsx")
    # A CSV or TSV file writes a date as the ISO text the pipeline would hold: given as it is.
    opened = context.services.query_table(
        source.query,
        source.params,
        limit=source.limit,
        tabular=tabular,
        dates=params.format in ("csv", "tsv"),
    )
    with opened as (found, rows):
        columns = _columns(params, found)
        result = _write(params, context, columns, _tuple_cells(rows, found, columns))
    output = result.output
    output["query"] = source.query
    shown = "1 row" if output["rows"] == 1 else f"{output['rows']:,} rows"
    result.message = (
        f"{shown} from query {source.query!r} written to {name} ({output['size']:,} bytes)"
    )
    return result


def _write(
    params: ConvertParams,
    context: ActionContext,
    columns: list[str],
    cells: Iterable[Sequence[Any]],
) -> StepResult:
    """``cells`` written as the step's file by the one table writer; the step's result."""
    kind = "ndjson" if params.format == "jsonl" else params.format
    name = _file_name(params, context)
    text = kind in ("csv", "tsv")
    path = context.files / name
    try:
        count = write_table(
            path,
            columns,
            cells,
            extensions=EXTENSIONS[params.format],
            format=kind,
            escape_formulas=params.escape_formulas,
            make_folder=True,
            private=True,
            header=params.header,
            delimiter=params.delimiter,
            quoting=params.quoting,
            quotechar=params.quote_char,
            escapechar=params.escape_char,
            line_ending=LINE_ENDINGS[params.line_ending],
            encoding=params.encoding if text else "utf-8",
            date_format=params.date_format,
            datetime_format=params.datetime_format,
        )
    except IdmsError as exc:
        raise StepFailed(exc.message, retryable=False) from None
    size = path.stat().st_size
    output: dict[str, Any] = {
        "file_name": name,
        "format": kind,
        "rows": count,
        "bytes": size,
        "size": size,  # its first name, kept for the workflows that use it
        "columns": columns,
        "path": str(path),
    }
    if kind != "xlsx" and size <= INLINE_BYTES:
        encoding = params.encoding if text else "utf-8"
        # newline="" semantics: the text keeps its line endings exactly as written.
        output["content"] = path.read_bytes().decode(encoding)
    return StepResult(output=output, message=f"{count:,} rows written to {name} ({size:,} bytes)")


ACTION = ActionSpec(
    name="convert",
    label="Convert to CSV",
    summary="Write rows as a CSV, TSV, delimited, JSON, NDJSON or XLSX file for later steps",
    params=ConvertParams,
    run=run,
    example="""\
- id: csv
  action: convert
  with:
    input: "{{ steps.members }}"
    format: csv
    delimiter: ";"
    encoding: cp1252
    date_format: "%d/%m/%Y"
    file_name: "members-{{ now | date: '%Y%m%d' }}.csv"
""",
)
