"""A cron expression in words ("At 02:00, Monday through Friday"), so the web UI, the command
line and the API say the same thing about when a schedule runs.

Written here rather than taken from a package: the rule is small, it must read a cron the way
:mod:`idms.schedules.timing` does (five fields, ``L`` for the last day, Sunday as 0 or 7,
JAN-DEC and SUN-SAT names), and anything it cannot put simply falls back to the field itself
("minutes 5,7"), never to a wrong sentence.
"""

from __future__ import annotations

from idms.schedules.timing import Cron

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAY_NAMES = {d[:3].upper(): i for i, d in enumerate(DAYS)}
_MONTH_NAMES = {m[:3].upper(): i + 1 for i, m in enumerate(MONTHS)}


def cron_in_words(cron: Cron) -> str:
    """When ``cron`` fires, as a sentence: ``At 02:00, Monday through Friday``."""
    minute, hour, day, month, weekday = cron.expression.split()
    parts = [_time(minute, hour)]
    days = _days(day, weekday)
    if days:
        parts.append(days)
    if month != "*":
        parts.append("in " + _listed(month, _month_name))
    return ", ".join(parts)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _time(minute: str, hour: str) -> str:
    m, h = _number(minute), _number(hour)
    if m is not None and h is not None:
        return f"At {h:02d}:{m:02d}"
    if m is not None and "," in hour and all(p.isdigit() for p in hour.split(",")):
        return "At " + _and([f"{int(p):02d}:{m:02d}" for p in hour.split(",")])
    if minute == "*" and hour == "*":
        return "Every minute"
    if minute.startswith("*/") and hour == "*":
        return f"Every {minute[2:]} minutes"
    if hour == "*":
        if m == 0:
            return "Every hour, on the hour"
        if m is not None:
            return f"Every hour, at {m} minutes past"
        return f"At minutes {minute} of every hour"
    if hour.startswith("*/"):
        at = "on the hour" if m == 0 else f"at minutes {minute}"
        return f"Every {hour[2:]} hours, {at}"
    if m is not None and "-" in hour and "/" not in hour and "," not in hour:
        low, high = hour.split("-", 1)
        if low.isdigit() and high.isdigit():
            return f"Every hour from {int(low):02d}:{m:02d} to {int(high):02d}:{m:02d}"
    what = "every minute" if minute == "*" else f"minutes {minute}"
    return f"At {what} of hours {hour}"


def _days(day: str, weekday: str) -> str:
    month_days = _month_days(day) if day != "*" else ""
    week_days = _week_days(weekday) if weekday != "*" else ""
    if month_days and week_days:  # cron fires when either matches
        return f"{month_days} or {week_days}"
    return month_days or week_days


def _month_days(day: str) -> str:
    if day.upper() == "L":
        return "on the last day of the month"
    if day.startswith("*/"):
        return f"every {day[2:]} days of the month"
    plural = "s" if any(c in day for c in ",-/") else ""
    return f"on day{plural} {_listed(day, str)} of the month"


def _week_days(weekday: str) -> str:
    if weekday.startswith("*/"):
        return f"every {weekday[2:]} days of the week"
    listed = _listed(weekday, _day_name)
    return listed if "-" in weekday else f"on {listed}"


def _day_name(text: str) -> str:
    index = _DAY_NAMES.get(text.upper())
    if index is None:
        index = int(text) % 7
    return DAYS[index]


def _month_name(text: str) -> str:
    index = _MONTH_NAMES.get(text.upper())
    return MONTHS[(index if index is not None else int(text)) - 1]


def _listed(field: str, name: object) -> str:
    """``1-5`` → ``Monday through Friday``; ``1,3`` → ``Monday and Wednesday``; anything else
    (a step) as written."""
    assert callable(name)
    try:
        pieces = []
        for piece in field.split(","):
            if "/" in piece:
                return field
            if "-" in piece:
                low, high = piece.split("-", 1)
                pieces.append(f"{name(low)} through {name(high)}")
            else:
                pieces.append(name(piece))
    except (ValueError, IndexError):
        return field
    return _and(pieces)


def _and(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]
