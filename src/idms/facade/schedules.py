"""The schedules part of the facade beyond adding and removing them (``workspace.py``): pause,
resume, what a schedule may run, and a preview of a timing not yet saved, computed by the same
code the scheduler fires by (so a daylight-saving change is shown as it will happen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from idms.facade.transfers import TransferFacade
from idms.schedules.model import ScheduleInfo, schedule_in_words
from idms.schedules.timing import fire_times, parse_at, parse_cron, parse_zone
from idms.state.models import utcnow


@dataclass(frozen=True)
class TimingPreview:
    """A timing checked: in words, and its next fire times (UTC)."""

    words: str
    timezone: str
    times: list[datetime]


@dataclass(frozen=True)
class Schedulable:
    """What a schedule may run, by name: saved templates, workflows and transfers."""

    templates: list[str]
    workflows: list[str]
    transfers: list[str]


class ScheduleFacade(TransferFacade):
    """Schedules (a part of :class:`idms.workspace.Workspace`)."""

    def pause_schedule(self, name: str) -> tuple[ScheduleInfo, ScheduleInfo]:
        """Pause a schedule: (as it was, as it is now); pausing a paused one changes nothing."""
        before = self.schedules.get(name)
        return before, self.schedules.pause(name)

    def resume_schedule(self, name: str) -> tuple[ScheduleInfo, ScheduleInfo]:
        """Resume a schedule from its next slot after now: (as it was, as it is now)."""
        before = self.schedules.get(name)
        return before, self.schedules.resume(name)

    def schedulable(self) -> Schedulable:
        return Schedulable(
            templates=[t.name for t in self.templates.list()],
            workflows=[w.name for w in self.workflows()],
            transfers=[t.name for t in self.transfers()],
        )

    def preview_timing(
        self,
        *,
        cron: str | None,
        at: str | None,
        timezone: str | None,
        count: int = 5,
        now: datetime | None = None,
    ) -> TimingPreview:
        """A cron expression (or preset) or a one-time moment in ``timezone``, checked
        (InvalidInputError saying what is wrong), in words and with its next ``count`` fire
        times after ``now``."""
        now = now or utcnow()
        zone = parse_zone(timezone)
        if cron is not None:
            parsed = parse_cron(cron)
            times = fire_times(parsed, zone, now, count)
            return TimingPreview(schedule_in_words(parsed, zone.key), zone.key, times)
        assert at is not None
        moment = parse_at(at, zone)
        times = [moment] if moment > now else []
        return TimingPreview(schedule_in_words(None, zone.key, moment), zone.key, times)
