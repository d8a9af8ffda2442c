"""Changing a schedule in place (``idms schedule edit``, ``PATCH /api/schedules/NAME``, the web
UI's form): the changes a user gives, laid over the schedule as stored, become the arguments of
:func:`~idms.schedules.define.define_schedule`, so an edit is checked by exactly the rules an
add is, and what is not changed stays as it was.

Decisions a user would expect, kept here in one place:

* Only the timing moves the next fire time: a new cron, moment or zone fires next at the new
  timing's first slot after now (slots missed are not made up because of the edit); changing
  what it runs or its policies leaves the next fire time (and the state) alone.
* A new zone alone re-reads the timing as its wall clock says it: ``30 2 * * *`` becomes 02:30
  in the new zone, a one-time 09:00 becomes 09:00 there.
* The failed runs in a row are kept whatever ``max_failures`` becomes: they are what happened.
  A lower limit disables the schedule at its next failure; a disabled schedule stays disabled
  until resumed (resuming starts the count again).
* A paused or disabled schedule stays so; a one-time schedule that has run (``done``) runs
  again if given a new moment (or made a cron schedule).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idms.schedules.model import FACADE_KINDS, ScheduleInfo

NO_LIMIT = 0
"""``max_failures`` in :class:`ScheduleChanges` meaning: never disable (no limit)."""


@dataclass(frozen=True)
class ScheduleChanges:
    """What an edit changes; None (every field's default): as it is. What it runs is one of
    ``job_file``, ``job`` (a job document), ``template`` (with ``input_file``), ``workflow``,
    ``transfer``; ``input_file`` alone changes a template schedule's file (``""``: none). The
    timing is ``cron`` or ``at`` (in ``timezone``). ``max_failures`` :data:`NO_LIMIT` removes
    the limit. ``name`` renames the schedule (its history stays with it)."""

    name: str | None = None
    job_file: str | Path | None = None
    job: dict[str, Any] | None = None
    template: str | None = None
    input_file: str | Path | None = None
    workflow: str | None = None
    transfer: str | None = None
    cron: str | None = None
    at: str | None = None
    timezone: str | None = None
    misfire: str | None = None
    overlap: str | None = None
    max_failures: int | None = None
    description: str | None = None

    @property
    def runs(self) -> bool:
        """Whether what the schedule runs is changed (its file included)."""
        given = (self.job_file, self.job, self.template, self.input_file, self.workflow)
        return any(v is not None for v in (*given, self.transfer))

    @property
    def timing(self) -> bool:
        return any(v is not None for v in (self.cron, self.at, self.timezone))

    @property
    def empty(self) -> bool:
        return self == ScheduleChanges()


def edited_arguments(info: ScheduleInfo, changes: ScheduleChanges) -> dict[str, Any]:
    """The keyword arguments of ``define_schedule`` (but its stores and finders) for
    ``info`` with ``changes`` laid over it."""
    arguments: dict[str, Any] = {
        "name": changes.name if changes.name is not None else info.name,
        "misfire": changes.misfire if changes.misfire is not None else info.misfire,
        "overlap": changes.overlap if changes.overlap is not None else info.overlap,
        "description": changes.description if changes.description is not None else info.description,
        "timezone": changes.timezone if changes.timezone is not None else info.timezone,
    }
    if changes.max_failures is None:
        arguments["max_failures"] = info.max_failures
    else:
        arguments["max_failures"] = (
            None if changes.max_failures == NO_LIMIT else changes.max_failures
        )
    arguments |= _runs(info, changes)
    arguments |= _timing(info, changes)
    return arguments


def keeps_job(info: ScheduleInfo, changes: ScheduleChanges) -> bool:
    """Whether the edit leaves a job schedule's job as stored (its file name, its sealed
    document): what it runs is not changed."""
    new = (changes.job_file, changes.job, changes.template, changes.workflow, changes.transfer)
    return info.kind == "job" and all(v is None for v in new)


def _runs(info: ScheduleInfo, changes: ScheduleChanges) -> dict[str, Any]:
    given = {
        "job_file": changes.job_file,
        "job": changes.job,
        "template": changes.template,
        "workflow": changes.workflow,
        "transfer": changes.transfer,
    }
    given = {k: v for k, v in given.items() if v is not None}
    file = None if changes.input_file == "" else changes.input_file
    if given:  # define_schedule refuses two of them, or an input file without a template
        if file is not None:
            given["input_file"] = file
        return given
    if changes.input_file is not None and info.kind != "template":
        return {"job": info.job, "input_file": changes.input_file}  # refused, as an add is
    if info.kind in FACADE_KINDS:
        return {info.kind: info.template}
    if info.kind == "template":
        kept = info.input_file if changes.input_file is None else file
        return {"template": info.template, "input_file": kept}
    return {"job": info.job}  # as shown (its constants masked): kept as stored (keeps_job)


def _timing(info: ScheduleInfo, changes: ScheduleChanges) -> dict[str, Any]:
    if changes.cron is not None or changes.at is not None:
        return {"cron": changes.cron, "at": changes.at}  # both: refused, as an add is
    if info.cron is not None:
        return {"cron": info.cron.text, "at": None}
    assert info.run_at is not None
    if changes.timezone is not None:  # the same wall-clock moment in the new zone
        local = info.run_at.astimezone(info.zone).replace(tzinfo=None)
        return {"cron": None, "at": local.isoformat()}
    return {"cron": None, "at": info.run_at.isoformat()}


def retimed(before: ScheduleInfo, after_cron: str | None, after_at: object, zone: str) -> bool:
    """Whether the edited timing differs from the stored one (then the next fire time is
    computed afresh from now)."""
    cron = before.cron.text if before.cron else None
    return (cron, before.run_at, before.timezone) != (after_cron, after_at, zone)


def differences(before: ScheduleInfo, after: ScheduleInfo) -> list[tuple[str, str, str]]:
    """What an edit changed, as (what, before, after) in words: what the command line prints
    and the API answers."""
    pairs = [
        ("name", before.name, after.name),
        ("runs", before.what(), after.what()),
        ("when", before.when(), after.when()),
        ("misfire", before.misfire, after.misfire),
        ("overlap", before.overlap, after.overlap),
        ("max failures", _limit(before.max_failures), _limit(after.max_failures)),
        ("description", before.description, after.description),
    ]
    if before.kind == "job" and before.job != after.job:
        pairs.append(("job", "as it was", "as given"))
    return [(what, old, new) for what, old, new in pairs if old != new]


def _limit(value: int | None) -> str:
    return "no limit" if value is None else str(value)
