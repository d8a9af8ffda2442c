"""idms query: save, list, show, delete and run saved queries, to the screen and to files."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_support import CONTACT_FLAGS, write_csv
from python_calamine import CalamineWorkbook
from typer.testing import Result

from idms.cli import output as output_module
from idms.cli import queries as queries_module

Invoke = Callable[..., Result]
ANSI = re.compile(r"\x1b\[[0-9;]*m")

CONTACTS = """\
name: Contacts by last name
description: Everyone whose last name starts with the prompt
from: Contact
columns:
  ID: ImisId
  Last: LastName
  First: FirstName
  Zip: PostalCode
  Joined: JoinDate
  Organization: IsOrganization
filters:
  - {field: LastName, op: startsWith, prompt: last, required: true}
  - {field: MemberType, op: in, prompt: types}
order_by: [Last, ID]
"""

LOCKED = """\
name: Locked out users
from: UserCredentials
columns:
  ID: ImisId
  Username: Username
  Email: Contact.Email
filters:
  - {field: IsLockedOut, op: isTrue}
  - {field: Contact.LastName, op: startsWith, prompt: last_name}
order_by: [ID]
"""

BAD = """\
name: Broken
from: Contact
columns:
  ID: ImisId
  Mail: Emial
  Phone: Nowhere.Phone
filters:
  - {field: LastName, op: like, value: S}
  - {field: BirthDate, op: gt, value: someday}
