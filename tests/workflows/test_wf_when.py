"""A step's ``when`` (run only after a step that succeeded, or failed, or always) and
``on_failure: continue`` (go on, but end the run failed), through the real runner: the
failure-branch pattern of iDMS's transfer steps, and Delta Hashing's fingerprints kept only
when no step that had to succeed failed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idms.config import Settings
from idms.runs.status import RunStatus
from idms.workflows.model import WorkflowInvalid
from idms.workspace import Workspace

CHECK = {"schema": {"type": "object", "required": ["ok"]}}  # fails unless the input has ok
PAUSE: dict[str, Any] = {"seconds": 0}


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws", environ={}))
    yield ws
    ws.close()


def flow() -> dict[str, Any]:
    return {
        "name": "Branches",
        "steps": [
            {
                "id": "changed",
                "action": "delta_hashing",
                "with": {"key_column": "ID", "input": "{{ input.rows }}"},
            },
            {
                "id": "upload",
                "action": "json_schema_validation",
                "with": CHECK,
                "on_failure": "continue",
                "when": "success",
            },
            {"id": "on_failure", "action": "wait", "with": PAUSE, "when": "failure"},
            {"id": "on_success", "action": "wait", "with": PAUSE, "when": "success"},
            {"id": "last", "action": "wait", "with": PAUSE, "when": "always"},
        ],
    }


def statuses(workspace: Workspace, run_id: str) -> dict[str, str]:
    return {s.step_id: s.status for s in workspace.workflow_steps(run_id)}


ROWS = [{"ID": "1", "Name": "Ada"}, {"ID": "2", "Name": "Grace"}]


def test_a_failed_step_runs_the_failure_branch_and_ends_the_run_failed(
    workspace: Workspace,
) -> None:
    workspace.save_workflow(flow())
    run = workspace.run_workflow("Branches", {"rows": ROWS})
    assert run.status == RunStatus.FAILED
    assert run.message is not None
    assert "Step 'upload'" in run.message
    assert statuses(workspace, run.id) == {
        "changed": "succeeded",
        "upload": "failed",
        "on_failure": "succeeded",
        # The failure branch succeeded: the step after it runs (when: success) ...
        "on_success": "succeeded",
        "last": "succeeded",
    }
    # ... but the fingerprints were not kept: the next run passes every row on again.
    again = workspace.run_workflow("Branches", {"rows": ROWS, "ok": True})
    assert again.status == RunStatus.SUCCEEDED, again.message
    steps = {s.step_id: s for s in workspace.workflow_steps(again.id)}
    assert steps["changed"].output["count"] == 2
    assert steps["on_failure"].status == "skipped"
    assert "runs only if the previous step failed" in (steps["on_failure"].message or "")
    # A skipped step is passed over: the step before it decides the next one's when.
    assert steps["on_success"].status == "succeeded"
    third = workspace.run_workflow("Branches", {"rows": ROWS, "ok": True})
    changed = next(s for s in workspace.workflow_steps(third.id) if s.step_id == "changed")
    assert changed.output["count"] == 0


def test_without_when_a_step_after_an_ignored_failure_runs_as_before(
    workspace: Workspace,
) -> None:
    document = {
        "name": "Ignore",
        "steps": [
            {"id": "check", "action": "json_schema_validation", "with": CHECK,
             "on_failure": "ignore"},
            {"id": "after", "action": "wait", "with": PAUSE},
            {"id": "only_ok", "action": "wait", "with": PAUSE, "when": "success"},
        ],
    }  # fmt: skip
    workspace.save_workflow(document)
    run = workspace.run_workflow("Ignore", {})
    assert run.status == RunStatus.SUCCEEDED
    assert statuses(workspace, run.id) == {
        "check": "failed",
        "after": "succeeded",
        "only_ok": "succeeded",
    }


def test_a_failure_branch_first_is_refused(workspace: Workspace) -> None:
    document = {
        "name": "Bad",
        "steps": [{"id": "x", "action": "wait", "with": PAUSE, "when": "failure"}],
    }
    with pytest.raises(WorkflowInvalid, match=r"steps\[0\]\.when"):
        workspace.save_workflow(document)
