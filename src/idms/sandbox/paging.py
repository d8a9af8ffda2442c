"""Lists: ``limit``/``offset`` paging, ``Prop=op:value`` filters and ``OrderBy`` (§2.1–§2.3).

Property names are matched without case against a source's canonical field names, its labels
and the entity's wire names (``SEQN``, ``PartyId``, ``ACTIVITY_TYPE`` ...). A property an
entity returns that is not one stored field is *derived*: it shows any of several fields (a
Party's ``Phone``: :class:`AnyOf`) or is computed from them (its ``FullName``:
:class:`Computed`), and is filtered on what it shows. A property the entity does not have is
ignored, as iMIS does (imis-rest-api.md §2.1: ``Contact?MajorKey=101`` returns every contact).
Pages are read straight from the store with SQL ``OFFSET``/``LIMIT`` and a ``count(*)`` for
``TotalCount``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from idms.errors import FilterError
from idms.paging import MAX_WINDOW
from idms.sandbox.http import invalid
from idms.sources.filters import Filter, Operator
from idms.sources.model import FieldDef, SourceDef
from idms.targets.base import Record
from idms.targets.embedded.adapters.folding import identity_order, order_terms
from idms.targets.embedded.filters import filter_clause
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import wire
from idms.targets.imis.entities import EntitySpec
from idms.values.folding import fold
from idms.values.types import FieldType

TRUE = frozenset({"1", "true", "t", "y", "yes"})
# Operators that exclude: a property shown by several fields passes them only when all do
# (no phone equals X), where the others pass when one does (a phone equals X).
EXCLUDING = frozenset({Operator.NE, Operator.NOT_CONTAIN, Operator.IS_EMPTY, Operator.IS_FALSE})
Columns = Mapping[str, ColumnElement[Any]]


@dataclass
class ListQuery:
    """A list request's query string, split into paging, ordering and filters (raw)."""

    limit: int = wire.DEFAULT_LIMIT
    offset: int = 0
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    filters: list[tuple[str, str]] = field(default_factory=list)  # (property, raw value)
    skip_validation: bool = False  # idms's SkipValidation=true on a write (iDMS's switch)

    @classmethod
    def parse(cls, params: Iterable[tuple[str, str]]) -> ListQuery:
        query = cls()
        for name, value in params:
            key = name.strip().casefold()
            if key == "limit":
                query.limit = wire.clamp_limit(value)
            elif key == "offset":
                query.offset = _offset(value)
            elif key == "orderby":
                query.order_by.extend(_order(value))
            elif key == "skipvalidation":
                query.skip_validation = value.strip().casefold() in TRUE
            else:
                query.filters.append((name.strip(), value))
        return query

    def raw_filter(self, name: str) -> str | None:
        """The raw value of the filter on ``name`` (without case), if there is one."""
        for prop, value in self.filters:
            if prop.casefold() == name.casefold():
                return value
        return None


def _offset(raw: str) -> int:
    """The offset asked for: 0 for one that is not a number (as iMIS reads it), a 400 for one
    beyond any list (:data:`~idms.paging.MAX_WINDOW`), which no database would take."""
    try:
        value = int(raw)
    except ValueError:
        return 0
    if value > MAX_WINDOW:
        raise invalid(
            f"The offset must be a whole number from 0 to {MAX_WINDOW:,}.",
            "invalid_offset",
            "offset",
        )
    return max(0, value)


def _order(raw: str) -> list[tuple[str, bool]]:
    out = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        name, _, direction = part.partition(":")
        out.append((name.strip(), direction.strip().casefold() in ("descending", "desc")))
    return out


@dataclass(frozen=True)
class AnyOf:
    """A property that shows any of several fields: a Party's ``Phone`` is each of its numbers."""

    fields: tuple[str, ...]

    def resolve(self, name: str, raw: str, source: SourceDef) -> AnyFilter:
        flt = wire.parse_filter_param(name, raw)
        parts = tuple(replace(flt, field=source.field(f).name) for f in self.fields)
        return AnyFilter(parts, every=flt.op in EXCLUDING)