order_by: [-MaidenName]
"""


@pytest.fixture
def demo(cli: Invoke) -> Invoke:
    result = cli("demo", "--contacts", "120", "--seed", "4")
    assert result.exit_code == 0, result.output
    return cli


def query_file(tmp_path: Path, text: str, name: str = "query.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def saved(cli: Invoke, tmp_path: Path, text: str = CONTACTS) -> None:
    result = cli("query", "save", str(query_file(tmp_path, text)))
    assert result.exit_code == 0, result.output


def all_records(cli: Invoke, *where: str) -> list[dict[str, Any]]:
    args = [a for w in where for a in ("--where", w)]
    result = cli("records", "Contact", *args, "--limit", "0", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


def run_rows(cli: Invoke, *args: str) -> list[dict[str, Any]]:
    result = cli("query", "run", *args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


# ---- save, list, show, delete ------------------------------------------------------------------


def test_save_list_show_delete(demo: Invoke, tmp_path: Path) -> None:
    path = query_file(tmp_path, CONTACTS)
    result = demo("query", "save", str(path))
    assert result.exit_code == 0, result.output
    assert "Query 'Contacts by last name' saved." in result.stdout
    assert 'idms query run "Contacts by last name" --param last=VALUE' in result.stderr
    again = demo("query", "save", str(path))
    assert "Query 'Contacts by last name' replaced." in again.stdout

    listed = demo("query", "list", "--json")
    assert listed.exit_code == 0, listed.output
    (info,) = json.loads(listed.stdout)
    assert info["name"] == "Contacts by last name"
    assert info["from"] == "Contact"
    assert info["columns"] == 6
    assert info["prompts"] == [
        {"name": "last", "required": True},
        {"name": "types", "required": False},
    ]
    assert info["iqa_path"] == "$/idms/Contacts by last name"

    table = demo("query", "list").stdout
    assert "Contacts by last name" in table
    assert "last (required), types" in table
    assert "$/idms/Contacts by last name" in table

    shown = demo("query", "show", "Contacts by last name")
    assert shown.exit_code == 0, shown.output
    assert "# prompts: last (required), types" in shown.stdout
    document = yaml.safe_load(shown.stdout)  # the header lines are YAML comments
    assert document == yaml.safe_load(CONTACTS)
    as_json = json.loads(demo("query", "show", "Contacts by last name", "--json").stdout)
    assert as_json["document"] == document

    deleted = demo("query", "delete", "Contacts by last name")  # no terminal: no question
    assert deleted.exit_code == 0, deleted.output
    assert "Query 'Contacts by last name' deleted." in deleted.stdout
    assert json.loads(demo("query", "list", "--json").stdout) == []
    assert "No saved queries yet" in demo("query", "list").stderr


def test_save_refuses_a_bad_query_listing_every_problem(demo: Invoke, tmp_path: Path) -> None:
    result = demo("query", "save", str(query_file(tmp_path, BAD)))
    assert result.exit_code == 2
    problems = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(problems) == 5, result.stderr
    text = " ".join(result.stderr.split())
    assert "columns.Mail: Contact has no field 'Emial'. Did you mean 'Email'?" in text
    assert "columns.Phone: 'Nowhere' is neither a source nor a relation" in text
    assert "filters[0].op: Unknown filter operator 'like'" in text
    assert "filters[1].value: BirthDate: 'someday' is not a date" in text
    assert "order_by[0]: Contact has no field 'MaidenName'" in text
    assert json.loads(demo("query", "list", "--json").stdout) == []


def test_save_refuses_a_bad_shape(demo: Invoke, tmp_path: Path) -> None:
    text = "name: Shapeless\nfrom: Contact\ncolumns: {ID: ImisId}\nfilter: []\nlimit: 0\n"
    result = demo("query", "save", str(query_file(tmp_path, text)))
    assert result.exit_code == 2
    assert "filter: is not a query setting" in result.stderr
    assert "limit:" in result.stderr
    missing = demo("query", "save", str(tmp_path / "nothing.yml"))
    assert missing.exit_code == 2
    assert "no query file at" in missing.stderr


def test_show_run_and_delete_an_unknown_query(demo: Invoke, tmp_path: Path) -> None:
    saved(demo, tmp_path)
    for args in (["show", "Contacts by lastname"], ["delete", "Contacts by lastname", "--yes"]):
        result = demo("query", *args)
        assert result.exit_code == 2
        assert "Did you mean 'Contacts by last name'" in result.stderr
    result = demo("query", "run", "Contacts by lastname", "-p", "last=S")
    assert result.exit_code == 2
    assert "Did you mean 'Contacts by last name'" in result.stderr


def test_delete_on_a_terminal_asks_first(
    demo: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved(demo, tmp_path)
    monkeypatch.setattr(output_module, "stdin_is_terminal", lambda: True)
    result = demo("query", "delete", "Contacts by last name", input="n\n")
    assert result.exit_code == 3
    assert len(json.loads(demo("query", "list", "--json").stdout)) == 1
    result = demo("query", "delete", "Contacts by last name", input="y\n")
    assert result.exit_code == 0, result.output
    assert json.loads(demo("query", "list", "--json").stdout) == []


# ---- run ---------------------------------------------------------------------------------------


def test_run_with_a_param(demo: Invoke, tmp_path: Path) -> None:
    saved(demo, tmp_path)
    rows = run_rows(demo, "Contacts by last name", "--param", "last=S")
    expected = all_records(demo, "LastName=startsWith:S")
    assert rows
    assert sorted(r["ID"] for r in rows) == sorted(r["ImisId"] for r in expected)
    assert all(r["Last"].lower().startswith("s") for r in rows)
    assert list(rows[0]) == ["ID", "Last", "First", "Zip", "Joined", "Organization"]
    assert [(r["Last"].lower(), r["ID"]) for r in rows] == sorted(
        (r["Last"].lower(), r["ID"]) for r in rows
    )
    assert all(isinstance(r["Organization"], bool) for r in rows)

    some_types = run_rows(demo, "Contacts by last name", "-p", "last=S", "-p", "types=REG|GLD")
    kept = {r["ImisId"] for r in expected if r["MemberType"] in ("REG", "GLD")}
    assert {r["ID"] for r in some_types} == kept
    limited = run_rows(demo, "Contacts by last name", "-p", "last=S", "--limit", "2")
    assert limited == rows[:2]


def test_a_missing_required_prompt_is_refused(demo: Invoke, tmp_path: Path) -> None:
    saved(demo, tmp_path)
    output = tmp_path / "out.csv"
    for extra in ([], ["-o", str(output)], ["--json"]):
        result = demo("query", "run", "Contacts by last name", *extra)
        assert result.exit_code == 2
        assert "the prompt 'last' is required" in result.stderr
        assert "--param last=VALUE" in result.stderr
        assert result.stdout == ""
    assert not output.exists()
    unknown = demo("query", "run", "Contacts by last name", "-p", "last=S", "-p", "lats=x")
    assert unknown.exit_code == 2
    assert "'lats' is not a prompt of this query" in unknown.stderr
    bad = demo("query", "run", "Contacts by last name", "-p", "last")
    assert bad.exit_code == 2
    assert "NAME=VALUE" in bad.stderr


@pytest.mark.parametrize("extension", [".csv", ".json", ".xlsx"])
def test_run_to_a_file(demo: Invoke, tmp_path: Path, extension: str) -> None:
    saved(demo, tmp_path)
    rows = run_rows(demo, "Contacts by last name", "-p", "last=M")
    output = tmp_path / f"contacts{extension}"
    result = demo("query", "run", "Contacts by last name", "-p", "last=M", "-o", str(output))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{len(rows)} rows written to {output}"
    columns = ["ID", "Last", "First", "Zip", "Joined", "Organization"]
    if extension == ".csv":
        with output.open(encoding="utf-8-sig", newline="") as file:
            lines = list(csv.reader(file))
        assert lines[0] == columns
        assert lines[1:] == [
            [
                r["ID"],
                r["Last"],
                r["First"] or "",
                r["Zip"] or "",
                r["Joined"] or "",
                str(r["Organization"]),
            ]
            for r in rows
        ]
    elif extension == ".json":
        assert json.loads(output.read_text(encoding="utf-8")) == rows
    else:
        sheet = CalamineWorkbook.from_path(str(output)).get_sheet_by_index(0).to_python()
        assert sheet[0] == columns
        assert [line[:3] for line in sheet[1:]] == [
            [r["ID"], r["Last"], r["First"] or ""] for r in rows
        ]
        assert [line[4] for line in sheet[1:]] == [
            date.fromisoformat(r["Joined"]) if r["Joined"] else "" for r in rows
        ]
        assert [line[5] for line in sheet[1:]] == [r["Organization"] for r in rows]


def test_run_a_file_and_json_summary(demo: Invoke, tmp_path: Path) -> None:
    path = query_file(tmp_path, LOCKED, "locked.yml")
    rows = run_rows(demo, str(path))  # not saved: run from the file
    assert rows
    assert all(set(r) == {"ID", "Username", "Email"} for r in rows)
    output = tmp_path / "locked.json"
    result = demo("query", "run", str(path), "-o", str(output), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "query": "Locked out users",
        "rows": len(rows),
        "file": str(output),
    }
    refused = demo("query", "run", str(path), "-o", str(tmp_path / "locked.txt"))
    assert refused.exit_code == 2
    assert ".csv, .json or .xlsx" in refused.stderr


def test_run_by_iqa_path_on_the_embedded_store(demo: Invoke, tmp_path: Path) -> None:
    saved(demo, tmp_path, LOCKED)
    by_name = run_rows(demo, "Locked out users")
    assert run_rows(demo, "$/idms/locked out users") == by_name  # a saved query's IQA path
    result = demo("query", "run", "$/Common/Queries/Members")
    assert result.exit_code == 2
    assert "runs only on an iMIS target" in result.stderr


def test_piped_output_is_tab_separated(demo: Invoke, tmp_path: Path) -> None:
    saved(demo, tmp_path)
    rows = run_rows(demo, "Contacts by last name", "-p", "last=S")
    result = demo("query", "run", "Contacts by last name", "-p", "last=S")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "ID\tLast\tFirst\tZip\tJoined\tOrganization"
    assert len(lines) == len(rows) + 1
    assert lines[1].split("\t")[:2] == [rows[0]["ID"], rows[0]["Last"]]


def test_on_a_terminal_a_table_of_the_first_rows(
    demo: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # Rich treats stdout as a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    everyone = "name: Everyone\nfrom: Contact\ncolumns: {ID: ImisId, Last: LastName}\n"
    saved(demo, tmp_path, everyone)
    total = len(all_records(demo))
    assert total > queries_module.SHOWN_ROWS
    result = demo("query", "run", "Everyone")
    assert result.exit_code == 0, result.output
    output = ANSI.sub("", result.stdout)
    assert "ID" in output
    assert "Last" in output
    assert f"The first {queries_module.SHOWN_ROWS} rows of {total}" in " ".join(
        result.stderr.split()
    )
    few = demo("query", "run", "Everyone", "--limit", "3")
    assert "The first 3 rows of" in " ".join(few.stderr.split())
    output_file = tmp_path / "everyone.csv"
    exported = demo("query", "run", "Everyone", "-o", str(output_file))  # with a progress bar
    assert exported.exit_code == 0, exported.output
    assert f"{total} rows written to {output_file}" in ANSI.sub("", exported.stdout)
    with output_file.open(encoding="utf-8-sig", newline="") as file:
        assert len(list(csv.reader(file))) == total + 1


def test_formulas_are_escaped_in_csv_unless_asked(demo: Invoke, tmp_path: Path) -> None:
    people = [{"First": "=1+2", "Last": "Zzyzx", "E-mail": "z@example.org"}]
    imported = demo("import", str(write_csv(tmp_path / "people.csv", people)), *CONTACT_FLAGS)
    assert imported.exit_code == 0, imported.output
    saved(demo, tmp_path)
    escaped, raw = tmp_path / "escaped.csv", tmp_path / "raw.csv"
    args = ("query", "run", "Contacts by last name", "-p", "last=Zzyzx")
    assert demo(*args, "-o", str(escaped)).exit_code == 0
    assert demo(*args, "-o", str(raw), "--no-escape-formulas").exit_code == 0
    with escaped.open(encoding="utf-8-sig", newline="") as file:
        assert list(csv.reader(file))[1][2] == "'=1+2"
    with raw.open(encoding="utf-8-sig", newline="") as file:
        assert list(csv.reader(file))[1][2] == "=1+2"


GIFTS = """\
name: Gifts with their donor
from: Gift
columns:
  Gift: GiftId
  Donor: DonorId
  Name: Donor.LastName
  Amount: Amount
related:
  Donor:
    source: Contact
    on: {DonorId: ImisId}          # unquoted: YAML 1.1 reads the key as true
    required: true
filters:
  - {field: Amount, op: between, prompt: range}
order_by: [-Amount, Gift]
"""


def test_a_relation_on_other_fields(demo: Invoke, tmp_path: Path) -> None:
    saved(demo, tmp_path, GIFTS)
    rows = run_rows(demo, "Gifts with their donor")
    contacts = {r["ImisId"]: r["LastName"] for r in all_records(demo)}
    assert rows
    assert all(r["Name"] == contacts[r["Donor"]] for r in rows)
    amounts = [Decimal(r["Amount"]) for r in rows]
    assert amounts == sorted(amounts, reverse=True)
    some = run_rows(demo, "Gifts with their donor", "-p", "range=100|250")
    assert {r["Gift"] for r in some} == {
        r["Gift"] for r, a in zip(rows, amounts, strict=True) if 100 <= a <= 250
    }
