"""iUpdate from the command line: save a query, run a job that reads it, plan, undo, templates."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from typer.testing import Result

from idms.sources.filters import Filter, Operator
from idms.targets.embedded.target import EmbeddedTarget

Cli = Callable[..., Result]
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
UNLOCK = EXAMPLES / "unlock-locked-out"
CLEAR = EXAMPLES / "clear-a-field"


def locked(target: EmbeddedTarget) -> set[str]:
    found = target.read("UserCredentials", [Filter("IsLockedOut", Operator.IS_TRUE)])
    return {str(u["ImisId"]) for u in found}


def designations(target: EmbeddedTarget) -> dict[str, str]:
    return {str(c["ImisId"]): c["Designation"] for c in target.read("Contact") if c["Designation"]}


def test_a_job_on_a_saved_query_plans_runs_and_undoes(cli: Cli, workspace: Path) -> None:
    assert cli("demo", "--contacts", "400", "--seed", "8").exit_code == 0
    assert cli("query", "save", str(CLEAR / "query.yml")).exit_code == 0
    from idms.config import Settings

    target = EmbeddedTarget.from_settings(Settings.load(workspace=workspace))
    try:
        before = designations(target)
        assert before

        planned = cli("run", str(CLEAR / "job.yml"), "--plan", "--json")
        assert planned.exit_code == 0, planned.output
        plan = json.loads(planned.stdout)
        assert plan["status"] == "planned"
        assert plan["rows"] == plan["updated"] == len(before)
        assert designations(target) == before  # a plan writes nothing

        ran = cli("run", str(CLEAR / "job.yml"), "--yes", "--json")
        assert ran.exit_code == 0, ran.output
        summary = json.loads(ran.stdout)
        assert summary["updated"] == len(before)
        assert designations(target) == {}

        shown = cli("runs", "show", summary["run_id"])
        assert shown.exit_code == 0
        assert "Contacts with a designation" in shown.stdout

        undone = cli("runs", "undo", summary["run_id"], "--yes")
        assert undone.exit_code == 0, undone.output
        assert designations(target) == before
    finally:
        target.close()


def test_params_on_the_command_line_and_a_template_that_keeps_its_query(
    cli: Cli, workspace: Path
) -> None:
    assert cli("demo", "--contacts", "600", "--seed", "3").exit_code == 0
    assert cli("query", "save", str(UNLOCK / "query.yml")).exit_code == 0
    from idms.config import Settings

    target = EmbeddedTarget.from_settings(Settings.load(workspace=workspace))
    try:
        users = {str(u["ImisId"]): u for u in target.read("UserCredentials")}
        contacts = {str(c["ImisId"]): c for c in target.read("Contact")}
        initially = locked(target)
        assert initially
        letter = str(contacts[sorted(initially)[0]]["LastName"])[0]
        chosen = {
            i for i in initially if str(contacts[i]["LastName"]).lower().startswith(letter.lower())
        }

        ran = cli("run", str(UNLOCK / "job.yml"), "--param", f"last_name={letter}", "--json")
        assert ran.exit_code == 0, ran.output
        assert json.loads(ran.stdout)["updated"] == len(chosen)
        assert locked(target) == initially - chosen

        bad = cli("run", str(UNLOCK / "job.yml"), "--param", "lastname=S")
        assert bad.exit_code == 2
        assert "'lastname' is not a prompt of this query" in bad.output

        saved = cli("template", "save", str(UNLOCK / "job.yml"), "--name", "Nightly unlock")
        assert saved.exit_code == 0, saved.output
        assert "--input FILE" not in saved.output
        again = cli("run", "--template", "Nightly unlock", "--json")
        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["updated"] == len(initially - chosen)
        assert locked(target) == set()
        assert set(users) >= initially
    finally:
        target.close()


def test_a_job_naming_a_query_that_does_not_exist_is_refused(cli: Cli, tmp_path: Path) -> None:
    job = tmp_path / "job.yml"
    job.write_text(
        "name: x\ninput: {query: Locked out userz}\nsource: UserCredentials\naction: update\n"
        "mappings:\n  - {field: ImisId, column: ID, match: true}\n",
        encoding="utf-8",
    )
    assert cli("query", "save", str(UNLOCK / "query.yml")).exit_code == 0
    result = cli("run", str(job))
    assert result.exit_code == 2
    assert "No query 'Locked out userz'. Did you mean 'Locked out users'?" in result.output
