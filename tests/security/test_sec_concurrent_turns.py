"""Runs on an iMIS over REST take turns per source (issue 14, item 1): a run that finds the
turn taken waits and says for which run; a turn whose holder's process has died is taken over at
once, one held on another machine once it expires. The suite database is real; the processes
are too (the dead holder is a process that has ended)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, update

from idms.runs.durable import worker_name
from idms.runs.record import NewRun, RunStore
from idms.runs.serial import SourceTurn, turn_key
from idms.state import open_suite
from idms.state.models import SourceLock, utcnow

IMIS = "imis+https://imis.example.org/"


@pytest.fixture
def suite(tmp_path: Path) -> Iterator[Engine]:
    engine = open_suite(f"sqlite:///{tmp_path / 'suite.db'}")
    yield engine
    engine.dispose()


def running(suite: Engine) -> str:
    """A run recorded as running (held by this process)."""
    owner = worker_name()
    return RunStore(suite).create(
        NewRun("import", "People", "Contact", "insert-update", IMIS, "ems", {}, owner=owner)
    )


def held_by(suite: Engine, run_id: str, owner: str, *, for_seconds: float) -> None:
    """The turn of Contact on IMIS, as ``owner`` left it for run ``run_id``."""
    now = utcnow()
    with suite.begin() as conn:
        conn.execute(
            insert(SourceLock).values(
                key=turn_key(IMIS, "Contact"), target=IMIS, source="Contact", run_id=run_id,
                owner=owner, acquired_at=now, expires_at=now + timedelta(seconds=for_seconds),
            )
        )  # fmt: skip


def turn(suite: Engine, run_id: str) -> SourceTurn:
    return SourceTurn(
        suite, target=IMIS, source="Contact", run_id=run_id, owner=worker_name(), seconds=60
    )


def test_a_run_waits_for_the_run_that_holds_the_turn_and_says_which(suite: Engine) -> None:
    holder, waiter = running(suite), running(suite)
    first = turn(suite, holder)
    assert first.take()
    heard: list[str] = []
    # The other spelling of the same iMIS: one turn.
    second = SourceTurn(suite, target="IMIS+https://IMIS.example.org", source="contact",
                        run_id=waiter, owner=worker_name(), seconds=60)  # fmt: skip
    assert not second.take(waiting=heard.append, give_up=lambda: bool(heard))
    assert heard == [
        f"Run {waiter} waits for run {holder} to finish: runs that write to contact on "
        "IMIS+https://IMIS.example.org take turns (iMIS has no unique keys to stop two runs "
        "inserting the same record)."
    ]
    first.give_back()
    assert second.take(waiting=heard.append)
    assert len(heard) == 1
    second.give_back()


def test_a_turn_whose_holder_died_is_taken_over_at_once(suite: Engine) -> None:
    # A process of this machine that has ended: its turn, good for an hour, guards nothing.
    ended = subprocess.run(
        [sys.executable, "-c", "from idms.runs.durable import worker_name; print(worker_name())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    held_by(suite, running(suite), ended.stdout.strip(), for_seconds=3600)
    heard: list[str] = []
    mine = turn(suite, running(suite))
    assert mine.take(waiting=heard.append, give_up=lambda: True)
    assert heard == []
    mine.give_back()


def test_a_turn_held_on_another_machine_guards_until_it_expires(suite: Engine) -> None:
    elsewhere = "db2:4711:-:1"  # whether that process lives cannot be told from here
    held_by(suite, holder := running(suite), elsewhere, for_seconds=3600)
    heard: list[str] = []
    assert not turn(suite, running(suite)).take(waiting=heard.append, give_up=lambda: True)
    assert f"waits for run {holder}" in heard[0]
    with suite.begin() as conn:
        conn.execute(update(SourceLock).values(expires_at=utcnow() - timedelta(seconds=1)))
    mine = turn(suite, running(suite))
    assert mine.take(give_up=lambda: True)
    mine.give_back()
