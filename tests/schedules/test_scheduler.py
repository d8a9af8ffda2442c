"""The scheduler: due schedules create queued runs (never execute them), once per slot, with the
misfire and overlap policies, one-time schedules, and auto-disable after failed runs in a row.

Real databases, real runs: a run is executed with ``execute_run`` (which calls the after-run
hooks, as the executors do), and ``tick`` is given the moment it is, instead of sleeping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from schedules_support import add, utc, write_people
from sqlalchemy import select

from idms.config import Settings
from idms.errors import InvalidInputError
from idms.execution.execute import execute_run
from idms.runs.events import run_finished
from idms.runs.record import RunStore
from idms.schedules import Scheduler, ScheduleStore, define_schedule, next_times
from idms.schedules.outcomes import record_run_outcome
from idms.state.models import Run
from idms.state.templates import TemplateStore
from idms.workspace import Workspace

NOON = utc(2026, 6, 1, 12, 10)


@pytest.fixture
def any_workspace(any_settings: Settings) -> Iterator[Workspace]:
    ws = Workspace.open(any_settings)
    try:
        yield ws
    finally:
        ws.close()


def runs_of(workspace: Workspace, schedule_id: str) -> list[tuple[str, str, str]]:
    """(run ID, trigger, status) of the schedule's runs, oldest first."""
    with workspace.suite.connect() as conn:
        rows = conn.execute(
            select(Run.id, Run.trigger, Run.status)
            .where(Run.schedule_id == schedule_id)
            .order_by(Run.created_at, Run.id)
        ).all()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def test_a_schedule_creates_one_queued_run_per_slot(
    any_workspace: Workspace, job_file: Path
) -> None:
    info = add(any_workspace, "hourly", job_file, cron="hourly", overlap="queue", now=NOON)
    assert info.next_fire_at == utc(2026, 6, 1, 13)
    scheduler = Scheduler(any_workspace)
    assert scheduler.tick(utc(2026, 6, 1, 12, 59, 59)) == []
    first = scheduler.tick(utc(2026, 6, 1, 13, 0, 0, 300000))
    assert len(first) == 1
    assert scheduler.tick(utc(2026, 6, 1, 13, 0, 1)) == []  # the same slot never fires twice
    assert scheduler.tick(utc(2026, 6, 1, 13, 59)) == []
    second = scheduler.tick(utc(2026, 6, 1, 14))
    assert len(second) == 1
    run = RunStore(any_workspace.suite).get(first[0])
    assert (run.status, run.trigger, run.schedule_id) == ("queued", "schedule", info.id)
    assert run.started_by == "schedule:hourly"  # who started it: the schedule, by its name
    assert RunStore(any_workspace.suite).get(second[0]).started_by == "schedule:hourly"
    assert run.name == "People by e-mail"
    after = ScheduleStore(any_workspace.suite).get("hourly")
    assert after.next_fire_at == utc(2026, 6, 1, 15)
    assert after.last_fire_at == utc(2026, 6, 1, 14)
    assert after.last_run_id == second[0]
    scheduler.close()


def test_the_scheduler_only_queues_and_the_run_executes_later(
    any_workspace: Workspace, job_file: Path
) -> None:
    add(any_workspace, "daily", job_file, cron="daily", now=NOON)
    scheduler = Scheduler(any_workspace)
    (run_id,) = scheduler.tick(utc(2026, 6, 2))
    assert RunStore(any_workspace.suite).get(run_id).status == "queued"
    report = execute_run(any_workspace, run_id)
    assert report is not None
    assert report.summary()["inserted"] == 2
    info = ScheduleStore(any_workspace.suite).get("daily")
    assert (info.last_outcome, info.consecutive_failures) == ("succeeded", 0)
    scheduler.close()


def test_the_stored_job_does_not_need_the_job_file_but_reads_its_input_afresh(
    workspace: Workspace, job_file: Path
) -> None:
    info = add(workspace, "daily", job_file, cron="daily", now=NOON)
    assert info.job is not None
    assert info.job["input"]["file"] == str(job_file.parent / "people.csv")
    job_file.unlink()  # the job file goes; the schedule keeps the job
    (job_file.parent / "people.csv").write_text("First,Last,E-mail\nGrace,Hopper,g@x.org\n")
    scheduler = Scheduler(workspace)
    (run_id,) = scheduler.tick(utc(2026, 6, 2))
    report = execute_run(workspace, run_id)
    assert report is not None
    assert report.summary()["rows"] == 1  # the file as it is at the fire, not at the add
    scheduler.close()


