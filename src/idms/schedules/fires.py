"""What a tick does with one due schedule (:class:`Fire`), and what its run records, built
ahead and reused.

:meth:`FireBuilder.plan` decides, from a due schedule's row, whether its slot fires, fails
(its job cannot be built: a failed run says why) or is skipped (misfire policy ``skip``), and
when it fires next. :meth:`FireBuilder.prepare` then makes the run to record (the input copied,
the job sealed), outside the write transaction that records it (``claim.py``): files take time.
Jobs and run payloads are kept built, by schedule, while the schedule's job and its input file
stay the same, so a fire then only records a row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from idms.errors import IdmsError
from idms.jobs.enqueue import queued_run
from idms.jobs.model import Job
from idms.jobs.prepare import spool_file
from idms.jobs.sealing import mask_constants
from idms.runs.context import RunContext
from idms.runs.record import NewRun, new_run_id
from idms.runs.rows import dumps
from idms.runs.status import RunKind, RunStatus
from idms.schedules.jobs import CachedTemplates, schedule_job
from idms.schedules.model import FACADE_KINDS, cron_of
from idms.schedules.timing import next_fire, next_fire_cached
from idms.state.constants import unseal_constants
from idms.state.models import Schedule

MISFIRE_GRACE = timedelta(seconds=60)
"""How late a fire may be and still count as on time (misfire policy ``skip``)."""

SELECT_DUE = select(
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
"""The columns of a due schedule a fire needs."""
_JOB_CACHE = 20_000  # jobs kept built, by schedule (a job is built again when it changes)


@dataclass
class Fire:
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


class FireBuilder:
    """Plans the fires of due schedules and builds their runs, keeping what it built."""

    def __init__(self, workspace: RunContext, *, misfire_grace: timedelta = MISFIRE_GRACE) -> None:
        self.workspace = workspace
        self.misfire_grace = misfire_grace
        self._jobs: dict[tuple[Any, ...], Job] = {}
        # What a fire records, built ahead (the input copied, the job sealed) and reused while
        # the schedule's job and its input file stay the same: a fire then only records a row.
        self._payloads: dict[tuple[Any, ...], tuple[Job, NewRun]] = {}
        self._runs_folder = workspace.runs_folder

    def plan(self, row: Any, now: datetime, templates: CachedTemplates) -> Fire:
        """What to do with due schedule ``row`` (:data:`SELECT_DUE`) at ``now``, and when it
        fires next."""
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
        fire = Fire(
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
                f"{local_time(slot, zone)} was missed (the scheduler was not running); "
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
            fire.job = self.job(row, document, templates)
        except IdmsError as exc:
            fire.action = "fail"
            fire.reason = f"Schedule '{row.name}' could not start its job: {exc.message}"
        return fire

    def job(self, row: Any, document: dict[str, Any] | None, templates: CachedTemplates) -> Job:
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

    def payload(self, schedule_id: str, job: Job, target: str, platform: str) -> NewRun:
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

    def prepare(self, plan: Fire) -> None:
        """Copy the input and seal the job of a run to create (outside the write transaction:
        files take time). Whether the schedule is busy is decided in that transaction."""
        if plan.workflow is not None:
            return  # started once its slot is advanced (the scheduler starts it)
        if plan.action == "fire":
            assert plan.job is not None
            try:
                payload = self.payload(plan.id, plan.job, plan.target, plan.platform)
                run_id = new_run_id()
                # Who started it: the schedule, by the name it has now (the payload is kept).
                plan.run = replace(payload, run_id=run_id, started_by=f"schedule:{plan.name}")
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
                started_by=f"schedule:{plan.name}",
                schedule_id=plan.id,
            )


def local_time(moment: datetime, zone: ZoneInfo) -> str:
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
