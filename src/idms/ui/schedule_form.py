"""The schedule form of the web UI, read: what to run (``template:NAME``, ``workflow:NAME``,
``transfer:NAME``, or ``keep`` for a job file's schedule being edited) and when, as a preset
(every hour, every day at a time, every weekday, every week on a day, every month on a day,
once) or a free cron expression. A preset is only a way of writing a cron expression: the form
turns it into one, and the library checks it as it checks the command line's ``--cron``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from idms.errors import InvalidInputError
from idms.schedules.model import ScheduleInfo
from idms.schedules.timing import parse_at, parse_cron, parse_zone
from idms.schedules.words import DAYS

FIELD_LIMIT = 1000  # no field of the form needs more (a name is 200 at most, a path 1000)
HOW = (
    ("hourly", "Every hour"),
    ("daily", "Every day at a time"),
    ("weekdays", "Every weekday (Monday to Friday) at a time"),
    ("weekly", "Every week on a day"),
    ("monthly", "Every month on a day"),
    ("once", "Once, at a date and time"),
    ("cron", "A cron expression"),
)
WEEKDAY_CHOICES = [(str(i), day) for i, day in enumerate(DAYS)]
MONTH_DAY_CHOICES = [(str(d), str(d)) for d in range(1, 32)] + [("L", "The last day")]
MISFIRE_CHOICES = (
    ("run-once", "Run once for the times missed"),
    ("skip", "Skip the times missed"),
)
OVERLAP_CHOICES = (
    ("skip", "Do not start another run"),
    ("queue", "Queue another run anyway"),
)


@dataclass(frozen=True)
class ScheduleForm:
    """The form's fields, as entered (strings), so a refused form comes back as it was."""

    name: str = ""
    description: str = ""
    run: str = ""
    input: str = ""  # a template's file: a path in an input folder, or upload:ID
    how: str = "daily"
    minute: str = "0"
    time: str = "02:00"
    weekday: str = "1"
    day: str = "1"
    at: str = ""
    cron: str = ""
    timezone: str = "UTC"
    misfire: str = "run-once"
    overlap: str = "skip"
    max_failures: str = ""

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> ScheduleForm:
        """The form from what was sent (a POST's fields, or the preview's query), the same
        for adding and changing a schedule; each value cut at ``FIELD_LIMIT`` characters."""
        known = {
            k: str(v).strip()[:FIELD_LIMIT]
            for k, v in fields.items()
            if k in cls.__dataclass_fields__ and isinstance(v, str)
        }
        return cls(**known)

    def input_given(self) -> str | dict[str, str] | None:
        """The template's file as the library takes it: ``{"upload": ID}`` for ``upload:ID``,
        else the path; None when none was given."""
        if not self.input:
            return None
        kind, _, upload_id = self.input.partition(":")
        return {"upload": upload_id} if kind == "upload" and upload_id else self.input

    def values(self) -> dict[str, str]:
        return asdict(self)

    def timing(self) -> tuple[str | None, str | None]:
        """(cron expression, one-time moment): one of the two, as the library takes them."""
        if self.how == "once":
            return None, self.at
        if self.how == "cron":
            return self.cron, None
        if self.how == "hourly":
            return f"{_int(self.minute, 0)} * * * *", None
        hour, minute = _clock(self.time)
        day_fields = {
            "daily": "* * *",
            "weekdays": "* * 1-5",
            "weekly": f"* * {_int(self.weekday, 1) % 7}",
            "monthly": f"{self.day if self.day.upper() == 'L' else _int(self.day, 1)} * *",
        }.get(self.how, "* * *")
        return f"{minute} {hour} {day_fields}", None

    def runs(self) -> dict[str, str]:
        """The ``define_schedule`` keyword naming what to run: ``{"template": NAME}``..."""
        kind, _, name = self.run.partition(":")
        return {kind: name} if kind in ("template", "workflow", "transfer") and name else {}

    def failures(self) -> int | None:
        return int(self.max_failures) if self.max_failures.isdigit() else None

    def problems(self) -> dict[str, str]:
        """The timing's mistakes, by the field they belong next to (``timezone``, ``at``,
        ``cron`` or ``time``): the library's own checks and words."""
        problems: dict[str, str] = {}
        try:
            zone = parse_zone(self.timezone)
        except InvalidInputError as error:
            problems["timezone"] = str(error)
            zone = None
        cron, at = self.timing()
        field = "at" if at is not None else "cron" if self.how == "cron" else "time"
        try:
            if at is not None:
                if not at:
                    raise InvalidInputError("Give the date and time to run at.")
                if zone is not None:
                    parse_at(at, zone)
            else:
                parse_cron(cron or "")
        except InvalidInputError as error:
            problems[field] = str(error)
        return problems


def _int(text: str, default: int) -> int:
    return int(text) if text.strip().isdigit() else default


def _clock(text: str) -> tuple[int, int]:
    """``HH:MM`` as (hour, minute); a time the browser could not give reads as 00:00 and the
    cron check then says what is wrong only if the numbers are out of range."""
    found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::\d{2})?\s*", text)
    if not found:
        return 0, 0
    return int(found.group(1)), int(found.group(2))


_PATTERNS = (
    ("hourly", re.compile(r"(?P<m>\d+) \* \* \* \*")),
    ("daily", re.compile(r"(?P<m>\d+) (?P<h>\d+) \* \* \*")),
    ("weekdays", re.compile(r"(?P<m>\d+) (?P<h>\d+) \* \* 1-5")),
    ("weekly", re.compile(r"(?P<m>\d+) (?P<h>\d+) \* \* (?P<w>[0-7])")),
    ("monthly", re.compile(r"(?P<m>\d+) (?P<h>\d+) (?P<d>\d+|L) \* \*")),
)


def form_of(info: ScheduleInfo) -> ScheduleForm:
    """The form filled in from a stored schedule (a cron that a preset writes shows as that
    preset; any other as itself)."""
    run = "keep" if info.kind == "job" else f"{info.kind}:{info.template}"
    form = ScheduleForm(
        name=info.name,
        description=info.description,
        run=run,
        timezone=info.timezone,
        misfire=info.misfire,
        overlap=info.overlap,
        max_failures=str(info.max_failures or ""),
    )
    if info.cron is None:
        assert info.run_at is not None
        local = info.run_at.astimezone(info.zone)
        return replace(form, how="once", at=local.strftime("%Y-%m-%dT%H:%M"))
    for how, pattern in _PATTERNS:
        found = pattern.fullmatch(info.cron.expression)
        if found is None:
            continue
        parts = found.groupdict()
        hour = int(parts.get("h") or 0)
        minute = int(parts["m"])
        if not (hour < 24 and minute < 60):
            break
        return replace(
            form,
            how=how,
            minute=str(minute),
            time=f"{hour:02d}:{minute:02d}",
            weekday=str(int(parts.get("w") or 1) % 7),
            day=parts.get("d") or "1",
        )
    return replace(form, how="cron", cron=info.cron.text)
