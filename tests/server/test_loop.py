"""The background loop, one step at a time: runs whose process died are resumed once their
lease expires, queued runs are handed to the executor, the history is pruned hourly; and the
API's resume of such a run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from server_support import CONTACT_JOB, PEOPLE, Api, settings_for, write_csv

from idms.execution.executors import InlineExecutor
from idms.jobs.enqueue import enqueue_job
from idms.jobs.model import build_job
from idms.runs.record import RunStore
from idms.server.loop import ServerLoop
from idms.state.models import utcnow
from idms.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(settings_for(tmp_path))
    yield ws
    ws.close()


def queued_run(workspace: Workspace, people: Path) -> str:
    return enqueue_job(workspace, build_job({**CONTACT_JOB, "input": str(people)}), trigger="api")


def die_holding(workspace: Workspace, run_id: str, *, lease: float) -> None:
    """Claim the run as a process that then dies: its lease runs ``lease`` seconds."""
    assert workspace.leases.claim(run_id, "gone-host:1:1", lease)


def test_a_run_whose_process_died_is_resumed_once_its_lease_expires(
    workspace: Workspace, people: Path
) -> None:
    runs = RunStore(workspace.suite)
    run_id = queued_run(workspace, people)
    die_holding(workspace, run_id, lease=60)
    executor = InlineExecutor(workspace)
    loop = ServerLoop(workspace, executor, schedules=False)

    report = loop.step()
    assert report.requeued == []  # the lease is still running: the process may be alive
    assert report.dispatched == []
    assert runs.get(run_id).status == "running"

    die_holding_expired(workspace, run_id)
    report = loop.step()

    assert report.requeued == [run_id]
    assert report.dispatched == [run_id]
    info = runs.get(run_id)
    assert info.status == "completed_with_errors"
    assert (info.rows, info.counts["inserted"], info.counts["errors"]) == (5, 3, 2)
    assert info.attempts == 2


def die_holding_expired(workspace: Workspace, run_id: str) -> None:
    from sqlalchemy import update

    from idms.state.models import Run

    with workspace.suite.begin() as conn:
        conn.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


def test_the_first_step_takes_over_runs_handed_to_a_previous_server(
    workspace: Workspace, people: Path
) -> None:
    runs = RunStore(workspace.suite)
    run_id = queued_run(workspace, people)
    assert workspace.leases.take_undispatched() == [run_id]  # handed to an executor that went away
    loop = ServerLoop(workspace, InlineExecutor(workspace), schedules=False)

    assert loop.step().dispatched == [run_id]
    assert runs.get(run_id).status == "completed_with_errors"
    assert loop.step().dispatched == []


def test_the_history_is_pruned_hourly(tmp_path: Path, people: Path) -> None:
    workspace = Workspace.open(settings_for(tmp_path, history_max=1, history_days=None))
    try:
        executor = InlineExecutor(workspace)
        loop = ServerLoop(workspace, executor, schedules=False)
        now = utcnow()
        first = loop.step(now)
        assert first.pruned == 0
        for _ in range(3):
            queued_run(workspace, people)
        report = loop.step(now + timedelta(minutes=10))
        assert len(report.dispatched) == 3
        assert report.pruned is None  # not an hour yet
        assert len(RunStore(workspace.suite).list(10)) == 3
        assert loop.step(now + timedelta(hours=1)).pruned == 2
        assert len(RunStore(workspace.suite).list(10)) == 1
    finally:
        workspace.close()


def test_a_failing_part_does_not_stop_the_others(workspace: Workspace, people: Path) -> None:
    class Refusing:
        def submit(self, run_id: str) -> None:
            raise RuntimeError("the broker is down")

        def close(self, *, cancel_pending: bool = False) -> None:
            return None

    run_id = queued_run(workspace, people)
    loop = ServerLoop(workspace, Refusing(), schedules=False)
    report = loop.step()
    assert report.dispatched == []
    assert report.pruned == 0
    assert RunStore(workspace.suite).get(run_id).status == "queued"


def test_resume_through_the_api(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_api(loop=True)
    people = write_csv(tmp_path / "more.csv", PEOPLE)
    run_id = queued_run_held(api, people)

    live = api.client.post(f"/api/v1/runs/{run_id}/resume")
    assert live.status_code == 409
    assert "is running in another process ('gone-host:1:1', lease until" in live.json()["message"]

    die_holding_expired(api.workspace, run_id)
    resumed = api.client.post(f"/api/v1/runs/{run_id}/resume")
    assert resumed.status_code == 202, resumed.text
    assert resumed.headers["Location"].endswith(f"/api/v1/runs/{run_id}")
    done = api.wait_for(run_id)
    assert (done["status"], done["rows"], done["attempts"]) == ("completed_with_errors", 5, 2)
    finished = api.client.post(f"/api/v1/runs/{run_id}/resume")
    assert finished.status_code == 409


def queued_run_held(api: Api, people: Path) -> str:
    """A run queued and at once held by a process that died (before the loop hands it over)."""
    deadline = time.monotonic() + 10
    while True:
        run_id = queued_run(api.workspace, people)
        if api.workspace.leases.claim(run_id, "gone-host:1:1", 60):
            return run_id
        assert time.monotonic() < deadline


def test_idempotency_keys_are_kept_a_day(workspace: Workspace) -> None:
    from idms.state.request_keys import PENDING, RequestKeys

    keys = RequestKeys(workspace.suite)
    assert keys.reserve("token-1", "k") is None
    assert keys.reserve("token-1", "k") == PENDING
    assert keys.reserve("token-2", "k") is None  # each token has its own keys
    keys.settle("token-1", "k", "run-1")
    assert keys.reserve("token-1", "k") == "run-1"
    assert keys.prune(now=utcnow() + timedelta(hours=23)) == 0
    assert keys.prune(now=utcnow() + timedelta(days=1, minutes=1)) == 2
    assert keys.reserve("token-1", "k") is None
