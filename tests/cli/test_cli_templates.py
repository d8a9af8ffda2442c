"""idms template: save, list, show, delete."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cli_support import JOB
from typer.testing import Result

from idms.cli import output as output_module

Invoke = Callable[..., Result]


@pytest.fixture
def job_file(tmp_path: Path) -> Path:
    path = tmp_path / "job.yml"
    path.write_text(JOB, encoding="utf-8")
    return path


def test_save_list_show_delete(cli: Invoke, job_file: Path) -> None:
    result = cli("template", "save", str(job_file), "--description", "People, by e-mail")
    assert result.exit_code == 0, result.output
    assert "Template 'People by e-mail' saved." in result.stdout

    listed = cli("template", "list", "--json")
    assert listed.exit_code == 0, listed.output
    (info,) = json.loads(listed.stdout)
    assert info["name"] == "People by e-mail"
    assert info["description"] == "People, by e-mail"
    assert "input" not in info["document"]

    table = cli("template", "list")
    assert "People by e-mail" in table.stdout
    assert "insert-update" in table.stdout

    shown = cli("template", "show", "People by e-mail")
    assert shown.exit_code == 0, shown.output
    document = yaml.safe_load(shown.stdout)  # the header lines are YAML comments
    assert document["source"] == "Contact"
    assert document["mappings"][0] == {"field": "Email", "column": "E-mail", "match": True}
    assert "input" not in document
    as_json = json.loads(cli("template", "show", "People by e-mail", "--json").stdout)
    assert as_json["document"] == document

    again = cli("template", "save", str(job_file), "--name", "People by e-mail")
    assert "replaced" in again.stdout

    deleted = cli("template", "delete", "People by e-mail")  # no terminal: no question
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(cli("template", "list", "--json").stdout) == []
    assert "No templates yet" in cli("template", "list").stderr


def test_show_and_delete_an_unknown_template(cli: Invoke, job_file: Path) -> None:
    assert cli("template", "save", str(job_file), "--name", "People").exit_code == 0
    for args in (["show", "Peple"], ["delete", "Peple", "--yes"]):
        result = cli("template", *args)
        assert result.exit_code == 2
        assert "Did you mean 'People'" in result.stderr


def test_a_template_a_schedule_runs_is_not_deleted(
    cli: Invoke, job_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("template", "save", str(job_file), "--name", "People").exit_code == 0
    roster = tmp_path / "people.csv"
    roster.write_text("E-mail,Last,First\n", encoding="utf-8")
    schedule = ["--template", "People", "--input", str(roster), "--cron", "0 2 * * *"]
    added = cli("schedule", "add", "Nightly people", *schedule)
    assert added.exit_code == 0, added.output
    monkeypatch.setattr(output_module, "stdin_is_terminal", lambda: True)
    refused = cli("template", "delete", "People", input="y\n")  # refused before asking
    assert refused.exit_code == 2
    assert "Template 'People' is run by schedule 'Nightly people'" in refused.stderr
    assert "Delete template" not in refused.output
    assert len(json.loads(cli("template", "list", "--json").stdout)) == 1
    assert cli("schedule", "remove", "Nightly people", "--yes").exit_code == 0
    assert cli("template", "delete", "People", "--yes").exit_code == 0


def test_delete_on_a_terminal_asks_first(
    cli: Invoke, job_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("template", "save", str(job_file), "--name", "People").exit_code == 0
    monkeypatch.setattr(output_module, "stdin_is_terminal", lambda: True)
    result = cli("template", "delete", "People", input="n\n")
    assert result.exit_code == 3
    assert len(json.loads(cli("template", "list", "--json").stdout)) == 1
    result = cli("template", "delete", "People", "--yes")
    assert result.exit_code == 0, result.output
    assert json.loads(cli("template", "list", "--json").stdout) == []


def test_save_needs_a_name(cli: Invoke, tmp_path: Path) -> None:
    job = tmp_path / "job.yml"
    job.write_text(JOB.replace("name: People by e-mail\n", ""), encoding="utf-8")
    result = cli("template", "save", str(job))
    assert result.exit_code == 2
    assert "--name" in result.stderr
    assert cli("template", "save", str(job), "--name", "Named").exit_code == 0


def test_save_checks_the_job_against_the_target(cli: Invoke, tmp_path: Path) -> None:
    job = tmp_path / "job.yml"
    job.write_text(JOB.replace("Last Name", "Last Nmae"), encoding="utf-8")
    result = cli("template", "save", str(job))
    assert result.exit_code == 2
    assert "Did you mean 'Last Name'" in result.stderr
    assert json.loads(cli("template", "list", "--json").stdout) == []
