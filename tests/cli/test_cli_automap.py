"""idms import --auto-map: the columns mapped by their headers, the proposal shown first, the
import carried on as usual; --map and --match win over the proposal."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import records, run_json, write_csv
from typer.testing import Result

Invoke = Callable[..., Result]

ROWS = [
    {"iMIS ID": "", "E-mail": "ada@example.org", "First Name": "Ada", "Last": "Lovelace",
     "Zip": "02139", "Shoe size": "38", "Email Address": "ada@home.example"},
    {"iMIS ID": "", "E-mail": "alan@example.org", "First Name": "Alan", "Last": "Turing",
     "Zip": "10001", "Shoe size": "44", "Email Address": "alan@home.example"},
    {"iMIS ID": "", "E-mail": "grace@example.org", "First Name": "Grace", "Last": "Hopper",
     "Zip": "20001", "Shoe size": "37", "Email Address": "grace@home.example"},
]  # fmt: skip
AUTO = ("--source", "Contact", "--action", "insert-update", "--auto-map")


@pytest.fixture
def people(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "people.csv", ROWS)


def test_auto_map_plan_shows_the_proposal_then_plans_the_rows(cli: Invoke, people: Path) -> None:
    result = cli("import", str(people), *AUTO, "--plan")
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines()]
    table = lines[lines.index("Auto-mapping") : lines.index("Columns left out:")]
    rows = [re.split(r"\s{2,}", line) for line in table[3:] if line]
    assert rows == [
        ["iMIS ID", "ImisId", "label", "100%"],
        ["E-mail", "Email", "label", "95%", "yes"],
        ["First Name", "FirstName", "label", "100%"],
        ["Last", "LastName", "alias", "90%", "yes"],
        ["Zip", "PostalCode", "alias", "90%"],
    ]
    assert "Shoe size: Contact Details has no field called 'Shoe size'" in result.stdout
    assert (
        "Email Address: 'Email Address' also looks like Email, but 'E-mail' matches it better."
        in result.stdout
    )
    assert "Matched on Email + LastName: ImisId is blank in the file's first rows" in result.stdout
    # the proposal comes first, the plan after it
    assert result.stdout.index("Auto-mapping") < result.stdout.index("planned")
    assert re.search(r"inserted\s+3", result.stdout)
    assert "PostalCode=02139" in result.stdout
    assert records(cli, "Contact") == []


def test_auto_map_runs_and_matches_on_the_proposed_keys(cli: Invoke, people: Path) -> None:
    data = run_json(cli("import", str(people), *AUTO, "--json"))
    assert data["inserted"] == 3
    proposal = data["auto_map"]
    assert proposal["match_keys"] == ["Email", "LastName"]
    assert {c["column"]: c["field"] for c in proposal["columns"]} == {
        "iMIS ID": "ImisId",
        "E-mail": "Email",
        "First Name": "FirstName",
        "Last": "LastName",
        "Zip": "PostalCode",
        "Shoe size": None,
        "Email Address": None,
    }
    ada = records(cli, "Contact", "Email=ada@example.org")
    assert [(r["FirstName"], r["PostalCode"]) for r in ada] == [("Ada", "02139")]

    moved = [dict(ROWS[0], Zip="02140"), *ROWS[1:]]
    write_csv(people, moved)
    again = run_json(cli("import", str(people), *AUTO, "--json"))
    assert (again["updated"], again["unchanged"], again["inserted"]) == (1, 2, 0)
    assert [r["PostalCode"] for r in records(cli, "Contact", "Email=ada@example.org")] == ["02140"]


def test_an_explicit_map_and_match_win_over_the_proposal(cli: Invoke, people: Path) -> None:
    flags = ("--map", "Email Address=Email", "--match", "Email")
    data = run_json(cli("import", str(people), *AUTO, *flags, "--json"))
    assert data["inserted"] == 3
    columns = {c["column"]: c for c in data["auto_map"]["columns"]}
    assert (columns["Email Address"]["field"], columns["Email Address"]["how"]) == (
        "Email",
        "given",
    )
    assert columns["E-mail"]["field"] is None
    assert columns["E-mail"]["reason"] == (
        "'E-mail' also looks like Email, but 'Email Address' is mapped to it."
    )
    assert [r["LastName"] for r in records(cli, "Contact", "Email=ada@home.example")] == [
        "Lovelace"
    ]
    assert records(cli, "Contact", "Email=ada@example.org") == []

    # matched on Email alone (the explicit --match), not Email + LastName: a new last name
    # updates Ada rather than inserting a second contact
    write_csv(people, [dict(ROWS[0], Last="Byron"), *ROWS[1:]])
    again = run_json(cli("import", str(people), *AUTO, *flags, "--json"))
    assert (again["updated"], again["inserted"]) == (1, 0)
    assert [r["LastName"] for r in records(cli, "Contact", "Email=ada@home.example")] == ["Byron"]


def test_without_auto_map_nothing_is_proposed(cli: Invoke, people: Path) -> None:
    flags = ("-m", "Last=LastName", "-m", "First Name=FirstName")
    result = cli("import", str(people), "-s", "Contact", "-a", "insert", *flags, "--plan")
    assert result.exit_code == 0, result.output
    assert "Auto-mapping" not in result.stdout
    assert re.search(r"inserted\s+3", result.stdout)


def test_the_facade_proposes_as_the_target_describes_the_source(workspace: Path) -> None:
    """What the web wizard calls: the same proposal, for the workspace's own target."""
    from idms.config import Settings
    from idms.workspace import Workspace

    with Workspace.open(Settings.load(workspace=workspace)) as ws:
        proposal = ws.suggest_mapping(
            "Contact",
            ["E-mail", "Last", "Zip"],
            action="update",
            keep={"Zip": "City"},
        )
    assert [(c.column, c.reference, c.how) for c in proposal.columns] == [
        ("E-mail", "Email", "label"),
        ("Last", "LastName", "alias"),
        ("Zip", "City", "given"),
    ]
    assert proposal.match_keys == ("Email", "LastName")


def test_insert_with_matching_finds_each_contact_by_email_and_last_name(
    cli: Invoke, people: Path, tmp_path: Path
) -> None:
    run_json(cli("import", str(people), "-s", "Contact", "-a", "insert", "--auto-map", "--json"))
    roster = write_csv(
        tmp_path / "webinar.csv",
        [
            {"E-mail": "ada@example.org", "Last name": "Lovelace", "Webinar": "Governance"},
            {"E-mail": "nobody@example.org", "Last name": "Nobody", "Webinar": "Governance"},
        ],
    )
    flags = ("-s", "Activity", "-a", "insert-with-matching", "--auto-map")
    extra = ("--set", "ActivityType=WEBINAR", "-O", "skip_validation=yes")
    data = run_json(cli("import", str(roster), *flags, *extra, "--plan", "--json"), code=1)
    assert data["auto_map"]["match_keys"] == ["Contact.Email", "Contact.LastName"]
    assert (data["inserted"], data["errors"]) == (1, 1)
    result = cli("import", str(roster), *flags, *extra, "--plan")
    assert "No contact matches Email 'nobody@example.org' + LastName 'Nobody'." in result.stdout
