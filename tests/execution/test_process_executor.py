"""The local executor in child processes: a workflow run handed over is carried out to its end
in a child (not in this process); a child killed in the middle of a run leaves it to be taken
over, and the run ends with a second attempt; closing with ``cancel_pending`` leaves the runs
not started queued."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from idms.config import Settings
from idms.errors import ConfigError
from idms.execution.processes import ProcessExecutor
from idms.runs.durable import process_name
from idms.runs.record import RunInfo
from idms.workspace import Workspace


def flow(name: str, seconds: float) -> dict[str, Any]:
    return {
        "name": name,
        "trigger": {"type": "webhook"},
        "steps": [{"id": "pause", "action": "wait", "with": {"seconds": seconds}}],
    }


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace.open(Settings(workspace=tmp_path / "ws", lease_seconds=30)) as opened:
        yield opened


def until(workspace: Workspace, run_id: str, test: Callable[[RunInfo], bool]) -> RunInfo:
    deadline = time.monotonic() + 90
    while True:
        info = workspace.runs.get(run_id)
        if test(info):
            return info
        assert time.monotonic() < deadline, f"run {run_id} stuck: {info.status}"
        time.sleep(0.05)


def ended(info: RunInfo) -> bool:
    return info.status not in ("queued", "running")


def test_a_workflow_run_is_carried_out_to_its_end_in_a_child(workspace: Workspace) -> None:
    workspace.save_workflow(flow("Quick", 0.3))
    run_id = workspace.start_workflow("Quick", {"n": 1}, trigger="webhook").id
    executor = ProcessExecutor(workspace.settings, Workspace.open, 1)
    try:
        executor.submit(run_id)
        running = until(workspace, run_id, lambda i: i.status == "running")
        here = process_name()
        assert running.lease_owner is not None
        assert not running.lease_owner.startswith(f"{here}:")  # a child holds it
        assert any(running.lease_owner.startswith(f"{h}:") for h in executor.holders())
        done = until(workspace, run_id, ended)
    finally:
        executor.close()
    assert (done.status, done.attempts) == ("succeeded", 1)
    steps = workspace.workflow_steps(run_id)
    assert [(s.step_id, s.status) for s in steps] == [("pause", "succeeded")]


def test_a_killed_child_leaves_its_run_to_be_taken_over(workspace: Workspace) -> None:
    workspace.save_workflow(flow("Slow", 3))
    run_id = workspace.start_workflow("Slow", {}, trigger="webhook").id
    executor = ProcessExecutor(workspace.settings, Workspace.open, 1)
    try:
        executor.submit(run_id)
        first = until(workspace, run_id, lambda i: i.status == "running")
        assert first.lease_owner is not None
        child = int(first.lease_owner.split(":")[1])
        assert child != os.getpid()
        os.kill(child, signal.SIGKILL)
        done = until(workspace, run_id, ended)  # handed over again, to a new child
        assert executor.holders()
        assert all(f":{child}:" not in h for h in executor.holders())
    finally:
        executor.close()
    assert (done.status, done.attempts) == ("succeeded", 2)


def test_closing_with_cancel_pending_leaves_runs_not_started_queued(
    workspace: Workspace,
) -> None:
    workspace.save_workflow(flow("Busy", 1.5))
    first = workspace.start_workflow("Busy", {}, trigger="webhook").id
    second = workspace.start_workflow("Busy", {}, trigger="webhook").id
    executor = ProcessExecutor(workspace.settings, Workspace.open, 1)
    executor.submit(first)
    executor.submit(second)
    until(workspace, first, lambda i: i.status == "running")
    executor.close(cancel_pending=True)
    assert workspace.runs.get(first).status == "succeeded"  # the run in hand ends
    assert workspace.runs.get(second).status == "queued"  # the next one waits for a server
    with pytest.raises(RuntimeError, match="closed"):
        executor.submit(second)


def test_the_local_executor_setting() -> None:
    assert Settings.load(environ={}).local_executor == "processes"
    assert Settings.load(environ={"IDMS_LOCAL_EXECUTOR": "Threads"}).local_executor == "threads"
    with pytest.raises(ConfigError, match="IDMS_LOCAL_EXECUTOR must be"):
        Settings.load(environ={"IDMS_LOCAL_EXECUTOR": "fibres"})
