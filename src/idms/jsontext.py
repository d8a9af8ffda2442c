"""The one JSON codec of the suite: compact JSON text at C speed, and one answer to "how does JSON
hold this value?".

:func:`dumps` writes with ``orjson``, which gives the same text as ``json.dumps(...,
ensure_ascii=False, separators=(",", ":"))`` (or ``indent=2``) for what the suite writes (dates
and times in ISO form, tuples as lists), several times faster: at a million rows, the run
record's JSON was a tenth of an import's time. Anything ``orjson`` will not take (integer keys,
integers past 64 bits) falls back to ``json``, so the text is the standard library's either way.

:func:`default` is how a value JSON has no type for is written: dates and times in ISO 8601,
amounts (Decimal) as exact text, UUIDs and paths as text, enums as their value, sets as sorted
lists. Every writer of JSON uses it -- run records, the batch journal, the CLI's ``--json``, the
API -- or builds on it: the iMIS wire (``targets/imis/wire.py``) writes dates and amounts its own
way and hands everything else to :func:`default`.

:func:`loads` is ``json.loads``: ``orjson`` reads integers past 64 bits as floats, and a run
record must give back exactly what it was given.

Foundation layer: the state store, targets, the engine and every interface import it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

import orjson

__all__ = ["default", "dumps", "loads", "plain"]

Default = Callable[[Any], Any]


def default(value: Any) -> Any:
    """``value`` as JSON can hold it (see the module docstring); TypeError for anything else."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID | PurePath):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(
    value: Any,
    *,
    default: Default = default,
    indent: bool = False,
    native_dates: bool = True,
) -> str:
    """``value`` as JSON text: compact, or indented by two spaces; never ASCII-escaped.

    ``default`` turns what JSON has no type for into something it has. ``orjson`` writes dates,
    times and date-times itself, in the ISO form :func:`default` gives; with ``native_dates``
    False they go to ``default`` too (the iMIS wire writes its own form).
    """
    option = orjson.OPT_INDENT_2 if indent else 0
    if not native_dates:
        option |= orjson.OPT_PASSTHROUGH_DATETIME
    try:
        return orjson.dumps(value, default=default, option=option).decode("utf-8")
    except TypeError:
        if indent:
            return json.dumps(value, default=default, ensure_ascii=False, indent=2)
        return json.dumps(value, default=default, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """JSON text as Python values (``json.loads``: big integers stay exact)."""
    return json.loads(text)


def plain(value: Any) -> Any:
    """``value`` with what JSON has no type for replaced as :func:`default` does, recursively.

    For frameworks that encode JSON themselves (the API's responses): lists, tuples and sets
    become lists, dicts keep their keys, everything else is left as it is.
    """
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [plain(v) for v in items]
    if value is None or isinstance(value, str | int | float):
        return value
    try:
        return default(value)
    except TypeError:
        return value
