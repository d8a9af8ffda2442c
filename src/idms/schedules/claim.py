"""Claiming due schedules: one transaction advances each schedule's slot with a
compare-and-set and records the runs of its fire, so a slot fires at most once, whoever else
ticks, and a crash never loses a fire nor repeats one.

:func:`record_batch` fences the lead (``leader.py``), locks the rows (PostgreSQL; SQLite's
write transaction excludes other writers), keeps the schedules still at the slot that was read
(the others were fired by someone else, paused or changed meanwhile), skips the busy ones
(overlap policy ``skip``), advances ``next_fire_at`` (``UPDATE ... WHERE id = ? AND
next_fire_at = <the slot it read>``, one statement per kind of write for the whole batch) and
records the runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, Update, bindparam, literal_column, select, update

from idms.bulk import execute_many
from idms.errors import StateError
from idms.runs.record import RunStore
from idms.runs.status import RunStatus
from idms.schedules.fires import Fire, local_time
from idms.schedules.leader import Leadership
from idms.state.models import Run, Schedule, utcnow
from idms.state.store import translate_errors

log = logging.getLogger("idms.schedules")

_IN_CHUNK = 500  # ids per IN (...) list


class LostLead(Exception):
    """Another scheduler leads now: the batch is not recorded."""


def record_batch(
    engine: Engine, leadership: Leadership | None, plans: Sequence[Fire]
) -> tuple[list[str], int]:
    """Advance the schedules of ``plans`` still at the slot that was read, with a
    compare-and-set, and record their runs, in one transaction; (runs created, schedules
    advanced). :class:`LostLead` (nothing recorded) if ``leadership`` was lost meanwhile."""
    with _write(engine) as conn:
        if leadership is not None and not leadership.fence(conn):
            raise LostLead  # rolls the transaction back: nothing is recorded
        # Lock the rows (PostgreSQL; SQLite's write transaction excludes other writers) and
        # keep the schedules still at the slot that was read: the others were fired by
        # someone else, paused or changed meanwhile.
        current = _current(conn, [p.id for p in plans])
        mine = [p for p in plans if current.get(p.id) == p.slot]
        busy = busy_schedules(conn, [p.id for p in mine if p.action == "fire"])
        for plan in mine:
            if plan.action == "fire" and plan.overlap == "skip" and plan.id in busy:
                _skip_busy(plan)
            plan.advanced = True
        groups: dict[tuple[bool, bool], list[dict[str, Any]]] = {}
        for plan in mine:
            key = (plan.next_at is None, plan.action == "skip")
            groups.setdefault(key, []).append(_advance_params(plan))
        for (done, skip), params in groups.items():
            statement = _advance_statement(done=done, skip=skip)
            updated = execute_many(conn, ("advance", done, skip), statement, params)
            if conn.dialect.supports_sane_multi_rowcount and updated != len(params):
                raise StateError(
                    "Cannot fire the schedules: they changed while locked; nothing was fired."
                )
        runs = [p.run for p in mine if p.action in ("fire", "fail") and p.run is not None]
        created = RunStore(engine).create_many(runs, connection=conn)
        failed = [
            {"rid": p.run.run_id, "message": p.reason, "finished": utcnow()}
            for p in mine
            if p.action == "fail" and p.run
        ]
        if failed:
            conn.execute(
                update(Run)
                .where(Run.id == bindparam("rid"))
                .values(message=bindparam("message"), finished_at=bindparam("finished")),
                failed,
            )
        for plan in mine:
            if plan.action == "skip":
                log.info("schedule %s: %s", plan.name, plan.reason)
    return created, len(mine)


@contextmanager
def _write(engine: Engine) -> Iterator[Connection]:
    with translate_errors("Cannot fire the schedules"), engine.connect() as conn:
        conn = conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            yield conn


def busy_schedules(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Which of the schedules ``ids`` have a run queued or running."""
    busy: set[str] = set()
    if not ids:
        return busy
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = list(ids[start : start + _IN_CHUNK])
        busy.update(
            str(i)
            for i in conn.execute(
                select(Run.schedule_id)
                .where(
                    Run.schedule_id.in_(chunk),
                    Run.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)),
                )
                .distinct()
            ).scalars()
        )
    return busy


def _current(conn: Connection, ids: Sequence[str]) -> dict[str, datetime]:
    """The next fire time of each active schedule of ``ids``, its row locked (PostgreSQL)."""
    found: dict[str, datetime] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = list(ids[start : start + _IN_CHUNK])
        rows = conn.execute(
            select(Schedule.id, Schedule.next_fire_at)
            .where(Schedule.id.in_(chunk), Schedule.state == "active")
            .order_by(Schedule.id)
            .with_for_update()
        )
        found.update({str(r[0]): r[1] for r in rows if r[1] is not None})
    return found


def _skip_busy(plan: Fire) -> None:
    plan.action = "skip"
    plan.reason = (
        f"{local_time(plan.slot, plan.zone)} skipped: the schedule's previous run was still queued "
        "or running; overlap policy skip"
    )


def _advance_params(plan: Fire) -> dict[str, Any]:
    params: dict[str, Any] = {
        "sid": plan.id,
        "slot": plan.slot,
        "next_at": plan.next_at,
        "updated": utcnow(),
    }
    skip = plan.action == "skip"
    if plan.next_at is None:
        params["reason"] = (
            f"Did not run: {plan.reason}."
            if skip
            else f"Ran once, at {local_time(plan.slot, plan.zone)}."
        )
    if skip:
        params["skip"] = plan.reason
    else:  # a workflow's run is made once advanced (its id set then)
        params["run_id"] = plan.run.run_id if plan.run is not None else None
    return params


@lru_cache(maxsize=4)
def _advance_statement(*, done: bool, skip: bool) -> Update:
    """The compare-and-set: ``UPDATE schedules SET next_fire_at = :next_at ... WHERE id = :sid
    AND next_fire_at = :slot AND state = 'active'``, values as parameters (compiled once)."""
    values: dict[str, Any] = {
        "next_fire_at": bindparam("next_at"),
        "last_fire_at": bindparam("slot"),
        "updated_at": bindparam("updated"),
    }
    # Constants as SQL literals: every bind is then a row's parameter, and the statement runs
    # at driver speed for a whole batch (bulk.execute_many).
    if done:
        values["state"] = literal_column("'done'")
        values["state_reason"] = bindparam("reason")
    if skip:
        values["skipped_fires"] = Schedule.skipped_fires + literal_column("1")
        values["last_skip"] = bindparam("skip")
    else:
        values["last_run_id"] = bindparam("run_id")
    return (
        update(Schedule)
        .where(
            Schedule.id == bindparam("sid"),
            Schedule.next_fire_at == bindparam("slot"),
            Schedule.state == literal_column("'active'"),
        )
        .values(values)
    )
