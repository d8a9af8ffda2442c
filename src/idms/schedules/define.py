"""Checking a new schedule as the user describes it (the CLI's flags, the API's JSON): every
mistake is refused with a message saying how to put it right, before anything is stored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from idms.errors import InvalidInputError
from idms.jobs.model import Job, load_job_file
from idms.schedules.jobs import schedule_job
from idms.schedules.model import MISFIRE_POLICIES, OVERLAP_POLICIES, TRANSFER_KIND, WORKFLOW_KIND
from idms.schedules.timing import Cron, parse_at, parse_cron, parse_zone
from idms.state.models import NAME_LENGTH, utcnow
from idms.state.templates import TemplateStore

# Failed runs in a row that disable a schedule: at most this many (a bigger number is no
# limit at all, and would not fit the database's integer).
MAX_FAILURES = 1_000_000


@dataclass(frozen=True)
class NewSchedule:
    """A schedule ready to be stored (:meth:`ScheduleStore.add`); ``job`` is what it would run
    now, for the caller to check further (against the target, say)."""

    name: str
    kind: str
    target: str
    platform: str
    timezone: str
    job: Job | None  # None: a workflow's or transfer's schedule (it makes its own runs)
    description: str = ""
    job_document: dict[str, Any] | None = None
    job_file: str | None = None
    template: str | None = None
    input_file: str | None = None
    cron: Cron | None = None
    run_at: datetime | None = None
    misfire: str = "run-once"
    overlap: str = "skip"
    max_failures: int | None = None


def define_schedule(
    name: str,
    *,
    templates: TemplateStore,
    target: str,
    platform: str,
    job_file: str | Path | None = None,
    job: dict[str, Any] | None = None,
    template: str | None = None,
    workflow: str | None = None,
    find_workflow: Callable[[str], object] | None = None,
    transfer: str | None = None,
    find_transfer: Callable[[str], object] | None = None,
    input_file: str | Path | None = None,
    cron: str | None = None,
    at: str | None = None,
    timezone: str | None = None,
    misfire: str = "run-once",
    overlap: str = "skip",
    max_failures: int | None = None,
    description: str = "",
    now: datetime | None = None,
) -> NewSchedule:
    """A new schedule from what the user gave: a job file, a job document (``job``, as a job
    file holds it; kept only in the suite database, its password constants sealed) or a
    template (with an optional input file) or a workflow (``find_workflow`` refuses an unknown
    one; its trigger's ``input`` is each run's input), and a cron expression (or preset) or a
    one-time moment, in a time zone. A workflow schedule is kind ``workflow`` with the
    workflow's name kept in ``template``; a transfer's (``find_transfer`` refuses an unknown
    one) is kind ``transfer``, the same way."""
    name = " ".join(str(name).split())
    if not name:
        raise InvalidInputError("The schedule needs a name.")
    if len(name) > NAME_LENGTH:
        raise InvalidInputError(f"The schedule's name is longer than {NAME_LENGTH} characters.")
    if [job_file, job, template, workflow, transfer].count(None) != 4:
        raise InvalidInputError(
            "Say what the schedule runs: a job, a template, a workflow or a transfer, one of them.",
            hint="Give --job JOB.yml, --template NAME, --workflow NAME or --transfer NAME.",
        )
    if input_file is not None and template is None:
        raise InvalidInputError(
            "An input file goes with a template; a job file names its own input ('input: FILE').",
            hint="Leave --input out, or give --template instead of --job.",
        )
    if (cron is None) == (at is None):
        raise InvalidInputError(
            "Say when the schedule runs: a cron expression or preset ('30 9 * * 1-5', "
            "'daily') or one moment (2026-12-01T09:00), one of the two.",
            hint="Give --cron or --at.",
        )
    if misfire not in MISFIRE_POLICIES:
        raise InvalidInputError(
            f"Unknown misfire policy '{misfire}': use {' or '.join(MISFIRE_POLICIES)}."
        )
    if overlap not in OVERLAP_POLICIES:
        raise InvalidInputError(
            f"Unknown overlap policy '{overlap}': use {' or '.join(OVERLAP_POLICIES)}."
        )
    if max_failures is not None and not 1 <= max_failures <= MAX_FAILURES:
        raise InvalidInputError(
            "The failed runs in a row that disable a schedule (max failures) must be from 1 "
            f"to {MAX_FAILURES:,}; leave it out for no limit."
        )
    zone = parse_zone(timezone)
    parsed_cron = parse_cron(cron) if cron is not None else None
    run_at = None
    if at is not None:
        run_at = parse_at(at, zone)
        now = now or utcnow()
        if run_at <= now:
            local = now.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            raise InvalidInputError(
                f"The moment {at} is in the past (it is {local} now in {zone.key}): give a "
                "later time."
            )
    document: dict[str, Any] | None = None
    job_path: str | None = None
    input_path: str | None = None
    if workflow is not None or transfer is not None:
        finder = find_workflow if workflow is not None else find_transfer
        started = workflow if workflow is not None else transfer
        assert started is not None
        if finder is not None:
            finder(started)  # an unknown one is refused, with the closest name
        return NewSchedule(
            name=name,
            kind=WORKFLOW_KIND if workflow is not None else TRANSFER_KIND,
            target=target,
            platform=platform,
            timezone=zone.key,
            job=None,
            description=description,
            template=started,
            cron=parsed_cron,
            run_at=run_at,
            misfire=misfire,
            overlap=overlap,
            max_failures=max_failures,
        )
    if job_file is not None:
        document = load_job_file(job_file)  # a relative input path becomes absolute
        job_path = str(Path(job_file).resolve())
        kind = "job"
    elif job is not None:
        document = dict(job)
        kind = "job"
    else:
        assert template is not None
        templates.get(template)  # an unknown template is refused, with the closest name
        input_path = str(Path(input_file).resolve()) if input_file is not None else None
        kind = "template"
    built = schedule_job(
        kind=kind,
        job_document=document,
        template=template,
        input_file=input_path,
        templates=templates,
    )
    return NewSchedule(
        name=name,
        kind=kind,
        target=target,
        platform=platform,
        timezone=zone.key,
        job=built,
        description=description,
        job_document=document,
        job_file=job_path,
        template=template,
        input_file=input_path,
        cron=parsed_cron,
        run_at=run_at,
        misfire=misfire,
        overlap=overlap,
        max_failures=max_failures,
    )
