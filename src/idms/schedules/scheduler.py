"""The scheduler: it creates the runs of due schedules, and never executes them.

``Scheduler(workspace).tick(now)`` finds the schedules due at ``now`` through the index on
``next_fire_at`` (only due rows are read, however many schedules there are), and for each one,
in one transaction: locks the schedule's row and checks it is still at the slot it read,
advances ``next_fire_at`` with a compare-and-set (``UPDATE ... WHERE id = ? AND next_fire_at =
<the slot it read>``), and records the queued run (:func:`idms.jobs.enqueue.queued_run`, the
input file copied and the job sealed as ``enqueue_job`` does). A slot therefore fires at most
once, whoever else ticks; and the run and the advance are committed together, so a crash never
loses a fire nor repeats one. Due schedules are handled in batches of ``batch_size``, one
transaction (and one statement per kind of write) per batch.

Policies, per schedule:

* misfire ``run-once`` (default): a schedule found late (after downtime) fires once, however
  many slots it missed; ``skip``: a schedule more than ``misfire_grace`` late does not fire.
  Either way its next fire is the first slot after now.
* overlap ``skip`` (default): while the schedule has a run queued or running, the slot is
  skipped (counted, with the reason, on the schedule); ``queue``: the run is created anyway.

A fire whose job cannot be built (its template was deleted, say) is recorded as a failed run
with the reason, so it shows in ``idms runs``, counts towards ``max_failures`` and notifies.

A schedule of kind ``workflow`` (the workflow's name in ``template``) starts a run of that
workflow (``Workspace.start_workflow``, trigger ``schedule``, the trigger's ``input``; a transfer
schedule: ``Workspace.start_transfer``) once its
slot is advanced, just after the transaction: the run is made by the workflow facade, which
alone knows how; a crash between the two loses that fire (never repeats it). The run is then
tied to its schedule (``schedule_id``), so overlap, ``max_failures`` and ``last_run_id`` work
as for a job. A workflow that cannot start (deleted, disabled, archived) is a failed run, with
the reason.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Update,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    update,
)

from idms.bulk import execute_many
from idms.errors import IdmsError, StateError
from idms.jobs.enqueue import enqueue_job, queued_run
from idms.jobs.model import Job
from idms.jobs.prepare import spool_file
from idms.jobs.sealing import mask_constants
from idms.runs.context import RunContext
from idms.runs.durable import worker_name
from idms.runs.events import run_finished
from idms.runs.record import NewRun, RunStore, dumps, new_run_id
from idms.runs.status import RunKind, RunStatus
from idms.schedules.jobs import CachedTemplates, schedule_job
from idms.schedules.leader import Leadership, leadership_for
from idms.schedules.model import FACADE_KINDS, TRANSFER_KIND, cron_of
from idms.schedules.outcomes import record_run_outcome
from idms.schedules.store import ScheduleStore
from idms.schedules.timing import next_fire, next_fire_cached
from idms.state.constants import unseal_constants
from idms.state.models import Run, Schedule, utcnow
from idms.state.store import translate_errors

log = logging.getLogger("idms.schedules")

MISFIRE_GRACE = timedelta(seconds=60)
"""How late a fire may be and still count as on time (misfire policy ``skip``)."""

_IN_CHUNK = 500  # ids per IN (...) list
WARM_HORIZON = timedelta(minutes=2)
"""How far ahead :meth:`Scheduler.warm` builds the jobs of schedules about to fire."""

_SELECT_DUE = select(
    Schedule.id,
    Schedule.name,
    Schedule.kind,
    Schedule.job_document,
    Schedule.template,
    Schedule.input_file,
    Schedule.target,
    Schedule.platform,
    Schedule.cron,
    Schedule.timezone,
    Schedule.misfire,
    Schedule.overlap,
    Schedule.next_fire_at,
)
_JOB_CACHE = 20_000  # jobs kept built, by schedule (a job is built again when it changes)


class _LostLead(Exception):
    """Another scheduler leads now: the batch is not recorded."""


@dataclass
class _Fire:
    """What a tick does with one due schedule."""

    id: str
    name: str
    slot: datetime
    next_at: datetime | None  # None: a one-time schedule, done after this
    overlap: str
    zone: ZoneInfo
    target: str
    platform: str
    action: str  # fire | fail | skip
    job: Job | None = None
    reason: str | None = None  # why it failed or was skipped
    document: dict[str, Any] = field(default_factory=dict)
    run: NewRun | None = None  # the run to record
    workflow: str | None = None  # kind workflow (transfer): the one to start once advanced
    kind: str = "job"  # the schedule's kind
    advanced: bool = False  # this scheduler advanced its slot (so it starts the workflow)


class Scheduler:
    """Creates the runs of due schedules; one process leads at a time (``leader.py``).

    ``elect=False`` skips the leader election (tests of the compare-and-set use it: several
    schedulers firing at once must still fire each slot once); never turn it off in serving.
    """

    def __init__(
        self,
        workspace: RunContext,
        *,
        owner: str | None = None,
        lease_seconds: float = 10.0,
        misfire_grace: timedelta = MISFIRE_GRACE,
        batch_size: int = 500,
        elect: bool = True,
    ) -> None:
        self.workspace = workspace
        self.engine = workspace.suite
        self.owner = owner or f"{worker_name()}:scheduler-{uuid.uuid4().hex[:6]}"
        self.misfire_grace = misfire_grace
        self.batch_size = batch_size
        self._jobs: dict[tuple[Any, ...], Job] = {}
        # What a fire records, built ahead (the input copied, the job sealed) and reused while
        # the schedule's job and its input file stay the same: a fire then only records a row.
        self._payloads: dict[tuple[Any, ...], tuple[Job, NewRun]] = {}
        self._runs_folder = workspace.runs_folder
        self._warm_mark: tuple[datetime, str] | None = None
        self.leadership: Leadership | None = (
            leadership_for(self.engine, self.owner, lease_seconds=lease_seconds) if elect else None
        )

    @property
    def is_leader(self) -> bool:
        return self.leadership is None or self.leadership.held

    # ---- firing --------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[str]:
        """Create the runs of the schedules due at ``now`` (default: the current time); the IDs
        of the runs created. Does nothing unless this scheduler leads."""
        now = _aware(now) if now is not None else utcnow()
        if self.leadership is not None and not self.leadership.acquire():
            return []
        created: list[str] = []
        while True:
            due = self._due(now)
            if not due:
                break
            fired = self._fire_batch(due, now)
            if fired is None:  # no longer the leader
                break
            runs, advanced = fired
            created += runs
            if advanced == 0 or len(due) < self.batch_size:
                break
        return created

    def run_now(self, name: str) -> str:
        """Queue a run of schedule ``name`` now (trigger ``manual``), whatever its state and
        policies; its next fire is not affected. Returns the run's ID."""
        info = ScheduleStore(self.engine).get(name)
        if info.kind in FACADE_KINDS:
            return self._run_workflow_now(info.id, str(info.template), info.kind)
        box = self.workspace.box
        job = schedule_job(
            kind=info.kind,
            job_document=unseal_constants(info.stored_job, box) if info.stored_job else None,
            template=info.template,
            input_file=info.input_file,
            templates=CachedTemplates(self.engine, box),
        )
        return enqueue_job(
            self.workspace,
            job,
            trigger="manual",
            schedule_id=info.id,
            target=info.target,
            platform=info.platform,
        )

    def _run_workflow_now(self, schedule_id: str, workflow: str, kind: str) -> str:
        start = self._starter(kind)
        run_id = str(start(workflow, trigger="manual").id)
        with (
            translate_errors("Cannot record the run on its schedule"),
            self.engine.begin() as conn,
        ):
            conn.execute(update(Run).where(Run.id == run_id).values(schedule_id=schedule_id))
        return run_id

    def seconds_until_due(self, now: datetime | None = None, *, at_most: float = 1.0) -> float:
        """How long to wait before the next schedule is due (at most ``at_most`` seconds)."""
        now = _aware(now) if now is not None else utcnow()
        with self.engine.connect() as conn:
            first = conn.execute(
                select(func.min(Schedule.next_fire_at)).where(Schedule.state == "active")
            ).scalar()
        if first is None:
            return at_most
        if first.tzinfo is None:  # SQLite's min() comes back as text, without the type
            first = first.replace(tzinfo=UTC)
        return max(0.0, min(at_most, (first - now).total_seconds()))

    def warm(
        self,
        now: datetime | None = None,
        *,
        horizon: timedelta = WARM_HORIZON,
        budget: float = 0.2,
    ) -> int:
        """Build ahead the jobs and next fire times of schedules due within ``horizon`` (for
        at most ``budget`` seconds), so that firing them takes less time; how many were built.
        What is built is only a cache: a schedule or template changed meanwhile is built
        again when it fires."""
        now = _aware(now) if now is not None else utcnow()
        began = time.perf_counter()
        mark = self._warm_mark
        if mark is None or mark[0] < now:
            mark = (now, "")
        with translate_errors("Cannot read the schedules"), self.engine.connect() as conn:
            rows = list(
                conn.execute(
                    _SELECT_DUE.where(
                        Schedule.state == "active",
                        Schedule.next_fire_at <= now + horizon,
                        or_(
                            Schedule.next_fire_at > mark[0],
                            (Schedule.next_fire_at == mark[0]) & (Schedule.id > mark[1]),
                        ),
                    )
                    .order_by(Schedule.next_fire_at, Schedule.id)
                    .limit(self.batch_size)
                )
            )
        templates = CachedTemplates(self.engine, self.workspace.box)
        built = 0
        for row in rows:
            if time.perf_counter() - began > budget:
                break
            cron = cron_of(row.cron)
            if cron is not None:
                next_fire_cached(cron, ZoneInfo(row.timezone), row.next_fire_at)
            document = json.loads(row.job_document) if row.job_document else None
            if row.kind in FACADE_KINDS:  # nothing to build ahead: the facade makes its run
                self._warm_mark = (row.next_fire_at, row.id)
                built += 1
                continue
            with suppress(IdmsError, OSError):  # it fails again when it fires, recorded then
                job = self._job(row, document, templates)
                self._payload(row.id, job, row.target, row.platform)
            self._warm_mark = (row.next_fire_at, row.id)
            built += 1
        return built

    def run(self, stop: threading.Event, *, interval: float = 1.0) -> None:
        """Tick until ``stop`` is set: as soon as a schedule is due, and at least every
        ``interval`` seconds (to see schedules added elsewhere, and to take over the lead).
        Time to spare before the next due schedule goes to :meth:`warm`. An error is logged
        and the loop goes on: a scheduler never stops silently."""
        try:
            while not stop.is_set():
                wait = interval
                try:
                    self.tick()
                    if self.is_leader:
                        wait = self.seconds_until_due(at_most=interval)
                        until = time.monotonic() + wait
                        while wait > 0.3 and self.warm(budget=min(0.2, wait - 0.1)):
                            wait = until - time.monotonic()
                        wait = self.seconds_until_due(at_most=max(0.0, until - time.monotonic()))
                except Exception:
                    log.exception("scheduler %s: tick failed; trying again", self.owner)
                stop.wait(wait)
        finally:
            self.close()

    def close(self) -> None:
        """Give up the lead (another process takes over at its next tick)."""
        if self.leadership is not None:
            try:
                self.leadership.release()
            except IdmsError:
                log.warning("scheduler %s could not release the lead", self.owner)

    # ---- inside a tick -------------------------------------------------------------------------

    def _due(self, now: datetime) -> list[Any]:
        with translate_errors("Cannot read the schedules"), self.engine.connect() as conn:
            return list(
                conn.execute(
                    _SELECT_DUE.where(Schedule.next_fire_at <= now, Schedule.state == "active")
                    .order_by(Schedule.next_fire_at, Schedule.id)
                    .limit(self.batch_size)
                )
            )

    def _plan(self, row: Any, now: datetime, templates: CachedTemplates) -> _Fire:
        slot: datetime = row.next_fire_at
        cron = cron_of(row.cron)
        zone = ZoneInfo(row.timezone)
        next_at = None
        if cron is not None:
            # The slot after this one (schedules due together share it: cached), or, after
            # downtime, the first slot after now: once for all the slots missed.
            next_at = next_fire_cached(cron, zone, slot)
            if next_at <= now:
                next_at = next_fire(cron, zone, now)
        fire = _Fire(
            id=row.id,
            name=row.name,
            slot=slot,
            next_at=next_at,
            overlap=row.overlap,
            zone=zone,
            target=row.target,
            platform=row.platform,
            action="fire",
        )
        if row.misfire == "skip" and now - slot > self.misfire_grace:
            fire.action = "skip"
            fire.reason = (
                f"{_local(slot, zone)} was missed (the scheduler was not running); "
                "misfire policy skip"
            )
            return fire
        if row.kind in FACADE_KINDS:
            fire.workflow = str(row.template)
            fire.kind = row.kind
            return fire
        stored = json.loads(row.job_document) if row.job_document else None
        fire.document = mask_constants(stored) if stored else {}  # a failed fire's record
        try:
            document = unseal_constants(stored, self.workspace.box) if stored else None
            fire.job = self._job(row, document, templates)
        except IdmsError as exc:
            fire.action = "fail"
            fire.reason = f"Schedule '{row.name}' could not start its job: {exc.message}"
        return fire

    def _job(self, row: Any, document: dict[str, Any] | None, templates: CachedTemplates) -> Job:
        """The schedule's job, built again only when the schedule or its template changed."""
        template = row.template or (document or {}).get("template")
        stamp = templates.get(str(template)).updated_at if template else None
        key = (row.id, row.kind, row.job_document, row.template, row.input_file, stamp)
        job = self._jobs.get(key)
        if job is None:
            job = schedule_job(
                kind=row.kind,
                job_document=document,
                template=row.template,
                input_file=row.input_file,
                templates=templates,
            )
            if len(self._jobs) >= _JOB_CACHE:
                self._jobs.pop(next(iter(self._jobs)))
            self._jobs[key] = job
        return job

    def _payload(self, schedule_id: str, job: Job, target: str, platform: str) -> NewRun:
        """What a fire of this schedule records (but its run ID), built once per version of
        its job and of its input file (whose size and time are looked at each time)."""
        spec = job.input
        stamp: tuple[int, int] | None = None
        if spec is not None and spec.file is not None:
            try:
                stat = os.stat(spec.file)
                stamp = (stat.st_size, stat.st_mtime_ns)
            except OSError:
                stamp = None
        key = (schedule_id, target, platform, stamp)
        cached = self._payloads.get(key)
        # The job itself is kept with it: the same object means the same job.
        payload = cached[1] if cached is not None and cached[0] is job else None
        if payload is not None and not _copy_kept(payload.input_ref):
            payload = None  # its input copy went with the last run on it (pruned): copy again
        if payload is None:
            payload = queued_run(
                self.workspace,
                job,
                trigger="schedule",
                schedule_id=schedule_id,
                target=target,
                platform=platform,
                run_id="",
            )
            if stamp is None and spec is not None and spec.file is not None:
                return payload  # no file: the run will fail, saying so; nothing to keep
            # As recorded, once.
            payload = replace(payload, job=_text(payload.job))
            if payload.input_ref is not None and spec is not None and spec.file:
                payload = replace(payload, input_ref=_text(payload.input_ref))
            if len(self._payloads) >= _JOB_CACHE:
                self._payloads.pop(next(iter(self._payloads)))
            self._payloads[key] = (job, payload)
        return payload

    def _fire_batch(self, due: Sequence[Any], now: datetime) -> tuple[list[str], int] | None:
        """Fire a batch of due schedules; (runs created, schedules advanced), or None if this
        scheduler no longer leads."""
        templates = CachedTemplates(self.engine, self.workspace.box)
        plans = sorted((self._plan(row, now, templates) for row in due), key=lambda f: f.id)
        # Whether a schedule is busy (overlap skip) is decided inside the write transaction
        # (_record_batch); preparing a run that then turns out skipped costs next to nothing.
        for plan in plans:
            self._prepare(plan)
        recorded: set[str] = set()
        try:
            result = self._record(plans, recorded)
        finally:
            for plan in plans:  # input files copied for runs that were not recorded
                run_id = plan.run.run_id if plan.run else None
                if run_id is not None and run_id not in recorded:
                    shutil.rmtree(self.workspace.runs_folder / run_id, ignore_errors=True)
        if result is None:
            return None
        for plan in plans:
            if plan.action == "fail" and plan.run and plan.run.run_id in recorded:
                log.warning("schedule %s: %s", plan.name, plan.reason)
                run_finished(self.workspace, plan.run.run_id)
        started = self._start_workflows(plans)
        return result[0] + started, result[1]

    def _start_workflows(self, plans: Sequence[_Fire]) -> list[str]:
        """Start the workflow of each workflow schedule this scheduler advanced; the runs."""
        created: list[str] = []
        for plan in plans:
            if plan.workflow is None or not plan.advanced or plan.action != "fire":
                continue
            try:
                start = self._starter(plan.kind)
                run_id = str(start(plan.workflow, trigger="schedule").id)
            except IdmsError as exc:
                run_id = self._failed_workflow(plan, exc.message)
                created.append(run_id)
                continue
            with (
                translate_errors("Cannot record the run on its schedule"),
                self.engine.begin() as conn,
            ):
                conn.execute(update(Run).where(Run.id == run_id).values(schedule_id=plan.id))
                conn.execute(
                    update(Schedule).where(Schedule.id == plan.id).values(last_run_id=run_id)
                )
            # A run that ended before it was tied to its schedule is counted now (once).
            record_run_outcome(self.workspace, run_id)
            created.append(run_id)
        return created

    def _starter(self, kind: str) -> Any:
        """What starts a run of a schedule of ``kind`` (workflow, transfer): the facade's
        ``start_workflow``/``start_transfer`` (name, trigger=…) -> the queued run."""
        name = "start_transfer" if kind == TRANSFER_KIND else "start_workflow"
        start = getattr(self.workspace, name, None)
        if start is None:
            raise IdmsError(f"A {kind} is run by a workspace (idms serve, the CLI).")
        return start

    def _failed_workflow(self, plan: _Fire, why: str) -> str:
        assert plan.workflow is not None
        reason = f"Schedule '{plan.name}' could not start {plan.kind} '{plan.workflow}': {why}"
        log.warning("schedule %s: %s", plan.name, reason)
        run = NewRun(
            kind=plan.kind,
            name=plan.workflow,
            source=plan.kind,
            action="schedule",
            target=plan.target,
            platform=plan.platform,
            job={plan.kind: plan.workflow},
            status=RunStatus.FAILED,
            trigger="schedule",
            schedule_id=plan.id,
        )
        with (
            translate_errors("Cannot record the run on its schedule"),
            self.engine.begin() as conn,
        ):
            run_id = RunStore(self.engine).create(run, connection=conn)
            conn.execute(
                update(Run).where(Run.id == run_id).values(message=reason, finished_at=utcnow())
            )
            conn.execute(update(Schedule).where(Schedule.id == plan.id).values(last_run_id=run_id))
        run_finished(self.workspace, run_id)
        return run_id

    def _prepare(self, plan: _Fire) -> None:
        """Copy the input and seal the job of a run to create (outside the write transaction:
        files take time). Whether the schedule is busy is decided in that transaction."""
        if plan.workflow is not None:
            return  # started once its slot is advanced (_start_workflows)
        if plan.action == "fire":
            assert plan.job is not None
            try:
                payload = self._payload(plan.id, plan.job, plan.target, plan.platform)
                run_id = new_run_id()
                plan.run = replace(payload, run_id=run_id)
                ref = payload.input_ref
                if isinstance(ref, dict) and ref.get("kind") == "query":  # its own rows' copy
                    spool = str(spool_file(self._runs_folder, run_id))
                    plan.run = replace(plan.run, input_ref={"kind": "query", "spool": spool})
                return
            except OSError as exc:  # the input file cannot be copied
                plan.action = "fail"
                plan.reason = f"Schedule '{plan.name}' could not queue its run: {exc}"
        if plan.action == "fail":
            document = plan.document
            spec = document.get("input")
            by_query = isinstance(spec, dict) and spec.get("query")
            plan.run = NewRun(
                kind=RunKind.UPDATE if by_query else RunKind.IMPORT,
                name=str(document.get("name") or plan.name),
                source=str(document.get("source") or ""),
                action=str(document.get("action") or ""),
                target=plan.target,
                platform=plan.platform,
                job=document,
                status=RunStatus.FAILED,
                trigger="schedule",
                schedule_id=plan.id,
            )

    def _record(self, plans: Sequence[_Fire], recorded: set[str]) -> tuple[list[str], int] | None:
        """Advance the schedules nobody else has and record their runs, in one transaction;
        None if this scheduler no longer leads (then nothing is recorded)."""
        try:
            created, advanced = self._record_batch(plans)
        except _LostLead:
            log.warning("scheduler %s lost the lead; another scheduler fires", self.owner)
            return None
        recorded.update(created)
        return created, advanced

    def _record_batch(self, plans: Sequence[_Fire]) -> tuple[list[str], int]:
        with self._write() as conn:
            if self.leadership is not None and not self.leadership.fence(conn):
                raise _LostLead  # rolls the transaction back: nothing is recorded
            # Lock the rows (PostgreSQL; SQLite's write transaction excludes other writers) and
            # keep the schedules still at the slot that was read: the others were fired by
            # someone else, paused or changed meanwhile.
            current = _current(conn, [p.id for p in plans])
            mine = [p for p in plans if current.get(p.id) == p.slot]
            busy = self._busy(conn, [p.id for p in mine if p.action == "fire"])
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
            created = RunStore(self.engine).create_many(runs, connection=conn)
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
    def _write(self) -> Iterator[Connection]:
        with translate_errors("Cannot fire the schedules"), self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    @staticmethod
    def _busy(conn: Connection, ids: Sequence[str]) -> set[str]:
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


def _skip_busy(plan: _Fire) -> None:
    plan.action = "skip"
    plan.reason = (
        f"{_local(plan.slot, plan.zone)} skipped: the schedule's previous run was still queued "
        "or running; overlap policy skip"
    )


def _advance_params(plan: _Fire) -> dict[str, Any]:
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
            else f"Ran once, at {_local(plan.slot, plan.zone)}."
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


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} given; use a UTC-aware one")
    return moment.astimezone(UTC)


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _copy_kept(input_ref: Any) -> bool:
    """Whether the input copy a cached run payload names is still there (or it names none)."""
    ref = json.loads(input_ref) if isinstance(input_ref, str) else input_ref
    if not isinstance(ref, dict) or ref.get("kind") != "file":
        return True
    return os.path.exists(str(ref.get("path")))


def _text(value: Mapping[str, Any] | str) -> str:
    """``value`` as the JSON text a run records (text already, as it is)."""
    return value if isinstance(value, str) else str(dumps(dict(value)))
