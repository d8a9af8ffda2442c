"""Convert: a tabular array written as CSV, TSV, JSON, NDJSON or XLSX in the run's private
folder through the suite's one table writer, read back to the same values, with every text a
spreadsheet could run as a formula neutralised (and taken off again by idms's own reader)."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from wf_io_support import context, run_action, workspace

from idms.io.reader import open_input
from idms.workflows.actions.base import ActionContext, StepFailed

ROWS: list[dict[str, Any]] = [
    {"id": "101", "name": "Zoë Ångström", "note": '=HYPERLINK("http://evil")', "amount": -5},
    {"id": "102", "name": "Bob", "note": "+44 20 7946 0000", "amount": 12.5, "extra": "@SUM(A1)"},
    {"id": "103", "name": "Cy, Jr.", "note": "line\nbreak", "amount": None, "tags": ["a", "b"]},
]
COLUMNS = ["id", "name", "note", "amount", "extra", "tags"]


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ActionContext]:
    with workspace(tmp_path) as services:
        yield context(services, tmp_path, step_id="csv")


def test_csv_by_default_neutralises_formulas_and_reads_back_to_the_same_values(
    ctx: ActionContext,
) -> None:
    result = run_action("convert", {"input": ROWS}, ctx)
    output = result.output
    path = Path(output["path"])
    assert path == ctx.files / "csv.csv"
    assert (output["file_name"], output["format"], output["rows"]) == ("csv.csv", "csv", 3)
    raw = path.read_bytes()
    assert output["size"] == len(raw)
    assert raw.startswith(b"\xef\xbb\xbf")  # utf-8-sig: Excel shows the accents right
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the run's files are private
    text = raw.decode("utf-8-sig")
    assert output["content"] == text
    lines = text.split("\r\n")
    assert lines[0] == ",".join(COLUMNS)
    assert lines[1] == '101,Zoë Ångström,"\'=HYPERLINK(""http://evil"")",-5,,'
    assert "'@SUM(A1)" in text
    assert "'+44 20 7946 0000" in text
    assert '["a","b"]' in text.replace('""', '"')  # an array cell is its JSON text
    with open_input(path) as reader:
        back = [row.values for row in reader]
    assert [r["note"] for r in back] == [r["note"] for r in ROWS]  # the escape comes off
    assert [r["extra"] for r in back] == ["", "@SUM(A1)", ""]
    assert [r["name"] for r in back] == [r["name"] for r in ROWS]


def test_tsv_without_header_with_lf_and_plain_utf_8_for_a_program(ctx: ActionContext) -> None:
    result = run_action(
        "convert",
        {
            "input": [{"a": "x", "b": "=1+1"}, {"a": "y", "b": 2}],
            "format": "tsv",
            "header": False,
            "line_ending": "lf",
            "encoding": "utf-8",
            "escape_formulas": False,
            "file_name": "feed",
        },
        ctx,
    )
    assert result.output["file_name"] == "feed.tsv"
    assert (ctx.files / "feed.tsv").read_bytes() == b"x\t=1+1\ny\t2\n"


def test_a_semicolon_cp1252_file_for_a_european_excel(ctx: ActionContext) -> None:
    run_action(
        "convert",
        {
            "input": [{"name": "Zoë", "city": "Liège"}],
            "delimiter": ";",
            "encoding": "cp1252",
            "file_name": "people.csv",
        },
        ctx,
    )
    assert (ctx.files / "people.csv").read_bytes() == "name;city\r\nZoë;Liège\r\n".encode("cp1252")
    with pytest.raises(StepFailed, match=r"cp1252: the data holds 'Ł' \(U\+0141\)"):
        run_action(
            "convert",
            {"input": [{"name": "Łukasz"}], "encoding": "cp1252", "file_name": "pl.csv"},
            ctx,
        )
    assert not (ctx.files / "pl.csv").exists()  # no half-written file is left


@pytest.mark.parametrize("kind", ["json", "ndjson"])
def test_json_and_ndjson_keep_every_value_and_its_type(ctx: ActionContext, kind: str) -> None:
    rows = [{"id": 1, "ok": True, "nested": {"x": [1, {"y": None}]}}, {"id": 2, "more": "é"}]
    result = run_action("convert", {"input": rows, "format": kind}, ctx)
    text = (ctx.files / f"csv.{kind}").read_text(encoding="utf-8")
    assert result.output["content"] == text
    back = json.loads(text) if kind == "json" else [json.loads(line) for line in text.splitlines()]
    expected = [
        {"id": 1, "ok": True, "nested": {"x": [1, {"y": None}]}, "more": None},
        {"id": 2, "ok": None, "nested": None, "more": "é"},
    ]
    assert back == expected
    if kind == "ndjson":
        assert text.count("\n") == 2
        assert text.endswith("}\n")


def test_xlsx_keeps_formulas_as_text_and_is_not_inlined(ctx: ActionContext) -> None:
    result = run_action("convert", {"input": ROWS, "format": "xlsx"}, ctx)
    assert "content" not in result.output
    book = openpyxl.load_workbook(result.output["path"])
    sheet = book["Data"]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == COLUMNS
    assert values[1][2] == '=HYPERLINK("http://evil")'
    assert sheet.cell(row=2, column=3).data_type == "s"  # text, never a formula
    assert values[1][3] == -5
    book.close()


def test_a_large_file_is_named_but_not_inlined(ctx: ActionContext) -> None:
    rows = [{"id": i, "text": "x" * 100} for i in range(3000)]  # over 256 KiB
    result = run_action("convert", {"input": rows}, ctx)
    assert result.output["size"] > 256 * 1024
    assert "content" not in result.output
    assert result.output["rows"] == 3000


def test_wrong_input_or_file_names_fail_in_words(ctx: ActionContext) -> None:
    for wrong, what in [
        ({"a": 1}, "a dict"),
        ([1, 2], "an array holding something else than objects"),
        (None, "nothing"),
    ]:
        with pytest.raises(StepFailed, match=f"Convert needs an array of objects .*{what}"):
            run_action("convert", {"input": wrong}, ctx)
    with pytest.raises(StepFailed, match=r"ends in \.xlsx but the format is csv"):
        run_action("convert", {"input": ROWS, "file_name": "x.xlsx"}, ctx)
    for name in ("../escape.csv", "/tmp/x.csv", ".hidden.csv"):
        with pytest.raises(StepFailed, match="not a plain file name"):
            run_action("convert", {"input": ROWS, "file_name": name}, ctx)
    assert sorted(p.name for p in ctx.files.iterdir()) == []


def test_an_empty_array_is_a_file_with_only_its_header(ctx: ActionContext) -> None:
    result = run_action("convert", {"input": [], "format": "json"}, ctx)
    assert result.output["rows"] == 0
    assert json.loads(result.output["content"]) == []


@pytest.mark.parametrize(
    "name", ["http_request", "send_email", "json_schema_validation", "convert"]
)
def test_each_data_moving_action_is_documented_with_an_example_and_every_parameter(
    name: str,
) -> None:
    import yaml

    from idms.workflows.actions import actions
    from idms.workflows.model import Step

    spec = actions()[name]
    (step,) = yaml.safe_load(spec.example)
    assert Step.model_validate(step).action == name
    page = (Path(__file__).parents[2] / "docs" / "workflows" / f"{name}.md").read_text("utf-8")
    assert f"`{name}`" in page.splitlines()[0]
    for field_name, field in spec.params.model_fields.items():
        shown = field.alias or field_name
        assert field.description, f"{name}.{shown} has no description"
        assert f"| `{shown}` |" in page, f"docs/workflows/{name}.md does not explain {shown}"
