"""export_query: a query's rows to CSV, JSON and XLSX, in constant memory, read back intact."""

from __future__ import annotations

import csv
import datetime as dt
import json
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from idms.demo.generate import fill_demo
from idms.errors import InvalidInputError
from idms.io.writer import export_query, export_rows
from idms.queries.compile import compile_query
from idms.queries.model import build_query
from idms.targets.base import QueryResult
from idms.targets.embedded.target import EmbeddedTarget

ROWS = 100_000
COLUMNS = ("ID", "Zip", "Name", "Joined", "Updated", "Member", "Visits", "Amount", "Interests")


def big_row(n: int) -> tuple[Any, ...]:
    """Row ``n`` of the big export: every kind of value a query gives, blanks here and there."""
    return (
        str(n),
        f"{n % 100_000:05d}",  # leading zeros
        None if n % 7 == 0 else f"Name {n}",
        dt.date(2000 + n % 25, 1 + n % 12, 1 + n % 28),
        dt.datetime(2026, 1, 1 + n % 28, n % 24, n % 60, n % 60),
        n % 3 == 0,
        -n if n % 2 else n,
        Decimal(n) / 100 if n % 5 else None,
        ("BOOKS", "GOLF") if n % 4 == 0 else (("ART",) if n % 4 == 1 else None),
    )


def big_result(rows: int = ROWS) -> QueryResult:
    return QueryResult(COLUMNS, (big_row(n) for n in range(1, rows + 1)))


def test_csv_of_100000_rows_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    assert export_query(big_result(), path) == ROWS
    assert path.read_bytes().startswith(b"\xef\xbb\xbfID,Zip,")
    with path.open(encoding="utf-8-sig", newline="") as file:
        lines = list(csv.reader(file))
    assert lines[0] == list(COLUMNS)
    assert len(lines) == ROWS + 1
    for n in (1, 2, 4, 7, 100, 99_999, ROWS):
        assert lines[n] == [
            str(n),
            f"{n % 100_000:05d}",
            "" if n % 7 == 0 else f"Name {n}",
            dt.date(2000 + n % 25, 1 + n % 12, 1 + n % 28).isoformat(),
            f"2026-01-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:{n % 60:02d}",
            "True" if n % 3 == 0 else "False",
            str(-n if n % 2 else n),  # a negative number is a number: never escaped
            format(Decimal(n) / 100, "f") if n % 5 else "",
            "BOOKS,GOLF" if n % 4 == 0 else ("ART" if n % 4 == 1 else ""),
        ]
    assert lines[4][1] == "00004"


def test_json_of_100000_rows_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    assert export_query(big_result(), path) == ROWS
    with path.open(encoding="utf-8") as file:
        data = json.load(file, parse_float=Decimal)
    assert len(data) == ROWS
    assert data[0] == {
        "ID": "1",
        "Zip": "00001",
        "Name": "Name 1",
        "Joined": "2001-02-02",
        "Updated": "2026-01-02T01:01:01",
        "Member": False,
        "Visits": -1,
        "Amount": Decimal("0.01"),
        "Interests": ["ART"],
    }
    assert data[3]["Interests"] == ["BOOKS", "GOLF"]
    assert data[6]["Name"] is None
    assert data[2]["Member"] is True
    assert data[4]["Amount"] is None
    assert data[-1]["ID"] == str(ROWS)
    assert data[-2]["Amount"] == Decimal("999.99")  # every digit kept


@pytest.mark.slow  # XlsxWriter writes about 100,000 cells a second
def test_xlsx_of_100000_rows_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    assert export_query(big_result(), path) == ROWS
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert sheet[0] == list(COLUMNS)
    assert len(sheet) == ROWS + 1
    first = sheet[4]  # row 4
    assert first[:3] == ["4", "00004", "Name 4"]  # text stays text: the zeros are kept
    assert first[3] == dt.date(2004, 5, 5)
    assert first[4] == dt.datetime(2026, 1, 5, 4, 4, 4)
    assert first[5] is False
    assert first[6] == 4
    assert first[7] == pytest.approx(0.04)
    assert first[8] == "BOOKS,GOLF"
    assert sheet[7][2] == ""  # a blank cell
    assert sheet[ROWS][0] == str(ROWS)


