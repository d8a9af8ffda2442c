"""The schedules part of the facade beyond adding and removing them (``workspace.py``): edit
(every shell's one way to change a schedule in place), pause, resume, what a schedule may run,
and a preview of a timing not yet saved, computed by the same
code the scheduler fires by (so a daylight-saving change is shown as it will happen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from idms.errors import Conflict
from idms.facade.transfers import TransferFacade
from idms.schedules.define import NewSchedule, define_schedule
from idms.schedules.edit import ScheduleChanges, edited_arguments, keeps_job, retimed
from idms.schedules.model import ScheduleInfo, schedule_in_words
from idms.schedules.timing import fire_times, parse_at, parse_cron, parse_zone
from idms.state.models import utcnow

if TYPE_CHECKING:
    from idms.jobs.model import Job

# Attempts at an edit that loses a race with the scheduler (or another edit) before it is
# refused: each one reads the schedule again and checks the edit afresh.
EDIT_ATTEMPTS = 5


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

    if TYPE_CHECKING:

        def check_definition(self, job: Job) -> None: ...  # Workspace's

    def define_schedule(self, name: str, **given: Any) -> NewSchedule:
        """A new schedule checked as :func:`~idms.schedules.define.define_schedule` checks it
        (``given``: what it runs, its timing and policies), against this workspace's templates,
        workflows, transfers and target: what every shell adds, and an edit is laid over."""
        settings = self.settings
        return define_schedule(
            name,
            templates=self.templates,
            target=settings.target,
            platform=settings.platform.value,
            find_workflow=self.workflow,
            find_transfer=self.transfer,
            **given,
        )

    def edit_schedule(
        self, name: str, changes: ScheduleChanges, *, now: datetime | None = None
    ) -> tuple[ScheduleInfo, ScheduleInfo]:
        """Change schedule ``name`` in place: (as it was, as it is now). It keeps its ID, its
        run history, its failures in a row and its paused or disabled state; what
        ``changes`` leaves out stays as it was (:mod:`idms.schedules.edit`). The edited
        schedule is checked as a new one is (``define_schedule``, then its job against the
        target when what it runs changed): a refused edit changes nothing. A new timing fires
        next at its first slot after now.

        The change is a compare-and-set (:meth:`ScheduleStore.change`): one that loses a race
        with the scheduler firing the schedule is read and checked again, so it neither
        fires a slot twice nor is lost."""
        for _ in range(EDIT_ATTEMPTS):
            before = self.schedules.get(name)
            arguments = edited_arguments(before, changes)
            new = self.define_schedule(now=now, **arguments)
            keep = keeps_job(before, changes)
            if new.job is not None and not keep:
                self.check_definition(new.job)
            retime = retimed(before, new.cron.text if new.cron else None, new.run_at, new.timezone)
            after = self.schedules.change(before, new, keep_job=keep, retime=retime, now=now)
            if after is not None:
                return before, after
        raise Conflict(
            f"Schedule '{name}' kept changing while it was edited (it is firing often): "
            "try the edit again."
        )

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
