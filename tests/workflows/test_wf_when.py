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


def test_a_resumed_run_remembers_the_last_outcome_and_the_failure_to_report(
    workspace: Workspace,
) -> None:
    """The process dies in the failure branch: the resumed run still knows the step before it
    failed (so the branch runs again) and still ends failed."""
    from pydantic import BaseModel

    from idms.workflows.actions import actions
    from idms.workflows.actions.base import ActionSpec, StepResult

    class Params(BaseModel):
        pass

    calls: list[str] = []

    def die_once(params: Params, data: dict[str, Any], context: Any) -> StepResult:
        calls.append(context.step_id)
        if len(calls) == 1:
            raise SystemExit("the process dies here")  # not an Exception: nothing catches it
        return StepResult(output={"ok": True})

    actions()["die_once"] = ActionSpec("die_once", "Die once", "test", Params, die_once)
    try:
        workspace.save_workflow(
            {
                "name": "Dies",
                "steps": [
                    {"id": "upload", "action": "json_schema_validation", "with": CHECK,
                     "on_failure": "continue"},
                    {"id": "report", "action": "die_once", "when": "failure"},
                    {"id": "after", "action": "wait", "with": PAUSE, "when": "success"},
                ],
            }
        )  # fmt: skip
        run = workspace.start_workflow("Dies", {}, trigger="manual")
        with pytest.raises(SystemExit):
            workspace.execute(run.id)
        assert workspace.runs.get(run.id).status == RunStatus.RUNNING
        workspace.execute(run.id)  # resumed by the process that holds it
        ended = workspace.runs.get(run.id)
        assert calls == ["report", "report"]
        assert ended.status == RunStatus.FAILED
        assert ended.message is not None
        assert "Step 'upload'" in ended.message
        assert statuses(workspace, run.id) == {
            "upload": "failed",
            "report": "succeeded",
            "after": "succeeded",
        }
    finally:
        actions().pop("die_once", None)
