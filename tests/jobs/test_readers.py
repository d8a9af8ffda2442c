"""The input readers, on real files written in tmp_path."""

from __future__ import annotations

import codecs
import datetime as dt
import tracemalloc
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from idms.errors import InvalidInputError
from idms.io.detect import Detected
from idms.io.reader import open_input
from idms.io.records import InputRow, ReadOptions


def read_all(path: Path, options: ReadOptions = ReadOptions()) -> tuple[Detected, list[InputRow]]:
    with open_input(path, options) as reader:
        return reader.detected, list(reader)


def values(rows: list[InputRow]) -> list[dict[str, Any]]:
    return [row.values for row in rows]


# --- encodings ----------------------------------------------------------------------------------


def test_cp1252_semicolons_with_accents(tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    text = "Name;City;Note\r\nZoë;Müller;café\r\n  Renée ; Zürich;\r\n"
    path.write_bytes(text.encode("cp1252"))

    # Two short rows do not tell windows-1252's "Zoë" from windows-1257's "Zoė": refused
    # (idms.io.encoding; tests/jobs/test_encodings.py), and read as the job says.
    with pytest.raises(InvalidInputError, match="windows-1257"):
        read_all(path)
    detected, rows = read_all(path, ReadOptions(encoding="cp1252"))

    assert detected.format == "csv"
    assert detected.encoding == "cp1252"
    assert detected.delimiter == ";"
    assert detected.quotechar == '"'
    assert detected.columns == ("Name", "City", "Note")
    assert values(rows) == [
        {"Name": "Zoë", "City": "Müller", "Note": "café"},
        {"Name": "  Renée ", "City": " Zürich", "Note": ""},  # exactly as in the file
    ]
    assert [row.number for row in rows] == [2, 3]
    assert detected.describe() == (
        "CSV, cp1252 (as given), ';'-separated, quoted with '\"', header on row 1, 3 columns"
    )


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + "Email,Name\nzoe@example.org,Zoë\n".encode())

    detected, rows = read_all(path)

    assert detected.encoding == "utf-8-sig"
    assert detected.columns == ("Email", "Name")
    assert not detected.columns[0].startswith("\ufeff")
    assert values(rows) == [{"Email": "zoe@example.org", "Name": "Zoë"}]


def test_explicit_utf8_on_a_file_with_bom_still_strips_the_bom_from_the_header(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"Email,Name\nz@example.org,Z\n")

    detected, _ = read_all(path, ReadOptions(encoding="utf-8"))

    assert detected.encoding == "utf-8"
    assert detected.columns == ("Email", "Name")