@dataclass(frozen=True)
class AnyFilter:
    """Filters on the fields an :class:`AnyOf` shows: one must pass, or all (``every``)."""

    filters: tuple[Filter, ...]
    every: bool


@dataclass(frozen=True)
class Computed:
    """A property computed from fields (a person's ``FullName``), in SQL and in Python alike."""

    sql: Callable[[Columns], ColumnElement[Any]]
    value: Callable[[Record], Any]
    type: FieldType = FieldType.STRING

    def resolve(self, name: str, raw: str, source: SourceDef) -> ComputedFilter:
        fdef = FieldDef(name, name, self.type, "", read_only=True)
        return ComputedFilter(fdef, self, wire.parse_filter_param(name, raw))


@dataclass(frozen=True)
class ComputedFilter:
    fdef: FieldDef
    computed: Computed
    filter: Filter


@dataclass(frozen=True)
class Encoded:
    """A property whose wire values spell one field's stored codes another way: a Person's
    ``Gender`` is 0 or ``Male`` on the wire and M in the store."""

    field: str
    to_store: Callable[[Any], Any]

    def resolve(self, name: str, raw: str, source: SourceDef) -> Filter:
        flt = wire.parse_filter_param(name, raw)
        value = flt.value
        if isinstance(value, (list, tuple)):
            value = type(value)(self._stored(v) for v in value)
        elif value is not None:
            value = self._stored(value)
        return replace(flt, field=source.field(self.field).name, value=value)

    def _stored(self, value: Any) -> Any:
        try:
            return self.to_store(value)
        except ValueError:
            return value


Derived = AnyOf | Computed | Encoded
Resolved = Filter | AnyFilter | ComputedFilter


class Properties:
    """Resolves a wire property name to a source field (None: the entity has no such property).

    ``aliases`` name further wire properties of one field (``UniformId`` -> ContactKey);
    ``derived`` those that are several fields or computed from them (``Phone``, ``FullName``).
    """

    def __init__(
        self,
        source: SourceDef,
        spec: EntitySpec | None = None,
        aliases: Mapping[str, str] | None = None,
        derived: Mapping[str, Derived] | None = None,
    ) -> None:
        self.source = source
        self.spec = spec
        self.aliases = {k.casefold(): v for k, v in (aliases or {}).items()}
        self.derived = {k.casefold(): v for k, v in (derived or {}).items()}
        if "ImisId" in source.field_names:
            self.aliases.setdefault("id", "ImisId")
            self.aliases.setdefault("partyid", "ImisId")

    def field(self, name: str) -> FieldDef | None:
        key = name.strip()
        canonical = self.aliases.get(key.casefold())
        if canonical is None:
            canonical = self.spec.canonical(key) if self.spec is not None else key
        fdef = self.source.find_field(canonical)
        if fdef is None or fdef.secret or fdef.write_only:
            return None
        return fdef

    def filters(self, query: ListQuery) -> list[Resolved]:
        """The query's filters on known properties, as canonical Filters (others ignored)."""
        out: list[Resolved] = []
        for name, raw in query.filters:
            derived = self.derived.get(name.strip().casefold())
            if derived is not None:
                out.append(derived.resolve(name.strip(), raw, self.source))
                continue
            fdef = self.field(name)
            if fdef is None:
                continue
            flt = wire.parse_filter_param(fdef.name, raw)
            out.append(flt)
        return out

    def order(self, query: ListQuery) -> list[tuple[FieldDef, bool]]:
        out = []
        for name, descending in query.order_by:
            fdef = self.field(name)
            if fdef is not None:
                out.append((fdef, descending))
        return out


