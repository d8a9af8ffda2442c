"""Runs that survive their process: killed with SIGKILL mid-import, resumed to exactly the right
counts with no duplicate records, on the embedded store and over REST (through the sandbox).

The kills are real (``kill -9`` of a process running a job), and the resume follows at once: the
dead process was on this machine, so its lease does not have to expire first. Two kinds: at a
moment the test picks while batches are being written (an ``idms run``), and — with a
FaultyTarget whose ``crash_after_apply`` kills its own process — exactly in the window where a
batch is written but not yet recorded, the case that would write rows twice if a resumed run
simply sent its batch again.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select, update

from idms.runs.record import RunStore
from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.state.models import Run, Schedule
from idms.state.store import open_suite
from idms.targets.embedded import schema
from idms.targets.embedded.target import EmbeddedTarget

IDMS = str(Path(sys.executable).with_name("idms"))
ROWS = 3000
BATCH = 150
LEASE = 120  # seconds: longer than any test here, so a resume cannot wait for it to expire


def job_file(
    folder: Path, *, action: str, rows: int = ROWS, last: str = "Last", name: str = "job"
) -> Path:
    data = folder / f"{name}.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["First", "Last", "E-mail"])
        for i in range(rows):
            writer.writerow([f"First{i}", f"{last}{i:05d}", f"person{i:05d}@example.org"])
    match = ", match: true" if action != "insert" else ""
    job = folder / f"{name}.yml"
    job.write_text(
        f"name: Big roster\ninput: {name}.csv\nsource: Contact\naction: {action}\n"
        "mappings:\n"
        f"  - {{field: Email, column: E-mail{match}}}\n"
        "  - {field: LastName, column: Last}\n"
        "  - {field: FirstName, column: First}\n"
        f"options: {{batch_size: {BATCH}}}\n",
        encoding="utf-8",
    )
    return job


def environment(workspace: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    env.update(
        IDMS_WORKSPACE=str(workspace),
        IDMS_LEASE_SECONDS=str(LEASE),
        COLUMNS="200",
        **extra,
    )
    return env


# A job run as ``idms run`` runs it (the workspace facade), on a target that SIGKILLs its own
# process right after the N-th batch it writes: argv is JOB N [TARGET].
CRASHING_RUN = r"""
import sys
from idms.config import Settings
from idms.jobs.assemble import job_from_file
from idms.targets import factory
from idms.targets.testing import FaultyTarget
from idms.workspace import Workspace

