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

import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from idms.jobs.model import InputSpec, JobInvalid
from idms.jobs.readers import Detected, InputReader, InputRow
from idms.queries.compile import compile_query
from idms.queries.model import SavedQuery, iqa_only
from idms.state.queries import QueryStore
from idms.targets.base import QueryResult, Target


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
) -> InputReader:
    """Run the job's query on ``target`` and hand its rows over as input rows."""
    assert spec.query is not None
    saved = resolve_query(spec.query, queries)
    compiled = compile_query(saved, target.sources())
    params = dict(spec.params)
    if compiled.source is not None:
        compiled.bind(params)  # a missing required prompt is refused before anything runs
    result = target.query(compiled, params)
    columns = result.columns
    if not columns and compiled.source is None:
        columns = mapped_columns  # an IQA with no rows says nothing of its columns
    spooled = target.capabilities.kind == "rest"
    spools: list[IO[bytes]] = []
    detected = Detected(
        format="query",
        columns=tuple(columns),
        header_row=0,
        query=spec.query,
        params=tuple((k, _text(v)) for k, v in params.items()),
    )

    def produce(reader: InputReader) -> Iterator[InputRow]:
        rows: Iterator[tuple[Any, ...]] = iter(result)
        if spooled:  # on the first row asked for: a job only checked reads nothing
            spool, rows = _spooled(result)
            spools.append(spool)
        for number, row in enumerate(rows, start=1):
            yield InputRow(number, dict(zip(columns, row, strict=False)))

    def close() -> None:
        result.close()
        for spool in spools:
            spool.close()

    return InputReader(detected, produce, [close])


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
            yield pickle.load(spool)  # our own file, written just above

    return spool, replay()


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "|".join(str(v) for v in value)
    return "" if value is None else str(value)
