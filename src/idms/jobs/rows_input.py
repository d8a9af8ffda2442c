"""Rows handed over by a workflow step as a job's input (``input: {rows: ORIGIN}``).

A workflow's Insert Record step runs a job over rows it holds in memory (a webhook's body, a
query's rows reshaped): no file. So that the run is a run like any other (durable, resumable
after a crash, its rows recorded with their outcomes, undoable), the rows are written first to
the run's own sealed copy, exactly where and how a query-fed run keeps its query's rows
(:class:`~idms.jobs.query_input.Spool`: ``WORKSPACE/runs/RUN/input.rows``, sealed with the
workspace's key). The run reads them from there, and a resumed run reads the same rows again.

A job document cannot bring such rows itself: a run's copy exists only once the step that hands
the rows over has written it, so ``rows`` in a job file is refused when the job is checked.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from idms.io.detect import Detected
from idms.io.records import InputReader, InputRow
from idms.jobs.model import InputSpec, JobInvalid
from idms.jobs.query_input import Spool
from idms.private import private_folder, private_open
from idms.runs.sealed import write_records

__all__ = ["columns_of", "open_rows_input", "write_rows"]


def columns_of(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Every key of the rows, in the order first seen (rows need not all have every key)."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            if key not in seen:
                seen[str(key)] = None
    return tuple(seen)


def write_rows(
    spool: Spool, rows: Iterable[Mapping[str, Any]], *, columns: Sequence[str] | None = None
) -> tuple[str, ...]:
    """Seal ``rows`` into the run's copy (columns first, then one tuple a row, a missing key
    as a blank), complete or not at all; the columns. Without ``columns`` the rows are read
    twice (held as a list) to find them; with them (a workflow's row set knows its own), the
    rows are read once, one at a time."""
    if columns is None:
        rows = list(rows)
        columns = columns_of(rows)
    else:
        columns = tuple(str(c) for c in columns)
    part = spool.path.with_name(spool.path.name + ".part")
    private_folder(part.parent)
    records: Iterator[Any] = (tuple(row.get(c) for c in columns) for row in rows)
    with private_open(part, "wb") as handle:
        write_records(spool.box, _chain(columns, records), handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(part, spool.path)
    return columns


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def open_rows_input(spec: InputSpec, spool: Spool | None) -> InputReader:
    """The rows the run's copy holds, numbered from 1 as they were handed over."""
    if spool is None or not spool.is_file():
        raise JobInvalid(
            [
                "input.rows: rows are handed over by a workflow step (Insert Record), which "
                "keeps a sealed copy of them with the run, and this run has none: a job "
                "document cannot give rows itself; give a file or a saved query"
            ]
        )
    columns = spool.columns()
    detected = Detected("rows", columns, 0, query=spec.rows)

    opened: list[Iterator[tuple[Any, ...]]] = []

    def produce(reader: InputReader) -> Iterator[InputRow]:
        records = spool.rows()
        opened.append(records)
        for number, row in enumerate(records, start=1):
            yield InputRow(number, dict(zip(columns, row, strict=False)))

    def close() -> None:
        for records in opened:
            if isinstance(records, Generator):  # the sealed copy's file, read no further
                records.close()

    return InputReader(detected, produce, [close])
