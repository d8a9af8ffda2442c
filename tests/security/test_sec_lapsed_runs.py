"""Issue 14, item 11: no run stays ``running`` for ever once its process is gone.

Every running run — an import, a plan, an undo — holds a lease. When it lapses (its process was
killed, or its lease expired), a run that can resume is resumed; any other ends ``failed``,
saying what happened and what to do, and doing that works. The kills are real SIGKILLs: of an
undo by its own target right after it wrote a batch (``FaultyTarget(crash_after_apply=N)``), and
of a plan from outside while it works (its target answering slowly).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, update

from idms.config import Settings
from idms.jobs.assemble import job_from_file
from idms.state.models import Run, utcnow
from idms.targets.embedded.target import EmbeddedTarget
from idms.workspace import Workspace

IDMS = str(Path(sys.executable).with_name("idms"))
ROWS = 700  # undo works 500 rows a batch: two batches

# ``idms runs undo RUN`` as the workspace does it, on a target that SIGKILLs its own process
# right after the N-th batch it writes: argv is RUN N.
CRASHING_UNDO = r"""
import sys
from idms.config import Settings
from idms.targets import factory
from idms.targets.testing import FaultyTarget
from idms.workspace import Workspace

run, crash_after = sys.argv[1:]
workspace = Workspace.open(Settings.load())
workspace.target_opener = lambda settings: FaultyTarget(
    factory.open_target(settings), crash_after_apply=int(crash_after)
)
workspace.undo(run)
"""

# A plan as ``idms run --plan`` makes it, on a target that answers each call slowly: argv is JOB.
SLOW_PLAN = r"""
import sys
from idms.config import Settings
from idms.jobs.assemble import job_from_file
from idms.targets import factory
from idms.targets.testing import FaultyTarget
from idms.workspace import Workspace

workspace = Workspace.open(Settings.load())
workspace.target_opener = lambda settings: FaultyTarget(
    factory.open_target(settings), latency=0.2
)
workspace.plan(job_from_file(sys.argv[1], templates=workspace.templates))
"""


def environment(workspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDMS_")}
    # A long lease: the runs here must be seen as lapsed because their process is gone, not
    # because time ran out.
    env.update(IDMS_WORKSPACE=str(workspace), IDMS_LEASE_SECONDS="300", COLUMNS="200")
    return env


def idms(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IDMS, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def job_file(folder: Path, *, rows: int, action: str = "insert", batch: int = 500) -> Path:
    data = folder / "people.csv"
    lines = ["First,Last,E-mail"]
    lines += [f"First{i},Last{i:05d},person{i:05d}@example.org" for i in range(rows)]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    match = ", match: true" if action != "insert" else ""
    job = folder / "job.yml"
    job.write_text(
        f"name: Roster\ninput: people.csv\nsource: Contact\naction: {action}\n"
        "mappings:\n"
        f"  - {{field: Email, column: E-mail{match}}}\n"
        "  - {field: LastName, column: Last}\n"
        "  - {field: FirstName, column: First}\n"
        f"options: {{batch_size: {batch}}}\n",
        encoding="utf-8",
    )
    return job


def listed(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``idms runs --json``, by run ID: what a user sees next."""
    shown = idms(env, "runs", "--json")
    assert shown.returncode == 0, shown.stderr
    return {r["run_id"]: r for r in json.loads(shown.stdout)}


def marked_for_erasure(workspace: Path) -> int:
    store = EmbeddedTarget(f"sqlite:///{workspace / 'imis.db'}")
    try:
        return sum(1 for c in store.read("Contact") if c.get("MarkForErasure"))
    finally:
        store.close()


def test_a_killed_undo_ends_failed_saying_what_to_do_and_doing_it_works(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    env = environment(workspace)
    assert idms(env, "init").returncode == 0
    job = job_file(tmp_path, rows=ROWS)
    with Workspace.open(Settings.load(workspace=workspace, environ={})) as opened:
        original = opened.run(job_from_file(str(job), templates=opened.templates)).run_id

    # Killed right after writing its second batch: the first is recorded, the second is not.
    killed = subprocess.run(
        [sys.executable, "-c", CRASHING_UNDO, original, "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    runs = listed(env)
    undo = next(r for r in runs.values() if r["undo_of"] == original)
    assert undo["status"] == "failed", undo  # today: running, for ever
    message = undo["message"]
    assert "The process running this undo stopped (killed?)" in message
    assert "after putting back 500 rows" in message
    assert "Undo this run" in message
    assert f"undo run {original} again" in message
    assert runs[original]["undone_by"] is None

    # What the message says to do: undo the undo, then undo the run again.
    redo = idms(env, "runs", "undo", undo["run_id"], "--yes", "--json")
    assert redo.returncode == 0, redo.stderr + redo.stdout
    again = idms(env, "runs", "undo", original, "--yes", "--json")
    assert again.returncode == 0, again.stderr + again.stdout
    summary = json.loads(again.stdout)
    assert summary["status"] == "succeeded"
    assert summary["updated"] + summary["unchanged"] == ROWS
    assert marked_for_erasure(workspace) == ROWS
    assert listed(env)[original]["undone_by"] == summary["run_id"]


def test_a_killed_plan_ends_failed_and_planning_again_works(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    env = environment(workspace)
    assert idms(env, "init").returncode == 0
    job = job_file(tmp_path, rows=400, action="insert-update", batch=10)
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_PLAN, str(job)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        plan: dict[str, Any] | None = None
        while plan is None:
            assert process.poll() is None, "the plan ended before it was killed"
            assert time.monotonic() < deadline, "the plan did not start"
            time.sleep(0.2)
            if (workspace / "suite.db").exists():
                plan = next(iter(listed(env).values()), None)
        time.sleep(1.0)  # at work, a batch at a time
        plan = listed(env)[plan["run_id"]]
        # Alive and working: its lease holds, and looking at the runs leaves it running.
        assert plan["status"] == "running", plan
        assert plan["plan_only"] is True
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    after = listed(env)[plan["run_id"]]
    assert after["status"] == "failed", after  # today: running, for ever
    assert "The process making this plan stopped (killed?)" in after["message"]
    assert "plan the job again" in after["message"]

    again = idms(env, "run", str(job), "--plan", "--json")
    assert again.returncode == 0, again.stderr + again.stdout
    assert json.loads(again.stdout)["status"] == "planned"


def test_a_plan_whose_lease_expired_elsewhere_ends_failed(tmp_path: Path) -> None:
    """A holder on another machine cannot be seen to die: its lease guards until it expires,
    then the run ends as a dead one does."""
    workspace = tmp_path / "ws"
    env = environment(workspace)
    assert idms(env, "init").returncode == 0
    planned = idms(env, "run", str(job_file(tmp_path, rows=5)), "--plan", "--json")
    run_id = json.loads(planned.stdout)["run_id"]
    engine = create_engine(f"sqlite:///{workspace / 'suite.db'}")
    holder = "db2:4711:0a1b2c3d.99:4711"
    try:
        with engine.begin() as conn:  # as if a process on host db2 were making it
            conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(
                    status="running",
                    finished_at=None,
                    lease_owner=holder,
                    lease_expires_at=utcnow() + timedelta(seconds=60),
                )
            )
        assert listed(env)[run_id]["status"] == "running"  # its lease still guards
        with engine.begin() as conn:
            conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
        after = listed(env)[run_id]
        assert after["status"] == "failed"
        assert "The process making this plan stopped (killed?)" in after["message"]
        with engine.connect() as conn:
            owner = conn.execute(select(Run.lease_owner).where(Run.id == run_id)).scalar()
        assert owner is None
    finally:
        engine.dispose()
