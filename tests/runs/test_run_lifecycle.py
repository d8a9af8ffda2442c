"""A durable run's life: queued, claimed once, cancelled, requeued when its lease expires,
resumed only on the input it began with, pruned when old."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from idms.config import Settings
from idms.errors import InvalidInputError
from idms.execution.execute import execute_run
from idms.jobs.enqueue import enqueue_job
from idms.jobs.model import Job, build_job
from idms.jobs.runner import resume_run
from idms.runs.record import RunStore
from idms.state.models import Run, utcnow
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace
from people import people_job


def people(path: Path, rows: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First", "Last", "E-mail"])
        for i in range(rows):
            writer.writerow([f"F{i}", f"L{i}", f"p{i}@example.org"])
    return path


def job_for(path: Path, batch: int = 100) -> Job:
    return people_job(path, batch=batch)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    settings = Settings.load(workspace=tmp_path / "ws", environ={"IDMS_LEASE_SECONDS": "2"})
    ws = Workspace.open(settings)
    yield ws
    ws.close()


def contacts(ws: Workspace) -> int:
    store = EmbeddedTarget.from_settings(ws.settings)
    try:
        return sum(1 for _ in store.read("Contact"))
    finally:
        store.close()


def test_a_queued_run_runs_once_however_often_it_is_delivered(
    workspace: Workspace, tmp_path: Path
) -> None:
    run_id = enqueue_job(workspace, job_for(people(tmp_path / "p.csv", 400)), trigger="api")
    runs = RunStore(workspace.suite)
    assert runs.get(run_id).status == "queued"
    reports = []
    threads = [
        threading.Thread(target=lambda: reports.append(execute_run(workspace, run_id)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = [r for r in reports if r is not None]
    assert len(done) == 1
    info = runs.get(run_id)
    assert info.status == "succeeded"
    assert info.attempts == 1
    assert info.counts["inserted"] == 400
    assert contacts(workspace) == 400
    assert execute_run(workspace, run_id) is None  # finished: nothing to do


def test_the_input_is_copied_when_queued(workspace: Workspace, tmp_path: Path) -> None:
    original = people(tmp_path / "p.csv", 10)
    run_id = enqueue_job(workspace, job_for(original), trigger="api")
    people(original, 3)  # the file changes after the run was asked for
    report = execute_run(workspace, run_id)
    assert report is not None
    assert report.counts.as_dict()["inserted"] == 10


def test_cancel_a_queued_run_and_a_running_one(workspace: Workspace, tmp_path: Path) -> None:
    runs = RunStore(workspace.suite)
    queued = enqueue_job(workspace, job_for(people(tmp_path / "a.csv", 5)), trigger="api")
    assert workspace.leases.request_cancel(queued) == "cancelled"
    assert execute_run(workspace, queued) is None
    assert runs.get(queued).status == "cancelled"

    running = enqueue_job(
        workspace, job_for(people(tmp_path / "b.csv", 6000), batch=50), trigger="api"
    )
    worker = threading.Thread(target=execute_run, args=(workspace, running))
    worker.start()
    deadline = time.monotonic() + 60
    while runs.get(running).checkpoint_rows < 100 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert workspace.leases.request_cancel(running) == "running"
    worker.join(timeout=60)
    info = runs.get(running)
    assert info.status == "cancelled"
    assert 0 < info.counts["rows"] < 6000
    assert info.counts["rows"] == info.counts["inserted"] == info.checkpoint_rows
    assert sum(1 for _ in runs.rows(running)) == info.counts["rows"]
    assert contacts(workspace) == info.counts["rows"]


def test_a_run_whose_process_died_is_requeued_then_resumed(
    workspace: Workspace, tmp_path: Path
) -> None:
    runs = RunStore(workspace.suite)
    run_id = enqueue_job(workspace, job_for(people(tmp_path / "p.csv", 300)), trigger="api")
    assert workspace.leases.claim(run_id, "a-dead-worker", 60)
    assert workspace.leases.requeue_expired() == []  # its lease is still running
    assert execute_run(workspace, run_id) is None  # and nobody else may take it
    with workspace.suite.begin() as conn:
        conn.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert workspace.leases.requeue_expired() == [run_id]
    assert runs.get(run_id).status == "queued"
    report = execute_run(workspace, run_id)
    assert report is not None
    info = runs.get(run_id)
    assert (info.status, info.attempts, info.counts["inserted"]) == ("succeeded", 2, 300)


def test_resume_refuses_an_input_file_that_changed(workspace: Workspace, tmp_path: Path) -> None:
    runs = RunStore(workspace.suite)
    source = people(tmp_path / "p.csv", 50)
    run_id = enqueue_job(workspace, job_for(source), trigger="api")
    copy = Path(str(runs.get(run_id).input_ref["path"]))  # type: ignore[index]
    people(copy, 40)
    assert workspace.leases.claim(run_id, "me", 60)
    store = EmbeddedTarget.from_settings(workspace.settings)
    try:
        with pytest.raises(InvalidInputError, match="has changed since the run started"):
            resume_run(run_id, target=store, runs=runs, durable=workspace.durable(owner="me"))
    finally:
        store.close()


def test_prune_keeps_recent_and_unfinished_runs(workspace: Workspace, tmp_path: Path) -> None:
    runs = RunStore(workspace.suite)
    source = people(tmp_path / "p.csv", 2)
    finished = []
    for _ in range(5):
        run_id = enqueue_job(workspace, job_for(source), trigger="api")
        execute_run(workspace, run_id)
        finished.append(run_id)
    waiting = enqueue_job(workspace, job_for(source), trigger="api")
    with workspace.suite.begin() as conn:
        for age, run_id in enumerate(finished):  # 0, 10, 20, 30, 40 days old
            conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(created_at=utcnow() - timedelta(days=10 * age, minutes=age))
            )
        conn.execute(
            update(Run).where(Run.id == waiting).values(created_at=utcnow() - timedelta(days=99))
        )
    assert runs.prune(max_age_days=25, max_count=None, runs_folder=None) == 2
    assert runs.prune(max_age_days=None, max_count=2, runs_folder=None) == 1
    left = {r.id for r in runs.list(100)}
    assert left == {finished[0], finished[1], waiting}
    assert sum(1 for _ in runs.rows(finished[3])) == 0  # row results went with them


def test_a_queued_run_never_shows_a_password_constant(workspace: Workspace, tmp_path: Path) -> None:
    job = build_job(
        {
            "name": "Logins",
            "input": {"file": str(people(tmp_path / "p.csv", 1))},
            "source": "User Credentials",
            "action": "insert",
            "mappings": [
                {"field": "Email", "column": "E-mail"},
                {"field": "password", "value": "Sekrit-Passw0rd"},
            ],
        }
    )
    run_id = enqueue_job(workspace, job, trigger="api")
    info = RunStore(workspace.suite).get(run_id)
    assert "Sekrit-Passw0rd" not in str(info.job)
    assert info.job["mappings"][1]["value"] == "********"
