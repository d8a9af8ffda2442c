"""What the schedule pages show, made from the facade's answers (plain strings and flags)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from idms.schedules.model import ScheduleInfo

KIND_WORDS = {"job": "Job", "template": "Template", "workflow": "Workflow", "transfer": "Transfer"}
STATE_TONES = {"active": "ok", "paused": "warn", "disabled": "bad", "done": "quiet"}
OUTCOME_TONES = {
    "succeeded": "ok",
    "completed_with_errors": "warn",
    "failed": "bad",
    "cancelled": "quiet",
}


def local_time(moment: datetime, zone: ZoneInfo | str) -> str:
    """``Mon 2026-03-09 02:00 EDT``: the moment in the schedule's zone, the weekday shown (a
    schedule's times are read by the day)."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return moment.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def utc_time(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class ScheduleRow:
    name: str
    description: str
    what: str
    kind: str
    timing: str  # in words
    cron: str  # as written (a preset as @daily), or the one-time moment
    timezone: str
    next_run: str
    next_run_utc: str
    next_iso: str
    state: str
    state_tone: str
    state_reason: str
    last_outcome: str
    last_tone: str
    last_when: str
    paused: bool  # offer Resume rather than Pause
    can_pause: bool
    path: str  # /schedules/NAME, quoted


def schedule_rows(infos: Sequence[ScheduleInfo]) -> list[ScheduleRow]:
    return [schedule_row(i) for i in infos]


def schedule_row(i: ScheduleInfo) -> ScheduleRow:
    nxt = i.next_fire_at
    outcome = i.last_outcome or ("not finished" if i.last_run_id else "")
    return ScheduleRow(
        name=i.name,
        description=i.description,
        what=i.what(),
        kind=KIND_WORDS.get(i.kind, i.kind),
        timing=i.in_words(),
        cron=i.cron.text if i.cron else "once",
        timezone=i.timezone,
        next_run=local_time(nxt, i.zone) if nxt else _no_next(i),
        next_run_utc=utc_time(nxt) if nxt and i.timezone != "UTC" else "",
        next_iso=nxt.isoformat() if nxt else "",
        state=i.state,
        state_tone=STATE_TONES.get(i.state, "quiet"),
        state_reason=i.state_reason or "",
        last_outcome=outcome.replace("_", " ") if outcome else "never run",
        last_tone=OUTCOME_TONES.get(outcome, "quiet"),
        last_when=local_time(i.last_fire_at, i.zone) if i.last_fire_at else "",
        paused=i.state in ("paused", "disabled"),
        can_pause=i.state == "active",
        path=f"/schedules/{quote(i.name, safe='')}",
    )


def _no_next(info: ScheduleInfo) -> str:
    return {"paused": "none (paused)", "disabled": "none (disabled)", "done": "none (done)"}.get(
        info.state, "none"
    )


@dataclass(frozen=True)
class TimeRow:
    local: str
    utc: str
    iso: str


def time_rows(times: Sequence[datetime], zone: str) -> list[TimeRow]:
    return [
        TimeRow(local_time(t, zone), utc_time(t) if zone != "UTC" else "", t.isoformat())
        for t in times
    ]