def test_a_template_schedule_runs_the_template_as_it_is_when_it_fires(
    workspace: Workspace, tmp_path: Path
) -> None:
    templates = TemplateStore(workspace.suite)
    templates.save(
        "People",
        {
            "source": "Contact",
            "action": "insert-update",
            "mappings": [{"field": "Email", "column": "E-mail", "match": True}],
        },
    )
    people = write_people(tmp_path / "people.csv")
    settings = workspace.settings
    new = define_schedule(
        "people",
        templates=templates,
        target=settings.target,
        platform=settings.platform.value,
        template="People",
        input_file=people,
        cron="daily",
        now=NOON,
    )
    ScheduleStore(workspace.suite).add(new, now=NOON)
    templates.save(
        "People",
        {
            "source": "Contact",
            "action": "insert-update",
            "mappings": [
                {"field": "Email", "column": "E-mail", "match": True},
                {"field": "LastName", "column": "Last"},
                {"field": "FirstName", "column": "First"},
            ],
        },
    )
    scheduler = Scheduler(workspace)
    (run_id,) = scheduler.tick(utc(2026, 6, 2))
    run = RunStore(workspace.suite).get(run_id)
    assert [m["field"] for m in run.job["mappings"]] == ["Email", "LastName", "FirstName"]
    assert execute_run(workspace, run_id) is not None
    assert RunStore(workspace.suite).get(run_id).status == "succeeded"
    scheduler.close()


# ---- one-time schedules ----------------------------------------------------------------------


def test_a_one_time_schedule_fires_once_and_is_done(
    any_workspace: Workspace, job_file: Path
) -> None:
    info = add(
        any_workspace,
        "once",
        job_file,
        at="2026-06-01T09:30",
        timezone="America/New_York",
        now=NOON,
    )
    assert info.run_at == info.next_fire_at == utc(2026, 6, 1, 13, 30)
    assert next_times(info, 3, now=NOON) == [utc(2026, 6, 1, 13, 30)]
    scheduler = Scheduler(any_workspace)
    assert scheduler.tick(utc(2026, 6, 1, 13, 29)) == []
    assert len(scheduler.tick(utc(2026, 6, 1, 13, 30))) == 1
    for later in (utc(2026, 6, 1, 13, 31), utc(2026, 6, 2), utc(2027, 1, 1)):
        assert scheduler.tick(later) == []
    done = ScheduleStore(any_workspace.suite).get("once")
    assert (done.state, done.next_fire_at) == ("done", None)
    assert done.state_reason is not None
    assert "Ran once" in done.state_reason
    assert next_times(done, 3) == []
    with pytest.raises(InvalidInputError, match="ran once already"):
        ScheduleStore(any_workspace.suite).resume("once")
    scheduler.close()


def test_at_in_the_past_is_refused(workspace: Workspace, job_file: Path) -> None:
    with pytest.raises(InvalidInputError, match="is in the past"):
        add(workspace, "late", job_file, at="2026-06-01T12:00", now=NOON)


# ---- misfire: after downtime -----------------------------------------------------------------


def test_misfire_run_once_fires_once_after_downtime(workspace: Workspace, job_file: Path) -> None:
    info = add(workspace, "hourly", job_file, cron="hourly", now=NOON)
    scheduler = Scheduler(workspace)
    # Down from 12:10 to 18:20: the 13:00 ... 18:00 slots were missed; one run, now.
    created = scheduler.tick(utc(2026, 6, 1, 18, 20))
    assert len(created) == 1
    after = ScheduleStore(workspace.suite).get("hourly")
    assert after.next_fire_at == utc(2026, 6, 1, 19)
    assert after.last_fire_at == utc(2026, 6, 1, 13)  # the slot it fired for
    assert after.skipped_fires == 0
    assert len(runs_of(workspace, info.id)) == 1
    scheduler.close()


