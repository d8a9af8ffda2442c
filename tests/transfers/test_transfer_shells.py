"""The transfer through its shells: the command line (save, list, show, run, runs, export,
delete, hashes), the JSON API over a real ``idms serve`` app, and a schedule that fires a
transfer run. No credential in any answer."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from tr_support import TOKEN, Receiver, open_workspace, receiver, served, transfer
from typer.testing import CliRunner

from idms.cli.app import app
from idms.execution.listeners import subscribe_defaults
from idms.schedules import define_schedule
from idms.schedules.scheduler import Scheduler


@pytest.fixture
def http() -> Iterator[Receiver]:
    with receiver() as found:
        yield found


def test_the_command_line_round_trip(
    tmp_path: Path, http: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_workspace(tmp_path).close()
    for name in [k for k in os.environ if k.startswith("IDMS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IDMS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lms.yml").write_text(yaml.safe_dump(transfer(http.url)), encoding="utf-8")
    runner = CliRunner()

    def idms(*args: str) -> str:
        result = runner.invoke(app, ["transfer", *args])
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    assert "Transfer 'LMS nightly' saved (active)." in idms("save", "lms.yml")
    assert [t["name"] for t in json.loads(idms("list", "--json"))] == ["LMS nightly"]
    assert "bearer_secret: lms-token" in idms("show", "LMS nightly")
    ran = json.loads(idms("run", "LMS nightly", "--json"))
    assert ran["status"] == "succeeded"
    assert ran["kind"] == "transfer"
    assert ran["transfer"]["steps"][0]["response_code"] == 200
    text = idms("runs", "LMS nightly")
    assert "10 Upload to the LMS (http) succeeded" in text
    assert "HTTP 200" in text
    listed = runner.invoke(app, ["runs", "--json"])
    assert [r["kind"] for r in json.loads(listed.stdout)] == ["transfer"]
    hashes = json.loads(idms("hashes", "LMS nightly", "--json"))
    first = hashes["count"]
    assert first >= 8
    assert hashes["transfer"] == "LMS nightly"
    assert [s["step"] for s in hashes["steps"]] == ["changed"]
    kept = hashes["keys"][0]["key"]
    assert (
        f"Key '{kept}' forgotten in transfer 'LMS nightly': its next run sends that row again."
        in (idms("hashes", "LMS nightly", "--delete", kept))
    )
    some = json.loads(idms("runs", "LMS nightly", "--json"))[0]
    assert some["rows_sent"] == first
    unknown = runner.invoke(app, ["transfer", "hashes", "LMS nightly", "--key", "nope"])
    assert unknown.exit_code == 2
    assert "No hash is kept for key 'nope' in the transfer 'LMS nightly'" in unknown.stderr
    assert "the next run sends it" in unknown.stderr
    refused = runner.invoke(app, ["transfer", "hashes", "LMS nightly", "--clear"])
    assert refused.exit_code == 2  # no terminal to ask on: --yes is needed, nothing changed
    assert "needs confirmation: add --yes" in refused.stderr
    cleared = idms("hashes", "LMS nightly", "--clear", "--yes")
    assert (
        f"{first - 1} keys forgotten of transfer 'LMS nightly': its next run sends every row."
        in cleared
    )
    assert json.loads(idms("hashes", "LMS nightly", "--json"))["count"] == 0
    idms("export", "LMS nightly", "-o", "copy.yml")
    assert "Transfer 'LMS nightly' deleted." in idms("delete", "LMS nightly", "--yes")
    assert "saved" in idms("save", "copy.yml")
    bad = runner.invoke(app, ["transfer", "hashes", "LMS nightly", "--key", "a", "--clear"])
    assert bad.exit_code == 2
    missing = runner.invoke(app, ["transfer", "show", "LMS nightlly"])
    assert missing.exit_code == 2
    assert "LMS nightly" in missing.stderr
    for command in ("save", "list", "show", "run", "runs", "delete", "export", "hashes"):
        helped = runner.invoke(app, ["transfer", command, "--help"])
        assert helped.exit_code == 0
        assert "Example: idms transfer" in helped.stdout or command == "list"


def test_the_api_round_trip_without_secrets(tmp_path: Path, http: Receiver) -> None:
    open_workspace(tmp_path).close()
    with served(tmp_path) as api:
        client, prefix = api.client, "/api/v1"
        created = client.post(f"{prefix}/transfers", json=transfer(http.url))
        assert created.status_code == 201, created.text
        assert created.headers["location"].endswith("/transfers/LMS%20nightly")
        again = client.post(f"{prefix}/transfers", json=transfer(http.url))
        assert again.status_code == 200
        bad = client.post(f"{prefix}/transfers", json={"name": "x", "steps": []})
        assert bad.status_code == 400
        assert any(p.startswith("source:") for p in bad.json()["problems"])
        assert [t["name"] for t in client.get(f"{prefix}/transfers").json()] == ["LMS nightly"]
        one = client.get(f"{prefix}/transfers/LMS nightly").json()
        assert one["connections"] == ["http"]
        assert client.get(f"{prefix}/transfers/nope").status_code == 404
        exported = client.get(f"{prefix}/transfers/LMS nightly/export")
        assert exported.json()["delta"] == {"key": "ID", "report_removed": False}

        queued = client.post(f"{prefix}/transfers/LMS nightly/runs")
        assert queued.status_code == 202, queued.text
        run_id = queued.json()["run_id"]
        api.workspace.execute(run_id)
        [run] = client.get(f"{prefix}/transfers/LMS nightly/runs").json()
        assert run["run_id"] == run_id
        assert run["status"] == "succeeded"
        assert run["steps"][0]["response_code"] == 200
        listed = client.get(f"{prefix}/transfers/LMS nightly/hashes", params={"limit": 2}).json()
        assert (listed["transfer"], len(listed["keys"]), listed["more"]) == ("LMS nightly", 2, True)
        kept = listed["keys"][0]["key"]
        one = client.get(f"{prefix}/transfers/LMS nightly/hashes", params={"key": kept}).json()
        assert [k["hash"] for k in one["keys"]] == [listed["keys"][0]["hash"]]
        forgot = client.delete(f"{prefix}/transfers/LMS nightly/hashes/{kept}").json()
        assert forgot == {"transfer": "LMS nightly", "step": None, "deleted": kept, "count": 1}
        gone = client.get(f"{prefix}/transfers/LMS nightly/hashes", params={"key": kept})
        assert gone.status_code == 404
        cleared = client.delete(f"{prefix}/transfers/LMS nightly/hashes").json()
        assert cleared["count"] == listed["count"] - 1
        answers = [
            client.get(f"{prefix}/runs/{run_id}").text,
            client.get(f"{prefix}/workflow-runs/{run_id}/steps").text,
            client.get(f"{prefix}/transfers/LMS nightly/runs").text,
            exported.text,
        ]
        assert all(TOKEN not in a for a in answers)
        assert http.on("/members")[0].headers["authorization"] == f"Bearer {TOKEN}"
        assert client.delete(f"{prefix}/transfers/LMS nightly").json() == {"deleted": "LMS nightly"}
        assert client.get(f"{prefix}/transfers/LMS nightly").status_code == 404


def test_a_schedule_fires_a_transfer_run(tmp_path: Path, http: Receiver) -> None:
    subscribe_defaults()
    workspace = open_workspace(tmp_path)
    try:
        workspace.save_transfer(transfer(http.url))
        new = define_schedule(
            "Nightly",
            templates=workspace.templates,
            target=workspace.settings.target,
            platform=workspace.settings.platform.value,
            transfer="LMS nightly",
            find_transfer=workspace.transfer,
            cron="daily",
        )
        info = workspace.add_schedule(new)
        assert info.what() == "transfer 'LMS nightly'"
        slot = workspace.schedules.get("Nightly").next_fire_at
        assert slot is not None
        scheduler = Scheduler(workspace, elect=False)
        [run_id] = scheduler.tick(slot)
        run = workspace.runs.get(run_id)
        assert run.kind == "transfer"
        assert run.trigger == "schedule"
        assert run.schedule_id == info.id
        assert scheduler.tick(slot + timedelta(minutes=5)) == []  # overlap: skipped
        workspace.execute(run_id)
        assert workspace.runs.get(run_id).status == "succeeded"
        assert workspace.schedules.get("Nightly").last_outcome == "succeeded"
        assert len(http.on("/members")) == 1
        now = workspace.run_schedule_now("Nightly")
        assert now.kind == "transfer"
        assert now.status == "succeeded"
        with pytest.raises(Exception, match="LMS nightly"):
            define_schedule(
                "Other",
                templates=workspace.templates,
                target="x",
                platform="ems",
                transfer="LMS nightlly",
                find_transfer=workspace.transfer,
                cron="daily",
            )
    finally:
        workspace.close()
