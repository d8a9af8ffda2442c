"""Convert as the one implementation of every transfer format (issue 16): rows from an array or
a row set, read one at a time; every option of the delimited formats, JSON, NDJSON and XLSX,
each file read back with the csv module, json or openpyxl; a cell the file cannot hold named by
row and column; and a big row set written in flat memory."""

from __future__ import annotations

import csv
import datetime as dt
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pydantic import ValidationError
from wf_io_support import context, run_action, workspace

from idms.workflows.actions.base import ActionContext, StepFailed
from idms.workflows.actions.rowsets import INLINE_ROWS, rows_output, write_row_set

ROWS: list[dict[str, Any]] = [
    {"id": 1, "name": "Zoë", "note": "=1+1", "amount": 12.5, "joined": "2024-03-01"},
    {"id": 2, "name": "Bob, Jr.", "note": 'say "hi"', "amount": -5, "joined": None},
    {"id": 3, "name": "Cy", "note": "two\nlines", "amount": None, "joined": "2023-12-31"},
]


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ActionContext]:
    with workspace(tmp_path) as services:
        yield context(services, tmp_path, step_id="out")


def convert(ctx: ActionContext, **params: Any) -> dict[str, Any]:
    params.setdefault("input", ROWS)
    output: dict[str, Any] = run_action("convert", params, ctx).output
    return output


def read_csv(path: Path, encoding: str = "utf-8-sig", **dialect: Any) -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as file:
        return list(csv.reader(file, **dialect))


# --- input: arrays, row sets, columns -----------------------------------------------------------


def test_a_row_set_is_read_a_row_at_a_time_with_its_own_columns(ctx: ActionContext) -> None:
    rows = [{"id": i, "email": f"m{i}@example.org"} for i in range(INLINE_ROWS + 5)]
    reference = rows_output(rows, ctx, "members")
    assert isinstance(reference, dict)  # more than INLINE_ROWS: a row set, not an array
    output = convert(ctx, input=reference, encoding="utf-8")
    assert (output["rows"], output["columns"]) == (INLINE_ROWS + 5, ["id", "email"])
    back = read_csv(ctx.files / output["file_name"], "utf-8")
    assert back[0] == ["id", "email"]
    assert back[1] == ["0", "m0@example.org"]
    assert len(back) == INLINE_ROWS + 6
    assert output["bytes"] == (ctx.files / "out.csv").stat().st_size == output["size"]


def test_a_row_set_without_its_column_list_is_read_once_more_for_them(ctx: ActionContext) -> None:
    reference = write_row_set([{"a": 1}, {"b": 2, "a": 3}], ctx, "loose")
    del reference["columns"]
    output = convert(ctx, input=reference, format="json")
    assert output["columns"] == ["a", "b"]
    assert json.loads(output["content"]) == [{"a": 1, "b": None}, {"a": 3, "b": 2}]


def test_columns_choose_and_order_what_is_written(ctx: ActionContext) -> None:
    output = convert(ctx, columns=["name", "id"], encoding="utf-8")
    assert output["columns"] == ["name", "id"]
    assert read_csv(ctx.files / "out.csv", "utf-8") == [
        ["name", "id"],
        ["Zoë", "1"],
        ["Bob, Jr.", "2"],
        ["Cy", "3"],
    ]
    reference = write_row_set(ROWS, ctx, "set")
    output = convert(ctx, input=reference, columns=["joined", "id"], format="ndjson")
    assert json.loads(output["content"].splitlines()[0]) == {
        "joined": "2024-03-01",
        "id": 1,
    }


def test_a_column_the_rows_do_not_have_fails_with_the_closest_name(ctx: ActionContext) -> None:
    with pytest.raises(
        StepFailed, match=r"'nmae', which the rows do not have\. Did you mean 'name'"
    ):
        convert(ctx, columns=["id", "nmae"])
    output = convert(ctx, input=[], columns=["id", "name"], encoding="utf-8")  # nothing to check
    assert (ctx.files / "out.csv").read_bytes().decode() == "id,name\r\n"
    assert output["rows"] == 0
    with pytest.raises(ValidationError, match="columns names 'id' more than once"):
        convert(ctx, columns=["id", "name", "id"])


def test_a_forged_row_set_outside_the_run_is_refused(ctx: ActionContext) -> None:
    with pytest.raises(StepFailed, match=r"not a plain file name|has no rows named"):
        convert(ctx, input={"$rows": "../../suite.db", "columns": ["a"]})


