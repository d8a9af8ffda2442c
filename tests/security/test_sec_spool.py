"""A durable run's copy of its query's rows (iUpdate) is sealed: member data never lies in the
runs folder in plain text, a run resumes from the rows it began with, and a copy that was
changed fails the run instead of being read."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from idms.config import Settings
from idms.execution.execute import execute_run
from idms.jobs.enqueue import enqueue_job
from idms.jobs.model import Job, build_job
from idms.jobs.prepare import spool_file
from idms.queries.model import build_query
from idms.runs.record import RunStore
from idms.state.models import Run, utcnow
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace

ROWS = 300
BATCH = 50


class Crash(BaseException):
    """The run's process dies (nothing in the run catches it)."""


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    settings = Settings.load(workspace=tmp_path / "ws", environ={"IDMS_LEASE_SECONDS": "2"})
    ws = Workspace.open(settings)
    yield ws
    ws.close()


def designation(i: int) -> str:
    return f"Zq-Desig-{i:04d}"


def seed(ws: Workspace, tmp_path: Path) -> None:
    """ROWS contacts, each with a designation, and the query that finds them."""
    path = tmp_path / "people.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["E-mail", "First", "Last", "Designation"])
        for i in range(ROWS):
            writer.writerow([f"p{i}@example.org", f"F{i}", f"L{i}", designation(i)])
    load = build_job(
        {
            "name": "People",
            "input": {"file": str(path)},
            "source": "Contact",
            "action": "insert",
            "mappings": [
                {"field": "Email", "column": "E-mail"},
                {"field": "FirstName", "column": "First"},
                {"field": "LastName", "column": "Last"},
                {"field": "Designation", "column": "Designation"},
            ],
        }
    )
    report = execute_run(ws, enqueue_job(ws, load, trigger="api"))
    assert report is not None
    assert report.counts.as_dict()["inserted"] == ROWS
    ws.queries.save(
        build_query(
            {
                "name": "With a designation",
                "from": "Contact",
                "columns": {"ID": "ImisId", "Designation": "Designation"},
                "filters": [{"field": "Designation", "op": "notEmpty"}],
                "order_by": ["ID"],
            }
        )
    )


def clear_job() -> Job:
    return build_job(
        {
            "name": "Clear designations",
            "input": {"query": "With a designation"},
            "source": "Contact",
            "action": "update",
            "mappings": [
                {"field": "ImisId", "column": "ID", "match": True},
                {"field": "Designation", "value": ""},
            ],
            "options": {"blank_values": "clear", "batch_size": BATCH},
        }
    )


def designations(ws: Workspace) -> int:
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        return sum(1 for c in store.read("Contact") if c["Designation"])
    finally:
        store.close()


def crashed_run(ws: Workspace) -> str:
    """A run of the clearing job whose process died after its first batch, requeued."""
    run_id = enqueue_job(ws, clear_job(), trigger="api")

    def die(rows: int) -> None:
        raise Crash

    with pytest.raises(Crash):
        execute_run(ws, run_id, progress=die)
    with ws.suite.begin() as conn:
        conn.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert ws.leases.requeue_expired() == [run_id]
    return run_id


def test_the_spool_holds_none_of_the_rows_in_plain_bytes_and_resumes(
    workspace: Workspace, tmp_path: Path
) -> None:
    seed(workspace, tmp_path)
    run_id = crashed_run(workspace)
    runs = RunStore(workspace.suite)
    assert runs.get(run_id).checkpoint_rows == BATCH
    assert designations(workspace) == ROWS - BATCH
    spool = spool_file(workspace.runs_folder, run_id)
    data = spool.read_bytes()
    assert data  # the copy is there, to resume from
    for value in (b"Zq-Desig", b"Designation", b"ImisId", designation(ROWS - 1).encode()):
        assert value not in data
    # Resumed, the run goes on with the rows it began with: asked again, the query would find
    # only the rows not yet cleared, and skipping the first batch of those would leave 50.
    report = execute_run(workspace, run_id)
    assert report is not None
    info = runs.get(run_id)
    assert (info.status, info.counts["rows"], info.counts["updated"]) == ("succeeded", ROWS, ROWS)
    assert designations(workspace) == 0
    assert not spool.exists()  # gone with the run


def test_a_tampered_spool_fails_the_run_and_is_not_read(
    workspace: Workspace, tmp_path: Path
) -> None:
    seed(workspace, tmp_path)
    run_id = crashed_run(workspace)
    spool = spool_file(workspace.runs_folder, run_id)
    data = bytearray(spool.read_bytes())
    middle = len(data) // 2
    data[middle] = ord("A") if data[middle] != ord("A") else ord("B")
    spool.write_bytes(bytes(data))
    report = execute_run(workspace, run_id)
    assert report is not None
    info = RunStore(workspace.suite).get(run_id)
    assert info.status == "failed"
    assert info.message is not None
    assert "copy of its query's rows" in info.message
    assert "was changed, cut short, or sealed with another key" in info.message
    assert designations(workspace) == ROWS - BATCH  # nothing more was written


def test_a_plain_pickle_spool_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    """A file put in the spool's place (a pickle, as older versions wrote) is never unpickled."""
    import pickle

    seed(workspace, tmp_path)
    run_id = crashed_run(workspace)
    spool = spool_file(workspace.runs_folder, run_id)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (marker,))

    spool.write_bytes(pickle.dumps(Payload()))
    report = execute_run(workspace, run_id)
    assert report is not None
    info = RunStore(workspace.suite).get(run_id)
    assert info.status == "failed"
    assert "copy of its query's rows" in (info.message or "")
    assert not marker.exists()