def read_page(
    target: EmbeddedTarget,
    source: str,
    filters: Sequence[Resolved],
    order: Sequence[tuple[FieldDef, bool]],
    *,
    offset: int,
    limit: int,
) -> tuple[list[Record], int]:
    """(records on the page, total count) of a source under filters and an order.

    The order is the requested fields, then the source's identity, as the store reads it: text
    without case, blanks first (last when descending).
    """
    adapter = target.adapter(source)
    stmt = adapter.base_select()
    for flt in filters:
        stmt = stmt.where(sql_clause(adapter.source, adapter.columns, flt))
    keys: list[ColumnElement[Any]] = []
    for fdef, descending in order:
        col = adapter.columns.get(fdef.name)
        if col is None:
            continue
        keys.extend(order_terms(col, fdef, descending))
    for k in adapter.source.identity:
        keys.extend(identity_order(adapter.columns[k], adapter.source.field(k)))
    with target.engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(stmt.subquery())).scalar() or 0)
        rows = conn.execute(stmt.order_by(*keys).offset(offset).limit(limit)).mappings()
        records = [adapter.to_record(row) for row in rows]
    return records, total


def sql_clause(source: SourceDef, columns: Columns, flt: Resolved) -> ColumnElement[bool]:
    """A resolved filter as a WHERE clause over a source's columns."""
    if isinstance(flt, AnyFilter):
        parts = [filter_clause(source, columns, f) for f in flt.filters]
        return and_(*parts) if flt.every else or_(*parts)
    if isinstance(flt, ComputedFilter):
        extended = replace(source, fields=(*source.fields, flt.fdef))
        computed = {**columns, flt.fdef.name: flt.computed.sql(columns)}
        return filter_clause(extended, computed, flt.filter)
    return filter_clause(source, columns, flt)


def page_in_memory(
    records: Sequence[Record], query: ListQuery, props: Properties
) -> tuple[list[Record], int]:
    """Filter, order and page records already in memory (tables that are not one source)."""
    rows = list(records)
    for flt in props.filters(query):
        rows = [r for r in rows if passes(r, flt)]
    for fdef, descending in reversed(props.order(query)):
        name = fdef.name
        rows.sort(key=lambda r: _sort_key(r.get(name)), reverse=descending)
    return rows[query.offset : query.offset + query.limit], len(rows)


def passes(record: Record, flt: Resolved) -> bool:
    """Whether a record in memory passes a resolved filter (as :func:`sql_clause` would)."""
    if isinstance(flt, AnyFilter):
        results = (_passes(record.get(f.field), f) for f in flt.filters)
        return all(results) if flt.every else any(results)
    if isinstance(flt, ComputedFilter):
        return _passes(flt.computed.value(record), flt.filter)
    return _passes(record.get(flt.field), flt)


def _sort_key(value: Any) -> tuple[bool, str]:
    return (value is not None, fold(str(value or "")))


def _passes(value: Any, flt: Filter) -> bool:
    text = "" if value is None else fold(str(value))
    op = flt.op
    if op is Operator.IS_EMPTY:
        return not text
    if op is Operator.NOT_EMPTY:
        return bool(text)
    if op in (Operator.IN, Operator.BETWEEN):
        parts = [fold(str(v)) for v in flt.value]
        if op is Operator.IN:
            return text in parts
        if len(parts) != 2:
            raise FilterError(f"'between' on {flt.field} takes two values, LOW|HIGH.")
        return parts[0] <= text <= parts[1]
    if op in (Operator.IS_TRUE, Operator.IS_FALSE):
        raise FilterError(f"'{op.value}' applies to Yes/No fields; {flt.field} is not one.")
    wanted = fold(str(flt.value or ""))
    checks = {
        Operator.EQ: lambda: text == wanted,
        Operator.NE: lambda: text != wanted,
        Operator.GT: lambda: text > wanted,
        Operator.GE: lambda: text >= wanted,
        Operator.LT: lambda: text < wanted,
        Operator.LE: lambda: text <= wanted,
        Operator.CONTAINS: lambda: wanted in text,
        Operator.NOT_CONTAIN: lambda: wanted not in text,
        Operator.STARTS_WITH: lambda: text.startswith(wanted),
        Operator.ENDS_WITH: lambda: text.endswith(wanted),
    }
    return checks[op]()
