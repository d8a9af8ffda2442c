"""The scheduler: it creates the runs of due schedules, and never executes them.

``Scheduler(workspace).tick(now)`` finds the schedules due at ``now`` through the index on
``next_fire_at`` (only due rows are read, however many schedules there are), plans each one's
fire and builds its run (``fires.py``: the queued run of :func:`idms.jobs.enqueue.queued_run`,
the input file copied and the job sealed as ``enqueue_job`` does), then claims them in one
transaction (``claim.py``): each schedule's row locked and checked to be still at the slot it
read, ``next_fire_at`` advanced with a compare-and-set, the runs recorded. A slot therefore
fires at most once, whoever else ticks; and the run and the advance are committed together, so
a crash never loses a fire nor repeats one. Due schedules are handled in batches of
``batch_size``, one transaction (and one statement per kind of write) per batch. Between ticks,
:meth:`Scheduler.warm` builds ahead the fires of schedules about to be due.

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
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update

from idms.errors import IdmsError
from idms.jobs.enqueue import enqueue_job
from idms.runs.context import RunContext
from idms.runs.durable import worker_name
from idms.runs.events import run_finished
from idms.runs.record import NewRun, RunStore
from idms.runs.status import RunStatus
from idms.schedules.claim import LostLead, record_batch
from idms.schedules.fires import MISFIRE_GRACE, SELECT_DUE, Fire, FireBuilder
from idms.schedules.jobs import CachedTemplates, schedule_job
from idms.schedules.leader import Leadership, leadership_for
from idms.schedules.model import FACADE_KINDS, TRANSFER_KIND, cron_of
from idms.schedules.outcomes import record_run_outcome
from idms.schedules.store import ScheduleStore
from idms.schedules.timing import next_fire_cached
from idms.state.constants import unseal_constants
from idms.state.models import Run, Schedule, utcnow
from idms.state.store import translate_errors

log = logging.getLogger("idms.schedules")

WARM_HORIZON = timedelta(minutes=2)
"""How far ahead :meth:`Scheduler.warm` builds the jobs of schedules about to fire."""


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
        self.fires = FireBuilder(workspace, misfire_grace=misfire_grace)
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
            return self._run_workflow_now(info.id, str(info.template), info.kind, info.name)
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
            started_by=f"schedule:{info.name}",
            target=info.target,
            platform=info.platform,
        )

    def _run_workflow_now(self, schedule_id: str, workflow: str, kind: str, name: str) -> str:
        start = self._starter(kind)
        run_id = str(start(workflow, trigger="manual", started_by=f"schedule:{name}").id)
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
                    SELECT_DUE.where(
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
                job = self.fires.job(row, document, templates)
                self.fires.payload(row.id, job, row.target, row.platform)
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
                    SELECT_DUE.where(Schedule.next_fire_at <= now, Schedule.state == "active")
                    .order_by(Schedule.next_fire_at, Schedule.id)
                    .limit(self.batch_size)
                )
            )

    def _fire_batch(self, due: Sequence[Any], now: datetime) -> tuple[list[str], int] | None:
        """Fire a batch of due schedules; (runs created, schedules advanced), or None if this
        scheduler no longer leads."""
        templates = CachedTemplates(self.engine, self.workspace.box)
        plans = sorted((self.fires.plan(row, now, templates) for row in due), key=lambda f: f.id)
        # Whether a schedule is busy (overlap skip) is decided inside the write transaction
        # (claim.record_batch); preparing a run that then turns out skipped costs next to nothing.
        for plan in plans:
            self.fires.prepare(plan)
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

    def _start_workflows(self, plans: Sequence[Fire]) -> list[str]:
        """Start the workflow of each workflow schedule this scheduler advanced; the runs."""
        created: list[str] = []
        for plan in plans:
            if plan.workflow is None or not plan.advanced or plan.action != "fire":
                continue
            try:
                start = self._starter(plan.kind)
                run_id = str(
                    start(plan.workflow, trigger="schedule", started_by=f"schedule:{plan.name}").id
                )
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

    def _failed_workflow(self, plan: Fire, why: str) -> str:
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
            started_by=f"schedule:{plan.name}",
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

    def _record(self, plans: Sequence[Fire], recorded: set[str]) -> tuple[list[str], int] | None:
        """Advance the schedules nobody else has and record their runs, in one transaction;
        None if this scheduler no longer leads (then nothing is recorded)."""
        try:
            created, advanced = record_batch(self.engine, self.leadership, plans)
        except LostLead:
            log.warning("scheduler %s lost the lead; another scheduler fires", self.owner)
            return None
        recorded.update(created)
        return created, advanced


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} given; use a UTC-aware one")
    return moment.astimezone(UTC)
