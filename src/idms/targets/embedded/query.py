"""Saved queries as SQL over the embedded store: one SELECT, streamed.

The query's own source is read through its adapter's FROM clause and columns (so a Contact's
primary-address fields come with it); each relation is the related adapter's SELECT as a
subquery, joined on its ``on`` pairs plus the relation's own filters (a LEFT JOIN unless the
relation is required). Text compares and sorts without case, blanks first, as iMIS's SQL Server
collation does, and iMIS IDs sort as numbers (``order_terms``); rows come in the query's order and
then by the source's identity, so paging through them never shows a row twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Dialect, Select, and_, func, select, true

from idms.sources.model import FieldDef
from idms.targets.embedded.adapters.base import SourceAdapter
from idms.targets.embedded.adapters.folding import identity_order, order_terms
from idms.targets.embedded.filters import filter_clause
from idms.values.types import FieldType

if TYPE_CHECKING:
    from idms.queries.compile import BoundFilters, CompiledQuery

Columns = dict[str, ColumnElement[Any]]


def build_query(
    cquery: CompiledQuery,
    bound: BoundFilters,
    adapter_for: Callable[[str], SourceAdapter],
) -> Select[Any]:
    """The SELECT for ``cquery`` with ``bound`` filters, columns labelled by alias."""
    assert cquery.source is not None
    main = adapter_for(cquery.source.name)
    columns: dict[str | None, Columns] = {None: dict(main.columns)}
    from_clause = main.base_select().get_final_froms()[0]
    identity: list[tuple[ColumnElement[Any], FieldDef]] = [
        (main.columns[k], main.source.field(k)) for k in main.source.identity
    ]
    for index, relation in enumerate(cquery.relations.values()):
        related = adapter_for(relation.source.name)
        sub = related.base_select().subquery(f"r{index}")
        rel_columns: Columns = {name: sub.c[name] for name in related.columns}
        columns[relation.name] = rel_columns
        conditions: list[ColumnElement[bool]] = [
            main.columns[mine.name] == rel_columns[theirs.name] for mine, theirs in relation.on
        ]
        conditions.extend(
            filter_clause(relation.source, rel_columns, flt)
            for flt in bound.on.get(relation.name, [])
        )
        on = and_(*conditions) if conditions else true()
        if relation.required:
            from_clause = from_clause.join(sub, on)
        else:
            from_clause = from_clause.outerjoin(sub, on)
        identity.extend((rel_columns[k], related.source.field(k)) for k in related.source.identity)

    selected = [columns[c.relation][c.field.name].label(c.alias) for c in cquery.columns]
    stmt = select(*selected).select_from(from_clause)
    for relation_name, flt in bound.where:
        source = (
            cquery.relations[relation_name].source if relation_name is not None else main.source
        )
        stmt = stmt.where(filter_clause(source, columns[relation_name], flt))

    if cquery.query.distinct:
        inner = stmt.distinct().subquery("q")
        by_alias = {c.alias: inner.c[c.alias] for c in cquery.columns}
        outer = select(*[inner.c[c.alias] for c in cquery.columns])
        order: list[ColumnElement[Any]] = []
        for o in cquery.order:
            same = [c for c in cquery.columns if (c.relation, c.field) == (o.relation, o.field)]
            alias = same[0].alias if same else None
            if alias is not None:
                order.extend(order_terms(by_alias[alias], o.field, o.descending))
        for c in cquery.columns:
            order.extend(order_terms(by_alias[c.alias], c.field, False))
        return outer.order_by(*order)

    order = []
    for o in cquery.order:
        order.extend(order_terms(columns[o.relation][o.field.name], o.field, o.descending))
    for col, fdef in identity:
        order.extend(identity_order(col, fdef))
    return stmt.order_by(*order)


def window(stmt: Select[Any], cquery: CompiledQuery, offset: int, limit: int | None) -> Select[Any]:
    """The rows ``offset`` .. ``offset+limit`` of the first ``cquery.query.limit`` rows."""
    cap = cquery.query.limit
    if cap is not None:
        remaining = max(cap - offset, 0)
        limit = remaining if limit is None else min(limit, remaining)
    if offset:
        stmt = stmt.offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return stmt


def count_statement(stmt: Select[Any], cquery: CompiledQuery) -> Select[Any]:
    """How many rows the query has (its own ``limit`` included)."""
    counted = select(func.count()).select_from(window(stmt, cquery, 0, None).subquery("c"))
    return counted


def converters(cquery: CompiledQuery) -> list[tuple[int, Callable[[Any], Any]]]:
    """Per-column conversions from stored to typed values (only the columns that need one)."""
    out: list[tuple[int, Callable[[Any], Any]]] = []
    for i, column in enumerate(cquery.columns):
        ftype = column.field.type
        if ftype is FieldType.MULTISELECT:
            out.append((i, _codes))
        elif ftype is FieldType.BOOLEAN:
            out.append((i, _BOOLEANS.__getitem__))
    return out


def stored_value_processors(
    stmt: Select[Any], dialect: Dialect
) -> list[tuple[int, Callable[[Any], Any]]]:
    """What SQLAlchemy would do to each column of ``stmt`` read as stored (on SQLite: text to
    dates and date-times, 0/1 to bools, numbers to Decimals), for the columns that need it.

    These are the column types' own result processors, as SQLAlchemy's rows apply them; with
    them, rows read off the DBAPI cursor come out exactly as SQLAlchemy's would.
    """
    out: list[tuple[int, Callable[[Any], Any]]] = []
    for i, column in enumerate(stmt.selected_columns):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            out.append((i, process))
    return out


def typed_rows(
    chunks: Iterator[Sequence[Sequence[Any]]], convert: list[tuple[int, Callable[[Any], Any]]]
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``chunks`` as tuples, converted a column at a time.

    Each chunk is turned into columns (``zip``), the columns that need it are converted with
    ``map`` (in ``convert`` order, so one column can have two conversions) and the rows put back
    together with ``zip``; ``chain`` strings the chunks together.
    No Python code runs per row, and per cell only for the converted columns (a Yes/No column
    not even then: a dict lookup).
    """

    def typed(chunk: Sequence[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
        if not convert:
            return map(tuple, chunk)
        columns: list[Iterable[Any]] = list(zip(*chunk, strict=True))
        for i, fn in convert:
            columns[i] = map(fn, columns[i])
        return zip(*columns, strict=True)

    return chain.from_iterable(map(typed, chunks))


def _codes(value: Any) -> Any:
    return tuple(v for v in value.split(",") if v) or None if value else None


class _Booleans(dict[Any, bool | None]):
    """Stored Yes/No values (0/1, or bools already) to bools, None kept: ``__getitem__`` is a
    dict lookup in C for every usual value; anything else falls back to ``bool()``."""

    def __missing__(self, key: Any) -> bool | None:
        return None if key is None else bool(key)


_BOOLEANS = _Booleans({None: None, 0: False, 1: True})
