"""Schedules in the suite database: add, read, list, pause, resume, change, remove.

Every change to a schedule's timing goes through ``next_fire_at``: pausing clears it, resuming
sets it from now, so a scheduler that read the old value cannot fire the schedule (its
compare-and-set on ``next_fire_at`` finds nothing to update).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idms.db import writer
from idms.errors import Conflict, InvalidInputError, NotFound, suggest
from idms.jobs.sealing import mask_constants, seal_constants
from idms.paging import check_window
from idms.schedules.define import NewSchedule
from idms.schedules.model import ScheduleInfo, cron_of
from idms.schedules.timing import next_fire
from idms.secrets import SecretBox
from idms.state.models import Run, Schedule, utcnow
from idms.state.store import translate_errors


class ScheduleStore:
    """Create, read and change schedules (the scheduler fires them: ``scheduler.py``).

    A schedule's job document is stored with its password constants sealed with ``box`` (the
    workspace's key; needed to add a schedule whose job has one) and read back with them
    masked (:attr:`ScheduleInfo.job`); the scheduler unseals them to run the job."""

    def __init__(self, engine: Engine, box: SecretBox | None = None) -> None:
        self.engine = engine
        self.box = box
        # Read, then write, in one transaction: on SQLite the write lock is taken at BEGIN, or
        # the write fails at once when the scheduler wrote in between ("database is locked").
        self._writer = writer(engine)

    def add(self, new: NewSchedule, *, now: datetime | None = None) -> ScheduleInfo:
        """Store a new schedule, active, with its first fire time; a taken name is refused."""
        now = now or utcnow()
        if new.cron is not None:
            first = next_fire(new.cron, ZoneInfo(new.timezone), now)
        else:
            assert new.run_at is not None
            first = new.run_at
        schedule_id = uuid.uuid4().hex
        with translate_errors("Cannot save the schedule"):
            try:
                self._insert(new, schedule_id, first, now)
            except IntegrityError:  # added by someone else between the check and the insert
                raise _taken(new.name) from None
        return self.get(new.name)

    def _insert(self, new: NewSchedule, schedule_id: str, first: datetime, now: datetime) -> None:
        with self._writer.begin() as conn:
            taken = conn.execute(select(Schedule.id).where(Schedule.name == new.name)).first()
            if taken is not None:
                raise _taken(new.name)
            conn.execute(
                insert(Schedule).values(
                    id=schedule_id,
                    name=new.name,
                    description=new.description,
                    kind=new.kind,
                    job_document=json.dumps(
                        seal_constants(new.job_document, self.box), ensure_ascii=False
                    )
                    if new.job_document is not None
                    else None,
                    job_file=new.job_file,
                    template=new.template,
                    input_file=new.input_file,
                    target=new.target,
                    platform=new.platform,
                    cron=new.cron.text if new.cron else None,
                    run_at=new.run_at,
                    timezone=new.timezone,
                    misfire=new.misfire,
                    overlap=new.overlap,
                    max_failures=new.max_failures,
                    state="active",
                    next_fire_at=first,
                    consecutive_failures=0,
                    skipped_fires=0,
                    created_at=now,
                    updated_at=now,
                )
            )

    def get(self, name: str) -> ScheduleInfo:
        """A schedule by name; an unknown name is refused with the closest one."""
        with Session(self.engine) as session:
            row = session.scalars(select(Schedule).where(Schedule.name == name)).first()
            if row is not None:
                return info_of(row)
            names = list(session.scalars(select(Schedule.name)))
        close = suggest(name, names)
        hint = f" Did you mean '{close}'?" if close else ""
        raise NotFound(f"No schedule '{name}'.{hint}", hint="'idms schedule list' shows them.")

    def pause(self, name: str) -> ScheduleInfo:
        """Stop firing until resumed. A paused (or disabled) schedule stays as it is; a one-time
        schedule that has fired cannot be paused."""
        info = self.get(name)
        if info.state == "done":
            raise Conflict(f"Schedule '{name}' has fired already: nothing to pause.")
        if info.state != "active":
            return info
        with translate_errors("Cannot pause the schedule"), self._writer.begin() as conn:
            conn.execute(
                update(Schedule)
                .where(Schedule.id == info.id)
                .values(
                    state="paused",
                    state_reason="Paused by the user.",
                    next_fire_at=None,
                    updated_at=utcnow(),
                )
            )
        return self.get(name)

    def resume(self, name: str, *, now: datetime | None = None) -> ScheduleInfo:
        """Fire again, from the next slot after now (the slots missed meanwhile are not fired,
        whatever the misfire policy); a disabled schedule starts again with no failures
        counted. A one-time schedule resumes only if its moment is still ahead."""
        info = self.get(name)
        if info.state == "active":
            return info
        now = now or utcnow()
        if info.cron is not None:
            first = next_fire(info.cron, info.zone, now)
        else:
            assert info.run_at is not None
            if info.state == "done":
                raise Conflict(
                    f"Schedule '{name}' ran once already (it was one-time): add a new one."
                )
            if info.run_at <= now:
                raise Conflict(
                    f"Schedule '{name}' was to run once at {info.run_at.isoformat()}, which has "
                    "passed: remove it and add a new one (or use 'idms schedule run-now')."
                )
            first = info.run_at
        with translate_errors("Cannot resume the schedule"), self._writer.begin() as conn:
            conn.execute(
                update(Schedule)
                .where(Schedule.id == info.id, Schedule.state == info.state)
                .values(
                    state="active",
                    state_reason=None,
                    next_fire_at=first,
                    consecutive_failures=0,
                    updated_at=now,
                )
            )
        return self.get(name)

    def change(
        self,
        read: ScheduleInfo,
        new: NewSchedule,
        *,
        keep_job: bool = False,
        retime: bool = True,
        now: datetime | None = None,
    ) -> ScheduleInfo | None:
        """Change the schedule ``read`` (as it was read) to ``new`` (its name too), keeping its
        ID, so its runs and failures in a row stay its own; None when it changed meanwhile
        (fired, paused, edited: read it again and retry).

        ``retime``: its timing changed, so an active (or done) schedule fires next at the new
        timing's first slot after now (slots missed are not fired because of the edit); a
        paused or disabled one stays so. Without ``retime`` its state and next fire time are
        left alone. ``keep_job``: leave what it runs as it is.

        The update is a compare-and-set on the state and next fire time read, as the
        scheduler's own (``claim.py``): an edit racing a fire neither writes back a slot the
        scheduler has just advanced (a second fire) nor is overwritten by it."""
        now = now or utcnow()
        values: dict[str, object] = {
            "name": new.name,
            "description": new.description,
            "target": new.target,
            "platform": new.platform,
            "cron": new.cron.text if new.cron else None,
            "run_at": new.run_at,
            "timezone": new.timezone,
            "misfire": new.misfire,
            "overlap": new.overlap,
            "max_failures": new.max_failures,
            "updated_at": now,
        }
        if retime:
            if new.cron is not None:
                first: datetime | None = next_fire(new.cron, ZoneInfo(new.timezone), now)
            else:
                assert new.run_at is not None
                first = new.run_at
            state = "active" if read.state == "done" else read.state
            values |= {
                "state": state,
                "state_reason": None if state == "active" else read.state_reason,
                "next_fire_at": first if state == "active" else None,
            }
        if not keep_job:
            values |= {
                "kind": new.kind,
                "job_document": json.dumps(
                    seal_constants(new.job_document, self.box), ensure_ascii=False
                )
                if new.job_document is not None
                else None,
                "job_file": new.job_file,
                "template": new.template,
                "input_file": new.input_file,
            }
        with translate_errors("Cannot save the schedule"):
            try:
                with self._writer.begin() as conn:
                    if new.name != read.name:
                        taken = conn.execute(
                            select(Schedule.id).where(Schedule.name == new.name)
                        ).first()
                        if taken is not None:
                            raise _taken(new.name)
                    changed = conn.execute(
                        update(Schedule)
                        .where(
                            Schedule.id == read.id,
                            Schedule.state == read.state,
                            Schedule.next_fire_at.is_not_distinct_from(read.next_fire_at),
                        )
                        .values(**values)
                    )
                    if changed.rowcount == 0:
                        return None
            except IntegrityError:  # renamed to a name added meanwhile
                raise _taken(new.name) from None
        return self.get(new.name)

    def remove(self, name: str) -> ScheduleInfo:
        """Delete a schedule. Its runs stay in the run history (a queued one still runs)."""
        info = self.get(name)
        with translate_errors("Cannot remove the schedule"), self._writer.begin() as conn:
            conn.execute(delete(Schedule).where(Schedule.id == info.id))
        return info

    def recent_runs(self, schedule_id: str, limit: int = 5) -> list[tuple[str, str, datetime]]:
        """The schedule's latest runs: (run ID, status, when created), newest first."""
        check_window(limit=limit)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Run.id, Run.status, Run.created_at)
                .where(Run.schedule_id == schedule_id)
                .order_by(Run.created_at.desc(), Run.id.desc())
                .limit(limit)
            ).all()
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]

    def list(self) -> list[ScheduleInfo]:
        """Every schedule, by name."""
        with Session(self.engine) as session:
            return [info_of(r) for r in session.scalars(select(Schedule).order_by(Schedule.name))]