# --- delimited text -----------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", ["|", ";", " ", "\t", "~", "§"])
def test_any_printable_delimiter_reads_back(ctx: ActionContext, delimiter: str) -> None:
    convert(ctx, delimiter=delimiter, escape_formulas=False, encoding="utf-8")
    back = read_csv(ctx.files / "out.csv", "utf-8", delimiter=delimiter)
    assert back[0] == ["id", "name", "note", "amount", "joined"]
    assert back[1:] == [
        ["1", "Zoë", "=1+1", "12.5", "2024-03-01"],
        ["2", "Bob, Jr.", 'say "hi"', "-5", ""],
        ["3", "Cy", "two\nlines", "", "2023-12-31"],
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"delimiter": "\x01"}, r"delimiter cannot be '\\x01' \(U\+0001\), a control character"),
        ({"delimiter": "\n"}, "delimiter cannot be a line break"),
        ({"delimiter": '"'}, "must differ"),
        ({"quote_char": ";", "delimiter": ";"}, "must differ"),
        ({"escape_char": ","}, "must differ"),
        ({"quote_char": "\t"}, r"quote character cannot be '\\t'"),
        ({"delimiter": ",,"}, "at most 1 character"),
    ],
)
def test_a_layout_no_reader_could_split_is_refused(
    ctx: ActionContext, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        convert(ctx, **params)


def test_quoting_minimal_all_and_nonnumeric_follow_the_csv_module(ctx: ActionContext) -> None:
    rows = [{"n": 1, "x": 2.5, "t": "a", "blank": None, "yes": True}]
    convert(ctx, input=rows, quoting="minimal", encoding="utf-8", file_name="m.csv")
    assert (ctx.files / "m.csv").read_bytes().decode(
        "utf-8"
    ) == "n,x,t,blank,yes\r\n1,2.5,a,,True\r\n"
    convert(ctx, input=rows, quoting="all", encoding="utf-8", file_name="a.csv")
    assert (ctx.files / "a.csv").read_bytes().decode().splitlines()[1] == '"1","2.5","a","","True"'
    convert(ctx, input=rows, quoting="nonnumeric", encoding="utf-8", file_name="n.csv")
    assert (ctx.files / "n.csv").read_bytes().decode().splitlines() == [
        '"n","x","t","blank","yes"',
        '1,2.5,"a","","True"',  # a Yes/No is no number
    ]
    back = read_csv(ctx.files / "n.csv", "utf-8", quoting=csv.QUOTE_NONNUMERIC)
    assert back[1] == [1.0, 2.5, "a", "", "True"]  # a nonnumeric reader reads it back


def test_a_float_that_repr_writes_with_an_exponent_is_written_in_full(ctx: ActionContext) -> None:
    rows = [{"x": 0.00001}, {"x": 1e20}, {"x": 0.0}, {"x": float("nan")}, {"x": -1.5}]
    convert(ctx, input=rows, quoting="nonnumeric", encoding="utf-8")
    assert (ctx.files / "out.csv").read_bytes().decode().splitlines() == [
        '"x"',
        "0.00001",
        "100000000000000000000",
        "0.0",
        '"nan"',
        "-1.5",
    ]


def test_quoting_none_escapes_or_names_the_cell_it_cannot_write(ctx: ActionContext) -> None:
    convert(
        ctx,
        quoting="none",
        escape_char="\\",
        escape_formulas=False,
        encoding="utf-8",
        file_name="esc.csv",
    )
    text = (ctx.files / "esc.csv").read_bytes().decode()
    assert "Bob\\, Jr." in text
    assert 'say \\"hi\\"' in text
    back = read_csv(ctx.files / "esc.csv", "utf-8", quoting=csv.QUOTE_NONE, escapechar="\\")
    assert back[2] == ["2", "Bob, Jr.", 'say "hi"', "-5", ""]
    with pytest.raises(
        StepFailed, match=r"row 2, column 'name': it holds the delimiter \(','\).*escape_char"
    ):
        convert(ctx, quoting="none", file_name="bad.csv")
    assert not (ctx.files / "bad.csv").exists()
    with pytest.raises(StepFailed, match=r"row 1, column 'note': it holds a line break"):
        convert(ctx, input=ROWS[2:] * 1, quoting="none", delimiter="|", file_name="bad.txt")
    plain = [{"a": "x", "b": "y z"}]
    output = convert(ctx, input=plain, quoting="none", delimiter="|", file_name="ok.txt")
    assert output["file_name"] == "ok.txt"  # .txt: a pipe-separated feed
    assert output["content"] == "a|b\r\nx|y z\r\n"


def test_a_quote_character_of_ones_own(ctx: ActionContext) -> None:
    convert(ctx, quote_char="'", escape_formulas=False, encoding="utf-8")
    back = read_csv(ctx.files / "out.csv", "utf-8", quotechar="'")
    assert back[2][1:3] == ["Bob, Jr.", 'say "hi"']
    assert "'Bob, Jr.'" in (ctx.files / "out.csv").read_bytes().decode()


@pytest.mark.parametrize(("ending", "expected"), [("lf", b"\n"), ("crlf", b"\r\n")])
def test_line_endings(ctx: ActionContext, ending: str, expected: bytes) -> None:
    rows = [{"a": 1}, {"a": 2}]
    convert(ctx, input=rows, line_ending=ending, encoding="utf-8")
    assert (ctx.files / "out.csv").read_bytes() == expected.join([b"a", b"1", b"2", b""])


def test_encodings_and_a_character_cp1252_cannot_hold(ctx: ActionContext) -> None:
    convert(ctx, encoding="utf-8", file_name="plain.csv")
    assert (ctx.files / "plain.csv").read_bytes().startswith(b"id,")
    convert(ctx, encoding="utf-8-sig", file_name="bom.csv")
    assert (ctx.files / "bom.csv").read_bytes().startswith(b"\xef\xbb\xbfid,")
    output = convert(ctx, encoding="cp1252", file_name="ansi.csv")
    assert "Zoë" in output["content"]
    assert read_csv(ctx.files / "ansi.csv", "cp1252")[1][1] == "Zoë"
    rows = [*ROWS, {"id": 4, "name": "Łukasz"}]
    with pytest.raises(
        StepFailed, match=r"cp1252: the data holds 'Ł' \(U\+0141\) in row 4, column 'name'"
    ):
        convert(ctx, input=rows, encoding="cp1252", file_name="pl.csv")
    with pytest.raises(StepFailed, match=r"holds 'Ł' .* in the header, column 'xŁ'"):
        convert(ctx, input=[{"xŁ": 1}], encoding="cp1252", format="tsv")
    assert not (ctx.files / "pl.csv").exists()


def test_the_failure_point_of_a_big_file_is_the_row_itself(ctx: ActionContext) -> None:
    rows = [{"id": i, "name": "Ann"} for i in range(5000)]
    rows[4321]["name"] = "Ōtsuka"
    with pytest.raises(StepFailed, match="row 4,322, column 'name'"):
        convert(ctx, input=rows, encoding="cp1252")


# --- dates --------------------------------------------------------------------------------------


def test_date_format_applies_to_date_values_and_iso_texts(ctx: ActionContext) -> None:
    rows = [
        {
            "day": "2024-03-01",
            "moment": "2024-03-01T09:30:00Z",
            "value": dt.date(2024, 1, 2),
            "stamp": dt.datetime(2024, 1, 2, 3, 4, 5),
            "not": "2024-02-30",
            "text": "2024-03 or 20240301",
        }
    ]
    output = convert(ctx, input=rows, date_format="%d/%m/%Y", encoding="utf-8")
    assert output["content"].splitlines()[1] == (
        "01/03/2024,01/03/2024,02/01/2024,02/01/2024,2024-02-30,2024-03 or 20240301"
    )
    output = convert(
        ctx,
        input=rows,
        date_format="%d.%m.%Y",
        datetime_format="%d.%m.%Y %H:%M %z",
        format="ndjson",
    )
    line = json.loads(output["content"])
    assert (line["day"], line["moment"], line["stamp"]) == (
        "01.03.2024",
        "01.03.2024 09:30 +0000",
        "02.01.2024 03:04 ",
    )


def test_without_a_date_format_dates_are_written_as_they_are(ctx: ActionContext) -> None:
    output = convert(ctx, encoding="utf-8", columns=["joined"])
    # A row of one blank cell is "" (the csv module's way to tell it from no row at all).
    assert output["content"] == 'joined\r\n2024-03-01\r\n""\r\n2023-12-31\r\n'


def test_a_date_format_that_is_none_fails_the_step(ctx: ActionContext) -> None:
    with pytest.raises(StepFailed, match="date_format 'dd/mm/yyyy' has no % field"):
        convert(ctx, date_format="dd/mm/yyyy")


# --- JSON and NDJSON ----------------------------------------------------------------------------


def test_jsonl_is_ndjson_named_jsonl(ctx: ActionContext) -> None:
    output = convert(ctx, format="jsonl")
    assert (output["file_name"], output["format"]) == ("out.jsonl", "ndjson")
    lines = output["content"].splitlines()
    assert [json.loads(line)["note"] for line in lines] == ["=1+1", 'say "hi"', "two\nlines"]
    assert convert(ctx, format="ndjson", file_name="x.jsonl")["file_name"] == "x.jsonl"
    with pytest.raises(StepFailed, match=r"ends in \.csv but the format is json"):
        convert(ctx, format="json", file_name="x.csv")


def test_json_is_never_escaped_and_keeps_its_types(ctx: ActionContext) -> None:
    output = convert(ctx, format="json")
    assert json.loads(output["content"]) == ROWS


# --- XLSX ---------------------------------------------------------------------------------------


def test_xlsx_formulas_get_excels_quote_prefix_and_stay_text(ctx: ActionContext) -> None:
    rows = [{"f": '=HYPERLINK("http://evil")', "at": "@SUM(A1)", "n": "-5", "t": "plain"}]
    output = convert(ctx, input=rows, format="xlsx")
    assert "content" not in output
    book = openpyxl.load_workbook(ctx.files / "out.xlsx")
    sheet = book["Data"]
    cells = next(iter(sheet.iter_rows(min_row=2, max_row=2)))
    assert [c.value for c in cells] == ['=HYPERLINK("http://evil")', "@SUM(A1)", "-5", "plain"]
    assert [c.data_type for c in cells] == ["s", "s", "s", "s"]  # text, never a formula
    assert [c.quotePrefix for c in cells] == [True, True, False, False]
    book.close()
    convert(ctx, input=rows, format="xlsx", escape_formulas=False, file_name="raw")
    book = openpyxl.load_workbook(ctx.files / "raw.xlsx")
    cell = book["Data"]["A2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (rows[0]["f"], "s", False)
    book.close()


def test_xlsx_without_a_header_with_formatted_dates_and_chosen_columns(
    ctx: ActionContext,
) -> None:
    convert(ctx, format="xlsx", header=False, columns=["id", "joined"], date_format="%d/%m/%Y")
    book = openpyxl.load_workbook(ctx.files / "out.xlsx")
    values = list(book["Data"].iter_rows(values_only=True))
    assert values == [(1, "01/03/2024"), (2, None), (3, "31/12/2023")]
    book.close()


def test_xlsx_from_a_row_set(ctx: ActionContext) -> None:
    rows = [{"id": i, "name": f"=n{i}"} for i in range(1500)]
    output = convert(ctx, input=write_row_set(rows, ctx, "set"), format="xlsx")
    assert output["rows"] == 1500
    book = openpyxl.load_workbook(ctx.files / "out.xlsx", read_only=True)
    values = list(book["Data"].iter_rows(values_only=True))
    assert len(values) == 1501
    assert values[-1] == (1499, "=n1499")
    book.close()


# --- output and memory --------------------------------------------------------------------------


def test_the_output_names_the_file_and_stays_small_for_a_big_one(ctx: ActionContext) -> None:
    rows = ({"id": i, "text": "x" * 200} for i in range(2000))
    reference = write_row_set(rows, ctx, "big")
    output = convert(ctx, input=reference)
    assert set(output) == {"file_name", "format", "rows", "bytes", "size", "columns", "path"}
    assert output["bytes"] > 256 * 1024
    assert len(json.dumps(output)) < 500


def _peak(ctx: ActionContext, rows: int) -> tuple[int, int]:
    """The peak traced memory of Convert over a row set of ``rows`` rows, and its size."""
    text = "y" * 300
    name = f"big{rows}"
    reference = write_row_set(
        ({"id": i, "email": f"m{i}@example.org", "text": text} for i in range(rows)), ctx, name
    )
    tracemalloc.start()
    try:
        output = convert(ctx, input=reference, file_name=name)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert output["rows"] == rows
    with (ctx.files / f"{name}.csv").open(encoding="utf-8-sig", newline="") as file:
        assert sum(1 for _ in csv.reader(file)) == rows + 1
    return peak, (ctx.files / f"{name}.jsonl").stat().st_size


def test_a_big_row_set_is_written_in_flat_memory(ctx: ActionContext) -> None:
    small, _ = _peak(ctx, 10_000)
    big, size = _peak(ctx, 40_000)
    assert size > 12_000_000
    assert big < 8_000_000, f"peak {big:,} bytes for a {size:,}-byte row set"
    assert big < small * 1.5, f"peak {big:,} for 40,000 rows, {small:,} for 10,000: not flat"
