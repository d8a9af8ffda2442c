"""Convert (iDMS "Convert to CSV", and more): a tabular array of the pipeline written as a file
(CSV, TSV, JSON, NDJSON or XLSX) in the run's private folder, for a later step to upload or
attach.

The file is written by :func:`idms.io.writer.write_table`, the one table writer of the suite, so
a text cell a spreadsheet could run as a formula (``=HYPERLINK(…)``) is neutralised in CSV and
TSV unless ``escape_formulas: false`` says the file is for a program. The step's output names
the file; a small text file (at most 256 KiB) is also given inline as ``content``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from idms.errors import IdmsError
from idms.io.writer import CONVERT_EXTENSIONS, write_table
from idms.workflows.actions._files import safe_file_name
from idms.workflows.actions.base import ActionContext, ActionSpec, StepFailed, StepResult

INLINE_BYTES = 256 * 1024  # a text file at most this big is also put in the output as text
LINE_ENDINGS = {"crlf": "\r\n", "lf": "\n"}


class ConvertParams(BaseModel):
    """A step's ``with:`` for ``convert``."""

    model_config = ConfigDict(extra="forbid")

    input: Any = Field(
        description="The rows to write: an array of objects, each object a row and each "
        "property a column (e.g. `{{ steps.members }}`). Columns come in the order they first "
        "appear; a row without a column leaves its cell blank."
    )
    format: Literal["csv", "tsv", "json", "ndjson", "xlsx"] = Field(
        default="csv",
        description="csv, tsv (tab-separated), json (one array of objects), ndjson (one object "
        "a line) or xlsx (an Excel workbook, sheet 'Data').",
    )
    header: bool = Field(
        default=True, description="CSV and TSV: write the column names as the first line."
    )
    delimiter: str | None = Field(
        default=None,
        min_length=1,
        max_length=1,
        description="CSV and TSV: the one character between cells (default `,` for CSV, a tab "
        "for TSV; `;` for a European Excel).",
    )
    line_ending: Literal["crlf", "lf"] = Field(
        default="crlf", description="CSV and TSV: crlf (\\r\\n, as Excel writes) or lf (\\n)."
    )
    encoding: Literal["utf-8", "utf-8-sig", "cp1252"] = Field(
        default="utf-8-sig",
        description="CSV and TSV: utf-8-sig (UTF-8 with a byte-order mark, so Excel shows "
        "accents right), utf-8 (no mark, for programs) or cp1252 (Windows Western European; "
        "a character it cannot hold fails the step). JSON, NDJSON and XLSX are always UTF-8.",
    )
    file_name: str | None = Field(
        default=None,
        description="The file's name (templated, e.g. `members-{{ now | date: '%Y-%m-%d' }}`); "
        "the format's extension is added when missing. Default: the step's id.",
    )
    escape_formulas: bool = Field(
        default=True,
        description="CSV and TSV: put a `'` before a text cell a spreadsheet could run as a "
        "formula (`=`, `+`, `-`, `@` at the start; plain numbers are left alone). Turn off only "
        "for a file read by a program, never by a person.",
    )


def _rows(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        what = (
            "an array holding something else than objects"
            if isinstance(value, list)
            else f"a {type(value).__name__}"
            if value is not None
            else "nothing"
        )
        raise StepFailed(
            f"Convert needs an array of objects (rows) as input, and was given {what}: point "
            "input at the rows, e.g. {{ steps.fetch }} or {{ input.rows | array }}.",
            retryable=False,
        )
    return value


def _cell(value: Any) -> Any:
    """A pipeline value as a cell: an object or an array is written as its JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def run(params: ConvertParams, data: dict[str, Any], context: ActionContext) -> StepResult:
    rows = _rows(params.input)
    extension = f".{params.format}"
    name = safe_file_name(params.file_name or context.step_id)
    if not name.lower().endswith(extension):
        other = next((e for e in CONVERT_EXTENSIONS if name.lower().endswith(e)), None)
        if other is not None:
            raise StepFailed(
                f"The file name {name} ends in {other} but the format is {params.format}: "
                f"name it …{extension} or change the format.",
                retryable=False,
            )
        name += extension
    columns = list(dict.fromkeys(key for row in rows for key in row))
    tabular = params.format in ("csv", "tsv", "xlsx")
    cells = (
        [_cell(row.get(column)) if tabular else row.get(column) for column in columns]
        for row in rows
    )
    path = context.files / name
    try:
        count = write_table(
            path,
            columns,
            cells,
            extensions=(extension,),
            escape_formulas=params.escape_formulas,
            make_folder=True,
            private=True,
            header=params.header,
            delimiter=params.delimiter,
            line_ending=LINE_ENDINGS[params.line_ending],
            encoding=params.encoding if params.format in ("csv", "tsv") else "utf-8",
        )
    except IdmsError as exc:
        raise StepFailed(exc.message, retryable=False) from None
    size = path.stat().st_size
    output: dict[str, Any] = {
        "file_name": name,
        "format": params.format,
        "rows": count,
        "size": size,
        "path": str(path),
    }
    if params.format != "xlsx" and size <= INLINE_BYTES:
        encoding = params.encoding if params.format in ("csv", "tsv") else "utf-8"
        # newline="" semantics: the text keeps its line endings exactly as written.
        output["content"] = path.read_bytes().decode(encoding)
    return StepResult(output=output, message=f"{count:,} rows written to {name} ({size:,} bytes)")


ACTION = ActionSpec(
    name="convert",
    label="Convert to CSV",
    summary="Write a tabular array as a CSV, TSV, JSON, NDJSON or XLSX file for later steps",
    params=ConvertParams,
    run=run,
    example="""\
- id: csv
  action: convert
  with:
    input: "{{ steps.changed }}"
    format: csv
    file_name: "members-{{ now | date: '%Y-%m-%d' }}.csv"
""",
)
