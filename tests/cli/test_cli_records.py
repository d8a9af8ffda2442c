"""idms records: filters, order, limit, JSON, and the layout of the output."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import Result

from idms.cli.output import dumps
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget

Invoke = Callable[..., Result]

PEOPLE = [
    {"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.org", "City": "London"},
    {"FirstName": "Alan", "LastName": "Turing", "City": "Wilmslow"},
    {"FirstName": "Grace", "LastName": "Hopper", "BirthDate": date(1906, 12, 9)},
]


@pytest.fixture
def people(target: EmbeddedTarget) -> list[str]:
    """Three contacts inserted through the target; their iMIS IDs."""
    changes = [Change(ChangeKind.INSERT, values, ref=i) for i, values in enumerate(PEOPLE)]
    results = target.apply("Contact", changes)
    assert all(r.ok for r in results), [r.error for r in results]
    return [str(r.after["ImisId"]) for r in results if r.after]


def records_json(cli: Invoke, *args: str) -> list[dict[str, object]]:
    result = cli("records", *args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


def test_empty_store_prints_an_empty_array(cli: Invoke) -> None:
    result = cli("records", "Contact", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout == "[]\n"


def test_json_is_one_array_with_canonical_names(cli: Invoke, people: list[str]) -> None:
    result = cli("records", "Contact", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # one document, not one per line
    assert [r["LastName"] for r in data] == ["Lovelace", "Turing", "Hopper"]
    assert [r["ImisId"] for r in data] == people
    assert {"ImisId", "FirstName", "LastName", "Email", "BirthDate"} <= data[0].keys()
    assert data[2]["BirthDate"] == "1906-12-09"  # dates as ISO strings
    assert data[0]["MarkForErasure"] is False


def test_where_equality_without_case(cli: Invoke, people: list[str]) -> None:
    data = records_json(cli, "Contact", "--where", "LastName=turing")
    assert [r["FirstName"] for r in data] == ["Alan"]


def test_where_with_operators_and_labels(cli: Invoke, people: list[str]) -> None:
    data = records_json(cli, "Contact", "--where", "First Name=startsWith:A")
    assert {r["LastName"] for r in data} == {"Lovelace", "Turing"}
    data = records_json(
        cli, "Contact", "--where", "FirstName=startsWith:A", "--where", "City=contains:slow"
    )
    assert [r["LastName"] for r in data] == ["Turing"]
    data = records_json(cli, "Contact", "--where", "Email=notEmpty:")
    assert [r["LastName"] for r in data] == ["Lovelace"]
    data = records_json(cli, "Contact", "--where", "LastName=in:Hopper|Turing")
    assert {r["LastName"] for r in data} == {"Hopper", "Turing"}


def test_order_and_limit(cli: Invoke, people: list[str]) -> None:
    data = records_json(cli, "Contact", "--order", "LastName", "--limit", "2")
    assert [r["LastName"] for r in data] == ["Hopper", "Lovelace"]
    data = records_json(cli, "Contact", "--order", "-LastName", "--limit", "1")
    assert [r["LastName"] for r in data] == ["Turing"]
    assert len(records_json(cli, "Contact", "--limit", "0")) == 3


def test_piped_output_is_tab_separated(cli: Invoke, people: list[str]) -> None:
    result = cli("records", "Contact", "--where", "LastName=Hopper")
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    columns = header.split("\t")
    values = dict(zip(columns, row.split("\t"), strict=True))
    assert values["FirstName"] == "Grace"
    assert values["BirthDate"] == "1906-12-09"


def test_limit_reached_is_said_on_stderr(cli: Invoke, people: list[str]) -> None:
    result = cli("records", "Contact", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3  # header + 2
    assert "--limit 0" in result.stderr


def test_unknown_field_in_where_suggests_the_closest(cli: Invoke) -> None:
    result = cli("records", "Contact", "--where", "LastNmae=Smith")
    assert result.exit_code == 2
    assert "no field 'LastNmae'" in result.stderr
    assert "Did you mean 'LastName'" in result.stderr
    assert result.stdout == ""


def test_unknown_field_in_order_is_refused(cli: Invoke) -> None:
    result = cli("records", "Contact", "--order", "-Sirname")
    assert result.exit_code == 2
    assert "no field 'Sirname'" in result.stderr


def test_malformed_where_is_refused(cli: Invoke) -> None:
    result = cli("records", "Contact", "--where", "LastName")
    assert result.exit_code == 2
    assert "FIELD=VALUE" in result.stderr


def test_unknown_source_in_records(cli: Invoke) -> None:
    result = cli("records", "Contcat")
    assert result.exit_code == 2
    assert "Did you mean 'Contact'" in result.stderr


def test_passwords_never_appear(cli: Invoke, target: EmbeddedTarget, people: list[str]) -> None:
    results = target.apply(
        "UserCredentials",
        [
            Change(
                ChangeKind.INSERT,
                {"ImisId": people[0], "Username": "ada", "Password": "Sup3r-secret!"},
            )
        ],
    )
    assert results[0].ok, results[0].error
    for args in (["--json"], []):
        result = cli("records", "UserCredentials", *args)
        assert result.exit_code == 0, result.output
        assert "ada" in result.stdout
        assert "Sup3r-secret!" not in result.output
        assert "Password" not in result.stdout.replace("FailedPasswordAttemptCount", "")


def test_json_values_are_strings_for_decimals_and_dates() -> None:
    text = dumps({"Amount": Decimal("125.50"), "On": date(2026, 1, 31), "Tags": ("A", "B")})
    assert json.loads(text) == {"Amount": "125.50", "On": "2026-01-31", "Tags": ["A", "B"]}
    assert json.loads(dumps({"Big": Decimal("1E+3")})) == {"Big": "1000"}


def test_where_finds_names_in_every_script_and_ids_sort_as_numbers(
    cli: Invoke, target: EmbeddedTarget
) -> None:
    """The issue's report: ``--where LastName=Åberg`` found nothing for a contact inserted as
    ``ÅBERG`` (SQLite's lower() folds ASCII only), and ID 1045 came before 106."""
    names = {"1045": "ÅBERG", "106": "Ó BRIAIN", "99": "ÖZTÜRK"}
    changes = [
        Change(ChangeKind.INSERT, {"ImisId": i, "FirstName": "Test", "LastName": last}, ref=n)
        for n, (i, last) in enumerate(names.items())
    ]
    assert all(r.ok for r in target.apply("Contact", changes))
    for imis_id, last in names.items():
        typed = last.capitalize()  # Åberg, Ó briain, Öztürk
        found = records_json(cli, "Contact", "--where", f"LastName={typed}")
        assert [r["ImisId"] for r in found] == [imis_id], typed
    assert [r["ImisId"] for r in records_json(cli, "Contact")] == ["99", "106", "1045"]
