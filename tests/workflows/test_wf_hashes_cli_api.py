"""View Hashing Info from the shells: ``idms workflow hashes`` (counts, a page of keys, one key,
forget one, forget all with a confirmation) through the CLI runner, and
``/api/v1/workflows/{name}/hashes`` over real HTTP; the hashes come from real runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result
from wf_http_support import Served, served

from idms.cli.app import app
from idms.config import Settings
from idms.runs.status import RunStatus
from idms.workflows.hashes import HashTable
from idms.workspace import Workspace

WORKFLOW = """\
name: Nightly
steps:
  - id: changed
    action: delta_hashing
    with: {key_column: ID, input: "{{ input.rows }}"}
"""


def rows(n: int = 5) -> list[dict[str, Any]]:
    return [{"ID": f"M{i}", "Level": "Gold"} for i in range(n)]


def filled(workspace: Workspace) -> None:
    """Workflow Nightly saved and run once: step 'changed' keeps keys M0..M4."""
    workspace.save_workflow(
        {
            "name": "Nightly",
            "steps": [
                {
                    "id": "changed",
                    "action": "delta_hashing",
                    "with": {"key_column": "ID", "input": "{{ input.rows }}"},
                }
            ],
        }
    )
    run = workspace.run_workflow("Nightly", {"rows": rows()})
    assert run.status == RunStatus.SUCCEEDED, run.message


# ---- the command line ---------------------------------------------------------------------------


@pytest.fixture
def idms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    with Workspace.open(Settings.load(workspace=tmp_path / "ws", environ={})) as workspace:
        filled(workspace)
    return CliRunner()


def call(runner: CliRunner, *args: str, given: str | None = None) -> Result:
    return runner.invoke(app, ["workflow", "hashes", *args], input=given)


def test_the_count_a_page_of_keys_and_one_key(idms: CliRunner) -> None:
    shown = call(idms, "Nightly", "--limit", "2", "--offset", "1")
    assert shown.exit_code == 0, shown.output
    assert "Workflow 'Nightly' keeps 5 keys." in shown.stdout
    assert "changed" in shown.stdout
    assert "M1" in shown.stdout
    assert "M2" in shown.stdout
    assert "M0" not in shown.stdout
    assert "M3" not in shown.stdout
    assert "Keys 2 to 3 of 5. The next ones: --offset 3." in shown.stderr

    listed = json.loads(call(idms, "Nightly", "--step", "changed", "--json").stdout)
    assert listed["workflow"] == "Nightly"
    assert listed["count"] == 5
    assert [k["key"] for k in listed["keys"]] == ["M0", "M1", "M2", "M3", "M4"]
    assert listed["steps"] == [
        {"step": "changed", "count": 5, "updated_at": listed["steps"][0]["updated_at"]}
    ]
    assert listed["more"] is False

    one = call(idms, "Nightly", "--key", "M3")
    assert one.exit_code == 0, one.output
    entry = json.loads(call(idms, "Nightly", "--key", "M3", "--json").stdout)["keys"][0]
    assert entry["hash"] in one.stdout
    assert len(entry["hash"]) == 64


def test_forget_one_key_then_all_with_a_confirmation(idms: CliRunner) -> None:
    gone = call(idms, "Nightly", "--delete", "M1")
    assert gone.exit_code == 0, gone.output
    assert "Key 'M1' forgotten" in gone.stdout
    again = call(idms, "Nightly", "--delete", "M1")
    assert again.exit_code == 2
    assert "No hash is kept for key 'M1'" in again.output

    refused = call(idms, "Nightly", "--clear")  # no terminal: --yes is needed
    assert refused.exit_code == 2
    assert "needs confirmation: add --yes" in refused.output
    assert json.loads(call(idms, "Nightly", "--json").stdout)["count"] == 4

    cleared = call(idms, "Nightly", "--clear", "--yes", "--json")
    assert cleared.exit_code == 0, cleared.output
    assert json.loads(cleared.stdout) == {"workflow": "Nightly", "step": None, "cleared": 4}
    empty = call(idms, "Nightly")
    assert "keeps 0 keys" in empty.stdout
    assert "Nothing is kept yet" in empty.stderr


def test_wrong_names_and_options_exit_2(idms: CliRunner) -> None:
    assert "Did you mean 'Nightly'" in call(idms, "Nightley").output
    unknown = call(idms, "Nightly", "--step", "chaged")
    assert unknown.exit_code == 2
    assert "Did you mean 'changed'" in unknown.output
    both = call(idms, "Nightly", "--delete", "M1", "--clear")
    assert both.exit_code == 2
    assert "not several" in both.output
    assert call(idms, "Nightly", "--key", "nope").exit_code == 2


# ---- the API ------------------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Served]:
    with served(tmp_path) as server:
        filled(server.workspace)
        yield server


URL = "/api/v1/workflows/Nightly/hashes"


def test_the_api_lists_pages_and_shows_one_key(api: Served) -> None:
    answer = api.client.get(URL)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["workflow"] == "Nightly"
    assert body["count"] == 5
    assert [s["step"] for s in body["steps"]] == ["changed"]
    assert [k["key"] for k in body["keys"]] == ["M0", "M1", "M2", "M3", "M4"]
    page = api.client.get(URL, params={"step": "changed", "limit": 2, "offset": 2}).json()
    assert [k["key"] for k in page["keys"]] == ["M2", "M3"]
    assert page["more"] is True
    one = api.client.get(URL, params={"key": "M4"}).json()
    assert [(k["step"], k["key"]) for k in one["keys"]] == [("changed", "M4")]
    assert len(one["keys"][0]["hash"]) == 64


def test_the_api_forgets_one_key_then_all(api: Served) -> None:
    gone = api.client.delete(f"{URL}/M2")
    assert gone.status_code == 200, gone.text
    assert gone.json() == {"workflow": "Nightly", "step": None, "deleted": "M2", "count": 1}
    assert api.client.delete(f"{URL}/M2").status_code == 404
    assert api.client.get(URL).json()["count"] == 4
    owner = api.workspace.workflow("Nightly").id
    HashTable(api.workspace.suite, owner, "changed").put_many({"A/7 x": "0" * 64})
    odd = api.client.delete(f"{URL}/A%2F7%20x", params={"step": "changed"})
    assert odd.status_code == 200, odd.text
    assert odd.json()["deleted"] == "A/7 x", "a key with a slash and a space"
    cleared = api.client.delete(URL, params={"step": "changed"})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["count"] == 4
    assert api.client.get(URL).json()["count"] == 0
    # Forgotten: the next run passes every row on again.
    run = api.workspace.run_workflow("Nightly", {"rows": rows()})
    step = next(s for s in api.workspace.workflow_steps(run.id) if s.step_id == "changed")
    assert step.output["count"] == 5


def test_the_api_answers_404_400_and_401_with_the_error_body(api: Served) -> None:
    for url, params in (
        ("/api/v1/workflows/Nightley/hashes", {}),
        (URL, {"step": "chaged"}),
        (URL, {"key": "nope"}),
    ):
        answer = api.client.get(url, params=params)
        assert answer.status_code == 404, answer.text
        assert answer.json()["message"]
    assert "Did you mean 'changed'" in api.client.get(URL, params={"step": "chaged"}).text
    assert api.client.get(URL, params={"limit": 100_000}).status_code == 400
    assert api.client.get(URL, params={"offset": -1}).status_code == 400
    for method, path in (("GET", URL), ("DELETE", URL), ("DELETE", f"{URL}/M1")):
        assert api.open.request(method, path).status_code == 401
    assert api.client.get(URL).json()["count"] == 5, "nothing forgotten without the token"
