"""``idms workflow``: a workflow saved from a file, listed, shown, exported and saved back, run
with its steps printed, its run shown step by step, rerun from a step; errors as exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from idms.cli.app import app

WORKFLOW = """\
name: Demo
description: Shape members, stop when none are left
trigger: {type: webhook}
steps:
  - id: shape
    action: select
    with:
      mode: array
      array: "{{ input.members }}"
      columns: {Email: "{{ item.email }}", Source: Web}
  - id: none_left
    action: gate
    with: {mode: success, when: "{% if input.shape.size == 0 %}true{% endif %}"}
  - id: pause
    action: wait
    with: {seconds: 0}
"""


@pytest.fixture
def idms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wf.yml").write_text(WORKFLOW, encoding="utf-8")
    return CliRunner()


def call(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, ["workflow", *args])


def test_save_list_show_export_and_save_back(idms: CliRunner, tmp_path: Path) -> None:
    saved = call(idms, "save", "wf.yml")
    assert saved.exit_code == 0, saved.output
    assert "Workflow 'Demo' saved (active, webhook trigger)." in saved.stdout
    listed = call(idms, "list", "--json")
    assert [w["name"] for w in json.loads(listed.stdout)] == ["Demo"]
    shown = call(idms, "show", "Demo")
    assert "mode: array" in shown.stdout
    exported = call(idms, "export", "Demo", "-o", "copy.json")
    assert exported.exit_code == 0, exported.output
    document = json.loads((tmp_path / "copy.json").read_text(encoding="utf-8"))
    assert document["steps"][1]["with"]["when"].startswith("{% if")
    assert call(idms, "delete", "Demo", "--yes").exit_code == 0
    assert call(idms, "save", "copy.json").exit_code == 0
    again = json.loads(call(idms, "show", "Demo", "--json").stdout)
    assert again["document"] == document


def test_a_malformed_file_is_refused_with_exit_2_and_every_problem(
    idms: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "bad.yml").write_text(
        "name: Bad\nsteps:\n  - {id: a, action: nope}\n  - {id: b, action: wait, with: {}}\n",
        encoding="utf-8",
    )
    result = call(idms, "save", "bad.yml")
    assert result.exit_code == 2
    assert "steps[0].action: no action 'nope'" in result.output
    assert "steps[1].with.seconds: Field required" in result.output
    (tmp_path / "bad.yml").write_text("name: [unclosed\n", encoding="utf-8")
    result = call(idms, "save", "bad.yml")
    assert result.exit_code == 2
    assert "bad.yml is not valid YAML" in result.output


def test_run_prints_each_step_then_run_show_and_rerun(idms: CliRunner) -> None:
    assert call(idms, "save", "wf.yml").exit_code == 0
    data = '{"members": [{"email": "ada@example.org"}], "api_key": "k-123"}'
    ran = call(idms, "run", "Demo", "--input", data)
    assert ran.exit_code == 0, ran.output
    assert "1. shape (select) succeeded" in ran.stdout
    assert "1 row reshaped." in ran.stdout
    assert "3. pause (wait) succeeded" in ran.stdout
    (run,) = json.loads(call(idms, "runs", "Demo", "--json").stdout)
    assert run["status"] == "succeeded"
    shown = call(idms, "run-show", run["run_id"])
    assert '"Email": "ada@example.org"' in shown.stdout
    assert "k-123" not in shown.stdout
    assert '"api_key": "********"' in shown.stdout
    steps = json.loads(call(idms, "run-show", run["run_id"], "--json").stdout)["steps"]
    assert [s["status"] for s in steps] == ["succeeded"] * 3
    rerun = call(idms, "rerun", run["run_id"], "--from", "pause", "--json")
    assert rerun.exit_code == 0, rerun.output
    assert json.loads(rerun.stdout)["steps"] == {
        "total": 1,
        "succeeded": 1,
        "failed": 0,
        "skipped": 0,
    }


def test_a_failed_run_exits_3(idms: CliRunner) -> None:
    assert call(idms, "save", "wf.yml").exit_code == 0
    ran = call(idms, "run", "Demo", "--input", '{"members": "not rows"}', "--json")
    assert ran.exit_code == 3
    assert json.loads(ran.stdout)["status"] == "failed"
    assert call(idms, "run", "Demo", "--input", "[1]").exit_code == 2


def test_hook_url_regenerate_template_tester_and_actions(idms: CliRunner) -> None:
    assert call(idms, "save", "wf.yml").exit_code == 0
    url = call(idms, "hook-url", "Demo", "--base", "https://idms.example.org/").stdout.strip()
    assert url.startswith("https://idms.example.org/hooks/")
    new = call(idms, "regenerate-url", "Demo").stdout.splitlines()[0]
    assert new.split("/hooks/")[1] != url.split("/hooks/")[1]
    tested = call(idms, "test-template", "{{ input.m | size }}", "--data", '{"m": [1, 2]}')
    assert tested.stdout.strip() == "2"
    listed = json.loads(call(idms, "actions", "--json").stdout)
    gate = next(a for a in listed if a["name"] == "gate")
    assert gate["label"] == "Gate"
    assert [a["name"] for a in listed] == sorted(a["name"] for a in listed)
    assert call(idms, "disable", "Demo").stdout.strip() == "Workflow 'Demo' is disabled."


def test_the_runs_commands_know_a_workflow_run(idms: CliRunner) -> None:
    assert call(idms, "save", "wf.yml").exit_code == 0
    assert call(idms, "run", "Demo", "--input", '{"members": []}').exit_code == 0
    (run,) = json.loads(call(idms, "runs", "--json").stdout)
    shown = idms.invoke(app, ["runs", "show", run["run_id"]])
    assert re.search(r"^Kind: +workflow$", shown.stdout, re.MULTILINE)
    assert "Steps run: 2" in shown.stdout  # the gate stopped it: no members left
    undo = idms.invoke(app, ["runs", "undo", run["run_id"], "--yes"])
    assert undo.exit_code == 2
    assert "is a workflow run: it wrote nothing itself" in undo.output
    errors = idms.invoke(app, ["runs", "errors", run["run_id"]])
    assert "is a workflow run; it has no input rows" in errors.output
