"""One way to name a field: every place a command or a document names a field takes the canonical
name, the label, or either written in another case or with spaces, underscores or dashes, and means
the same field (``SourceDef.resolve``); an unknown name is refused with the closest spellings."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import records, run_json, write_csv
from typer.testing import Result

Invoke = Callable[..., Result]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# Each field written three ways: canonical name, iDMS label, another case with other separators.
IMIS_ID = ("ImisId", "iMIS ID", "IMIS_ID")
LAST_NAME = ("LastName", "Last Name", "last_name")
INFORMAL = ("InformalName", "Informal Name", "INFORMAL-name")
SPELLINGS = ("canonical", "label", "other case")


def people(cli: Invoke, tmp_path: Path) -> None:
    """Three contacts in the embedded store (iMIS IDs 1, 2, 3)."""
    rows = [{"Last": name, "First": first} for first, name in PEOPLE]
    file = write_csv(tmp_path / "seed.csv", rows)
    flags = ["-s", "Contact", "-a", "insert", "-m", "Last=LastName", "-m", "First=FirstName"]
    assert run_json(cli("import", str(file), *flags, "--json"))["inserted"] == 3


PEOPLE = [("Ada", "Lovelace"), ("Alan", "Turing"), ("Grace", "Hopper")]


def ids_and_names(found: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["ImisId"], r["LastName"]) for r in found]


# ---- the case of the issue ---------------------------------------------------------------------


def test_match_on_the_canonical_name_of_a_field_mapped_by_its_label(
    cli: Invoke, tmp_path: Path
) -> None:
    people(cli, tmp_path)
    file = write_csv(tmp_path / "ids.csv", [{"iMIS ID": "2", "Last": "Turing-Byron"}])
    result = cli(
        "import",
        str(file),
        "--source",
        "Contact",
        "--action",
        "update",
        "--map",
        "iMIS ID=iMIS ID",
        "--match",
        "ImisId",
        "--map",
        "Last=LastName",
        "--json",
    )
    data = run_json(result)
    assert (data["updated"], data["errors"]) == (1, 0)
    assert ids_and_names(records(cli, "Contact", "ImisId=2")) == [("2", "Turing-Byron")]


# ---- each place a field is named, each way it is written ---------------------------------------


@pytest.mark.parametrize("mapped", IMIS_ID, ids=SPELLINGS)
@pytest.mark.parametrize("matched", IMIS_ID, ids=SPELLINGS)
def test_match_key_by_any_name_of_the_mapped_field(
    cli: Invoke, tmp_path: Path, mapped: str, matched: str
) -> None:
    people(cli, tmp_path)
    file = write_csv(tmp_path / "ids.csv", [{"ID": "3", "Last": "Hopper-Murray"}])
    flags = ["-s", "Contact", "-a", "update", "-m", f"ID={mapped}", "-k", matched]
    data = run_json(cli("import", str(file), *flags, "-m", "Last=LastName", "--json"))
    assert (data["updated"], data["errors"]) == (1, 0)
    assert ids_and_names(records(cli, "Contact", "ImisId=3")) == [("3", "Hopper-Murray")]


@pytest.mark.parametrize("name", LAST_NAME, ids=SPELLINGS)
def test_mapping_a_column_to_any_name_of_a_field(cli: Invoke, tmp_path: Path, name: str) -> None:
    file = write_csv(tmp_path / "new.csv", [{"Given": "Emmy", "Surname": "Noether"}])
    flags = ["-s", "Contact", "-a", "insert", "-m", "Given=FirstName", "-m", f"Surname={name}"]
    data = run_json(cli("import", str(file), *flags, "--json"))
    assert data["inserted"] == 1
    assert [r["LastName"] for r in records(cli, "Contact")] == ["Noether"]


@pytest.mark.parametrize("name", INFORMAL, ids=SPELLINGS)
def test_set_any_name_of_a_field_to_a_constant(cli: Invoke, tmp_path: Path, name: str) -> None:
    people(cli, tmp_path)
    file = write_csv(tmp_path / "ids.csv", [{"ID": "1"}])
    flags = ["-s", "Contact", "-a", "update", "-m", "ID=ImisId", "-k", "ImisId"]
    data = run_json(cli("import", str(file), *flags, "--set", f"{name}=Countess", "--json"))
    assert data["updated"] == 1
    assert records(cli, "Contact", "ImisId=1")[0]["InformalName"] == "Countess"


@pytest.mark.parametrize("name", LAST_NAME, ids=SPELLINGS)
def test_where_and_order_by_any_name_of_a_field(cli: Invoke, tmp_path: Path, name: str) -> None:
    people(cli, tmp_path)
    found = records(cli, "Contact", f"{name}=startsWith:T")
    assert ids_and_names(found) == [("2", "Turing")]
    result = cli("records", "Contact", "--order", f"-{name}", "--json")
    assert result.exit_code == 0, result.output
    assert [r["LastName"] for r in json.loads(result.stdout)] == ["Turing", "Lovelace", "Hopper"]


@pytest.mark.parametrize(
    ("last", "imis_id"), list(zip(LAST_NAME, IMIS_ID, strict=True)), ids=SPELLINGS
)
def test_query_columns_filters_and_order_by_any_name(
    cli: Invoke, tmp_path: Path, last: str, imis_id: str
) -> None:
    people(cli, tmp_path)
    query = tmp_path / "query.yml"
    query.write_text(
        "name: Names\n"
        "from: Contact\n"
        f"columns: {{ID: '{imis_id}', Surname: '{last}', Mail: 'Contact.{INFORMAL[2]}'}}\n"
        f"filters: [{{field: '{last}', op: ne, value: Lovelace}}]\n"
        f"order_by: ['-{imis_id}']\n",
        encoding="utf-8",
    )
    result = cli("query", "run", str(query), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["ID"], r["Surname"]) for r in rows] == [("3", "Hopper"), ("2", "Turing")]


@pytest.mark.parametrize(
    "name", ["Email", "E-MAIL", "contact.email"], ids=["canonical", "other case", "Contact."]
)
def test_insert_with_matching_finds_the_contact_by_any_name(
    cli: Invoke, tmp_path: Path, name: str
) -> None:
    seed = write_csv(tmp_path / "seed.csv", [{"Last": "Lovelace", "Mail": "ada@example.org"}])
    flags = ["-s", "Contact", "-a", "insert", "-m", "Last=LastName", "-m", "Mail=Email"]
    flags += ["--set", "FirstName=Ada"]
    assert run_json(cli("import", str(seed), *flags, "--json"))["inserted"] == 1
    file = write_csv(tmp_path / "a.csv", [{"Mail": "ADA@example.org", "Type": "MEETING"}])
    flags = ["-s", "Activity", "-a", "insert-with-matching", "-m", "Mail=Email", "-k", name]
    flags += ["--set", "ActivityType=MEETING", "--option", "skip_validation=yes"]
    data = run_json(cli("import", str(file), *flags, "--json"))
    assert (data["inserted"], data["errors"]) == (1, 0)
    assert [r["ImisId"] for r in records(cli, "Activity")] == ["1"]


def test_a_label_in_another_script_names_its_own_field(cli: Invoke, tmp_path: Path) -> None:
    """Labels are folded in every script: 'Фамилия' and 'Имя' are two fields, not one."""
    panel = tmp_path / "panel.yml"
    panel.write_text(
        "name: Kin\nkind: single\nfields:\n"
        "  - {name: Given, label: Имя}\n"
        "  - {name: Family, label: Фамилия}\n",
        encoding="utf-8",
    )
    assert cli("panel", "create", str(panel)).exit_code == 0
    people(cli, tmp_path)
    file = write_csv(tmp_path / "kin.csv", [{"ID": "1", "Surname": "Байрон"}])
    flags = ["-s", "Kin", "-a", "insert", "-m", "ID=iMIS ID", "-m", "Surname=ФАМИЛИЯ"]
    assert run_json(cli("import", str(file), *flags, "--json"))["inserted"] == 1
    [row] = records(cli, "Kin")
    assert (row["Family"], row["Given"]) == ("Байрон", None)


# ---- unknown names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            ["-m", "ID=ImisId", "-k", "ImisIdd"],
            "Contact has no field 'ImisIdd'. Did you mean 'ImisId'?",
        ),
        (
            ["-m", "ID=ImisId", "-k", "iMIS IDs"],
            "Contact has no field 'iMIS IDs'. Did you mean 'iMIS ID'?",
        ),
        (
            ["-m", "ID=imis_idd", "-k", "ImisId"],
            "Contact has no field 'imis_idd'. Did you mean 'ImisId'?",
        ),
        (
            ["-m", "ID=ImisId", "-k", "ImisId", "--set", "Informal Nam=x"],
            "Did you mean 'Informal Name'?",
        ),
    ],
    ids=["match", "match by label", "mapping", "set"],
)
def test_an_unknown_field_is_refused_with_the_closest_name(
    cli: Invoke, tmp_path: Path, flags: list[str], expected: str
) -> None:
    file = write_csv(tmp_path / "ids.csv", [{"ID": "1"}])
    result = cli("import", str(file), "-s", "Contact", "-a", "update", *flags)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "nothing was written" in result.stderr


def test_a_match_key_that_is_not_mapped_says_so(cli: Invoke, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "ids.csv", [{"Last": "Lovelace"}])
    result = cli(
        "import", str(file), "-s", "Contact", "-a", "update", "-m", "Last=LastName", "-k", "imis id"
    )
    assert result.exit_code == 2
    assert "match key 'imis id': iMIS ID (ImisId) is not mapped" in result.stderr
    assert "needs at least one mapping with 'match: true'" not in result.stderr


def test_a_template_from_flags_keeps_the_match_on_its_mapping(cli: Invoke, tmp_path: Path) -> None:
    people(cli, tmp_path)
    file = write_csv(tmp_path / "ids.csv", [{"iMIS ID": "1", "Last": "Byron"}])
    flags = ["-s", "Contact", "-a", "update", "-m", "iMIS ID=iMIS ID", "-k", "ImisId"]
    result = cli(
        "import", str(file), *flags, "-m", "Last=LastName", "--plan", "--save-template", "Ids"
    )
    assert result.exit_code == 0, result.output
    shown = cli("template", "show", "Ids", "--json")
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)["document"]
    assert document["mappings"][0] == {"field": "iMIS ID", "column": "iMIS ID", "match": True}
    assert "match_on" not in document


# ---- the preamble names the match keys -----------------------------------------------------


def test_the_preamble_lists_the_match_keys_of_match_true_mappings(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # Rich treats stdout as a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    write_csv(tmp_path / "attended.csv", [{"E-mail": "ada@example.org", "Last": "Lovelace"}])
    job = tmp_path / "job.yml"
    job.write_text(
        "name: Attendance\n"
        "input: attended.csv\n"
        "source: Activity\n"
        "action: insert-with-matching\n"
        "mappings:\n"
        "  - {field: e-mail, column: E-mail, match: true}\n"
        "  - {field: Last Name, column: Last, match: true}\n"
        "  - {field: Activity Type, value: MEETING}\n",
        encoding="utf-8",
    )
    result = cli("run", str(job), "--plan")
    output = ANSI.sub("", result.stdout)
    assert (
        "insert-with-matching into Activity, matched on Contact.Email, Contact.LastName" in output
    )
    assert "(none)" not in output
