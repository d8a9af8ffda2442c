"""A saved query as a job's input: the iUpdate case (``input: {query: NAME, params: {...}}``).

The query runs on the job's own target, so its rows are what that target holds: SQL on the
embedded store, the query's IQA through ``/api/iqa`` on a real iMIS. Each result row becomes an
input row numbered from 1 (IQA's ``ResultRow``), its cells keyed by the query's column aliases
and already typed (dates are dates, Yes/No fields booleans), so mappings read them as they would
read an Excel sheet.

A job often updates the very rows its query selects ("find every locked-out account and unlock
it"). Paging through such a query while writing would shift the pages and skip rows, so the
whole result is read before the first write: the embedded store reads one snapshot (a single
statement, held open); from a REST target, every page is fetched first and kept in a temporary
file, so memory stays bounded whatever the row count.

Rows kept on disk are member data: a durable run's copy (:class:`Spool`, kept to resume from) is
sealed with the workspace's key, a temporary file with a key made for it alone and forgotten
with it (:mod:`idms.runs.sealed`). Neither lies there in plain text, and a copy that was
changed is refused, not read.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import IO, Any

from idms.io.detect import Detected
from idms.io.records import InputReader, InputRow
from idms.jobs.model import InputSpec, JobInvalid
from idms.private import private_folder, private_open
from idms.queries.compile import compile_query
from idms.queries.model import SavedQuery, iqa_only
from idms.queries.store import QueryStore
from idms.runs.sealed import read_records, write_records
from idms.secrets import SecretBox, new_key
from idms.targets.base import Queryable, QueryResult, Target, require


@dataclass(frozen=True)
class Spool:
    """Where a durable run keeps its copy of its query's rows (or of the rows a workflow step
    handed over: ``handed=True``), and the key that seals it."""

    path: Path
    box: SecretBox
    handed: bool = False

    def is_file(self) -> bool:
        return self.path.is_file()

    def write(self, columns: tuple[str, ...], result: QueryResult) -> None:
        """The whole result (columns first), sealed, complete or not at all."""
        part = self.path.with_name(self.path.name + ".part")
        private_folder(part.parent)
        try:
            with private_open(part, "wb") as handle:
                write_records(self.box, chain([columns], result), handle)
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            result.close()
        os.replace(part, self.path)

    def columns(self) -> tuple[str, ...]:
        records = self._records()
        try:
            columns: tuple[str, ...] = next(records)
        finally:
            records.close()
        return columns

    def rows(self) -> Iterator[tuple[Any, ...]]:
        records = self._records()
        next(records)  # the columns
        return records

    def _records(self) -> Generator[Any, None, None]:
        what, again = (
            ("the rows its workflow step handed over", "Run the workflow again.")
            if self.handed
            else ("its query's rows", "Run the job again: its query is run anew.")
        )
        broken = (
            f"This run's copy of {what} ({self.path}) cannot be read: it was changed, "
            f"cut short, or sealed with another key. {again}"
        )
        return read_records(self.box, self.path, name=self.path.name, broken=broken)


def resolve_query(name: str, queries: QueryStore | None) -> SavedQuery:
    """A saved query by name, or an IQA of iMIS by its ``$/`` path."""
    if name.startswith("$/"):
        saved = queries.find_by_path(name) if queries is not None else None
        return saved or iqa_only(name)
    if queries is None:
        raise JobInvalid([f"input.query: '{name}' cannot be looked up here"])
    return queries.get(name).query


def open_query_input(
    spec: InputSpec,
    target: Target,
    queries: QueryStore | None,
    *,
    mapped_columns: tuple[str, ...] = (),
    spool: Spool | None = None,
) -> InputReader:
    """Run the job's query on ``target`` and hand its rows over as input rows.

    With ``spool`` (a durable run's file), the whole result is kept there before the first row
    is handed over, and a run that resumes replays that file instead of asking again: the
    rows it goes on with are the rows it began with, whatever it has changed since.
    """
    assert spec.query is not None
    params = dict(spec.params)
    detected_params = tuple((k, _text(v)) for k, v in params.items())
    if spool is not None and spool.is_file():
        columns = spool.columns()
        detected = Detected("query", columns, 0, query=spec.query, params=detected_params)
        return InputReader(detected, lambda reader: _rows(columns, spool.rows()), [])
    saved = resolve_query(spec.query, queries)
    queryable = require(target, Queryable, "run saved queries")
    compiled = compile_query(saved, queryable.sources())
    if compiled.source is not None:
        compiled.bind(params)  # a missing required prompt is refused before anything runs
    result = queryable.query(compiled, params)
    columns = result.columns
    if not columns and compiled.source is None:
        columns = mapped_columns  # an IQA with no rows says nothing of its columns
    columns = tuple(columns)
    to_file = spool is not None or not result.snapshot
    files: list[IO[bytes]] = []
    detected = Detected("query", columns, 0, query=spec.query, params=detected_params)

    def produce(reader: InputReader) -> Iterator[InputRow]:
        rows: Iterator[tuple[Any, ...]] = iter(result)
        if to_file:  # on the first row asked for: a job only checked reads nothing
            if spool is not None:
                spool.write(columns, result)
                rows = spool.rows()
            else:
                handle, rows = _spooled(result)
                files.append(handle)
        yield from _rows(columns, rows)

    def close() -> None:
        result.close()
        for handle in files:
            handle.close()

    return InputReader(detected, produce, [close])


def _rows(columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> Iterator[InputRow]:
    for number, row in enumerate(rows, start=1):
        yield InputRow(number, dict(zip(columns, row, strict=False)))


def _spooled(result: QueryResult) -> tuple[IO[bytes], Iterator[tuple[Any, ...]]]:
    """Every row of ``result`` read now into a temporary file, then replayed from it; sealed
    with a key of its own, gone with the file."""
    box = SecretBox([new_key().encode("ascii")])
    spool = tempfile.TemporaryFile(prefix="idms-query-")  # noqa: SIM115 - closed by the reader
    try:
        write_records(box, result, spool)
        spool.flush()
    finally:
        result.close()
    broken = "The query's rows kept while it ran cannot be read back."
    return spool, read_records(box, spool, name="the query's rows", broken=broken)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return "" if value is None else str(value)
