"""A workflow run survives its process: killed with SIGKILL in the middle of a step, it is
resumed at that step, from the data the last finished step left, and no finished step runs
again (each step that ran appends its id to a file: the file says what really ran)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, select

from idms.state.models import Run, WorkflowStep

LEASE = 120  # seconds: the resume cannot be waiting for the lease to expire

# A process with one more action, ``mark``, which appends its step's id to the file $MARKS;
# argv: save JSON | run WORKFLOW | resume RUN_ID.
SCRIPT = r"""
import os, sys
from pydantic import BaseModel
from idms.config import Settings
from idms.workflows.actions import actions
from idms.workflows.actions.base import ActionSpec, StepResult
from idms.workspace import Workspace

class Params(BaseModel):
    pass

def mark(params, data, context):
    with open(os.environ["MARKS"], "a", encoding="utf-8") as handle:
        handle.write(context.step_id + "\n")
    return StepResult(output={"marked": context.step_id, "seen": sorted(data)})

actions()["mark"] = ActionSpec("mark", "Mark", "appends its step id to a file", Params, mark)
what, ref = sys.argv[1:]
with Workspace.open(Settings.load()) as workspace:
    if what == "save":
        import json
        workspace.save_workflow(json.loads(ref))
    elif what == "run":
        workspace.run_workflow(ref, {"start": 1})
    else:  # as idms serve's loop does: recover the runs whose holder is gone, execute them
        from idms.runs.leases import Leases
        requeued = Leases(workspace.suite).recover_lapsed().requeued
        report = workspace.execute(ref)
        print(",".join(requeued), report.status.value)
"""

WORKFLOW = """{"name": "Slow", "steps": [
  {"id": "first", "action": "mark"},
  {"id": "pause", "action": "wait", "with": {"seconds": 2}},
  {"id": "second", "action": "mark"}
]}"""


def script(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def state(workspace: Path) -> tuple[list[tuple[str, str, int]], list[tuple[str, str]]]:
    """Each step row (id, status, attempts) and each run (id, status)."""
    engine = create_engine(f"sqlite:///{workspace / 'suite.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(WorkflowStep.step_id, WorkflowStep.status, WorkflowStep.attempts).order_by(
                    WorkflowStep.seq
                )
            ).all()
            runs = conn.execute(select(Run.id, Run.status)).all()
    finally:
        engine.dispose()
    return [(str(a), str(b), int(c)) for a, b, c in rows], [(str(a), str(b)) for a, b in runs]


def test_killed_mid_step_then_resumed_without_repeating_a_finished_step(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    marks = tmp_path / "marks.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(IDMS_WORKSPACE=str(workspace), IDMS_LEASE_SECONDS=str(LEASE), MARKS=str(marks))
    saved = script(env, "save", WORKFLOW)
    _, err = saved.communicate(timeout=60)
    assert saved.returncode == 0, err

    running = script(env, "run", "Slow")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert running.poll() is None, running.communicate()
            if state(workspace)[0][-1:] == [("pause", "running", 1)]:
                break
            time.sleep(0.02)
        running.send_signal(signal.SIGKILL)
    finally:
        running.communicate(timeout=30)
    assert running.returncode == -signal.SIGKILL
    assert marks.read_text(encoding="utf-8").split() == ["first"]
    ((run_id, status),) = state(workspace)[1]
    assert status == "running"  # dead, its lease not expired

    resumed = script(env, "resume", run_id)
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    assert out.split() == [run_id, "succeeded"]  # queued again, then resumed

    assert marks.read_text(encoding="utf-8").split() == ["first", "second"]
    rows, runs = state(workspace)
    assert rows == [
        ("first", "succeeded", 1),
        ("pause", "succeeded", 2),  # the step that had not finished ran again, in its row
        ("second", "succeeded", 1),
    ]
    assert runs == [(run_id, "succeeded")]
