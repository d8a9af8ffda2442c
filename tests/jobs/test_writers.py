"""The table writers (failed-rows file, exports), checked by reading their files back."""

from __future__ import annotations

import codecs
import datetime as dt
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idms.errors import InvalidInputError
from idms.io.cells import render_text
from idms.io.reader import open_input
from idms.io.writer import write_table

COLUMNS = ["Name", "Zip", "Joined", "Last seen", "Dues", "Active", "Formula-like", "Tags", "Empty"]
ROWS: list[list[Any]] = [
    [
        "Zoë Müller",
        "02139",
        dt.date(2024, 3, 1),
        dt.datetime(2024, 3, 1, 14, 30, 5),
        Decimal("12.50"),
        True,
        "=1+1",
        ("a", "b"),
        None,
    ],
    ['Renée, "the" café\nowner', "00501", dt.date(1999, 12, 31), None, 7, False, "+33", (), ""],
]


def read_back(path: Path) -> list[dict[str, Any]]:
    with open_input(path) as reader:
        assert reader.detected.columns == tuple(COLUMNS)
        return [row.values for row in reader]


def test_render_text() -> None:
    assert render_text(None) == ""
    assert render_text("  02139 ") == "  02139 "
    assert render_text(True) == "True"
    assert render_text(False) == "False"
    assert render_text(dt.date(2024, 3, 1)) == "2024-03-01"
    assert render_text(dt.datetime(2024, 3, 1, 9, 5, 7, 123)) == "2024-03-01 09:05:07"
    assert render_text(dt.time(9, 5)) == "09:05:00"
    assert render_text(12) == "12"
    assert render_text(1e20) == "100000000000000000000"
    assert render_text(1.5e-7) == "0.00000015"
    assert render_text(0.1) == "0.1"
    assert render_text(Decimal("1E+3")) == "1000"
    assert render_text(Decimal("12.50")) == "12.50"
    assert render_text(("a", "b", 3)) == "a,b,3"
    assert render_text(["x"]) == "x"


def test_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "failed.csv"

    assert write_table(path, COLUMNS, iter(ROWS)) == 2

    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert data.count(b"\r\n") == 3  # header, row 1, row 2 (the cell's own "\n" stays bare)
    assert data.endswith(b"\r\n")
    assert "Zoë Müller".encode() in data  # UTF-8 accents
    with open_input(path) as reader:
        assert reader.detected.encoding == "utf-8-sig"
        assert reader.detected.delimiter == ","
    assert read_back(path) == [
        {
            "Name": "Zoë Müller",
            "Zip": "02139",
            "Joined": "2024-03-01",
            "Last seen": "2024-03-01 14:30:05",
            "Dues": "12.50",
            "Active": "True",
            "Formula-like": "=1+1",
            "Tags": "a,b",
            "Empty": "",
        },
        {
            "Name": 'Renée, "the" café\nowner',
            "Zip": "00501",
            "Joined": "1999-12-31",
            "Last seen": "",
            "Dues": "7",
            "Active": "False",
            "Formula-like": "+33",
            "Tags": "",
            "Empty": "",
        },
    ]


def test_xlsx_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "failed.xlsx"

    assert write_table(path, COLUMNS, iter(ROWS)) == 2

    rows = read_back(path)
    assert rows[0] == {
        "Name": "Zoë Müller",
        "Zip": "02139",  # text, zero kept
        "Joined": dt.date(2024, 3, 1),
        "Last seen": dt.datetime(2024, 3, 1, 14, 30, 5),
        "Dues": 12.5,
        "Active": True,
        "Formula-like": "=1+1",  # text, not a formula
        "Tags": "a,b",
        "Empty": None,
    }
    assert rows[1] == {
        "Name": 'Renée, "the" café\nowner',
        "Zip": "00501",
        "Joined": dt.date(1999, 12, 31),
        "Last seen": None,
        "Dues": 7,
        "Active": False,
        "Formula-like": "+33",
        "Tags": None,  # an empty tuple is an empty cell
        "Empty": None,
    }


