"""An undo queued (as the API and the web UI ask for it) and carried out by an executor
(``Workspace.execute``, what every executor calls): refusals before anything is queued, the
store put back as the command line's undo puts it back, a cancel heard between batches, and an
undo claimed a second time ended rather than started over.

On a real embedded SQLite store; what the store holds is read back independently
(``Target.read``), not taken from the undo's counts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import people
from idms.config import Settings
from idms.errors import Conflict, InvalidInputError
from idms.jobs.model import Job
from idms.runs.durable import worker_name
from idms.runs.status import RunStatus
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings.load(workspace=tmp_path / "ws", environ={}))
    yield ws
    ws.close()


def contacts(ws: Workspace) -> dict[str, dict[str, Any]]:
    """Every contact with an e-mail address, by address, as the store holds it now."""
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        return {str(c["Email"]): c for c in store.read("Contact", []) if c.get("Email")}
    finally:
        store.close()


def people_job(folder: Path, count: int, *, last: str = "Person") -> Job:
    path = folder / f"people-{count}-{last}.csv"
    lines = ["First,Last,E-mail"] + [f"P{i},{last},p{i}@example.org" for i in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return people.people_job(path, name=f"{count} people")


def test_a_queued_undo_is_carried_out_by_the_executor_and_puts_the_store_back(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.run(people_job(tmp_path, 3))
    renamed = workspace.run(people_job(tmp_path, 3, last="Renamed"))
    assert renamed.counts.as_dict()["updated"] == 3
    assert {c["LastName"] for c in contacts(workspace).values()} == {"Renamed"}

    undo = workspace.queue_undo(renamed.run_id, started_by="user:ann", trigger="ui")

    assert (undo.kind, undo.status, undo.undo_of) == ("undo", "queued", renamed.run_id)
    assert (undo.trigger, undo.started_by, undo.attempts) == ("ui", "user:ann", 0)
    assert workspace.runs.get(renamed.run_id).undone_by is None  # nothing done yet
    assert {c["LastName"] for c in contacts(workspace).values()} == {"Renamed"}
    report = workspace.execute(undo.id)
    assert report is not None
    assert report.status == RunStatus.SUCCEEDED
    assert (report.counts.rows, report.counts.as_dict()["updated"]) == (3, 3)
    assert {c["LastName"] for c in contacts(workspace).values()} == {"Person"}
    assert workspace.runs.get(renamed.run_id).undone_by == undo.id
    done = workspace.runs.get(undo.id)
    assert (done.status, done.attempts, done.counts["updated"]) == ("succeeded", 1, 3)
    assert workspace.execute(undo.id) is None  # delivered twice: ended, nothing done again


def test_refusals_answer_at_once_and_queue_nothing(workspace: Workspace, tmp_path: Path) -> None:
    planned = workspace.plan(people_job(tmp_path, 2))
    queued = workspace.submit(people_job(tmp_path, 2), trigger="api")
    done = workspace.run(people_job(tmp_path, 2, last="Other"))
    before = len(workspace.runs.list(100))

    with pytest.raises(InvalidInputError, match="was a plan: it wrote nothing to undo"):
        workspace.queue_undo(planned.run_id)
    with pytest.raises(Conflict, match=f"Run {queued} is queued: undo it once it has ended"):
        workspace.queue_undo(queued)
    first = workspace.queue_undo(done.run_id)
    with pytest.raises(Conflict, match=f"is being undone by run {first.id}: wait for it to end"):
        workspace.queue_undo(done.run_id)
    assert len(workspace.runs.list(100)) == before + 1  # the one undo queued, no other

    # A queued undo cancelled is ended at once; the run can be undone again.
    assert workspace.cancel(first.id).status == "cancelled"
    again = workspace.queue_undo(done.run_id)
    assert again.id != first.id
    report = workspace.execute(again.id)
    assert report is not None
    assert report.status == RunStatus.SUCCEEDED
    with pytest.raises(Conflict, match=f"already undone by run {again.id}"):
        workspace.queue_undo(done.run_id)


def test_a_cancel_is_heard_between_batches_and_says_what_was_put_back(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.run(people_job(tmp_path, 700))
    renamed = workspace.run(people_job(tmp_path, 700, last="Renamed"))
    assert renamed.counts.as_dict()["updated"] == 700
    undo = workspace.queue_undo(renamed.run_id)

    # After its first batch of 500 rows, someone presses Cancel.
    report = workspace.execute(undo.id, progress=lambda rows: workspace.cancel(undo.id))

    assert report is not None
    assert report.status == RunStatus.CANCELLED
    assert report.counts.rows == 500
    info = workspace.runs.get(undo.id)
    assert info.status == "cancelled"
    assert info.message is not None
    assert info.message.startswith("Cancelled after putting back 500 rows (listed with this run)")
    assert f"then undo run {renamed.run_id} again" in info.message
    names = [c["LastName"] for c in contacts(workspace).values()]
    assert (names.count("Person"), names.count("Renamed")) == (500, 200)
    assert workspace.runs.get(renamed.run_id).undone_by is None


def test_an_undo_claimed_again_after_its_process_died_is_ended_not_started_over(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.run(people_job(tmp_path, 3))
    renamed = workspace.run(people_job(tmp_path, 3, last="Renamed"))
    undo = workspace.queue_undo(renamed.run_id)
    # Another worker claimed it and died before its lease ran out (a broker then delivers the
    # same run again, before the server's loop has ended it).
    assert workspace.leases.claim(undo.id, worker_name() + "-gone", 0.05)
    time.sleep(0.1)

    report = workspace.execute(undo.id)

    assert report is not None
    assert report.status == RunStatus.FAILED
    info = workspace.runs.get(undo.id)
    assert info.attempts == 2
    assert info.message is not None
    assert "The process running this undo stopped (killed?)" in info.message
    assert f"then undo run {renamed.run_id} again" in info.message
    assert {c["LastName"] for c in contacts(workspace).values()} == {"Renamed"}  # untouched
    assert workspace.runs.get(renamed.run_id).undone_by is None