def info_of(row: Schedule) -> ScheduleInfo:
    """A stored schedule as :class:`ScheduleInfo` (its job as shown: password constants
    masked; as stored in ``stored_job``)."""
    stored = json.loads(row.job_document) if row.job_document else None
    return ScheduleInfo(
        id=row.id,
        name=row.name,
        description=row.description,
        kind=row.kind,
        job=mask_constants(stored) if stored is not None else None,
        stored_job=stored,
        job_file=row.job_file,
        template=row.template,
        input_file=row.input_file,
        target=row.target,
        platform=row.platform,
        cron=cron_of(row.cron),
        run_at=row.run_at,
        timezone=row.timezone,
        misfire=row.misfire,
        overlap=row.overlap,
        max_failures=row.max_failures,
        state=row.state,
        state_reason=row.state_reason,
        next_fire_at=row.next_fire_at,
        last_fire_at=row.last_fire_at,
        last_run_id=row.last_run_id,
        last_outcome=row.last_outcome,
        consecutive_failures=row.consecutive_failures,
        skipped_fires=row.skipped_fires,
        last_skip=row.last_skip,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _taken(name: str) -> InvalidInputError:
    return InvalidInputError(
        f"A schedule named '{name}' exists already: pick another name, or remove it first "
        f"('idms schedule remove \"{name}\"')."
    )
