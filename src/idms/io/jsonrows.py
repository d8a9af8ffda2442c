"""Rows as one JSON array of objects (query exports), or as NDJSON (one object per line and
nothing else: a workflow's Convert step), written as they come.

One object per line, keyed by the column names: dates and date-times in ISO 8601, amounts
(Decimal) as JSON numbers with every digit kept, multi-select values as lists, blanks as
``null``. This is a file format, not the JSON codec of :mod:`idms.jsontext`: that one stores
amounts as exact text and cannot write a Decimal as a number without rounding it through float.
A value that is itself an object (a workflow's pipeline data may nest) is written as one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

from idms.io.cells import render_text

__all__ = ["write_json_rows", "write_ndjson_rows"]

_json_text: Callable[[str], str] = json.encoder.encode_basestring


def write_json_rows(
    file: IO[str], columns: Sequence[str], chunks: Iterable[list[Sequence[Any]]]
) -> int:
    """Write the rows as a JSON array, a chunk at a time; the number of rows written."""
    keys = [_json_text(render_text(name)) + ": " for name in columns]
    count = 0
    separator = "[\n"
    for chunk in chunks:
        lines = [
            "{" + ", ".join([k + _json_value(v) for k, v in zip(keys, row, strict=True)]) + "}"
            for row in chunk
        ]
        file.write(separator + ",\n".join(lines))
        separator = ",\n"
        count += len(chunk)
    file.write("[]\n" if count == 0 else "\n]\n")
    return count


def write_ndjson_rows(
    file: IO[str], columns: Sequence[str], chunks: Iterable[list[Sequence[Any]]]
) -> int:
    """Write the rows as NDJSON (one object per line, ``\\n`` after each); the row count."""
    keys = [_json_text(render_text(name)) + ": " for name in columns]
    count = 0
    for chunk in chunks:
        lines = [
            "{" + ", ".join([k + _json_value(v) for k, v in zip(keys, row, strict=True)]) + "}\n"
            for row in chunk
        ]
        file.write("".join(lines))
        count += len(chunk)
    return count


def _json_value(value: Any) -> str:
    encode = _JSON.get(value.__class__)
    if encode is not None:
        return encode(value)
    if isinstance(value, str):
        return _json_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, Decimal):
        return _json_decimal(value)
    if isinstance(value, dt.date | dt.time):
        return '"' + value.isoformat() + '"'
    if isinstance(value, tuple | list):
        return _json_list(value)
    if isinstance(value, dict):
        return _json_object(value)
    return _json_text(str(value))


def _json_decimal(value: Decimal) -> str:
    if not value.is_finite():
        return "null"
    return format(value, "f")


def _json_list(value: Sequence[Any]) -> str:
    return "[" + ",".join(map(_json_value, value)) + "]"


def _json_object(value: dict[Any, Any]) -> str:
    return (
        "{"
        + ",".join(_json_text(render_text(k)) + ":" + _json_value(v) for k, v in value.items())
        + "}"
    )


def _json_iso(value: dt.date | dt.datetime | dt.time) -> str:
    return '"' + value.isoformat() + '"'


_JSON: dict[type, Callable[[Any], str]] = {
    str: _json_text,
    type(None): lambda _: "null",
    bool: lambda v: "true" if v else "false",
    int: int.__repr__,
    Decimal: _json_decimal,
    dt.date: _json_iso,
    dt.datetime: _json_iso,
    dt.time: _json_iso,
    tuple: _json_list,
    list: _json_list,
    dict: _json_object,
}