def peak_memory(rows: int, path: Path) -> int:
    tracemalloc.start()
    try:
        export_query(big_result(rows), path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("extension", [".csv", ".json"])
def test_memory_stays_constant(tmp_path: Path, extension: str) -> None:
    """Four times the rows, the same peak: the export holds a chunk of rows at a time."""
    small = peak_memory(10_000, tmp_path / f"small{extension}")
    large = peak_memory(40_000, tmp_path / f"large{extension}")
    assert large < small * 1.25
    assert large < 8_000_000  # 40,000 of these rows held at once would take about 18 MB


FORMULAS = [
    ("=1+1", "=1+1"),
    ("+44 20 7946 0000", "+44 20 7946 0000"),
    ("-3", "-3"),
    ("@SUM(A1)", "@SUM(A1)"),
    ("\tx", "\tx"),
    ("\rx", "\rx"),
    ("plain", "plain"),
    ("a=b", "a=b"),
    ("", ""),
]


def formula_rows() -> list[tuple[Any, ...]]:
    return [(text, -5, Decimal("-1.5"), ("=A",)) for text, _ in FORMULAS]


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def test_csv_escapes_formulas_in_text_only(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    export_rows(["Text", "Number", "Amount", "Codes"], formula_rows(), path)
    lines = read_csv(path)[1:]
    assert [line[0] for line in lines] == [
        "'=1+1",
        "'+44 20 7946 0000",
        "-3",  # a plain number written as text: a spreadsheet reads it as a number, runs nothing
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "plain",
        "a=b",
        "",
    ]
    assert {line[1] for line in lines} == {"-5"}  # numbers typed as numbers: never escaped
    assert {line[2] for line in lines} == {"-1.5"}
    assert {line[3] for line in lines} == {"'=A"}  # the codes of a multi-select are text


def test_csv_escapes_the_whole_column_whatever_the_chunk(tmp_path: Path) -> None:
    """A trigger deep in a long column, and text mixed with other values, are still escaped."""
    rows: list[tuple[Any, ...]] = [(f"row {n}", n) for n in range(10_000)]
    rows[9_000] = ("=cmd|' /C calc'!A0", 1)
    rows[9_001] = (dt.date(2026, 1, 1), "-2+A1")  # a text in a column of numbers
    path = tmp_path / "out.csv"
    export_rows(["A", "B"], rows, path)
    lines = read_csv(path)
    assert lines[9_001] == ["'=cmd|' /C calc'!A0", "1"]
    assert lines[9_002] == ["2026-01-01", "'-2+A1"]
    assert lines[1] == ["row 0", "0"]


def test_escaping_can_be_turned_off(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    export_rows(["Text", "Number", "Amount", "Codes"], formula_rows(), path, escape_formulas=False)
    lines = read_csv(path)[1:]
    assert [line[0] for line in lines] == [expected for _, expected in FORMULAS]
    assert {line[3] for line in lines} == {"=A"}


@pytest.mark.parametrize("extension", [".json", ".xlsx"])
def test_json_and_xlsx_keep_text_as_text(tmp_path: Path, extension: str) -> None:
    """No escaping there: JSON is not a spreadsheet, and XLSX text cells are never formulas."""
    path = tmp_path / f"out{extension}"
    export_rows(["Text", "Number", "Amount", "Codes"], formula_rows(), path)
    if extension == ".json":
        texts = [row["Text"] for row in json.loads(path.read_text(encoding="utf-8"))]
    else:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        texts = [row[0] for row in sheet[1:]]
    assert texts == [expected for _, expected in FORMULAS]


@pytest.mark.parametrize("name", ["out.txt", "out.xls", "out"])
def test_other_extensions_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        export_query(big_result(10), tmp_path / name)
    assert ".csv, .json or .xlsx" in caught.value.message
    assert caught.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        export_query(big_result(10), tmp_path / "nowhere" / "out.csv")


def failing_rows() -> Iterator[tuple[Any, ...]]:
    yield from (big_row(n) for n in range(1, 5_000))
    raise RuntimeError("the connection dropped")


@pytest.mark.parametrize("extension", [".csv", ".json", ".xlsx"])
def test_a_failure_leaves_no_file(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"out{extension}"
    path.write_text("the previous export", encoding="utf-8")
    with pytest.raises(RuntimeError):
        export_query(QueryResult(COLUMNS, failing_rows()), path)
    assert path.read_text(encoding="utf-8") == "the previous export"  # untouched
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize("extension", [".csv", ".json", ".xlsx"])
def test_progress_is_reported(tmp_path: Path, extension: str) -> None:
    seen: list[int] = []
    count = export_query(big_result(10_000), tmp_path / f"out{extension}", progress=seen.append)
    assert count == 10_000
    assert seen == sorted(seen)
    assert len(seen) > 1
    assert seen[-1] == 10_000


@pytest.mark.parametrize("extension", [".csv", ".json", ".xlsx"])
def test_no_rows_is_a_header_only(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"out{extension}"
    assert export_query(QueryResult(COLUMNS, iter([])), path) == 0
    if extension == ".csv":
        assert read_csv(path) == [list(COLUMNS)]
    elif extension == ".json":
        assert json.loads(path.read_text(encoding="utf-8")) == []
    else:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        assert sheet == [list(COLUMNS)]


# ---- from a real query -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedTarget]:
    target = EmbeddedTarget(f"sqlite:///{tmp_path_factory.mktemp('store') / 'imis.db'}")
    fill_demo(target.engine, contacts=200, seed=5)
    try:
        yield target
    finally:
        target.close()


def test_a_query_exports_what_it_returns(demo_store: EmbeddedTarget, tmp_path: Path) -> None:
    query = build_query(
        {
            "name": "Profiles",
            "from": "Contact",
            "columns": {
                "ID": "ImisId",
                "Last": "LastName",
                "Zip": "PostalCode",
                "Joined": "JoinDate",
                "Organization": "IsOrganization",
                "Interests": "MemberProfile.Interests",
            },
            "related": {"MemberProfile": {"source": "MemberProfile", "required": True}},
            "order_by": ["ID"],
        }
    )
    compiled = compile_query(query, demo_store.sources())
    with demo_store.query(compiled) as result:
        rows = list(result)
    assert any(isinstance(r[5], tuple) and len(r[5]) > 1 for r in rows)  # a real multi-select
    assert any(isinstance(r[3], dt.date) for r in rows)

    for extension in (".csv", ".json", ".xlsx"):
        with demo_store.query(compiled) as result:
            assert export_query(result, tmp_path / f"out{extension}") == len(rows)

    lines = read_csv(tmp_path / "out.csv")[1:]
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    sheet = CalamineWorkbook.from_path(str(tmp_path / "out.xlsx")).get_sheet_by_index(0)
    cells = sheet.to_python()[1:]
    for row, line, obj, xrow in zip(rows, lines, data, cells, strict=True):
        ident, last, zip_code, joined, organization, interests = row
        assert line[:3] == [ident, last or "", zip_code or ""]
        assert line[3] == (joined.isoformat() if joined else "")
        assert line[4] == str(organization)
        assert line[5] == ",".join(interests or ())
        assert obj == {
            "ID": ident,
            "Last": last,
            "Zip": zip_code,
            "Joined": joined.isoformat() if joined else None,
            "Organization": organization,
            "Interests": list(interests) if interests else None,
        }
        assert xrow[:3] == [ident, last or "", zip_code or ""]
        assert xrow[3] == (joined or "")
        assert xrow[4] is organization