job, crash_after, *target = sys.argv[1:]
workspace = Workspace.open(Settings.load(target=target[0] if target else None))
workspace.target_opener = lambda settings: FaultyTarget(
    factory.open_target(settings), crash_after_apply=int(crash_after)
)
workspace.run(job_from_file(job, templates=workspace.templates))
"""


def run_crashing(
    env: dict[str, str], job: Path, after: int, *target: str
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", CRASHING_RUN, str(job), str(after), *target[1:]]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)


def idms(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IDMS, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def only_run(workspace: Path) -> dict[str, Any]:
    engine = create_engine(f"sqlite:///{workspace / 'suite.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Run.id, Run.status, Run.checkpoint_rows, Run.attempts)).all()
    finally:
        engine.dispose()
    assert len(rows) <= 1
    if not rows:
        return {}
    run_id, status, checkpoint, attempts = rows[0]
    return {"id": run_id, "status": status, "checkpoint": checkpoint, "attempts": attempts}


def emails(store_url: str) -> Counter[str]:
    store = EmbeddedTarget(store_url)
    try:
        return Counter(str(c["Email"]) for c in store.read("Contact") if c["Email"])
    finally:
        store.close()


def resume(env: dict[str, str], workspace: Path, *target: str) -> dict[str, Any]:
    """``idms runs resume RUN`` right after the kill: its process on this machine is gone, so the
    run is taken over at once, though its lease has most of its time left."""
    run = only_run(workspace)
    assert run["status"] == "running", run  # dead, but still holding its lease
    resumed = idms(env, *target, "runs", "resume", run["id"], "--json", timeout=LEASE / 2)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    summary: dict[str, Any] = json.loads(resumed.stdout)
    return summary


def kill_mid_run(env: dict[str, str], workspace: Path, *args: str) -> None:
    """Start ``idms ARGS...`` and SIGKILL it once three batches of its run are recorded."""
    process = subprocess.Popen(
        [IDMS, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run = only_run(workspace)
            if run and run["checkpoint"] >= BATCH * 3:
                break
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    killed_at = only_run(workspace)["checkpoint"]
    assert 0 < killed_at < ROWS


def test_killed_at_a_moment_mid_import_resumes_to_exact_counts(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    job = job_file(tmp_path, action="insert-update")
    env = environment(workspace)
    assert idms(env, "init").returncode == 0
    kill_mid_run(env, workspace, "run", str(job), "--yes", "--json")

    summary = resume(env, workspace)

    assert summary["rows"] == ROWS
    assert summary["inserted"] == ROWS
    assert summary["status"] == "succeeded"
    found = emails(f"sqlite:///{workspace / 'imis.db'}")
    assert len(found) == ROWS
    assert max(found.values()) == 1  # nobody twice
    run = only_run(workspace)
    assert run["status"] == "succeeded"
    assert run["attempts"] == 2


@pytest.mark.parametrize("action", ["insert", "insert-update"])
def test_killed_between_writing_a_batch_and_recording_it(tmp_path: Path, action: str) -> None:
    """The batch in doubt: written to the store, not recorded. The store's journal says so."""
    workspace = tmp_path / "ws"
    job = job_file(tmp_path, action=action, rows=1000)
    env = environment(workspace)
    assert idms(env, "init").returncode == 0
    killed = run_crashing(env, job, 3)
    assert killed.returncode == -signal.SIGKILL
    run = only_run(workspace)
    assert run["checkpoint"] == 2 * BATCH  # two batches recorded, the third in doubt
    store_url = f"sqlite:///{workspace / 'imis.db'}"
    assert sum(emails(store_url).values()) == 3 * BATCH  # ... but written

    summary = resume(env, workspace)

    assert summary["rows"] == 1000
    assert summary["inserted"] == 1000
    found = emails(store_url)
    assert len(found) == 1000
    assert max(found.values()) == 1
    store = EmbeddedTarget(store_url)
    try:
        with store.engine.connect() as conn:
            assert conn.execute(select(schema.applied_batches)).all() == []  # journal emptied
    finally:
        store.close()


def test_an_update_killed_before_it_is_recorded_keeps_every_before_image(tmp_path: Path) -> None:
    """A batch of updates in doubt is recorded from the store's journal, which keeps its row
    results (before and after images included): each row still says what it changed, and undo
    puts every old value back."""
    loader = tmp_path / "loader"  # its run inserts the contacts, into its own store
    assert idms(environment(loader), "init").returncode == 0
    inserted = idms(
        environment(loader), "run", str(job_file(tmp_path, action="insert", rows=600)), "--yes"
    )
    assert inserted.returncode == 0, inserted.stderr
    store_url = f"sqlite:///{loader / 'imis.db'}"
    target = ("--target", store_url)
    workspace = tmp_path / "ws"  # the update's run is the only one of this workspace
    env = environment(workspace)
    assert idms(env, "init").returncode == 0
    renamed = job_file(tmp_path, action="update", rows=600, last="Renamed", name="renamed")
    killed = run_crashing(env, renamed, 3, *target)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert only_run(workspace)["checkpoint"] == 2 * BATCH

    summary = resume(env, workspace, *target)

    assert (summary["rows"], summary["updated"]) == (600, 600)
    runs = RunStore(open_suite(f"sqlite:///{workspace / 'suite.db'}"))
    rows = list(runs.rows(summary["run_id"]))
    assert [(r.before, r.after) for r in rows] == [
        ({"LastName": f"Last{i:05d}"}, {"LastName": f"Renamed{i:05d}"}) for i in range(600)
    ]
    undone = idms(env, *target, "runs", "undo", summary["run_id"], "--yes", "--json")
    assert undone.returncode == 0, undone.stderr + undone.stdout
    store = EmbeddedTarget(store_url)
    try:
        assert sorted(str(c["LastName"]) for c in store.read("Contact") if c["Email"]) == [
            f"Last{i:05d}" for i in range(600)
        ]
    finally:
        store.close()


