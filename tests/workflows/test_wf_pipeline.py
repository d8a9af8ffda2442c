"""Actions of different helpers in one run through the real runner: Delta Hashing stores its
fingerprints only when the whole run succeeds (a failed send is sent again in full), and a
JSON Schema Validation step that fails with ``on_failure: ignore`` passes its errors on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idms.config import Settings
from idms.runs.status import RunStatus
from idms.workflows.model import WorkflowInvalid
from idms.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws", environ={}))
    yield ws
    ws.close()


def members(changed: str = "Gold") -> list[dict[str, Any]]:
    return [
        {"ID": "101", "Level": changed},
        {"ID": "102", "Level": "Silver"},
        {"ID": "103", "Level": "Regular"},
    ]


def flow() -> dict[str, Any]:
    gate = {"mode": "error", "when": "{% if input.fail %}true{% endif %}"}
    return {
        "name": "Nightly members",
        "steps": [
            {
                "id": "changed",
                "action": "delta_hashing",
                "with": {"key_column": "ID", "input": "{{ input.rows }}"},
            },
            {"id": "send", "action": "gate", "with": gate},
        ],
    }


def changed_ids(workspace: Workspace, run_id: str) -> list[str]:
    step = next(s for s in workspace.workflow_steps(run_id) if s.step_id == "changed")
    assert "_pending_hashes" not in (step.output or {}), "the fingerprints are not shown"
    return [row["ID"] for row in step.output["rows"]]


def test_fingerprints_are_kept_only_when_the_run_succeeds(workspace: Workspace) -> None:
    workspace.save_workflow(flow())
    failed = workspace.run_workflow("Nightly members", {"rows": members(), "fail": True})
    assert failed.status == RunStatus.FAILED
    assert changed_ids(workspace, failed.id) == ["101", "102", "103"]

    # The send failed: the next run passes every row again, and this time succeeds.
    first = workspace.run_workflow("Nightly members", {"rows": members()})
    assert first.status == RunStatus.SUCCEEDED, first.message
    assert changed_ids(workspace, first.id) == ["101", "102", "103"]

    later = workspace.run_workflow("Nightly members", {"rows": members(changed="Platinum")})
    assert later.status == RunStatus.SUCCEEDED
    assert changed_ids(workspace, later.id) == ["101"]


def test_a_failed_validation_passed_over_hands_its_errors_to_the_next_step(
    workspace: Workspace,
) -> None:
    workspace.save_workflow(
        {
            "name": "Completions",
            "steps": [
                {
                    "id": "check",
                    "action": "json_schema_validation",
                    "with": {
                        "schema": {"type": "object", "required": ["imisId"]},
                        "error_property": "problems",
                    },
                    "on_failure": "ignore",
                },
                {
                    "id": "after",
                    "action": "gate",
                    "with": {"mode": "error", "when": "{{ input.problems | size }}"},
                },
            ],
        }
    )
    run = workspace.run_workflow("Completions", {"course": "Ethics 101"})
    steps = {s.step_id: s for s in workspace.workflow_steps(run.id)}
    assert steps["check"].status == "failed"
    assert "imisId" in str(steps["after"].input["problems"])


def test_a_parameter_the_action_does_not_take_is_refused_even_as_a_template(
    workspace: Workspace,
) -> None:
    bad = flow()
    bad["steps"][1]["with"] = {"mode": "error", "expression": "{{ input.fail }}"}
    with pytest.raises(WorkflowInvalid, match=r"steps\[1\]\.with\.expression"):
        workspace.save_workflow(bad)