def test_misfire_skip_fires_none_of_the_missed_slots(workspace: Workspace, job_file: Path) -> None:
    info = add(workspace, "hourly", job_file, cron="hourly", misfire="skip", now=NOON)
    scheduler = Scheduler(workspace)
    assert scheduler.tick(utc(2026, 6, 1, 18, 20)) == []
    after = ScheduleStore(workspace.suite).get("hourly")
    assert after.next_fire_at == utc(2026, 6, 1, 19)
    assert after.skipped_fires == 1
    assert after.last_skip is not None
    assert "was missed" in after.last_skip
    assert "misfire policy skip" in after.last_skip
    # On time again (a few seconds late is on time): it fires.
    assert len(scheduler.tick(utc(2026, 6, 1, 19, 0, 5))) == 1
    assert len(runs_of(workspace, info.id)) == 1
    scheduler.close()


def test_a_missed_one_time_schedule_with_misfire_skip_is_done_without_running(
    workspace: Workspace, job_file: Path
) -> None:
    info = add(workspace, "once", job_file, at="2026-06-01T13:00Z", misfire="skip", now=NOON)
    scheduler = Scheduler(workspace)
    assert scheduler.tick(utc(2026, 6, 1, 15)) == []
    after = ScheduleStore(workspace.suite).get("once")
    assert after.state == "done"
    assert after.state_reason is not None
    assert after.state_reason.startswith("Did not run")
    assert runs_of(workspace, info.id) == []
    scheduler.close()


# ---- overlap: while a run is queued or running -----------------------------------------------


def test_overlap_skip_creates_no_run_while_one_is_queued(
    workspace: Workspace, job_file: Path
) -> None:
    info = add(workspace, "hourly", job_file, cron="hourly", now=NOON)
    scheduler = Scheduler(workspace)
    (first,) = scheduler.tick(utc(2026, 6, 1, 13))
    assert scheduler.tick(utc(2026, 6, 1, 14)) == []  # the 13:00 run is still queued
    after = ScheduleStore(workspace.suite).get("hourly")
    assert after.skipped_fires == 1
    assert after.last_skip is not None
    assert "previous run was still queued or running" in after.last_skip
    assert after.next_fire_at == utc(2026, 6, 1, 15)
    assert execute_run(workspace, first) is not None  # it ends
    assert len(scheduler.tick(utc(2026, 6, 1, 15))) == 1
    assert [r[2] for r in runs_of(workspace, info.id)] == ["succeeded", "queued"]
    scheduler.close()


def test_overlap_queue_creates_the_run_anyway(workspace: Workspace, job_file: Path) -> None:
    info = add(workspace, "hourly", job_file, cron="hourly", overlap="queue", now=NOON)
    scheduler = Scheduler(workspace)
    scheduler.tick(utc(2026, 6, 1, 13))
    scheduler.tick(utc(2026, 6, 1, 14))
    assert [r[2] for r in runs_of(workspace, info.id)] == ["queued", "queued"]
    assert ScheduleStore(workspace.suite).get("hourly").skipped_fires == 0
    scheduler.close()


# ---- failures in a row, auto-disable ---------------------------------------------------------


def test_auto_disable_after_n_failed_runs_in_a_row(
    any_workspace: Workspace, job_file: Path
) -> None:
    info = add(any_workspace, "hourly", job_file, cron="hourly", max_failures=3, now=NOON)
    (job_file.parent / "people.csv").unlink()  # every run fails: its input is gone
    scheduler = Scheduler(any_workspace)
    store = ScheduleStore(any_workspace.suite)
    for hour in (13, 14, 15):
        (run_id,) = scheduler.tick(utc(2026, 6, 1, hour))
        execute_run(any_workspace, run_id)  # fails; its after-run hook counts it
        assert RunStore(any_workspace.suite).get(run_id).status == "failed"
    disabled = store.get("hourly")
    assert (disabled.state, disabled.consecutive_failures) == ("disabled", 3)
    assert disabled.next_fire_at is None
    assert disabled.state_reason is not None
    assert "Disabled after 3 failed runs in a row" in disabled.state_reason
    assert "people.csv" in disabled.state_reason  # why the last one failed
    assert scheduler.tick(utc(2026, 6, 1, 16)) == []
    assert scheduler.tick(utc(2026, 6, 2)) == []
    # Fixed, then resumed: from the next slot after now, no failures counted.
    write_people(job_file.parent / "people.csv")
    resumed = store.resume("hourly", now=utc(2026, 6, 2, 9, 30))
    assert (resumed.state, resumed.consecutive_failures) == ("active", 0)
    assert resumed.next_fire_at == utc(2026, 6, 2, 10)
    (run_id,) = scheduler.tick(utc(2026, 6, 2, 10))
    execute_run(any_workspace, run_id)
    assert store.get("hourly").last_outcome == "succeeded"
    assert len(runs_of(any_workspace, info.id)) == 4
    scheduler.close()


