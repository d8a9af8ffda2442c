"""A cell's value as text in a file, and CSV formula-injection safety.

:func:`render_text` is how every writer shows a value as text: None -> "", dates as
``YYYY-MM-DD``, date-times as ``YYYY-MM-DD HH:MM:SS``, booleans as ``True``/``False``, numbers
without exponent, tuples and lists joined with ",".

:func:`escape_formula` puts a ``'`` before a text that begins with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return, so a spreadsheet opening a CSV file shows it as text instead of running
it as a formula (OWASP "CSV injection").
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

__all__ = ["FORMULA_TRIGGERS", "escape_formula", "render_text"]

# What a spreadsheet may take for the start of a formula (OWASP: CSV injection).
FORMULA_TRIGGERS = frozenset("=+-@\t\r")


def render_text(value: Any) -> str:
    """A value as text in a file (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f") if math.isfinite(value) else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple | list):
        return ",".join(render_text(item) for item in value)
    return str(value)


def escape_formula(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet could take it for a formula."""
    return "'" + text if text[:1] in FORMULA_TRIGGERS else text
