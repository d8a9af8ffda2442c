"""idms runs: list, show, errors, undo, and the commands that come with durable runs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import CONTACT_FLAGS, PEOPLE, records, run_json, write_csv
from typer.testing import Result

from idms.cli import runs as runs_module

Invoke = Callable[..., Result]


@pytest.fixture
def imported(cli: Invoke, tmp_path: Path) -> dict[str, Any]:
    """Three contacts imported; the run's JSON summary."""
    file = write_csv(tmp_path / "people.csv", PEOPLE)
    return run_json(cli("import", str(file), *CONTACT_FLAGS, "--json"))


@pytest.fixture
def updated(cli: Invoke, imported: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Ada renamed Byron, Grace's e-mail row broken; the run's JSON summary."""
    rows = [
        dict(PEOPLE[0], Last="Byron"),
        PEOPLE[1],
        {"First": "Bad", "Last": "Row", "E-mail": "not-an-email"},
    ]
    file = write_csv(tmp_path / "changed.csv", rows)
    return run_json(cli("import", str(file), *CONTACT_FLAGS, "--json"), code=1)


def runs_json(cli: Invoke, *args: str) -> list[dict[str, Any]]:
    result = cli("runs", *args, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    return data


def test_no_runs_yet(cli: Invoke) -> None:
    result = cli("runs")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "No runs yet" in result.stderr
    assert runs_json(cli) == []
    assert runs_json(cli, "list") == []


def test_runs_lists_newest_first(
    cli: Invoke, imported: dict[str, Any], updated: dict[str, Any]
) -> None:
    data = runs_json(cli)
    assert [r["run_id"] for r in data] == [updated["run_id"], imported["run_id"]]
    first = data[0]
    for key in ("status", "rows", "inserted", "errors", "error_file"):
        assert first[key] == updated[key]
    assert (first["kind"], first["source"], first["action"]) == (
        "import",
        "Contact",
        "insert-update",
    )
    assert [r["run_id"] for r in runs_json(cli, "list", "--limit", "1")] == [updated["run_id"]]

    result = cli("runs", "list")
    assert result.exit_code == 0, result.output
    assert updated["run_id"] in result.stdout
    assert "completed with errors" in result.stdout
    assert "Import of changed.csv" in result.stdout


def test_show_json_has_the_run_and_its_rows(cli: Invoke, updated: dict[str, Any]) -> None:
    result = cli("runs", "show", updated["run_id"][:5], "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["run_id"] == updated["run_id"]
    assert data["status"] == "completed_with_errors"
    assert data["detected"]["format"] == "csv"
    assert data["detected"]["columns"] == ["First", "Last", "E-mail"]
    assert data["error_file"] == updated["error_file"]
    outcomes = [(r["row_number"], r["outcome"]) for r in data["results"]]
    assert outcomes == [(2, "updated"), (3, "unchanged"), (4, "error")]
    first = data["results"][0]
    assert first["before"] == {"LastName": "Lovelace"}
    assert first["after"] == {"LastName": "Byron"}
    error = data["results"][2]
    assert (error["code"], error["column"]) == ("invalid_email", "E-mail")

    only = cli("runs", "show", updated["run_id"], "--outcome", "ERROR", "--json")
    assert [r["outcome"] for r in json.loads(only.stdout)["results"]] == ["error"]
    few = cli("runs", "show", updated["run_id"], "--rows", "1", "--json")
    assert len(json.loads(few.stdout)["results"]) == 1


def test_show_prints_the_header_counts_and_diffs(cli: Invoke, updated: dict[str, Any]) -> None:
    result = cli("runs", "show", updated["run_id"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Run {updated['run_id']} — Import of changed.csv" in out
    assert "Read as:" in out
    assert "CSV, utf-8 (valid UTF-8), ','-separated" in out
    assert "LastName: Lovelace → Byron" in out
    assert "not a valid email address" in out
    assert re.search(r"updated\s+1", out)
    assert "Failed rows:" in out

    result = cli("runs", "show", updated["run_id"], "--rows", "1")
    assert "the first 1 of 3" in result.stdout
    assert "--rows 0" in result.stderr


def test_unknown_and_ambiguous_runs_are_refused(cli: Invoke, imported: dict[str, Any]) -> None:
    result = cli("runs", "show", "zzzz")
    assert result.exit_code == 2
    assert "No run 'zzzz'" in result.stderr
    result = cli("runs", "undo", "zzzz", "--yes")
    assert result.exit_code == 2


def test_errors_of_a_run_without_errors_writes_nothing(
    cli: Invoke, imported: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "f.xlsx"
    result = cli("runs", "errors", imported["run_id"], "-o", str(target))
    assert result.exit_code == 0, result.output
    assert "no failed rows" in result.stderr
    assert not target.exists()


def test_errors_to_an_unsupported_file_type_is_refused(
    cli: Invoke, updated: dict[str, Any], tmp_path: Path
) -> None:
    result = cli("runs", "errors", updated["run_id"], "-o", str(tmp_path / "f.pdf"))
    assert result.exit_code == 2
    assert ".csv or .xlsx" in result.stderr


def test_undo_restores_the_previous_values(cli: Invoke, updated: dict[str, Any]) -> None:
    assert records(cli, "Contact", "Email=ada@example.org")[0]["LastName"] == "Byron"
    result = cli("runs", "undo", updated["run_id"], "--yes", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["undo_of"] == updated["run_id"]
    assert (data["status"], data["updated"], data["rows"]) == ("succeeded", 1, 1)
    assert records(cli, "Contact", "Email=ada@example.org")[0]["LastName"] == "Lovelace"

    listed = {r["run_id"]: r for r in runs_json(cli)}
    assert listed[updated["run_id"]]["undone_by"] == data["run_id"]
    assert listed[data["run_id"]]["kind"] == "undo"

    again = cli("runs", "undo", updated["run_id"], "--yes")
    assert again.exit_code == 2
    assert "already undone" in again.stderr

    shown = cli("runs", "show", data["run_id"], "--json")
    assert json.loads(shown.stdout)["undo_of"] == updated["run_id"]


def test_undo_of_inserted_contacts_marks_them_for_erasure(
    cli: Invoke, imported: dict[str, Any]
) -> None:
    result = cli("runs", "undo", imported["run_id"], "--yes")
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.stdout
    assert re.search(r"updated\s+3", result.stdout)
    assert "marked for erasure" in result.stderr
    assert all(r["MarkForErasure"] for r in records(cli, "Contact"))


def test_the_undo_says_how_to_restore_what_it_marked_and_that_command_does(
    cli: Invoke, imported: dict[str, Any]
) -> None:
    undo = run_json(cli("runs", "undo", imported["run_id"], "--yes", "--json"))
    shown = cli("runs", "show", undo["run_id"])
    assert "undoing this undo run unmarks them" in shown.stdout

    result = cli("runs", "undo", imported["run_id"][:6], "--yes")  # already undone: says by what
    assert result.exit_code == 2
    assert f"Undo run {undo['run_id']} to put back what it reverted" in result.stderr
    erased = cli("runs", "undo", undo["run_id"], "--yes")  # the undo of the undo (a redo)
    assert erased.exit_code == 0, erased.output
    redo_id = re.search(r"Undo run (\w+) of undo run " + undo["run_id"], erased.stdout)
    assert redo_id is not None, erased.stdout
    hint = f"To put back what it changed, undo this undo run: idms runs undo {redo_id[1]}"
    assert hint in " ".join(erased.stderr.split())
    assert not any(r["MarkForErasure"] for r in records(cli, "Contact"))


def test_the_undo_of_inserted_contacts_hints_at_undoing_it_to_restore_them(
    cli: Invoke, imported: dict[str, Any]
) -> None:
    result = cli("runs", "undo", imported["run_id"], "--yes")
    assert result.exit_code == 0, result.output
    undo_id = re.search(r"Undo run (\w+) of run", result.stdout)
    assert undo_id is not None, result.stdout
    hint = (
        "To restore them (unmark them for erasure), undo this undo run: "
        f"idms runs undo {undo_id[1]}"
    )
    assert hint in " ".join(result.stderr.split())
    assert "run the job again" not in result.output

    words = hint.split(": ", 1)[1].split()[1:]  # the command it names, run as given
    restored = cli(*words, "--yes")
    assert restored.exit_code == 0, restored.output
    assert re.search(r"updated\s+3", restored.stdout)
    assert not any(r["MarkForErasure"] for r in records(cli, "Contact"))
    assert len(records(cli, "Contact")) == 3


def test_undo_leaves_records_changed_since_unless_forced(
    cli: Invoke, updated: dict[str, Any], tmp_path: Path
) -> None:
    later = write_csv(tmp_path / "later.csv", [dict(PEOPLE[0], Last="King")])
    run_json(cli("import", str(later), *CONTACT_FLAGS, "--json"))
    result = cli("runs", "undo", updated["run_id"], "--yes")
    assert result.exit_code == 0, result.output
    assert "Not undone" in result.stdout
    assert "changed after the run" in result.stdout
    assert "--force" in result.stderr
    assert records(cli, "Contact", "Email=ada@example.org")[0]["LastName"] == "King"


def test_undo_with_force(cli: Invoke, updated: dict[str, Any], tmp_path: Path) -> None:
    later = write_csv(tmp_path / "later.csv", [dict(PEOPLE[0], Last="King")])
    run_json(cli("import", str(later), *CONTACT_FLAGS, "--json"))
    result = cli("runs", "undo", updated["run_id"], "--yes", "--force", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["updated"] == 1
    assert records(cli, "Contact", "Email=ada@example.org")[0]["LastName"] == "Lovelace"


def test_undo_without_yes_and_without_a_terminal_is_refused(
    cli: Invoke, updated: dict[str, Any]
) -> None:
    result = cli("runs", "undo", updated["run_id"])
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert records(cli, "Contact", "Email=ada@example.org")[0]["LastName"] == "Byron"
    assert all(r["kind"] == "import" for r in runs_json(cli))


def test_undo_on_a_terminal_asks_first(
    cli: Invoke, updated: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_module, "stdin_is_terminal", lambda: True)
    result = cli("runs", "undo", updated["run_id"], input="n\n")
    assert result.exit_code == 3
    assert "1 updated" in result.stderr
    assert records(cli, "Contact", "Email=ada@example.org")[0]["LastName"] == "Byron"
    result = cli("runs", "undo", updated["run_id"], input="y\n")
    assert result.exit_code == 0, result.output
    assert records(cli, "Contact", "Email=ada@example.org")[0]["LastName"] == "Lovelace"


def test_a_plan_has_nothing_to_undo(cli: Invoke, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "people.csv", PEOPLE)
    plan = run_json(cli("import", str(file), *CONTACT_FLAGS, "--plan", "--json"))
    result = cli("runs", "undo", plan["run_id"])  # no --yes needed: it is refused anyway
    assert result.exit_code == 2
    assert "was a plan" in result.stderr


def test_resume_and_cancel_refuse_a_finished_run(cli: Invoke, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "people.csv", PEOPLE)
    data = run_json(cli("import", str(file), *CONTACT_FLAGS, "--json"))
    for command in ("resume", "cancel"):
        result = cli("runs", command, data["run_id"])
        assert result.exit_code == 2
        assert f"Run {data['run_id']} has finished (succeeded)" in result.stderr
    assert cli("runs", "resume", "nosuchrun").exit_code == 2


def test_update_demo_contacts_then_undo(cli: Invoke, tmp_path: Path) -> None:
    assert cli("demo", "--contacts", "50").exit_code == 0
    first, second = records(cli, "Contact", "Email=notEmpty:", "IsOrganization=false")[:2]
    rows = [
        {"E-mail": first["Email"], "Town": "Lerwick", "Level": "NOSUCHCODE"},
        {"E-mail": second["Email"], "Town": "Kirkwall", "Level": ""},
    ]
    file = write_csv(tmp_path / "towns.csv", rows)
    flags = ("-s", "Contact", "-a", "update", "-m", "E-mail=Email", "-k", "Email")
    flags += ("-m", "Town=City", "-m", "Level=MemberType")
    result = cli("import", str(file), *flags, "--json")
    data = run_json(result, code=1)
    assert (data["updated"], data["errors"]) == (1, 1)
    shown = json.loads(cli("runs", "show", data["run_id"], "--json").stdout)
    error = next(r for r in shown["results"] if r["outcome"] == "error")
    assert error["column"] == "Level"
    assert "NOSUCHCODE" in error["message"]
    after = records(cli, "Contact", f"ImisId={second['ImisId']}")[0]
    assert after["City"] == "Kirkwall"

    undo = cli("runs", "undo", data["run_id"], "--yes", "--json")
    assert undo.exit_code == 0, undo.output
    restored = records(cli, "Contact", f"ImisId={second['ImisId']}")[0]
    assert restored["City"] == second["City"]
    assert records(cli, "Contact", f"ImisId={first['ImisId']}")[0]["City"] == first["City"]
