"""One scheduler leads at a time: a lease row on SQLite, an advisory lock on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from schedules_support import add, utc
from sqlalchemy import func, select, text

from idms.config import Settings
from idms.schedules import Scheduler, ScheduleStore
from idms.schedules.leader import AdvisoryLockLeadership, LeaseLeadership
from idms.state.models import Run, SchedulerLease
from idms.workspace import Workspace

NOON = utc(2026, 6, 1, 12, 10)


@pytest.fixture
def any_workspace(any_settings: Settings) -> Iterator[Workspace]:
    ws = Workspace.open(any_settings)
    try:
        yield ws
    finally:
        ws.close()


def test_one_leader_at_a_time_and_the_next_takes_over_when_it_stops(
    any_workspace: Workspace, job_file: Path
) -> None:
    add(any_workspace, "hourly", job_file, cron="hourly", overlap="queue", now=NOON)
    first, second = Scheduler(any_workspace), Scheduler(any_workspace)
    assert len(first.tick(utc(2026, 6, 1, 13))) == 1
    assert first.is_leader
    assert second.tick(utc(2026, 6, 1, 14)) == []  # due, but it does not lead
    assert not second.is_leader
    first.close()  # serve stopping: it gives the lead up
    assert len(second.tick(utc(2026, 6, 1, 14))) == 1
    assert second.is_leader
    assert first.tick(utc(2026, 6, 1, 15)) == []
    second.close()


def test_a_sqlite_lease_is_taken_over_only_once_it_has_expired(workspace: Workspace) -> None:
    engine = workspace.suite
    first = LeaseLeadership(engine, "first", lease_seconds=0.5)
    second = LeaseLeadership(engine, "second", lease_seconds=0.5)
    assert first.acquire()
    assert not second.acquire()
    assert first.acquire()  # renewing
    time.sleep(0.7)  # the first process hangs: its lease lapses
    assert second.acquire()
    assert not first.acquire()
    with engine.connect() as conn:
        owner = conn.execute(select(SchedulerLease.owner)).scalar()
    assert owner == "second"


def test_a_process_whose_lease_lapsed_cannot_fire(workspace: Workspace, job_file: Path) -> None:
    """The fence: each batch renews the lease in its own write transaction, so a scheduler that
    paused past its lease while another took over records nothing."""
    add(workspace, "hourly", job_file, cron="hourly", now=NOON)
    engine = workspace.suite
    stale = Scheduler(workspace, lease_seconds=0.3)
    assert stale.tick(utc(2026, 6, 1, 12, 30)) == []  # leads; nothing due
    time.sleep(0.5)
    taker = LeaseLeadership(engine, "taker", lease_seconds=60)
    assert taker.acquire()
    assert stale.leadership is not None
    assert stale.leadership.held  # as far as it knows
    # It goes on with the batch it had read: the batch's transaction finds the lease gone.
    due = stale._due(utc(2026, 6, 1, 13))
    assert len(due) == 1
    assert stale._fire_batch(due, utc(2026, 6, 1, 13)) is None
    assert not stale.leadership.held
    info = ScheduleStore(engine).get("hourly")
    assert (info.next_fire_at, info.last_run_id) == (utc(2026, 6, 1, 13), None)
    assert stale.tick(utc(2026, 6, 1, 13)) == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Run)).scalar() == 0
    taker.release()


@pytest.mark.postgres
def test_postgresql_leadership_is_an_advisory_lock_released_with_its_connection(
    postgres_url: str, tmp_path: Path, job_file: Path
) -> None:
    settings = Settings.load(workspace=tmp_path / "ws", environ={}).with_changes(
        suite_database=postgres_url
    )
    workspace = Workspace.open(settings)
    try:
        add(workspace, "hourly", job_file, cron="hourly", overlap="queue", now=NOON)
        first, second = Scheduler(workspace), Scheduler(workspace)
        assert isinstance(first.leadership, AdvisoryLockLeadership)
        assert len(first.tick(utc(2026, 6, 1, 13))) == 1
        assert second.tick(utc(2026, 6, 1, 14)) == []
        # The leader's connection dies (a crash, a network cut): the server frees the lock.
        assert first.leadership.backend_pid is not None
        with workspace.suite.connect() as conn:
            pid = {"pid": first.leadership.backend_pid}
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), pid)
            # Termination is asynchronous: the lock goes when the server process has gone.
            gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"
            deadline = time.monotonic() + 10
            while conn.execute(text(gone), pid).scalar() and time.monotonic() < deadline:
                conn.commit()  # pg_stat_activity is a snapshot per transaction
                time.sleep(0.02)
        assert len(second.tick(utc(2026, 6, 1, 14))) == 1
        assert first.tick(utc(2026, 6, 1, 15)) == []  # it notices, and does not lead
        assert not first.is_leader
        second.close()
        assert len(first.tick(utc(2026, 6, 1, 15))) == 1
        first.close()
    finally:
        workspace.close()
