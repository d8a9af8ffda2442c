"""Dates written in a format the receiver asks for (a workflow's Convert ``date_format``).

A date reaches a writer either as a Python value (``date``, ``datetime``: a query's rows) or, far
more often in a workflow, as text: the pipeline is JSON, so a date is an ISO 8601 string
(``2024-03-01``, ``2024-03-01T09:30:00Z``, ``2024-03-01 09:30:00``). Both are formatted, so a
column of dates comes out alike whichever way its values travelled. A text is taken for a date
only when it is *wholly* an ISO 8601 calendar date or date-time that Python can read: ``2024-03``,
``20240301``, ``2024-03-01 and more`` or a member number that happens to start with digits stay
as they are.

A date-time is written with ``datetime_format`` when given, else with ``date_format``; its time
zone is kept as written (``%z`` shows it), never converted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from idms.errors import InvalidInputError

__all__ = ["DateFormatter", "date_formatter"]

# What a date or date-time in ISO 8601 looks like: the cheap test before parsing.
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)

DateFormatter = Callable[[Any], Any]


def _check(pattern: str, name: str) -> None:
    try:
        dt.datetime(2024, 12, 31, 23, 59, 58).strftime(pattern)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{name} {pattern!r} is not a date format: {exc}.") from None
    if "%" not in pattern:
        raise InvalidInputError(
            f"{name} {pattern!r} has no % field, so every date would be written as that same "
            "text: use strftime fields such as %d/%m/%Y or %Y-%m-%dT%H:%M:%S."
        )


def date_formatter(
    date_format: str | None, datetime_format: str | None = None
) -> DateFormatter | None:
    """A function giving a cell's value with its date written by the formats (anything else
    unchanged); None when neither format is given. InvalidInputError for a pattern that is not
    one."""
    if not date_format and not datetime_format:
        return None
    if date_format:
        _check(date_format, "date_format")
    if datetime_format:
        _check(datetime_format, "datetime_format")
    day = date_format or "%Y-%m-%d"
    moment = datetime_format or date_format or "%Y-%m-%d %H:%M:%S"
    match = _ISO.fullmatch
    parse_moment = dt.datetime.fromisoformat
    parse_day = dt.date.fromisoformat

    def formatted(value: Any) -> Any:
        kind = value.__class__
        if kind is str:
            if len(value) < 10 or not match(value):
                return value
            try:
                if len(value) == 10:
                    return parse_day(value).strftime(day)
                return parse_moment(value.replace(",", ".")).strftime(moment)
            except ValueError:  # 2024-02-30: looks like a date, is none
                return value
        if kind is dt.datetime or isinstance(value, dt.datetime):
            return value.strftime(moment)
        if kind is dt.date or isinstance(value, dt.date):
            return value.strftime(day)
        return value

    return formatted
