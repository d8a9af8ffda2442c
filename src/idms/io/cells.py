"""A cell's value as text in a file, and CSV formula-injection safety.

:func:`render_text` is how every writer shows a value as text: None -> "", dates as
``YYYY-MM-DD``, date-times as ``YYYY-MM-DD HH:MM:SS``, booleans as ``True``/``False``, numbers
without exponent, tuples and lists joined with ",".

:func:`escape_formula` puts a ``'`` before a text that begins with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return, so a spreadsheet opening a CSV file shows it as text instead of running
it as a formula (OWASP "CSV injection"). Every CSV file idms writes for a person goes through it
(:func:`idms.io.writer.write_table`). Two refinements keep data whole:

* a plain number written as text (``-5``, ``+1.50``, ``-1,234.5``, ``-2e3``) is left as it is: a
  spreadsheet reads it as a number, and a number runs nothing (``-5+cmd|…`` is no plain number);
* a text that already begins with ``'`` before such a character gets one more (``'=x`` is
  written ``''=x``), so :func:`unescape_formula`, which the CSV reader applies to every cell,
  gives back exactly what was written: a failed-rows file fixed in a spreadsheet and imported
  again imports ``+44 20 7946 0000``, not ``'+44 20 7946 0000``. (A spreadsheet reads a leading
  ``'`` as the mark of text, not part of it, as the reader does.)
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

__all__ = [
    "ESCAPE_STARTS",
    "FORMULA_TRIGGERS",
    "escape_formula",
    "render_text",
    "runs_as_formula",
    "unescape_formula",
]

# What a spreadsheet may take for the start of a formula (OWASP: CSV injection).
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
# The first characters of a text escape_formula or unescape_formula may change (a cheap
# pre-check: anything else is left as it is).
ESCAPE_STARTS = FORMULA_TRIGGERS | {"'"}
# A signed plain number: what a spreadsheet reads as a number, never as a formula.
_PLAIN_NUMBER = re.compile(r"[+-](?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


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


def runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` for a formula (a trigger character first and
    not a plain number): what escaping is about, in CSV and in XLSX alike."""
    return text[:1] in FORMULA_TRIGGERS and _PLAIN_NUMBER.fullmatch(text) is None


_runs_as_formula = runs_as_formula


def escape_formula(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet could take it for a formula (or when
    it is such a text behind ``'`` already, so that :func:`unescape_formula` undoes exactly
    this)."""
    return "'" + text if _runs_as_formula(text.lstrip("'")) else text


def unescape_formula(text: str) -> str:
    """``text`` without the ``'`` :func:`escape_formula` put in front (as it was before)."""
    return text[1:] if text[:1] == "'" and _runs_as_formula(text.lstrip("'")) else text