def test_plain_utf8(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_bytes("Name,City\nZoë,Kraków\n".encode())

    detected, rows = read_all(path)

    assert detected.encoding == "utf-8"
    assert values(rows) == [{"Name": "Zoë", "City": "Kraków"}]


def test_utf16_with_bom_tab_separated_txt(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_bytes("Name\tCity\r\nZoë\tMüller, Köln\r\n".encode("utf-16"))

    detected, rows = read_all(path)

    assert detected.encoding == "utf-16"
    assert detected.delimiter == "\t"
    assert detected.columns == ("Name", "City")
    assert values(rows) == [{"Name": "Zoë", "City": "Müller, Köln"}]
    assert "tab-separated" in detected.describe()


@pytest.mark.parametrize(
    ("codec", "expected"), [("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be")]
)
def test_utf16_without_bom_is_guessed_from_nul_bytes(
    tmp_path: Path, codec: str, expected: str
) -> None:
    path = tmp_path / "nobom.csv"
    path.write_bytes("Name,City\r\nZoë,Köln\r\n".encode(codec))

    detected, rows = read_all(path)

    assert detected.encoding == expected
    assert values(rows) == [{"Name": "Zoë", "City": "Köln"}]


def test_undecodable_byte_late_in_a_utf8_file_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    lines = ["Name,City"] + [f"Person {i},Boston" for i in range(5000)] + ["Zoë,Montréal"]
    data = ("\n".join(lines) + "\n").encode()
    bad = "Renée,Québec\n".encode("cp1252")  # 0xE9 is not UTF-8
    path.write_bytes(data + bad + b"After,Row\n")
    assert len(data) > 64 * 1024  # past the sample used for detection

    with open_input(path) as reader:
        assert reader.detected.encoding == "utf-8"
        seen: list[InputRow] = []
        with pytest.raises(InvalidInputError) as caught:
            seen.extend(reader)

    assert [row.number for row in seen][-1] == 5002  # every row before it was delivered
    message = str(caught.value)
    assert "Row 5003 of mixed.csv could not be read as UTF-8" in message
    assert "0xE9" in message
    assert "encoding: windows-1252" in message
    assert caught.value.hint == "On the command line: --encoding windows-1252."


def test_explicit_utf8_on_a_cp1252_file_fails_on_the_first_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("Name\r\nBob\r\nZoë\r\n".encode("cp1252"))

    with (
        open_input(path, ReadOptions(encoding="utf-8")) as reader,
        pytest.raises(InvalidInputError, match=r"Row 3 of latin\.csv .* UTF-8") as caught,
    ):
        list(reader)
    assert "The job says the file is UTF-8" in str(caught.value)


def test_undecodable_header_is_refused_when_opening(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("Prénom,Nom\r\n".encode("cp1252"))

    with pytest.raises(InvalidInputError, match=r"Row 1 of latin\.csv could not be read as UTF-8"):
        open_input(path, ReadOptions(encoding="utf-8"))


def test_explicit_options_win_over_detection(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes("a;b,c\r\n1;2,3\r\nZoë;x,y\r\n".encode())

    detected, rows = read_all(path, ReadOptions(encoding="latin-1", delimiter=","))

    assert detected.encoding == "latin-1"
    assert detected.delimiter == ","
    assert detected.columns == ("a;b", "c")
    assert values(rows)[1] == {"a;b": "ZoÃ«;x", "c": "y"}  # read as latin-1, as asked


@pytest.mark.parametrize("spelling", ["tab", "TAB", "\\t", "\t"])
def test_tab_spellings(tmp_path: Path, spelling: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"a\tb,c\n1\t2,3\n")

    detected, rows = read_all(path, ReadOptions(delimiter=spelling))

    assert detected.delimiter == "\t"
    assert values(rows) == [{"a": "1", "b,c": "2,3"}]


def test_explicit_quotechar(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(b"a,b\n'x, y',\"z\"\n")

    _, rows = read_all(path, ReadOptions(quotechar="'"))

    assert values(rows) == [{"a": "x, y", "b": '"z"'}]


# --- delimiters and quoting ---------------------------------------------------------------------


def test_tsv_extension_defaults_to_tab(tmp_path: Path) -> None:
    path = tmp_path / "data.tsv"
    path.write_bytes(b"Name,Title\tCity\nSmith, Jane\tBoston\n")

    detected, rows = read_all(path)

    assert detected.delimiter == "\t"
    assert values(rows) == [{"Name,Title": "Smith, Jane", "City": "Boston"}]


def test_pipe_delimited(tmp_path: Path) -> None:
    path = tmp_path / "pipes.txt"
    path.write_bytes(b"ID|Name|Notes\n001|Smith, Jane|likes; semicolons\n002|Doe|\n")

    detected, rows = read_all(path)

    assert detected.delimiter == "|"
    assert values(rows) == [
        {"ID": "001", "Name": "Smith, Jane", "Notes": "likes; semicolons"},
        {"ID": "002", "Name": "Doe", "Notes": ""},
    ]


def test_quoted_fields_with_delimiters_and_newlines(tmp_path: Path) -> None:
    path = tmp_path / "quoted.csv"
    path.write_bytes(
        b"ID,Address,Note\r\n"
        b'1,"12 Main St, Apt 4",plain\r\n'
        b'2,"line one\r\nline two\nline three","say ""hi"""\r\n'
        b"3,After,row\r\n"
    )

    detected, rows = read_all(path)

    assert detected.delimiter == ","
    assert values(rows) == [
        {"ID": "1", "Address": "12 Main St, Apt 4", "Note": "plain"},
        {"ID": "2", "Address": "line one\r\nline two\nline three", "Note": 'say "hi"'},
        {"ID": "3", "Address": "After", "Note": "row"},
    ]
    # row numbers are a spreadsheet's: the record after a cell of 3 lines is row 4, not line 6
    assert [row.number for row in rows] == [2, 3, 4]


def test_apostrophes_in_data_do_not_switch_the_quote_character(tmp_path: Path) -> None:
    path = tmp_path / "apostrophes.csv"
    lines = ["City,Country,Note"] + ["x,'s-Hertogenbosch','t Zand"] * 5 + ['"a,b",NL,ok']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    detected, rows = read_all(path)

    assert (detected.delimiter, detected.quotechar) == (",", '"')
    assert rows[0].values == {"City": "x", "Country": "'s-Hertogenbosch'", "Note": "'t Zand"}
    assert rows[-1].values == {"City": "a,b", "Country": "NL", "Note": "ok"}


def test_the_header_line_overrules_a_sniffer_fooled_by_the_data(tmp_path: Path) -> None:
    path = tmp_path / "fooled.txt"
    lines = ["City|Country|Note"] + ["x,'s-Hertogenbosch','t Zand|NL|c"] * 5
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    detected, rows = read_all(path)

    assert (detected.delimiter, detected.quotechar) == ("|", '"')
    assert rows[0].values == {"City": "x,'s-Hertogenbosch','t Zand", "Country": "NL", "Note": "c"}


def test_single_column_file(tmp_path: Path) -> None:
    path = tmp_path / "emails.csv"
    path.write_bytes(b"Email\na@example.org\nb@example.org\n")

    detected, rows = read_all(path)

    assert detected.delimiter == ","
    assert detected.columns == ("Email",)
    assert values(rows) == [{"Email": "a@example.org"}, {"Email": "b@example.org"}]
    assert detected.describe().endswith("1 column")


def test_line_endings_cr_only_and_crlf_across_chunk_boundaries(tmp_path: Path) -> None:
    # old Mac files end lines with "\r" only
    mac = tmp_path / "mac.csv"
    mac.write_bytes(b"a,b\r1,2\r3,4\r")
    _, rows = read_all(mac)
    assert values(rows) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    assert [row.number for row in rows] == [2, 3]

    # a "\r\n" split by the 64 KiB chunk boundary is still one line end
    crlf = tmp_path / "crlf.csv"
    head = b"a,b\r\n"
    filler = b"x," + b"y" * (64 * 1024 - len(head) - 3) + b"\r\n"  # its "\r" is byte 65535
    assert len(head + filler) == 64 * 1024 + 1
    crlf.write_bytes(head + filler + b"1,2\r\n")
    _, rows = read_all(crlf)
    assert [row.number for row in rows] == [2, 3]
    assert rows[1].values == {"a": "1", "b": "2"}


# --- header and rows ----------------------------------------------------------------------------


def test_header_row_three_skips_two_title_lines(tmp_path: Path) -> None:
    path = tmp_path / "titled.csv"
    path.write_bytes(
        b"Member export; generated 2024-03-01\r\n\r\n Name ; Email \r\nZoe;zoe@example.org\r\n"
    )

    detected, rows = read_all(path, ReadOptions(header_row=3))

    assert detected.header_row == 3
    assert detected.delimiter == ";"
    assert detected.columns == ("Name", "Email")  # header cells are stripped
    assert rows == [InputRow(4, {"Name": "Zoe", "Email": "zoe@example.org"})]


def test_duplicate_column_names_are_refused_naming_positions(tmp_path: Path) -> None:
    path = tmp_path / "dups.csv"
    path.write_bytes(b"ID,Name,Email,City,Zip,Phone, email \nx,x,x,x,x,x,x\n")

    with pytest.raises(InvalidInputError) as caught:
        open_input(path)

    assert str(caught.value) == (
        'Duplicate column names in the header row of dups.csv: "Email" (columns 3 and 7). '
        "Every column needs its own name."
    )


def test_nameless_column_in_the_middle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hole.csv"
    path.write_bytes(b"ID,Name,,City\n1,a,b,c\n")

    with pytest.raises(InvalidInputError, match=r"Column 3 of hole\.csv has no name"):
        open_input(path)


def test_trailing_empty_header_cells_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_bytes(b"ID,Name,,\n1,a,,\n2,b\n")

    detected, rows = read_all(path)

    assert detected.columns == ("ID", "Name")
    assert rows == [InputRow(2, {"ID": "1", "Name": "a"}), InputRow(3, {"ID": "2", "Name": "b"})]


def test_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_bytes(
        b"A,B,C,D,E,F\n"
        b"1,2,3,4,5,6\n"
        b"1,2,3\n"  # fewer values: missing columns are None
        b"1,2,3,4,5,6,  ,\n"  # extra but empty: no problem
        b"1,2,3,4,5,6,7,8\n"  # extra values: a problem, the first six are kept
    )

    _, rows = read_all(path)

    assert rows[0] == InputRow(2, dict(zip("ABCDEF", "123456", strict=True)))
    assert rows[1].values == {"A": "1", "B": "2", "C": "3", "D": None, "E": None, "F": None}
    assert rows[1].problem is None
    assert rows[2].problem is None
    assert rows[3].values == dict(zip("ABCDEF", "123456", strict=True))
    assert rows[3].problem == "row 5 has 8 values but the header has 6 columns"


def test_blank_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "blanks.csv"
    path.write_bytes(b"Name,City\n\nZoe,Boston\n , \n,\nBob,Paris\n\n")

    with open_input(path) as reader:
        rows = list(reader)
        assert reader.blank_rows == 4

    assert [(row.number, row.values["Name"]) for row in rows] == [(3, "Zoe"), (6, "Bob")]


def test_reader_is_lazy_and_counts_blank_rows_as_it_goes(tmp_path: Path) -> None:
    path = tmp_path / "lazy.csv"
    path.write_bytes(b"a\n\n1\n\n\n2\n")

    with open_input(path) as reader:
        first = next(iter(reader))
        assert (first.number, reader.blank_rows) == (3, 1)
        second = next(iter(reader))
        assert (second.number, reader.blank_rows) == (6, 3)


# --- refusals -----------------------------------------------------------------------------------


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "members.xls"
    path.write_bytes(b"x")

    with pytest.raises(InvalidInputError) as caught:
        open_input(path)

    message = str(caught.value)
    assert "'.xls'" in message
    assert ".csv, .tsv, .txt, .xlsx, .xlsm" in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "members.csv"

    with pytest.raises(InvalidInputError, match="File not found") as caught:
        open_input(path)

    assert str(path) in str(caught.value)


def test_empty_file_and_missing_header_row(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInputError, match=r"empty\.csv is empty"):
        open_input(empty)

    short = tmp_path / "short.csv"
    short.write_bytes(b"a,b\n1,2\n")
    with pytest.raises(InvalidInputError, match="has no row 5"):
        open_input(short, ReadOptions(header_row=5))

    blank_header = tmp_path / "blank.csv"
    blank_header.write_bytes(b"\na,b\n")
    with pytest.raises(InvalidInputError, match="the header row, is empty"):
        open_input(blank_header)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (ReadOptions(encoding="klingon"), "Unknown encoding 'klingon'"),
        (ReadOptions(encoding="rot13"), "not a text encoding"),
        (ReadOptions(delimiter=";;"), "delimiter must be a single character"),
        (ReadOptions(quotechar="''"), "quotechar must be a single character"),
        (ReadOptions(delimiter=",", quotechar=","), "cannot both be ','"),
        (ReadOptions(header_row=0), "header_row must be 1 or more"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, options: ReadOptions, message: str) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"a,b\n1,2\n")

    with pytest.raises(InvalidInputError, match=message):
        open_input(path, options)


def test_a_workbook_named_csv_is_refused(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["a"])
    path = tmp_path / "really.csv"
    workbook.save(path)

    with pytest.raises(InvalidInputError, match="looks like an Excel workbook"):
        open_input(path)


def test_a_text_file_named_xlsx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"a,b\n1,2\n")

    with pytest.raises(InvalidInputError, match="could not be opened as an Excel workbook"):
        open_input(path)


def test_detected_to_dict(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"a;b\n1;2\n")

    detected, _ = read_all(path)

    assert detected.to_dict() == {
        "format": "csv",
        "columns": ["a", "b"],
        "header_row": 1,
        "encoding": "utf-8",
        "encoding_basis": "utf-8",
        "encoding_confidence": None,
        "delimiter": ";",
        "quotechar": '"',
        "sheet": None,
        "sheets": [],
    }
    assert Detected.from_dict(detected.to_dict()) == detected


# --- XLSX ---------------------------------------------------------------------------------------


def _workbook(path: Path) -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "Summary"
    first.append(["Nothing", "here"])
    people = workbook.create_sheet("People")
    people.append(["ID", "Zip", "Joined", "Last seen", "Dues", "Active", "Note"])
    people.append(
        [1, "02139", dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 14, 30, 5), 12.5, True, "Zoë"]
    )
    people.append([2, 2139, dt.date(1999, 12, 31), None, 0, False, None])
    people.append([None] * 7)  # blank row
    people.append([3.0, " 0123 ", None, None, -1.25, None, "last"])
    workbook.save(path)


def test_xlsx_second_sheet_by_name_with_typed_cells(tmp_path: Path) -> None:
    path = tmp_path / "members.xlsx"
    _workbook(path)

    with open_input(path, ReadOptions(sheet="People")) as reader:
        detected = reader.detected
        rows = list(reader)
        assert reader.blank_rows == 1

    assert detected.format == "xlsx"
    assert detected.sheet == "People"
    assert detected.sheets == ("Summary", "People")
    assert detected.columns == ("ID", "Zip", "Joined", "Last seen", "Dues", "Active", "Note")
    assert detected.encoding is None
    assert (
        detected.describe() == "Excel workbook, sheet 'People' (of 2), header on row 1, 7 columns"
    )
    assert [row.number for row in rows] == [2, 3, 5]
    first, second, third = (row.values for row in rows)
    assert first == {
        "ID": 1,
        "Zip": "02139",  # text keeps its leading zero
        "Joined": dt.date(2024, 3, 1),
        "Last seen": dt.datetime(2024, 3, 1, 14, 30, 5),
        "Dues": 12.5,
        "Active": True,
        "Note": "Zoë",
    }
    assert type(first["ID"]) is int
    assert type(first["Joined"]) is dt.date
    assert second == {
        "ID": 2,
        "Zip": 2139,  # a number: the zero was never there
        "Joined": dt.date(1999, 12, 31),
        "Last seen": None,
        "Dues": 0,
        "Active": False,
        "Note": None,
    }
    assert type(second["Active"]) is bool
    assert third["ID"] == 3
    assert type(third["ID"]) is int
    assert third["Zip"] == " 0123 "  # text is never stripped
    assert third["Dues"] == -1.25


def test_xlsx_first_sheet_by_default(tmp_path: Path) -> None:
    path = tmp_path / "members.xlsx"
    _workbook(path)

    detected, rows = read_all(path)

    assert detected.sheet == "Summary"
    assert detected.columns == ("Nothing", "here")
    assert rows == []


def test_xlsx_missing_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = tmp_path / "members.xlsx"
    _workbook(path)

    with pytest.raises(InvalidInputError) as caught:
        open_input(path, ReadOptions(sheet="Peple"))

    assert str(caught.value) == (
        'Sheet "Peple" not found in members.xlsx. Its sheets are: "Summary", "People". '
        'Did you mean "People"?'
    )


def test_xlsx_rows_and_columns_as_the_sheet_numbers_them(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"] = "Export of 2024-03-01"  # a title above the header
    sheet["C3"], sheet["D3"], sheet["E3"] = "Name", 2024, "Name "
    sheet["C4"], sheet["D4"] = "Zoe", 1
    path = tmp_path / "offset.xlsx"
    workbook.save(path)

    with pytest.raises(InvalidInputError) as caught:
        open_input(path, ReadOptions(header_row=3))
    assert '"Name" (columns C and E)' in str(caught.value)

    sheet["E3"] = None
    sheet["F6"] = "stray"
    sheet["A7"], sheet["C7"], sheet["F7"] = "under the title", "Bob", 0
    workbook.save(path)
    detected, rows = read_all(path, ReadOptions(header_row=3))
    assert detected.columns == ("Name", "2024")
    assert rows[0] == InputRow(4, {"Name": "Zoe", "2024": 1})
    assert rows[1].number == 6
    assert rows[1].values == {"Name": None, "2024": None}
    assert rows[1].problem == "row 6 has a value in column F, which has no name in the header row"
    assert rows[2].values == {"Name": "Bob", "2024": None}
    assert rows[2].problem == (
        "row 7 has values in columns A and F, which have no name in the header row"
    )


def test_xlsx_data_starting_below_row_one(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["B3"], sheet["C3"] = "Name", "City"
    sheet["B4"], sheet["C4"] = "Zoe", "Boston"
    path = tmp_path / "low.xlsx"
    workbook.save(path)

    with pytest.raises(InvalidInputError, match="header row, is empty"):
        open_input(path)
    detected, rows = read_all(path, ReadOptions(header_row=3))
    assert detected.columns == ("Name", "City")
    assert rows == [InputRow(4, {"Name": "Zoe", "City": "Boston"})]


def test_xlsx_empty_sheet(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    path = tmp_path / "empty.xlsx"
    workbook.save(path)

    with pytest.raises(InvalidInputError, match="is empty"):
        open_input(path)


# --- memory -------------------------------------------------------------------------------------


def test_reading_a_large_csv_keeps_memory_bounded(tmp_path: Path) -> None:
    path = tmp_path / "large.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write("ID,Name,Email,City\r\n")
        chunk = []
        for i in range(200_000):
            chunk.append(f"{i:07d},Person {i},p{i}@example.org,Zürich\r\n")
            if len(chunk) == 10_000:
                file.write("".join(chunk))
                chunk.clear()
        file.write("".join(chunk))
    assert path.stat().st_size > 8_000_000

    tracemalloc.start()
    try:
        count = 0
        last: InputRow | None = None
        with open_input(path) as reader:
            for row in reader:
                count += 1
                last = row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == 200_000
    assert last is not None
    assert last.values["ID"] == "0199999"
    assert last.number == 200_001
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
