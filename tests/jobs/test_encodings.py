"""Text encodings are never guessed silently (issue 13 item 7), and "Row N" is the row a
spreadsheet program shows (issue 13 §8).

The files are member rosters as a real export would have them: names, street addresses, cities
and e-mail addresses of one country (from Faker's locale data), written in the code page a
Windows, Mac or Japanese Excel of that country saves "CSV" in.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faker import Faker

from idms.config import Settings
from idms.errors import InvalidInputError
from idms.io.errorfile import ERROR_COLUMN, write_error_file
from idms.io.reader import open_input
from idms.io.records import ReadOptions
from idms.jobs.model import build_job
from idms.runs.record import RunStore
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace

COLUMNS = ["ID", "FirstName", "LastName", "Street", "City", "Email", "MemberType"]


def roster(locale: str, rows: int, *, first: list[list[str]] | None = None) -> str:
    """A semicolon-separated member roster of ``locale`` (CRLF, as Excel writes it)."""
    fake = Faker(locale)
    fake.seed_instance(13)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in first or []:
        writer.writerow(row)
    for i in range(rows):
        writer.writerow(
            [
                1000 + i,
                fake.first_name(),
                fake.last_name(),
                fake.street_address(),
                fake.city(),
                fake.ascii_email(),
                fake.random_element(["REG", "STU", "RET"]),
            ]
        )
    return out.getvalue()


def read_all(path: Path, options: ReadOptions = ReadOptions()) -> tuple[Any, list[dict[str, Any]]]:
    with open_input(path, options) as reader:
        return reader.detected, [row.values for row in reader]


def expected_rows(text: str) -> list[dict[str, Any]]:
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


# Each file is written in its encoding and must read back to exactly the text it was made from.
# (locale, codec the file is written in, the encoding idms must name)
CASES = [
    ("pl_PL", "cp1250", "windows-1250"),  # Polish Windows
    ("cs_CZ", "cp1250", "windows-1250"),  # Czech Windows
    ("ru_RU", "cp1251", "windows-1251"),  # Russian Windows
    ("el_GR", "cp1253", "windows-1253"),  # Greek Windows
    ("pl_PL", "iso8859_2", "iso-8859-2"),  # a Latin-2 export (ś, ą, ź sit elsewhere than cp1250)
    ("ja_JP", "shift_jis", "cp932"),  # Japanese Excel (cp932 reads all of Shift-JIS)
    ("de_DE", "mac_roman", "mac-roman"),  # Excel for Mac's "CSV" (not "CSV UTF-8")
    ("fr_FR", "cp1252", "windows-1252"),  # Western Windows: still read as before
]


@pytest.mark.parametrize(("locale", "codec", "name"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_a_roster_in_its_countrys_code_page_reads_back_to_the_right_text(
    tmp_path: Path, locale: str, codec: str, name: str
) -> None:
    text = roster(locale, 300)
    path = tmp_path / "members.csv"
    path.write_bytes(text.encode(codec))

    detected, rows = read_all(path)

    assert detected.encoding == name
    assert detected.encoding_basis == "detected"
    assert detected.encoding_confidence is not None
    assert detected.encoding_confidence >= 0.75
    assert rows == expected_rows(text)
    assert f"CSV, {name} (detected, " in detected.describe()
    assert "% sure), ';'-separated" in detected.describe()


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_rosters_read_back_with_or_without_a_byte_order_mark(
    tmp_path: Path, codec: str
) -> None:
    text = roster("ru_RU", 50) + roster("pl_PL", 50).split("\r\n", 1)[1]
    path = tmp_path / "members.txt"
    path.write_bytes(text.encode(codec))  # "utf-16" writes a BOM, "utf-16-be" does not

    detected, rows = read_all(path)

    assert detected.encoding_basis == ("bom" if codec == "utf-16" else "nul-bytes")
    assert rows == expected_rows(text)


def test_a_cp1251_file_is_not_read_as_cp1252_mojibake(tmp_path: Path) -> None:
    text = roster("ru_RU", 100, first=[["1", "Иван", "Петров", "ул. Ленина 1", "Москва", "", ""]])
    path = tmp_path / "members.csv"
    path.write_bytes(text.encode("cp1251"))

    _, rows = read_all(path)

    assert (rows[0]["FirstName"], rows[0]["LastName"]) == ("Иван", "Петров")  # not "Èâàí Ïåòðîâ"


def test_a_short_ambiguous_file_is_refused_naming_the_candidates(tmp_path: Path) -> None:
    # One Czech name: as windows-1250 "Dvořák", as windows-1252 "Dvoøák" (a Faroese-looking
    # spelling): both are plausible words, and nothing else in the file tells them apart.
    path = tmp_path / "members.csv"
    path.write_bytes("Name;City\r\nAntonín Dvořák;Praha\r\n".encode("cp1250"))

    with pytest.raises(InvalidInputError) as caught:
        open_input(path)

    message = caught.value.message
    assert "members.csv" in message
    assert "windows-1250" in message
    assert "windows-1252" in message
    assert "Dvořák" in message
    assert "Dvoøák" in message
    assert "input.encoding" in message
    assert "--encoding" not in message  # the HTTP API shows the message: no CLI flag in it
    assert caught.value.hint is not None
    assert "--encoding" in caught.value.hint


def test_an_explicit_encoding_always_wins(tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_bytes("Name;City\r\nAntonín Dvořák;Praha\r\n".encode("cp1250"))

    detected, rows = read_all(path, ReadOptions(encoding="windows-1250"))
    assert rows == [{"Name": "Antonín Dvořák", "City": "Praha"}]
    assert detected.encoding_text() == "windows-1250 (as given)"

    # never second-guessed, even where detection would pick another one
    text = roster("pl_PL", 200)
    path.write_bytes(text.encode("cp1250"))
    detected, rows = read_all(path, ReadOptions(encoding="cp1252"))
    assert detected.encoding == "cp1252"
    assert rows != expected_rows(text)


def test_a_utf8_file_is_decided_without_weighing(tmp_path: Path) -> None:
    text = roster("pl_PL", 50)
    path = tmp_path / "members.csv"
    path.write_bytes(text.encode("utf-8"))

    detected, rows = read_all(path)

    assert (detected.encoding, detected.encoding_basis) == ("utf-8", "utf-8")
    assert detected.encoding_confidence is None
    assert rows == expected_rows(text)


# --- end to end: the import stores the right names, and says how sure it was ---------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws"))
    yield ws
    ws.close()


def contact_job(path: Path, **input_options: Any) -> Any:
    return build_job(
        {
            "name": "Members",
            "input": {"file": str(path), **input_options},
            "source": "Contact",
            "action": "insert-update",
            "mappings": [
                {"field": "Email", "column": "Email", "match": True},
                {"field": "FirstName", "column": "FirstName"},
                {"field": "LastName", "column": "LastName"},
                {"field": "City", "column": "City"},
            ],
        }
    )


def stored_names(ws: Workspace) -> set[tuple[str, str]]:
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        return {(r["FirstName"], r["LastName"]) for r in store.read("Contact")}
    finally:
        store.close()


def test_a_cp1250_semicolon_csv_is_imported_with_its_names_intact(
    workspace: Workspace, tmp_path: Path
) -> None:
    ours = [
        ["1", "Jan", "Łukasiewicz", "ul. Długa 5", "Kraków", "jan@example.pl", "REG"],
        ["2", "Antonín", "Dvořák", "Nelahozeves 12", "Nelahozeves", "ad@example.cz", "REG"],
    ]
    text = roster("pl_PL", 150, first=ours)
    path = tmp_path / "czlonkowie.csv"
    path.write_bytes(text.encode("cp1250"))

    report = workspace.run(contact_job(path))

    assert report.counts.errors == 0
    names = stored_names(workspace)
    assert ("Jan", "Łukasiewicz") in names
    assert ("Antonín", "Dvořák") in names
    assert ("Jan", "£ukasiewicz") not in names
    assert report.detected["encoding"] == "windows-1250"
    assert report.detected["encoding_basis"] == "detected"
    record = RunStore(workspace.suite).get(report.run_id)
    assert record.detected["encoding"] == "windows-1250"
    assert json.loads(json.dumps(record.detected))["encoding_confidence"] >= 0.75


def test_an_ambiguous_file_is_refused_before_anything_is_written(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "members.csv"
    path.write_bytes(
        "Email;FirstName;LastName;City\r\nad@example.cz;Antonín;Dvořák;Praha\r\n".encode("cp1250")
    )

    with pytest.raises(InvalidInputError, match="windows-1250"):
        workspace.run(contact_job(path))
    assert stored_names(workspace) == set()
    assert list(RunStore(workspace.suite).list()) == []

    report = workspace.run(contact_job(path, encoding="windows-1250"))
    assert report.counts.errors == 0
    assert stored_names(workspace) == {("Antonín", "Dvořák")}


# --- "Row N" is the spreadsheet's row -------------------------------------------------------------


def test_rows_are_numbered_as_a_spreadsheet_shows_them(
    workspace: Workspace, tmp_path: Path
) -> None:
    # Row 3 holds a street of two lines (one cell); the record after it, row 4, has a bad date.
    # Physically that record starts on line 5.
    path = tmp_path / "members.csv"
    path.write_bytes(
        b"Email,FirstName,LastName,BirthDate\r\n"
        b"a@example.org,Ann,Adams,1980-01-02\r\n"
        b'b@example.org,Bob,"Baker\r\nand Sons",1981-02-03\r\n'
        b"c@example.org,Cy,Clark,not a date\r\n"
        b"d@example.org,Di,Dunn,1983-04-05\r\n"
    )
    job = build_job(
        {
            "name": "Members",
            "input": {"file": str(path)},
            "source": "Contact",
            "action": "insert-update",
            "mappings": [
                {"field": "Email", "column": "Email", "match": True},
                {"field": "FirstName", "column": "FirstName"},
                {"field": "LastName", "column": "LastName"},
                {"field": "BirthDate", "column": "BirthDate"},
            ],
        }
    )

    with open_input(path) as reader:
        assert [row.number for row in reader] == [2, 3, 4, 5]

    report = workspace.run(job)

    runs = RunStore(workspace.suite)
    errors = list(runs.rows(report.run_id, outcomes=["error"]))
    assert [row.row_number for row in errors] == [4]
    assert "Birth Date" in (errors[0].message or "") or errors[0].column == "BirthDate"
    failed = write_error_file(runs, report.run_id, tmp_path / "failed.csv")
    with failed.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [row["Email"] for row in written] == ["c@example.org"]
    assert written[0][ERROR_COLUMN].startswith("Row 4")
