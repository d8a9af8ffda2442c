"""A schedule that runs a workflow: ``idms schedule add NAME --workflow W --cron …`` and the
API's ``{"workflow": W}``; each fire starts a run of W (trigger ``schedule``, the trigger's
input), tied to its schedule: overlap, ``last_run_id`` and the outcome count as for a job; a
workflow that cannot start is a failed run saying why."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner
from wf_http_support import Served, served

from idms.cli.app import app
from idms.config import Settings
from idms.execution.listeners import subscribe_defaults
from idms.schedules import ScheduleStore, define_schedule
from idms.schedules.scheduler import Scheduler
from idms.workflows.model import WorkflowState
from idms.workspace import Workspace

NIGHTLY = {
    "name": "Nightly sync",
    "trigger": {"type": "schedule", "input": {"since": "yesterday"}},
    "steps": [{"id": "pause", "action": "wait", "with": {"seconds": 0}}],
}


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    subscribe_defaults()  # a finished run tells its schedule, as in idms serve
    opened = Workspace.open(Settings(workspace=tmp_path / "ws", lease_seconds=2))
    try:
        yield opened
    finally:
        opened.close()


def add(workspace: Workspace, name: str, workflow: str, now: datetime, **options: object) -> None:
    new = define_schedule(
        name,
        templates=workspace.templates,
        target=workspace.settings.target,
        platform=workspace.settings.platform.value,
        workflow=workflow,
        find_workflow=workspace.workflow,
        cron="*/5 * * * *",
        now=now,
        **options,  # type: ignore[arg-type]
    )
    ScheduleStore(workspace.suite).add(new, now=now)


def test_a_fire_starts_the_workflow_tied_to_its_schedule(workspace: Workspace) -> None:
    workspace.save_workflow(NIGHTLY)
    now = datetime(2026, 12, 3, 2, 1, tzinfo=UTC)
    add(workspace, "Nightly", "Nightly sync", now)
    info = workspace.schedules.get("Nightly")
    assert info.kind == "workflow"
    assert info.what() == "workflow 'Nightly sync'"
    scheduler = Scheduler(workspace, elect=False)
    assert scheduler.tick(now) == []
    slot = info.next_fire_at
    assert slot is not None
    [run_id] = scheduler.tick(slot)
    run = workspace.runs.get(run_id)
    assert run.kind == "workflow"
    assert run.trigger == "schedule"
    assert run.schedule_id == info.id
    assert run.status == "queued"
    assert workspace.schedules.get("Nightly").last_run_id == run_id
    # Overlap skip: the next slot, with this run still queued, starts nothing.
    assert scheduler.tick(slot + timedelta(minutes=5)) == []
    assert workspace.schedules.get("Nightly").skipped_fires == 1
    workspace.execute(run_id)
    assert workspace.runs.get(run_id).status == "succeeded"
    [step] = workspace.workflow_steps(run_id)
    assert step.input == {"since": "yesterday"}  # the schedule trigger's input
    assert workspace.schedules.get("Nightly").last_outcome == "succeeded"
    [again] = scheduler.tick(slot + timedelta(minutes=10))
    assert again != run_id


def test_a_workflow_that_cannot_start_is_a_failed_run_saying_why(workspace: Workspace) -> None:
    workspace.save_workflow(NIGHTLY)
    now = datetime(2026, 12, 3, 2, 1, tzinfo=UTC)
    add(workspace, "Nightly", "Nightly sync", now, max_failures=1)
    workspace.set_workflow_state("Nightly sync", WorkflowState.ARCHIVED)
    slot = workspace.schedules.get("Nightly").next_fire_at
    assert slot is not None
    [run_id] = Scheduler(workspace, elect=False).tick(slot)
    run = workspace.runs.get(run_id)
    assert run.status == "failed"
    assert run.schedule_id is not None
    assert run.message == (
        "Schedule 'Nightly' could not start workflow 'Nightly sync': Workflow 'Nightly sync' is "
        "archived: it cannot be run."
    )
    schedule = workspace.schedules.get("Nightly")
    assert schedule.state == "disabled"  # max_failures 1
    assert schedule.last_outcome == "failed"


def test_run_now_starts_the_workflow_by_hand(workspace: Workspace) -> None:
    workspace.save_workflow(NIGHTLY)
    add(workspace, "Nightly", "Nightly sync", datetime.now(UTC))
    run = workspace.run_schedule_now("Nightly")
    assert run.status == "succeeded"
    assert run.trigger == "manual"
    assert run.schedule_id == workspace.schedules.get("Nightly").id


def test_the_cli_adds_a_workflow_schedule(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.save_workflow(NIGHTLY)
    for name in [k for k in os.environ if k.startswith("IDMS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IDMS_WORKSPACE", str(workspace.settings.workspace))
    runner = CliRunner()
    added = runner.invoke(
        app, ["schedule", "add", "Nightly", "--workflow", "Nightly sync", "--cron", "daily"]
    )
    assert added.exit_code == 0, (added.stdout, added.stderr)
    said = "Schedule 'Nightly' added: workflow 'Nightly sync', daily (0 0 * * *) in UTC."
    assert said in added.stdout
    shown = json.loads(runner.invoke(app, ["schedule", "show", "Nightly", "--json"]).stdout)
    assert shown["kind"] == "workflow"
    assert shown["template"] == "Nightly sync"
    unknown = runner.invoke(
        app, ["schedule", "add", "Other", "--workflow", "Nightly synk", "--cron", "daily"]
    )
    assert unknown.exit_code == 2
    assert "Nightly sync" in unknown.stderr  # the closest name suggested
    both = runner.invoke(
        app,
        ["schedule", "add", "X", "--workflow", "Nightly sync", "--template", "T", "--cron", "1d"],
    )
    assert both.exit_code == 2
    assert "a job, a template, a workflow or a transfer" in both.stderr


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Served]:
    with served(tmp_path) as server:
        yield server


def test_the_api_adds_a_workflow_schedule(api: Served) -> None:
    api.workspace.save_workflow(NIGHTLY)
    answer = api.client.post(
        "/api/v1/schedules", json={"name": "Nightly", "workflow": "Nightly sync", "cron": "daily"}
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["kind"] == "workflow"
    assert body["workflow"] == "Nightly sync"
    now = api.client.post("/api/v1/schedules/Nightly/run-now")
    assert now.status_code == 202, now.text
    assert now.json()["kind"] == "workflow"
    unknown = api.client.post(
        "/api/v1/schedules", json={"name": "Other", "workflow": "Nope", "cron": "daily"}
    )
    assert unknown.status_code == 404
