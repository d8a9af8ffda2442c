"""idms panel and idms secrets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import Result

from idms.config import Settings
from idms.secrets import open_secrets

Invoke = Callable[..., Result]

GOOD_PANEL = """\
name: Volunteering
kind: multi
description: Volunteer roles and hours
fields:
  - {name: Role, type: string, length: 60, required: true}
  - {name: Hours, type: decimal}
  - {name: StartDate, label: Start Date, type: date}
"""

BAD_PANEL = """\
name: Mentoring
kind: multi
fields:
  - {name: ImisId, type: string}
  - {name: Hours, type: decimal, length: 5}
  - {name: Skill, type: code}
  - {name: hours, type: string}
"""


def source_names(cli: Invoke) -> set[str]:
    result = cli("sources", "--json")
    assert result.exit_code == 0, result.output
    return {d["name"] for d in json.loads(result.stdout)}


def test_panel_create_prints_its_fields_and_becomes_a_source(cli: Invoke, tmp_path: Path) -> None:
    file = tmp_path / "volunteering.yml"
    file.write_text(GOOD_PANEL, encoding="utf-8")
    result = cli("panel", "create", str(file))
    assert result.exit_code == 0, result.output
    assert "Panel 'Volunteering' created" in result.stdout
    for field in ("ImisId", "Ordinal", "Role", "Hours", "StartDate", "Start Date"):
        assert field in result.stdout
    assert "Volunteering" in source_names(cli)
    listed = cli("panel", "list")
    assert listed.exit_code == 0
    assert "Volunteering" in listed.stdout
    as_json = json.loads(cli("panel", "list", "--json").stdout)
    assert [p["name"] for p in as_json] == ["Volunteering"]
    assert cli("records", "Volunteering", "--json").stdout == "[]\n"


def test_panel_create_twice_is_refused(cli: Invoke, tmp_path: Path) -> None:
    file = tmp_path / "volunteering.yml"
    file.write_text(GOOD_PANEL, encoding="utf-8")
    assert cli("panel", "create", str(file)).exit_code == 0
    again = cli("panel", "create", str(file))
    assert again.exit_code == 2
    assert "Volunteering" in again.stderr


def test_malformed_panel_lists_every_problem_and_creates_nothing(
    cli: Invoke, tmp_path: Path
) -> None:
    file = tmp_path / "mentoring.yml"
    file.write_text(BAD_PANEL, encoding="utf-8")
    result = cli("panel", "create", str(file))
    assert result.exit_code == 2
    assert result.stdout == ""
    problems = [line for line in result.stderr.splitlines() if line.strip().startswith("- ")]
    assert len(problems) == 4, result.stderr
    assert "reserved" in result.stderr
    assert "length applies to string fields only" in result.stderr
    assert "needs a lookup table" in result.stderr
    assert "used twice" in result.stderr
    assert "Mentoring" not in source_names(cli)
    assert json.loads(cli("panel", "list", "--json").stdout) == []


def test_panel_file_that_does_not_exist(cli: Invoke, tmp_path: Path) -> None:
    result = cli("panel", "create", str(tmp_path / "missing.yml"))
    assert result.exit_code == 2
    assert "No such file" in result.stderr


def test_panel_list_when_there_are_none(cli: Invoke) -> None:
    result = cli("panel", "list")
    assert result.exit_code == 0
    assert "No panels yet" in result.stderr


def test_secrets_round_trip_never_prints_the_value(cli: Invoke, workspace: Path) -> None:
    value = "correct horse battery staple"
    stored = cli("secrets", "set", "imis-password", input=value + "\n")
    assert stored.exit_code == 0, stored.output
    assert "imis-password" in stored.stdout
    assert value not in stored.output
    with open_secrets(Settings.load(workspace=workspace)) as store:
        assert store.get("imis-password") == value  # the newline from stdin is not kept

    listed = cli("secrets", "list")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines() == ["imis-password"]
    assert value not in listed.output
    assert json.loads(cli("secrets", "list", "--json").stdout) == ["imis-password"]

    deleted = cli("secrets", "delete", "imis-password")
    assert deleted.exit_code == 0, deleted.output
    assert value not in deleted.output
    assert json.loads(cli("secrets", "list", "--json").stdout) == []
    assert "No secrets stored" in cli("secrets", "list").stderr


def test_secrets_set_replaces_and_keeps_inner_spaces(cli: Invoke, workspace: Path) -> None:
    assert cli("secrets", "set", "token", input="first").exit_code == 0
    assert cli("secrets", "set", "token", input="  second value  \n").exit_code == 0
    with open_secrets(Settings.load(workspace=workspace)) as store:
        assert store.get("token") == "  second value  "


def test_secrets_set_refuses_an_empty_value(cli: Invoke) -> None:
    result = cli("secrets", "set", "empty", input="")
    assert result.exit_code == 2
    assert "nothing stored" in result.stderr
    assert json.loads(cli("secrets", "list", "--json").stdout) == []


def test_secrets_delete_unknown_suggests(cli: Invoke) -> None:
    assert cli("secrets", "set", "imis-password", input="x").exit_code == 0
    result = cli("secrets", "delete", "imis-pasword")
    assert result.exit_code == 2
    assert "Did you mean 'imis-password'" in result.stderr