def test_xlsx_cell_types_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    write_table(
        path,
        ["Text", "Number", "Date", "Moment", "Big"],
        [["02139", 2139, dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 8, 0), 12345678901234567]],
    )

    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    text, number, date, moment, big = sheet[2]
    assert (text.data_type, text.value) == ("s", "02139")
    assert (number.data_type, number.value) == ("n", 2139)
    assert date.is_date
    assert date.number_format == "yyyy-mm-dd"
    assert moment.is_date
    assert moment.number_format == "yyyy-mm-dd hh:mm:ss"
    assert moment.value == dt.datetime(2024, 3, 1, 8, 0)
    assert (big.data_type, big.value) == ("s", "12345678901234567")  # beyond Excel's precision
    workbook.close()


def test_other_extensions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"'\.json' are not supported. Use .csv or .xlsx"):
        write_table(tmp_path / "out.json", ["a"], [])
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        write_table(tmp_path / "nowhere" / "out.csv", ["a"], [])


def test_a_failure_leaves_no_file_behind(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"

    with pytest.raises(InvalidInputError, match="at most 32,767"):
        write_table(path, ["a"], [["ok"], ["x" * 40_000]])

    assert list(tmp_path.iterdir()) == []


def test_header_only(tmp_path: Path) -> None:
    for name in ("empty.csv", "empty.xlsx"):
        path = tmp_path / name
        assert write_table(path, COLUMNS, []) == 0
        assert read_back(path) == []


@pytest.mark.parametrize(("name", "count"), [("big.csv", 20_000), ("big.xlsx", 8_000)])
def test_writing_streams_rows(tmp_path: Path, name: str, count: int) -> None:
    def rows() -> Iterator[list[Any]]:
        for i in range(count):
            yield [f"{i:06d}", f"Person {i}", dt.date(2024, 1, 1), i * 1.5]

    write_table(tmp_path / "warm-up.xlsx", ["a"], [[1]])  # imports stay out of the measure
    tracemalloc.start()
    try:
        written = write_table(tmp_path / name, ["ID", "Name", "Date", "Amount"], rows())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert written == count
    assert peak < 2 * 1024 * 1024, f"{name}: peak {peak / 1e6:.1f} MB"


# --- property: CSV round trip -------------------------------------------------------------------

_cell_text = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
    st.sampled_from(['"', ",", ";", "\t", "|", "\r", "\n", "\r\n", " lead", "trail ", '""', "'"]),
    # Formulas, their escapes and numbers: escape_formula and the reader's undoing of it.
    st.sampled_from(["=1+1", "'=1+1", "''@x", "+44 20 7946 0000", "-5", "-2+3", "@me", "'-5"]),
    st.none(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(min_value=1, max_value=5),
    data=st.data(),
)
def test_csv_round_trip_of_random_text(
    tmp_path_factory: pytest.TempPathFactory, width: int, data: st.DataObject
) -> None:
    columns = [f"c{i}" for i in range(width)]
    rows = data.draw(st.lists(st.lists(_cell_text, min_size=width, max_size=width), max_size=8))
    path = tmp_path_factory.mktemp("roundtrip") / "table.csv"

    assert write_table(path, columns, rows) == len(rows)

    with open_input(path) as reader:
        assert reader.detected.columns == tuple(columns)
        assert reader.detected.delimiter == ","
        assert reader.detected.quotechar == '"'
        read = [row.values for row in reader]
        blank = reader.blank_rows
    # CSV cannot tell None from "": both come back as ""; rows with nothing in them are skipped
    expected = [
        {c: "" if v is None else v for c, v in zip(columns, row, strict=True)}
        for row in rows
        if any(v is not None and v.strip() for v in row)
    ]
    assert read == expected
    assert blank == len(rows) - len(expected)