def test_a_success_sets_the_count_back_and_completed_with_errors_is_a_success(
    workspace: Workspace, job_file: Path
) -> None:
    people = job_file.parent / "people.csv"
    add(workspace, "hourly", job_file, cron="hourly", max_failures=2, now=NOON)
    store = ScheduleStore(workspace.suite)
    scheduler = Scheduler(workspace)
    people.unlink()
    execute_run(workspace, scheduler.tick(utc(2026, 6, 1, 13))[0])
    assert store.get("hourly").consecutive_failures == 1
    people.write_text("First,Last,E-mail\nAda,Lovelace,ada@example.org\nBad,Row,not an e-mail\n")
    run_id = scheduler.tick(utc(2026, 6, 1, 14))[0]
    execute_run(workspace, run_id)
    assert RunStore(workspace.suite).get(run_id).status == "completed_with_errors"
    after = store.get("hourly")
    assert (after.consecutive_failures, after.last_outcome, after.state) == (
        0,
        "completed_with_errors",
        "active",
    )
    people.unlink()
    execute_run(workspace, scheduler.tick(utc(2026, 6, 1, 15))[0])
    assert store.get("hourly").state == "active"  # 1 failure in a row, not 2
    scheduler.close()


def test_an_outcome_is_counted_once_and_a_cancelled_run_counts_neither_way(
    workspace: Workspace, job_file: Path
) -> None:
    add(workspace, "hourly", job_file, cron="hourly", overlap="queue", now=NOON)
    (job_file.parent / "people.csv").unlink()
    scheduler = Scheduler(workspace)
    store = ScheduleStore(workspace.suite)
    failed = scheduler.tick(utc(2026, 6, 1, 13))[0]
    execute_run(workspace, failed)
    record_run_outcome(workspace, failed)  # again: nothing changes
    run_finished(workspace, failed)
    assert store.get("hourly").consecutive_failures == 1
    cancelled = scheduler.tick(utc(2026, 6, 1, 14))[0]
    assert workspace.leases.request_cancel(cancelled) == "cancelled"
    run_finished(workspace, cancelled)
    after = store.get("hourly")
    assert (after.consecutive_failures, after.last_outcome) == (1, "cancelled")
    scheduler.close()


def test_a_job_that_cannot_be_built_is_a_failed_run_with_the_reason(
    workspace: Workspace, tmp_path: Path
) -> None:
    templates = TemplateStore(workspace.suite)
    templates.save(
        "By query",
        {
            "input": {"query": "Lapsed members"},
            "source": "Contact",
            "action": "update",
            "mappings": [{"field": "Email", "column": "Email", "match": True}],
        },
    )
    settings = workspace.settings
    new = define_schedule(
        "by query",
        templates=templates,
        target=settings.target,
        platform=settings.platform.value,
        template="By query",
        cron="hourly",
        max_failures=1,
        now=NOON,
    )
    info = ScheduleStore(workspace.suite).add(new, now=NOON)
    templates.delete("By query")
    scheduler = Scheduler(workspace)
    (run_id,) = scheduler.tick(utc(2026, 6, 1, 13))
    run = RunStore(workspace.suite).get(run_id)
    assert (run.status, run.trigger, run.schedule_id) == ("failed", "schedule", info.id)
    assert run.message is not None
    assert "could not start its job: No template 'By query'" in run.message
    after = ScheduleStore(workspace.suite).get("by query")
    assert after.state == "disabled"  # max_failures 1: the failed fire counted
    scheduler.close()


