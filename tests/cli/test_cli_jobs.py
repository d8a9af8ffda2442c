"""idms import and idms run: checks, plans, outcomes, error files, confirmations, exit codes."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import CONTACT_FLAGS, COUNT_KEYS, JOB, PEOPLE, records, run_json, write_csv
from typer.testing import Result

from idms.cli import jobs as jobs_module
from idms.config import Settings
from idms.errors import TerminalTargetError
from idms.targets import factory
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.testing import FaultyTarget
from input_rows import data_rows

Invoke = Callable[..., Result]

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def people_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "people.csv", PEOPLE)


def test_import_json_has_the_interface_keys_and_counts_every_row(
    cli: Invoke, people_csv: Path
) -> None:
    data = run_json(cli("import", str(people_csv), *CONTACT_FLAGS, "--json"))
    assert set(data) == {"run_id", "status", "rows", *COUNT_KEYS, "error_file", "options"}
    assert data["status"] == "succeeded"
    assert data["rows"] == data_rows(people_csv) == 3
    assert data["inserted"] == 3
    assert data["error_file"] is None
    assert [r["LastName"] for r in records(cli, "Contact", "Email=ada@example.org")] == ["Lovelace"]

    again = run_json(cli("import", str(people_csv), *CONTACT_FLAGS, "--json"))
    assert again["unchanged"] == again["rows"] == 3
    assert again["run_id"] != data["run_id"]


def test_import_without_json_prints_the_counts(cli: Invoke, people_csv: Path) -> None:
    result = cli("import", str(people_csv), *CONTACT_FLAGS)
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.stdout
    assert re.search(r"inserted\s+3", result.stdout)
    assert re.search(r"total\s+3", result.stdout)
    assert "Next:" not in result.stdout  # next steps only on a terminal
    assert "\x1b[" not in result.stdout  # nothing fancy when piped


def test_plan_writes_nothing_and_shows_what_would_change(cli: Invoke, people_csv: Path) -> None:
    result = cli("import", str(people_csv), *CONTACT_FLAGS, "--plan")
    assert result.exit_code == 0, result.output
    assert "planned" in result.stdout
    assert "What would change" in result.stdout
    assert "Email=ada@example.org" in result.stdout
    assert records(cli, "Contact", "Email=ada@example.org") == []

    data = run_json(cli("import", str(people_csv), *CONTACT_FLAGS, "--plan", "--json"))
    assert data["status"] == "planned"
    assert data["inserted"] == 3
    assert data["error_file"] is None
    assert records(cli, "Contact") == []


def test_plan_of_an_update_shows_before_and_after(
    cli: Invoke, people_csv: Path, tmp_path: Path
) -> None:
    run_json(cli("import", str(people_csv), *CONTACT_FLAGS, "--json"))
    changed = [dict(PEOPLE[0], Last="Byron"), *PEOPLE[1:]]
    file = write_csv(tmp_path / "changed.csv", changed)
    result = cli("import", str(file), *CONTACT_FLAGS, "--plan")
    assert result.exit_code == 0, result.output
    assert "LastName: Lovelace → Byron" in result.stdout
    assert re.search(r"updated\s+1", result.stdout)
    assert re.search(r"unchanged\s+2", result.stdout)
    assert records(cli, "Contact", "Email=ada@example.org")[0]["LastName"] == "Lovelace"


def test_a_bad_email_exits_1_with_an_error_file(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [*PEOPLE[:2], {"First": "Bad", "Last": "Row", "E-mail": "not-an-email"}]
    file = write_csv(tmp_path / "people.csv", rows)
    data = run_json(cli("import", str(file), *CONTACT_FLAGS, "--json"), code=1)
    assert data["status"] == "completed_with_errors"
    assert (data["inserted"], data["errors"], data["rows"]) == (2, 1, 3)
    error_file = Path(data["error_file"])
    assert error_file.is_file()

    target = tmp_path / "out" / "f.csv"
    result = cli("runs", "errors", data["run_id"], "-o", str(target))
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8-sig", newline="") as handle:
        written = list(csv.reader(handle))
    assert written[0] == ["First", "Last", "E-mail", "Error"]
    assert written[1][:3] == ["Bad", "Row", "not-an-email"]
    assert written[1][3].startswith("Row 4, column 'E-mail': ")
    assert len(written) == 2

    monkeypatch.chdir(tmp_path)  # the default output: RUN-failed.xlsx in the current folder
    result = cli("runs", "errors", data["run_id"][:6])
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{data['run_id']}-failed.xlsx").is_file()


def test_errors_are_listed_with_row_and_column(cli: Invoke, tmp_path: Path) -> None:
    rows = [*PEOPLE[:1], {"First": "Bad", "Last": "Row", "E-mail": "not-an-email"}]
    file = write_csv(tmp_path / "people.csv", rows)
    result = cli("import", str(file), *CONTACT_FLAGS)
    assert result.exit_code == 1
    assert "Row 3, column 'E-mail': " in result.stdout
    assert "Failed rows, with an Error column:" in result.stdout
    assert "-failed.csv" in result.stdout


def test_a_plan_with_errors_exits_1(cli: Invoke, tmp_path: Path) -> None:
    file = write_csv(tmp_path / "p.csv", [{"First": "B", "Last": "R", "E-mail": "nope"}])
    data = run_json(cli("import", str(file), *CONTACT_FLAGS, "--plan", "--json"), code=1)
    assert data["status"] == "planned"
    assert data["errors"] == 1


def test_an_invalid_job_lists_every_problem_and_writes_nothing(
    cli: Invoke, people_csv: Path
) -> None:
    result = cli(
        "import",
        str(people_csv),
        "--source",
        "Contact",
        "--action",
        "insert",
        "--map",
        "E-mail=Emial",
        "--map",
        "Surname=LastName",
        "--json",
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "nothing was written" in result.stderr
    assert "Did you mean 'Email'" in result.stderr
    assert "no column 'Surname'" in result.stderr
    problems = [line for line in result.stderr.splitlines() if line.strip().startswith("- ")]
    assert len(problems) == 2
    runs = cli("runs", "--json")
    assert runs.exit_code == 0, runs.output
    assert json.loads(runs.stdout) == []
    assert records(cli, "Contact") == []


def test_malformed_flags_are_listed(cli: Invoke, people_csv: Path) -> None:
    result = cli(
        "import",
        str(people_csv),
        "-s",
        "Contact",
        "-a",
        "insert",
        "--map",
        "E-mail",
        "--option",
        "bogus",
    )
    assert result.exit_code == 2
    assert "--map 'E-mail'" in result.stderr
    assert "--option 'bogus'" in result.stderr


def test_an_unknown_option_and_action_are_refused(cli: Invoke, people_csv: Path) -> None:
    result = cli("import", str(people_csv), *CONTACT_FLAGS, "--option", "skip_evrything=yes")
    assert result.exit_code == 2
    assert "skip_evrything" in result.stderr
    result = cli("import", str(people_csv), "-s", "Contact", "-a", "upsert", "-m", "E-mail=Email")
    assert result.exit_code == 2
    assert "action" in result.stderr


def test_a_missing_input_file_is_refused(cli: Invoke, tmp_path: Path) -> None:
    result = cli("import", str(tmp_path / "nothere.csv"), *CONTACT_FLAGS)
    assert result.exit_code == 2
    assert "nothere.csv" in result.stderr


def test_contact_delete_is_refused_with_the_erasure_hint(cli: Invoke, people_csv: Path) -> None:
    result = cli(
        "import", str(people_csv), "-s", "Contact", "-a", "delete", "-m", "E-mail=Email", "-k",
        "Email", "--yes",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "MarkForErasure" in result.stderr
    assert "nothing was written" in result.stderr


# ---- deletes and confirmation ----------------------------------------------------------------

CODES = [{"TableName": "CHAPTER", "Code": "NE", "Description": "New England"}]
DELETE_FLAGS = (
    "-s", "LookupTable", "-a", "delete", "-m", "TableName=TableName", "-m", "Code=Code",
    "-k", "TableName", "-k", "Code",
)  # fmt: skip


@pytest.fixture
def chapter_code(target: EmbeddedTarget, tmp_path: Path) -> Path:
    """A CHAPTER code in the store, and a CSV naming it."""
    results = target.apply("LookupTable", [Change(ChangeKind.INSERT, dict(CODES[0]))])
    assert results[0].ok, results[0].error
    return write_csv(tmp_path / "codes.csv", CODES)


def chapters(cli: Invoke) -> list[dict[str, Any]]:
    return records(cli, "LookupTable", "TableName=CHAPTER", "Code=NE")


def test_a_delete_without_yes_and_without_a_terminal_is_refused(
    cli: Invoke, chapter_code: Path
) -> None:
    result = cli("import", str(chapter_code), *DELETE_FLAGS)
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert len(chapters(cli)) == 1
    assert json.loads(cli("runs", "--json").stdout) == []


def test_a_delete_plan_needs_no_confirmation(cli: Invoke, chapter_code: Path) -> None:
    data = run_json(cli("import", str(chapter_code), *DELETE_FLAGS, "--plan", "--json"))
    assert (data["status"], data["deleted"]) == ("planned", 1)
    assert len(chapters(cli)) == 1


def test_a_delete_with_yes_deletes(cli: Invoke, chapter_code: Path) -> None:
    data = run_json(cli("import", str(chapter_code), *DELETE_FLAGS, "--yes", "--json"))
    assert (data["status"], data["deleted"]) == ("succeeded", 1)
    assert chapters(cli) == []


def test_a_delete_on_a_terminal_asks_first(
    cli: Invoke, chapter_code: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_module, "stdin_is_terminal", lambda: True)
    result = cli("import", str(chapter_code), *DELETE_FLAGS, input="n\n")
    assert result.exit_code == 3
    assert "Go ahead?" in result.stderr
    assert "nothing was written" in result.stderr
    assert len(chapters(cli)) == 1

    result = cli("import", str(chapter_code), *DELETE_FLAGS, input="y\n")
    assert result.exit_code == 0, result.output
    assert chapters(cli) == []


# ---- terminal output -------------------------------------------------------------------------


def test_on_a_terminal_it_says_how_it_read_the_file_and_what_next(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # Rich treats stdout as a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    file = tmp_path / "people.csv"
    text = "First;Last;E-mail\r\nAndré;Lefèvre;andre@example.org\r\n"
    file.write_bytes(text.encode("cp1252"))
    result = cli("import", str(file), *CONTACT_FLAGS, "--encoding", "windows-1252")
    assert result.exit_code == 0, result.output
    output = ANSI.sub("", result.stdout)
    assert "people.csv: CSV, windows-1252 (as given), ';'-separated" in output
    assert "header on row 1, 3 columns" in output
    assert "insert-update into Contact, matched on Email" in output
    assert "Next:" in output
    assert "runs show " in output
    assert "runs undo " in output
    assert "rows/s" in output
    assert records(cli, "Contact")[0]["LastName"] == "Lefèvre"


def test_a_file_whose_encoding_cannot_be_told_is_refused_with_the_flag_to_choose(
    cli: Invoke, tmp_path: Path
) -> None:
    file = tmp_path / "people.csv"
    file.write_bytes("First;Last;E-mail\r\nAndré;Lefèvre;andre@example.org\r\n".encode("cp1252"))
    result = cli("import", str(file), *CONTACT_FLAGS)
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "“Lefèvre”" in message  # as windows-1252 reads it, and as windows-1250: "Lefčvre"
    assert "“Lefčvre”" in message
    assert "On the command line: --encoding windows-1252" in message
    assert records(cli, "Contact") == []

    result = cli("run", "--help")
    assert "--encoding" in result.output


def test_on_a_terminal_a_plan_says_so(
    cli: Invoke, people_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    result = cli("import", str(people_csv), *CONTACT_FLAGS, "--plan")
    assert result.exit_code == 0, result.output
    output = ANSI.sub("", result.stdout)
    assert "Plan only: nothing will be written." in output
    assert "without --plan" in output


def test_json_on_a_terminal_is_still_only_json(
    cli: Invoke, people_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    data = run_json(cli("import", str(people_csv), *CONTACT_FLAGS, "--json"))
    assert data["inserted"] == 3


# ---- a run that fails ------------------------------------------------------------------------


def test_a_run_whose_target_fails_exits_3(
    cli: Invoke, people_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk_on_fire = TerminalTargetError("The embedded store failed: disk on fire")
    opened = factory.open_target

    def failing(settings: Settings, **options: Any) -> FaultyTarget:
        target = opened(settings, **options)
        return FaultyTarget(target, error=disk_on_fire, fail_rate=1.0, methods=("apply",))

    monkeypatch.setattr(factory, "open_target", failing)  # where every command gets its target
    result = cli("import", str(people_csv), *CONTACT_FLAGS, "--json")
    data = run_json(result, code=3)
    assert data["status"] == "failed"
    assert "disk on fire" in result.stderr
    result = cli("import", str(people_csv), *CONTACT_FLAGS)
    assert result.exit_code == 3
    assert "disk on fire" in result.stderr


# ---- job files and templates -----------------------------------------------------------------


def test_run_a_job_file(cli: Invoke, people_csv: Path, tmp_path: Path) -> None:
    job = tmp_path / "job.yml"
    job.write_text(JOB, encoding="utf-8")
    data = run_json(cli("run", str(job), "--json"))
    assert (data["status"], data["inserted"]) == ("succeeded", 3)
    assert records(cli, "Contact", "Email=grace@example.org")[0]["FirstName"] == "Grace"


def test_run_a_job_file_on_a_template_with_another_input(
    cli: Invoke, people_csv: Path, tmp_path: Path
) -> None:
    job = tmp_path / "job.yml"
    job.write_text(JOB, encoding="utf-8")
    result = cli("template", "save", str(job))
    assert result.exit_code == 0, result.output

    (tmp_path / "sub").mkdir()
    on_template = tmp_path / "sub" / "march.yml"
    on_template.write_text("template: People by e-mail\ninput: nothere.csv\n", encoding="utf-8")
    march = write_csv(tmp_path / "march.csv", [dict(PEOPLE[0], Last="Byron")])
    data = run_json(cli("run", str(on_template), "--input", str(march), "--json"))
    assert (data["rows"], data["inserted"]) == (1, 1)
    assert records(cli, "Contact", "Email=ada@example.org")[0]["LastName"] == "Byron"

    data = run_json(
        cli("run", "--template", "People by e-mail", "--input", str(people_csv), "--json")
    )
    assert (data["rows"], data["inserted"], data["updated"]) == (3, 2, 1)


def test_run_a_template_without_input_is_refused(cli: Invoke, tmp_path: Path) -> None:
    job = tmp_path / "job.yml"
    job.write_text(JOB, encoding="utf-8")
    assert cli("template", "save", str(job)).exit_code == 0
    result = cli("run", "--template", "People by e-mail")
    assert result.exit_code == 2
    assert "--input FILE" in result.stderr
    result = cli("run", "--template", "People by e-mial", "--input", "x.csv")
    assert result.exit_code == 2
    assert "Did you mean 'People by e-mail'" in result.stderr


def test_run_needs_a_job_file_or_a_template_not_both(cli: Invoke, tmp_path: Path) -> None:
    assert cli("run").exit_code == 2
    result = cli("run", str(tmp_path / "job.yml"), "--template", "x")
    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_run_a_missing_or_broken_job_file(cli: Invoke, tmp_path: Path) -> None:
    result = cli("run", str(tmp_path / "nothere.yml"))
    assert result.exit_code == 2
    assert "no job file" in result.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text("source: Contact\naction: teleport\nmapings: []\n", encoding="utf-8")
    result = cli("run", str(broken))
    assert result.exit_code == 2
    assert "action" in result.stderr
    assert "mapings" in result.stderr


def test_import_can_save_its_mapping_as_a_template(
    cli: Invoke, people_csv: Path, tmp_path: Path
) -> None:
    result = cli(
        "import", str(people_csv), *CONTACT_FLAGS, "--plan", "--save-template", "People", "--json"
    )
    data = run_json(result)
    assert data["status"] == "planned"
    assert "Template 'People' saved" in result.stderr
    shown = cli("template", "show", "People", "--json")
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)["document"]
    assert "input" not in document
    assert document["source"] == "Contact"
    assert [m["field"] for m in document["mappings"]] == ["Email", "LastName", "FirstName"]

    data = run_json(cli("run", "--template", "People", "--input", str(people_csv), "--json"))
    assert data["inserted"] == 3


def test_an_invalid_import_saves_no_template(cli: Invoke, people_csv: Path) -> None:
    result = cli(
        "import", str(people_csv), "-s", "Contact", "-a", "insert", "-m", "E-mail=Emial",
        "--save-template", "Broken",
    )  # fmt: skip
    assert result.exit_code == 2
    listed = cli("template", "list", "--json")
    assert json.loads(listed.stdout) == []


def test_failed_rows_from_an_xlsx_round_trip(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [PEOPLE[0], {"First": "Bad", "Last": "Row", "E-mail": "not-an-email"}]
    file = write_csv(tmp_path / "people.csv", rows)
    data = run_json(
        cli("import", str(file), *CONTACT_FLAGS, "--save-template", "People", "--json"), code=1
    )
    failed = tmp_path / "failed.xlsx"
    assert cli("runs", "errors", data["run_id"], "-o", str(failed)).exit_code == 0
    # Import the failed rows again unchanged: they fail again, read from the workbook.
    again = run_json(cli("run", "--template", "People", "--input", str(failed), "--json"), code=1)
    assert (again["rows"], again["errors"]) == (1, 1)


def test_import_a_workbook_sheet(
    cli: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xlsxwriter

    file = tmp_path / "people.xlsx"
    book = xlsxwriter.Workbook(str(file))
    book.add_worksheet("Notes").write_row(0, 0, ["Nothing", "here"])
    sheet = book.add_worksheet("Roster")
    sheet.write_row(0, 0, ["First", "Last", "E-mail"])
    for i, person in enumerate(PEOPLE, start=1):
        sheet.write_row(i, 0, list(person.values()))
    book.close()

    result = cli("import", str(file), *CONTACT_FLAGS, "--json")
    assert result.exit_code == 2  # the first sheet has none of the mapped columns
    assert "no column 'E-mail'" in result.stderr

    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    result = cli("import", str(file), *CONTACT_FLAGS, "--sheet", "Roster")
    assert result.exit_code == 0, result.output
    assert "people.xlsx: Excel workbook, sheet 'Roster' (of 2)" in ANSI.sub("", result.stdout)
    assert len(records(cli, "Contact")) == 3
