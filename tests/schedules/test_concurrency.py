"""Several schedulers ticking at once against one suite database (threads, and separate
processes, on SQLite and on PostgreSQL) fire each schedule exactly once per slot.

Both with the leader election (as ``idms serve`` runs) and without it: the compare-and-set on
each schedule's next fire time alone must make a double fire impossible.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from schedules_support import add, utc
from sqlalchemy import func, select

from idms.config import Settings
from idms.schedules import Scheduler, ScheduleStore
from idms.schedules.edit import ScheduleChanges
from idms.state.models import Run
from idms.workspace import Workspace

SCHEDULES = 30
SLOTS = 12
START = utc(2026, 6, 1, 12, 0, 30)  # the schedules are added then; the first slot is 12:01


def slots() -> list[datetime]:
    return [utc(2026, 6, 1, 12, 1) + timedelta(minutes=k) for k in range(SLOTS)]


def add_schedules(workspace: Workspace, job_file: Path) -> None:
    for n in range(SCHEDULES):
        # Every minute, in several zones; overlap queue, so that every slot makes a run.
        zone = ("UTC", "America/New_York", "Europe/London")[n % 3]
        add(
            workspace,
            f"s{n:02d}",
            job_file,
            cron="* * * * *",
            timezone=zone,
            overlap="queue",
            now=START,
        )


def assert_each_fired_once_per_slot(workspace: Workspace) -> None:
    with workspace.suite.connect() as conn:
        counts = Counter(
            {
                str(sid): int(n)
                for sid, n in conn.execute(
                    select(Run.schedule_id, func.count())
                    .where(Run.trigger == "schedule")
                    .group_by(Run.schedule_id)
                )
            }
        )
    infos = ScheduleStore(workspace.suite).list()
    assert len(infos) == SCHEDULES
    assert {counts[i.id] for i in infos} == {SLOTS}, counts
    assert {i.last_fire_at for i in infos} == {slots()[-1]}


@pytest.mark.parametrize("elect", [True, False], ids=["elected", "compare-and-set-only"])
def test_threads_ticking_together_fire_each_slot_once(
    any_settings: Settings, job_file: Path, elect: bool
) -> None:
    workspace = Workspace.open(any_settings)
    try:
        add_schedules(workspace, job_file)
        schedulers = [Scheduler(workspace, elect=elect, batch_size=7) for _ in range(4)]
        barrier = threading.Barrier(len(schedulers))
        errors: list[BaseException] = []

        def work(scheduler: Scheduler) -> None:
            try:
                for slot in slots():
                    barrier.wait()
                    for _ in range(3):  # each slot a few times: late ticks, retries
                        scheduler.tick(slot + timedelta(seconds=1))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=work, args=(s,)) for s in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert_each_fired_once_per_slot(workspace)
        if elect:
            assert sum(s.is_leader for s in schedulers) == 1
        for scheduler in schedulers:
            scheduler.close()
    finally:
        workspace.close()


def test_edits_racing_the_schedulers_neither_fire_a_slot_twice_nor_are_lost(
    any_settings: Settings, job_file: Path
) -> None:
    """An editor changes every schedule (its description, its misfire policy: not its timing,
    so its next fire time is the one the schedulers advance) while schedulers tick: each slot
    still fires once, and each schedule ends with its last edit."""
    workspace = Workspace.open(any_settings)
    try:
        add_schedules(workspace, job_file)
        schedulers = [Scheduler(workspace, elect=False, batch_size=7) for _ in range(2)]
        barrier = threading.Barrier(len(schedulers))
        ticking = threading.Event()
        errors: list[BaseException] = []
        last: dict[str, str] = {}

        def tick(scheduler: Scheduler) -> None:
            try:
                for slot in slots():
                    barrier.wait()
                    for _ in range(3):
                        scheduler.tick(slot + timedelta(seconds=1))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                barrier.abort()

        def edit() -> None:
            try:
                round_ = 0
                while ticking.is_set():
                    round_ += 1
                    for n in range(SCHEDULES):
                        name, text = f"s{n:02d}", f"round {round_}"
                        misfire = ("skip", "run-once")[round_ % 2]
                        changes = ScheduleChanges(description=text, misfire=misfire)
                        workspace.edit_schedule(name, changes)
                        last[name] = text
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        ticking.set()
        editor = threading.Thread(target=edit)
        editor.start()
        threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ticking.clear()
        editor.join()
        assert errors == []
        assert_each_fired_once_per_slot(workspace)
        infos = ScheduleStore(workspace.suite).list()
        assert {i.name: i.description for i in infos} == last
        for scheduler in schedulers:
            scheduler.close()
    finally:
        workspace.close()


WORKER = r"""
import sys, time
from datetime import datetime, timedelta
from idms.config import Settings
from idms.workspace import Workspace
from idms.schedules import Scheduler

workspace_dir, suite, elect, first, count = sys.argv[1:6]
settings = Settings.load(workspace=workspace_dir, environ={})
if suite != "-":
    settings = settings.with_changes(suite_database=suite)
workspace = Workspace.open(settings)
scheduler = Scheduler(workspace, elect=elect == "1", batch_size=7)
print("ready", flush=True)
start_at = sys.stdin.readline()  # the same moment for every process, once all are ready
slot = datetime.fromisoformat(first)
made = 0
for k in range(int(count)):
    # The processes share the real clock, as schedulers do: slot k is ticked from
    # start_at + k/2 s on, so that no process is at a later slot while the others are at an
    # earlier one (a scheduler that far ahead would rightly take the earlier slot as missed).
    time.sleep(max(0.0, float(start_at) + k / 2 - time.time()))
    moment = slot + timedelta(minutes=k, seconds=1)
    for _ in range(3):
        made += len(scheduler.tick(moment))
        time.sleep(0.005)
scheduler.close()
workspace.close()
print(made)
"""


@pytest.mark.slow
@pytest.mark.parametrize("elect", [True, False], ids=["elected", "compare-and-set-only"])
def test_processes_ticking_together_fire_each_slot_once(
    any_settings: Settings, job_file: Path, elect: bool
) -> None:
    workspace = Workspace.open(any_settings)
    try:
        add_schedules(workspace, job_file)
        suite = any_settings.suite_database or "-"
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WORKER,
                    str(any_settings.workspace),
                    suite,
                    "1" if elect else "0",
                    slots()[0].isoformat(),
                    str(SLOTS),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        # Start them together once all have started (a loaded machine may take seconds to
        # start a Python): a process still starting when the others tick would be late.
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready", process.stderr
        start_at = time.time() + 0.5
        made = []
        for process in processes:
            out, err = process.communicate(f"{start_at}\n", timeout=120)
            assert process.returncode == 0, err
            made.append(int(out.strip().splitlines()[-1]))
        assert sum(made) == SCHEDULES * SLOTS
        if elect:
            assert sorted(made)[:-1] == [0, 0]  # one process led throughout, the others waited
        assert_each_fired_once_per_slot(workspace)
    finally:
        workspace.close()