# ---- run now, pause, resume, many at once ----------------------------------------------------


def test_run_now_queues_a_manual_run_and_leaves_the_next_fire_alone(
    workspace: Workspace, job_file: Path
) -> None:
    info = add(workspace, "daily", job_file, cron="daily", now=NOON)
    store = ScheduleStore(workspace.suite)
    store.pause("daily")
    scheduler = Scheduler(workspace, elect=False)
    run_id = scheduler.run_now("daily")  # a paused schedule too
    run = RunStore(workspace.suite).get(run_id)
    assert (run.trigger, run.schedule_id, run.status) == ("manual", info.id, "queued")
    store.resume("daily", now=NOON)
    assert store.get("daily").next_fire_at == info.next_fire_at
    with pytest.raises(InvalidInputError, match=r"No schedule 'dialy'\. Did you mean 'daily'\?"):
        scheduler.run_now("dialy")


def test_a_paused_schedule_does_not_fire_and_resumes_from_now(
    workspace: Workspace, job_file: Path
) -> None:
    info = add(workspace, "hourly", job_file, cron="hourly", now=NOON)
    store = ScheduleStore(workspace.suite)
    paused = store.pause("hourly")
    assert (paused.state, paused.next_fire_at) == ("paused", None)
    # A paused schedule still shows when it would run.
    assert next_times(paused, 2, now=utc(2026, 6, 1, 15, 30)) == [
        utc(2026, 6, 1, 16),
        utc(2026, 6, 1, 17),
    ]
    scheduler = Scheduler(workspace)
    assert scheduler.tick(utc(2026, 6, 1, 16)) == []
    resumed = store.resume("hourly", now=utc(2026, 6, 1, 18, 20))
    assert resumed.next_fire_at == utc(2026, 6, 1, 19)
    assert scheduler.tick(utc(2026, 6, 1, 18, 20)) == []  # misfire does not apply to a resume
    assert runs_of(workspace, info.id) == []
    scheduler.close()


def test_more_due_schedules_than_a_batch_all_fire_in_one_tick(
    any_workspace: Workspace, job_file: Path
) -> None:
    for n in range(23):
        add(any_workspace, f"s{n}", job_file, cron="*/5 * * * *", now=NOON)
    scheduler = Scheduler(any_workspace, batch_size=5)
    created = scheduler.tick(utc(2026, 6, 1, 12, 15))
    assert len(created) == len(set(created)) == 23
    assert scheduler.tick(utc(2026, 6, 1, 12, 15)) == []
    scheduler.close()


def test_ticks_across_the_spring_gap_fire_a_daily_schedule_once_that_day(
    workspace: Workspace, job_file: Path
) -> None:
    start = utc(2026, 3, 6, 12)
    info = add(
        workspace,
        "nightly",
        job_file,
        cron="30 2 * * *",
        timezone="America/New_York",
        overlap="queue",
        now=start,
    )
    scheduler = Scheduler(workspace)
    fired = []
    moment = start
    while moment < utc(2026, 3, 10, 12):
        moment += timedelta(minutes=10)
        if scheduler.tick(moment):
            fired.append(moment)
    assert fired == [
        utc(2026, 3, 7, 7, 30),  # 02:30 EST
        utc(2026, 3, 8, 7, 0),  # 03:00 EDT: 02:30 did not exist
        utc(2026, 3, 9, 6, 30),  # 02:30 EDT
        utc(2026, 3, 10, 6, 30),
    ]
    assert len(runs_of(workspace, info.id)) == 4
    scheduler.close()


def test_the_job_document_is_stored_as_json(workspace: Workspace, job_file: Path) -> None:
    add(workspace, "daily", job_file, cron="daily", now=NOON)
    info = ScheduleStore(workspace.suite).get("daily")
    data = json.loads(json.dumps(info.to_dict()))
    assert data["job"]["source"] == "Contact"
    assert data["cron"] == "@daily"
    assert data["cron_expression"] == "0 0 * * *"
    assert data["next_fire_at"] == "2026-06-02T00:00:00+00:00"