def test_over_rest_a_batch_in_doubt_is_re_matched_not_sent_twice(tmp_path: Path) -> None:
    """iMIS keeps no journal: the resumed run looks for what the dead one may have written."""
    workspace = tmp_path / "ws"
    imis = tmp_path / "imis"  # the sandbox's own workspace: a store with iMIS's lookup tables
    assert idms(environment(imis), "init").returncode == 0
    store_url = f"sqlite:///{imis / 'imis.db'}"
    store = EmbeddedTarget(store_url)
    with store.engine.begin() as conn:  # iMIS gives a new contact member type NM
        conn.execute(
            insert(schema.lookup_codes).values(
                table_name="MEMBER_TYPE", code="NM", description="Non-member"
            )
        )
    store.refresh()
    job = job_file(tmp_path, action="insert", rows=600)
    password = "Sandbox-Manager-3"
    env = environment(workspace, IDMS_IMIS_USERNAME="MANAGER", IDMS_IMIS_PASSWORD=password)
    try:
        with running_sandbox(create_app(store, manager_password=password)) as url:
            target = ("--target", f"imis+{url}/")
            assert idms(env, "init").returncode == 0
            killed = run_crashing(env, job, 2, *target)
            assert killed.returncode == -signal.SIGKILL, killed.stderr
            assert only_run(workspace)["checkpoint"] == BATCH
            assert sum(emails(store_url).values()) == 2 * BATCH

            summary = resume(env, workspace, *target)
    finally:
        store.close()

    assert summary["rows"] == 600
    assert summary["inserted"] == 600
    found = emails(store_url)
    assert len(found) == 600
    assert max(found.values()) == 1


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An HTTP endpoint on loopback that keeps the JSON bodies POSTed to it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/idms", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_resumed_scheduled_run_counts_on_its_schedule_and_notifies(tmp_path: Path) -> None:
    """``idms runs resume`` ends a run as every execution does: its schedule hears of the
    outcome (its failures in a row go back to 0) and the notification goes out."""
    workspace = tmp_path / "ws"
    job = job_file(tmp_path, action="insert-update")
    with webhook_receiver() as (url, received):
        env = environment(workspace, IDMS_NOTIFY_ON="always", IDMS_NOTIFY_WEBHOOK_URL=url)
        assert idms(env, "init").returncode == 0
        added = idms(env, "schedule", "add", "Nightly", "--job", str(job), "--cron", "daily")
        assert added.returncode == 0, added.stderr
        engine = create_engine(f"sqlite:///{workspace / 'suite.db'}")
        try:
            with engine.begin() as conn:  # two failed runs before this one
                conn.execute(update(Schedule).values(consecutive_failures=2, last_outcome="failed"))
            kill_mid_run(env, workspace, "schedule", "run-now", "Nightly")
            assert received == []  # the killed run said nothing
            run_id = only_run(workspace)["id"]

            summary = resume(env, workspace)

            with engine.connect() as conn:
                schedule = conn.execute(
                    select(Schedule.last_outcome, Schedule.consecutive_failures)
                ).one()
        finally:
            engine.dispose()
    assert (summary["status"], summary["inserted"]) == ("succeeded", ROWS)
    assert tuple(schedule) == ("succeeded", 0)
    [notice] = received
    assert notice["data"]["run_id"] == run_id
    assert (notice["data"]["status"], notice["data"]["inserted"]) == ("succeeded", ROWS)
    assert notice["data"]["trigger"] == "manual"
    assert notice["data"]["schedule_id"] is not None
