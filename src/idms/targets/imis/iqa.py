"""Running a saved query over REST: the query's IQA, page by page (imis-rest-api.md §7).

``GET /api/iqa?QueryName={iqa path}&parameter=...&limit=&offset=`` (or ``/api/query``, the
EMS endpoint, chosen by the ``IDMS_IMIS_QUERY_ENDPOINT`` setting): one ``parameter=`` per prompt
in the query's prompt order, blank for one not given. Pages of 500 are read until ``HasNext`` is
false; ``offset`` and ``limit`` select a window of the rows, so the first request starts at
``offset`` and the last asks only for what is still wanted.

A saved query (one with ``from``) is checked here before any request (a missing required prompt,
a value that is not of its field's type); its columns are its aliases, and each value is read
as its field's type (booleans, numbers, dates and date-times from ISO text, multi-select
``"A,B"`` as a tuple of codes) so that rows compare equal to the embedded store's. An IQA known
only by its path takes its parameters in the order given; its columns are the property names
of the first row (``ResultRow`` left out) and its values come as iMIS sends them, unboxed.
The first page is fetched by :func:`run_query` itself, so ``columns`` and ``count`` (the
``TotalCount`` iMIS reports) are known before the rows are read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from idms.config import QueryEndpoint
from idms.errors import TerminalTargetError
from idms.queries.model import QueryInvalid
from idms.sources.model import FieldDef
from idms.targets.base import QueryResult
from idms.targets.imis import entities, wire
from idms.targets.imis.client import PAGE_LIMIT, ImisClient, ImisRefused
from idms.values.types import FieldType

if TYPE_CHECKING:
    from idms.queries.compile import CompiledQuery

Row = dict[str, Any]
Page = tuple[list[Row], bool, int, int]  # rows, has_next, next_offset, total


def run_query(
    client: ImisClient,
    compiled: CompiledQuery,
    params: Mapping[str, Any] | None,
    *,
    endpoint: QueryEndpoint = "iqa",
    offset: int = 0,
    limit: int | None = None,
) -> QueryResult:
    """The rows of ``compiled``'s IQA for ``params`` (prompt name -> value), streamed."""
    given = dict(params or {})
    if compiled.source is not None:
        compiled.bind(given)  # QueryInvalid before anything is sent
    values = compiled.parameter_values(given)
    base: list[tuple[str, Any]] = [("QueryName", compiled.iqa_path)]
    base.extend(("parameter", value) for value in values)
    path = f"api/{endpoint}"
    start = max(0, offset)
    wanted = None if limit is None else max(0, limit)

    def fetch(at: int, got: int) -> Page:
        size = PAGE_LIMIT if wanted is None else max(1, min(PAGE_LIMIT, wanted - got))
        try:
            page = client.get(path, [*base, ("limit", size), ("offset", at)])
        except ImisRefused as exc:
            raise _refused(compiled, endpoint, exc) from None
        if not isinstance(page, Mapping):
            raise TerminalTargetError(
                f"iMIS answered GET /{path} for {compiled.iqa_path} with no paged result."
            )
        items, has_next, next_offset, total = wire.page_items(page)
        return [wire.query_row(item) for item in items], has_next, next_offset, total

    first = fetch(start, 0)
    rows, total = first[0], first[3]
    if compiled.source is not None:
        columns = compiled.aliases
        convert = _typed_rows(compiled, rows)
    else:
        columns = tuple(rows[0]) if rows else ()
        convert = _plain_rows(columns)

    def stream() -> Iterator[tuple[Any, ...]]:
        batch, has_next, next_offset, _ = first
        at, got = start, 0
        while True:
            for row in batch:
                if wanted is not None and got >= wanted:
                    return
                yield convert(row)
                got += 1
            done = wanted is not None and got >= wanted
            if done or not has_next or not batch or next_offset <= at:
                return
            at = next_offset
            batch, has_next, next_offset, _ = fetch(at, got)

    return QueryResult(columns, stream(), count=lambda: total)


def _refused(compiled: CompiledQuery, endpoint: str, exc: ImisRefused) -> Exception:
    """What a refusal of the IQA call means for the caller."""
    messages = [message for message, _, _ in exc.validation_errors]
    if exc.status == 400:
        return QueryInvalid(messages or [str(exc)], name=compiled.name)
    if exc.status == 404:
        said = messages[0] if messages else _message(exc.body)
        return QueryInvalid(
            [f"iMIS has no query at {compiled.iqa_path} (/api/{endpoint} answered 404: {said})"],
            name=compiled.name,
        )
    return exc


def _message(body: Any) -> str:
    if isinstance(body, Mapping) and body.get("Message"):
        return str(body["Message"])
    return "no message"


# ---- values ------------------------------------------------------------------------------------


def _typed_rows(compiled: CompiledQuery, first: Sequence[Row]) -> Callable[[Row], tuple[Any, ...]]:
    """Rows by alias as tuples of typed values; an alias the IQA does not answer is an error."""
    keys = _keys(compiled, first)
    converters = [_converter(column.field) for column in compiled.columns]
    pairs = list(zip(keys, converters, strict=True))

    def convert(row: Row) -> tuple[Any, ...]:
        return tuple(fn(row.get(key)) for key, fn in pairs)

    return convert


def _keys(compiled: CompiledQuery, first: Sequence[Row]) -> list[str]:
    """The property name answering each alias (as written, else without case)."""
    if not first:
        return list(compiled.aliases)
    present: dict[str, str] = {}
    for row in first:
        for name in row:
            present.setdefault(name, name)
            present.setdefault(name.casefold(), name)
    keys, missing = [], []
    for alias in compiled.aliases:
        key = present.get(alias) or present.get(alias.casefold())
        if key is None:
            missing.append(alias)
        keys.append(key or alias)
    if missing:
        shown = ", ".join(n for n in dict.fromkeys(present.values()))
        raise TerminalTargetError(
            f"The IQA {compiled.iqa_path} has no column {', '.join(missing)} (it has: "
            f"{shown or 'none'}); the IQA in iMIS and the saved query '{compiled.name}' disagree."
        )
    return keys


def _converter(fdef: FieldDef) -> Callable[[Any], Any]:
    ftype = fdef.type
    if ftype is FieldType.MULTISELECT:
        return _codes
    if ftype.is_text:
        return _text
    label = fdef.label

    def typed(value: Any) -> Any:
        return entities.typed(ftype, value, label)

    return typed


def _codes(value: Any) -> Any:
    """``"A,B"`` -> ``("A", "B")``, as the embedded store reads a multi-select."""
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value) or None
    return tuple(v for v in str(value).split(",") if v) or None


def _text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _plain_rows(columns: Sequence[str]) -> Callable[[Row], tuple[Any, ...]]:
    def convert(row: Row) -> tuple[Any, ...]:
        return tuple(row.get(name) for name in columns)

    return convert
