"""A schedule as the rest of idms sees it: what it runs, when, its policies and its state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from idms.schedules.timing import Cron, describe, fire_times, parse_cron
from idms.schedules.words import cron_in_words
from idms.state.models import utcnow

MISFIRE_POLICIES = ("run-once", "skip")
"""After downtime: ``run-once`` fires once for all the slots missed (the default); ``skip``
fires none of them and waits for the next slot."""

OVERLAP_POLICIES = ("skip", "queue")
"""While a run of the schedule is queued or running: ``skip`` creates no new run (the default);
``queue`` creates one anyway, to wait its turn in the run queue."""

STATES = ("active", "paused", "disabled", "done")
"""``active`` fires; ``paused`` by the user; ``disabled`` after ``max_failures`` failed runs in
a row; ``done``: a one-time schedule that has fired (or was skipped)."""

WORKFLOW_KIND = "workflow"  # the workflow's name is kept in ``template`` (no new column)
TRANSFER_KIND = "transfer"  # the transfer's name is kept in ``template``, as a workflow's
KINDS = ("job", "template", WORKFLOW_KIND, TRANSFER_KIND)
# Schedules that start their runs through the facade (a workflow's, a transfer's).
FACADE_KINDS = (WORKFLOW_KIND, TRANSFER_KIND)


@dataclass(frozen=True)
class ScheduleInfo:
    """One schedule, read from the suite database. Times are UTC."""

    id: str
    name: str
    description: str
    kind: str
    job: dict[str, Any] | None  # as shown: password constants masked
    job_file: str | None
    template: str | None
    input_file: str | None
    target: str
    platform: str
    cron: Cron | None
    run_at: datetime | None
    timezone: str
    misfire: str
    overlap: str
    max_failures: int | None
    state: str
    state_reason: str | None
    next_fire_at: datetime | None
    last_fire_at: datetime | None
    last_run_id: str | None
    last_outcome: str | None
    consecutive_failures: int
    skipped_fires: int
    last_skip: str | None
    created_at: datetime
    updated_at: datetime
    # The job document as stored: its password constants sealed (``job`` shows them masked).
    stored_job: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def what(self) -> str:
        """``job 'People' (people.yml)`` / ``template 'Dues' on dues.csv``."""
        if self.kind in FACADE_KINDS:
            return f"{self.kind} '{self.template}'"
        if self.kind == "template":
            text = f"template '{self.template}'"
            return text + (f" on {self.input_file}" if self.input_file else "")
        name = (self.job or {}).get("name") or "job"
        return f"job '{name}'" + (f" ({self.job_file})" if self.job_file else "")

    def when(self) -> str:
        """``@daily (0 0 * * *) in Europe/London`` / ``once at 2026-12-01 09:00 UTC``."""
        return describe(self.cron, self.timezone, self.run_at)

    def in_words(self) -> str:
        """``At 02:00, Monday through Friday (America/New_York)``: :func:`schedule_in_words`."""
        return schedule_in_words(self.cron, self.timezone, self.run_at)

    def to_dict(self) -> dict[str, Any]:
        """The schedule as JSON-ready data (``--json``, the API)."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "job": self.job,
            "job_file": self.job_file,
            "template": self.template,
            "input_file": self.input_file,
            "target": self.target,
            "platform": self.platform,
            "cron": self.cron.text if self.cron else None,
            "cron_expression": self.cron.expression if self.cron else None,
            "at": _iso(self.run_at),
            "timezone": self.timezone,
            "when": self.when(),
            "misfire": self.misfire,
            "overlap": self.overlap,
            "max_failures": self.max_failures,
            "state": self.state,
            "state_reason": self.state_reason,
            "next_fire_at": _iso(self.next_fire_at),
            "next_fire_local": _iso(self.next_fire_at.astimezone(self.zone))
            if self.next_fire_at
            else None,
            "last_fire_at": _iso(self.last_fire_at),
            "last_run_id": self.last_run_id,
            "last_outcome": self.last_outcome,
            "consecutive_failures": self.consecutive_failures,
            "skipped_fires": self.skipped_fires,
            "last_skip": self.last_skip,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


def next_times(
    schedule: ScheduleInfo, count: int, *, now: datetime | None = None
) -> list[datetime]:
    """The schedule's next ``count`` fire times (UTC), from its stored next fire time when it
    is active, else as if it were resumed now (a paused schedule shows when it would run)."""
    now = now or utcnow()
    if count < 1:
        return []
    if schedule.cron is None:
        at = schedule.run_at
        if schedule.state == "done" or at is None:
            return []
        if schedule.state == "active" and schedule.next_fire_at is not None:
            return [schedule.next_fire_at]
        return [at] if at > now else []
    if schedule.state == "active" and schedule.next_fire_at is not None:
        first = schedule.next_fire_at
        return [first, *fire_times(schedule.cron, schedule.zone, first, count - 1)]
    return fire_times(schedule.cron, schedule.zone, now, count)


def schedule_in_words(cron: Cron | None, zone: str, at: datetime | None = None) -> str:
    """When a schedule runs, as a sentence with its zone: what the web UI and
    ``idms schedule show`` say."""
    if cron is None:
        assert at is not None
        local = at.astimezone(ZoneInfo(zone))
        return f"Once, at {local.strftime('%H:%M on %A %d %B %Y')} ({zone})"
    return f"{cron_in_words(cron)} ({zone})"


def cron_of(text: str | None) -> Cron | None:
    """A stored cron expression (checked when it was stored) as a :class:`Cron`."""
    return _cron(text) if text else None


@lru_cache(maxsize=4096)
def _cron(text: str) -> Cron:
    return parse_cron(text)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
