"""Who may take a running run over, and when: at once from a process of this machine that is gone
(killed, crashed, its PID reused since), only after its lease has expired from a process on
another machine, never from one still alive."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from idms.config import Settings
from idms.errors import Conflict
from idms.jobs.enqueue import enqueue_job
from idms.runs.durable import describe_holder, holder_is_gone, holder_is_here, worker_name
from idms.state.models import Run, utcnow
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace
from people import people_job

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/ns/pid").exists(), reason="a process's start is read from /proc"
)

OWNER_OF_CHILD = "from idms.runs.durable import worker_name; print(worker_name(), flush=True)"


def dead_owner() -> str:
    """The lease owner a process of this machine had, after it has ended."""
    done = subprocess.run(
        [sys.executable, "-c", OWNER_OF_CHILD], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@contextmanager
def living() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A process of this machine, alive until killed (at the latest on leaving), and the lease
    owner it would be."""
    command = [sys.executable, "-c", OWNER_OF_CHILD + "; import time; time.sleep(120)"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None
            yield child, child.stdout.readline().strip()
        finally:
            child.kill()


def elsewhere(owner: str) -> str:
    """``owner`` as if it were a process on another machine (another host, kernel, namespace)."""
    _, pid, stamp, thread = owner.split(":")
    return f"db2:{pid}:0badf00d.{stamp.partition('.')[2]}:{thread}"


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    # A long lease: nothing here may wait for one to expire.
    settings = Settings.load(workspace=tmp_path / "ws", environ={"IDMS_LEASE_SECONDS": "600"})
    ws = Workspace.open(settings)
    yield ws
    ws.close()


def held_run(workspace: Workspace, folder: Path, owner: str) -> str:
    """A recorded run of 300 new contacts, claimed by ``owner`` (who never carries it on)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "people.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First", "Last", "E-mail"])
        writer.writerows([f"F{i}", f"L{i}", f"p{i}@example.org"] for i in range(300))
    job = people_job(data, batch=100)
    run_id = enqueue_job(workspace, job, trigger="api")
    assert workspace.leases.claim(run_id, owner, 600)
    return run_id


def contacts(workspace: Workspace) -> int:
    store = EmbeddedTarget.from_settings(workspace.settings)
    try:
        return sum(1 for _ in store.read("Contact"))
    finally:
        store.close()


def expire(workspace: Workspace, run_id: str) -> None:
    with workspace.suite.begin() as conn:
        conn.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


# ---- telling a holder's process ---------------------------------------------------------------


def test_a_live_process_is_not_gone_an_ended_one_is() -> None:
    mine = worker_name()
    assert holder_is_here(mine)
    assert not holder_is_gone(mine)
    assert describe_holder(mine).endswith("on this machine")
    ended = dead_owner()
    assert holder_is_here(ended)
    assert holder_is_gone(ended)


def test_a_killed_process_not_yet_reaped_is_gone() -> None:
    with living() as (child, owner):
        assert not holder_is_gone(owner)  # alive
        child.kill()
        # A zombie until its parent waits for it: it writes nothing any more.
        deadline = time.monotonic() + 10
        while not holder_is_gone(owner) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert child.returncode is None  # not reaped yet
        assert holder_is_gone(owner)
    assert holder_is_gone(owner)


def test_a_pid_reused_by_another_process_does_not_keep_the_holder_alive() -> None:
    """The owner's PID is alive (this process), but it started at another moment: another
    process now has that PID; the holder is gone."""
    host, pid, stamp, thread = worker_name().split(":")
    space, _, started = stamp.partition(".")
    reused = f"{host}:{pid}:{space}.{int(started) - 1}:{thread}"
    assert holder_is_gone(reused)


@pytest.mark.parametrize(
    "owner",
    [
        None,
        "a-dead-worker",  # a name given by hand
        "vm:999999:140579132795776",  # an owner written before owners carried their start
        "vm:999999:-:4711",  # a process whose start could not be read
        "(released)",
    ],
)
def test_a_holder_that_cannot_be_told_is_not_gone(owner: str | None) -> None:
    assert not holder_is_gone(owner)


def test_a_holder_on_another_machine_is_never_judged_from_here() -> None:
    remote = elsewhere(dead_owner())  # its PID means nothing here
    assert not holder_is_here(remote)
    assert not holder_is_gone(remote)
    assert describe_holder(remote).startswith("process ")
    assert describe_holder(remote).endswith(" on host db2")


# ---- taking a run over --------------------------------------------------------------------------


def test_resume_takes_over_at_once_from_a_process_here_that_is_gone(
    workspace: Workspace, tmp_path: Path
) -> None:
    run_id = held_run(workspace, tmp_path, dead_owner())
    report = workspace.resume(run_id)  # its lease has ten minutes to run
    assert (report.status, report.counts.as_dict()["inserted"]) == ("succeeded", 300)
    info = workspace.runs.get(run_id)
    assert (info.status, info.attempts, info.lease_owner) == ("succeeded", 2, None)
    assert contacts(workspace) == 300


def test_a_lease_held_on_another_machine_guards_until_it_expires(
    workspace: Workspace, tmp_path: Path
) -> None:
    remote = elsewhere(dead_owner())
    run_id = held_run(workspace, tmp_path, remote)
    with pytest.raises(Conflict) as refused:
        workspace.resume(run_id)
    message = refused.value.message
    assert f"Run {run_id} is running in another process (process " in message
    assert "on host db2, lease until " in message
    assert "UTC). If that process is gone, the run can be resumed once the lease has expired." in (
        message
    )
    assert not workspace.leases.claim(run_id, worker_name(), 600)
    assert workspace.leases.requeue_expired() == []  # idms serve's loop waits too
    with pytest.raises(Conflict):
        workspace.requeue(run_id)  # POST /runs/{id}/resume
    assert workspace.runs.get(run_id).lease_owner == remote
    assert contacts(workspace) == 0

    expire(workspace, run_id)
    report = workspace.resume(run_id)
    assert (report.status, report.counts.as_dict()["inserted"]) == ("succeeded", 300)


def test_a_run_held_by_a_live_process_here_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    with living() as (child, owner):
        run_id = held_run(workspace, tmp_path, owner)
        with pytest.raises(Conflict) as refused:
            workspace.resume(run_id)
        assert refused.value.message == (
            f"Run {run_id} is running in another process (process {child.pid} on this "
            "machine), which is still alive: wait for it to finish, or cancel the run."
        )
        assert workspace.leases.requeue_expired() == []
    # Killed: taken over at once.
    assert workspace.resume(run_id).counts.as_dict()["inserted"] == 300


def test_the_server_requeues_at_once_a_run_whose_process_here_is_gone(
    workspace: Workspace, tmp_path: Path
) -> None:
    """``idms serve``'s auto-resume and ``POST /runs/{id}/resume`` (Workspace.requeue)."""
    first = held_run(workspace, tmp_path, dead_owner())
    assert workspace.leases.requeue_expired() == [first]
    assert workspace.runs.get(first).status == "queued"

    second = held_run(workspace, tmp_path / "second", dead_owner())
    info = workspace.requeue(second)
    assert (info.status, info.lease_owner) == ("queued", None)
