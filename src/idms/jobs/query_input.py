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
"""

from __future__ import annotations

import os
import pickle  # nosec B403 # only the run's own spool files (see _write_spool)
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from idms.io.detect import Detected
from idms.io.records import InputReader, InputRow
from idms.jobs.model import InputSpec, JobInvalid
from idms.private import private_folder, private_open
from idms.queries.compile import compile_query
from idms.queries.model import SavedQuery, iqa_only
from idms.queries.store import QueryStore
from idms.targets.base import Queryable, QueryResult, Target, require


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
    spool: Path | None = None,
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
        columns = _spool_columns(spool)
        detected = Detected("query", columns, 0, query=spec.query, params=detected_params)
        return InputReader(detected, lambda reader: _rows(columns, _replay(spool)), [])
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
                _write_spool(result, columns, spool)
                rows = _replay(spool)
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


def _write_spool(result: QueryResult, columns: tuple[str, ...], path: Path) -> None:
    """The whole result into ``path`` (columns first), complete or not at all."""
    part = path.with_name(path.name + ".part")
    private_folder(part.parent)
    try:
        with private_open(part, "wb") as handle:
            pickle.dump(columns, handle, protocol=pickle.HIGHEST_PROTOCOL)
            for row in result:
                pickle.dump(row, handle, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        result.close()
    os.replace(part, path)


def _spool_columns(path: Path) -> tuple[str, ...]:
    with path.open("rb") as handle:
        columns: tuple[str, ...] = pickle.load(handle)  # nosec B301 # the run's own spool
    return columns


def _replay(path: Path) -> Iterator[tuple[Any, ...]]:
    with path.open("rb") as handle:
        pickle.load(handle)  # nosec B301 # the spool's columns
        while True:
            try:
                yield pickle.load(handle)  # nosec B301 # the run's own spool
            except EOFError:
                return


def _spooled(result: QueryResult) -> tuple[IO[bytes], Iterator[tuple[Any, ...]]]:
    """Every row of ``result`` read now into a temporary file, then replayed from it."""
    spool = tempfile.TemporaryFile(prefix="idms-query-")  # noqa: SIM115 - closed by the reader
    count = 0
    try:
        for row in result:
            pickle.dump(row, spool, protocol=pickle.HIGHEST_PROTOCOL)
            count += 1
    finally:
        result.close()
    spool.seek(0)

    def replay() -> Iterator[tuple[Any, ...]]:
        for _ in range(count):
            yield pickle.load(spool)  # nosec B301 # an unnamed file written just above

    return spool, replay()


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return "" if value is None else str(value)
