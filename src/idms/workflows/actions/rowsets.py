"""Row sets: a table too big to carry inside the pipeline object, kept as a JSON Lines file in
the run's private folder and handed from step to step as a small reference::

    {"$rows": "members.jsonl", "count": 120000, "columns": ["id", "email"]}

A step that produces rows (Fetch Query Data, Delta Hashing, Select in array mode) gives them
inline as an array while they are few (at most :data:`INLINE_ROWS`), and as a row set beyond;
every step that reads rows (Delta Hashing, Select, Convert, HTTP Request's batches, Insert
Record) reads both through :func:`iter_rows`, one row at a time, so a million-row export never
holds the table in memory. A template sees the reference (``{{ steps.members.count }}`` is the
number of rows).

A row set is read only from the run's own folder, by a plain file name: a reference forged by a
webhook's body (``{"$rows": "../../suite.db"}``) is refused like any other file outside it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from itertools import chain, islice
from typing import Any

import orjson

from idms.errors import printable
from idms.jsontext import dumps
from idms.private import private_folder, private_open
from idms.workflows.actions._files import safe_file_name
from idms.workflows.actions.base import ActionContext, StepFailed

ROWS = "$rows"
INLINE_ROWS = 1000  # more rows than this and a step writes a row set instead of an array
# A row whose values are all of these was read by orjson exactly as json reads it.
_EXACT = frozenset({str, int, bool, type(None)})
_BATCH = 1024  # rows written, or lines read, together
_BIG = 2.0**63  # orjson reads an integer past 64 bits as a float at least this big


def is_row_set(value: Any) -> bool:
    """Whether ``value`` is a row set's reference."""
    return isinstance(value, dict) and isinstance(value.get(ROWS), str)


def row_count(value: Any) -> int | None:
    """How many rows ``value`` holds (an array of rows or a row set); None for anything else."""
    if is_row_set(value):
        count = value.get("count")
        return count if isinstance(count, int) else None
    if isinstance(value, list):
        return len(value)
    return None


def write_row_set(
    rows: Iterable[Mapping[str, Any]], context: ActionContext, name: str
) -> dict[str, Any]:
    """Write ``rows`` (any iterable, consumed once) as ``NAME.jsonl`` in the run's folder; the
    reference. Columns are listed in the order they first appear."""
    file_name = safe_file_name(name if name.endswith(".jsonl") else f"{name}.jsonl")
    private_folder(context.files)
    columns: dict[str, None] = {}
    count = 0
    iterator = iter(rows)
    with private_open(context.files / file_name, "wb") as out:
        # A batch at a time, in C: its columns (in the order they come), its lines (orjson).
        while batch := list(islice(iterator, _BATCH)):
            columns.update(dict.fromkeys(chain.from_iterable(batch)))
            try:
                lines = b"".join(map(_fast_line, batch))
            except TypeError:  # a value orjson will not write: the batch a row at a time
                lines = b"".join(map(_line, batch))
            out.write(lines)
            count += len(batch)
    return {ROWS: file_name, "count": count, "columns": list(columns)}


_fast_line = partial(orjson.dumps, default=str, option=orjson.OPT_APPEND_NEWLINE)


def _line(row: Mapping[str, Any]) -> bytes:
    """A row as one line of JSON (what :func:`idms.jsontext.dumps` writes, ``str`` of what JSON
    has no type for), written by ``orjson`` straight to bytes."""
    try:
        return orjson.dumps(row, default=str, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # integer keys, integers past 64 bits: the standard library writes them
        return (dumps(row, default=str) + "\n").encode("utf-8")


def _parse(line: bytes) -> Any:
    """A line of a row set read back: by ``orjson`` (several times faster), by ``json`` where
    ``orjson`` could differ: an integer past 64 bits (which orjson makes a float), NaN or
    Infinity (which ``json`` writes and orjson refuses). A row of texts, integers and booleans
    (the usual row) is checked in C; one holding a float, an object or an array is read again
    by ``json`` when a float is that big or anything is nested."""
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)
    if type(row) is dict and _exact(list(row.values())):
        return row
    return json.loads(line)


def _exact(values: list[Any]) -> bool:
    """Whether orjson read ``values`` (top-level cells) exactly as json would: texts, integers,
    booleans, nulls, and floats too small to have been an integer past 64 bits; nothing nested
    (checked in C, the floats apart)."""
    kinds = set(map(type, values))
    if kinds <= _EXACT:
        return True
    if float not in kinds or not kinds - {float} <= _EXACT:
        return False
    return max(abs(v) for v in values if type(v) is float) < _BIG


def rows_output(
    rows: Iterable[Mapping[str, Any]],
    context: ActionContext,
    name: str,
    *,
    inline: int = INLINE_ROWS,
) -> list[dict[str, Any]] | dict[str, Any]:
    """``rows`` as a step's output: an array while there are at most ``inline`` of them, a row
    set (written as ``NAME.jsonl``) beyond."""
    head: list[dict[str, Any]] = []
    iterator = iter(rows)
    for row in iterator:
        head.append(dict(row))
        if len(head) > inline:
            return write_row_set(_chain(head, iterator), context, name)
    return head


def iter_rows(
    value: Any, context: ActionContext, *, what: str = "input"
) -> Iterator[dict[str, Any]]:
    """The rows of ``value``, one at a time: an array of objects, or a row set of this run.
    StepFailed (naming ``what``, the parameter) for anything else."""
    if is_row_set(value):
        yield from _read_row_set(value[ROWS], context, what)
        return
    if isinstance(value, list):
        for number, row in enumerate(value, start=1):
            if not isinstance(row, dict):
                raise StepFailed(
                    f"{what}: row {number} is a {type(row).__name__}, not an object: give an "
                    "array of objects (e.g. {{ steps.members }}).",
                    retryable=False,
                )
            yield row
        return
    shown = "nothing" if value is None else f"a {type(value).__name__}"
    raise StepFailed(
        f"{what} is {shown}, not rows: give an array of objects or an earlier step's rows "
        "(e.g. {{ steps.members }}).",
        retryable=False,
    )


def _read_row_set(name: str, context: ActionContext, what: str) -> Iterator[dict[str, Any]]:
    file_name = safe_file_name(name)
    folder = context.files.resolve()
    path = (folder / file_name).resolve()
    if path.parent != folder or not path.is_file():
        raise StepFailed(
            f"{what}: this run has no rows named {printable(file_name)!r}; rows are written by an "
            "earlier step of the same run.",
            retryable=False,
        )
    with path.open("rb") as lines:
        # A batch of lines read by orjson in C; the batch is given as it is when its rows hold
        # only what orjson reads exactly as json does (checked in C), else a line at a time.
        while batch := list(islice(lines, _BATCH)):
            try:
                rows = list(map(orjson.loads, batch))
                values = list(chain.from_iterable(map(dict.values, rows)))
            except (orjson.JSONDecodeError, TypeError):  # a blank line, NaN, not an object...
                pass
            else:
                if _exact(values):
                    yield from rows
                    continue
            for line in batch:
                if line.strip():
                    yield _parse(line)


def _chain(
    head: list[dict[str, Any]], rest: Iterator[Mapping[str, Any]]
) -> Iterator[Mapping[str, Any]]:
    yield from head
    yield from rest
