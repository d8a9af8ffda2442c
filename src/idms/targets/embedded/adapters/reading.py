"""Reading a source's records: its columns, its SELECT, records from rows, filtered reads and
fetches by identity (before-images), and the contacts a batch's references name."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Result, Select, Table, and_, select

from idms.errors import FilterError
from idms.sources.filters import Filter
from idms.sources.model import FieldDef, SourceDef
from idms.targets.base import Record
from idms.targets.embedded.adapters.context import StorePolicy
from idms.targets.embedded.adapters.folding import (
    MATCH_CHUNK,
    among,
    fold_text,
    folded,
    identity_order,
    is_key_like,
    order_terms,
    spellings,
)
from idms.targets.embedded.filters import filter_clause
from idms.targets.embedded.schema import snake
from idms.values.types import FieldType


class Reading:
    """A source stored in ``table`` (its main table), one column per stored field."""

    def __init__(self, source: SourceDef, table: Table, policy: StorePolicy) -> None:
        self.source = source
        self.table = table
        self.policy = policy
        self.fields: dict[str, FieldDef] = {f.name: f for f in source.fields}
        self.columns: dict[str, ColumnElement[Any]] = self.read_columns()
        self._record_shape: tuple[list[str], list[str], list[str]] | None = None
        # A record's identity is looked up for every record matched and written: most
        # sources are identified by one field, taken without a loop.
        self._one_identity = source.identity[0] if len(source.identity) == 1 else None

    def read_columns(self) -> dict[str, ColumnElement[Any]]:
        """Canonical field -> SQL expression, for every field a record shows."""
        cols: dict[str, ColumnElement[Any]] = {}
        for f in self.source.fields:
            name = snake(f.name)
            if not f.write_only and not f.secret and name in self.table.c:
                cols[f.name] = self.table.c[name]
        return cols

    def build_select(self) -> Select[Any]:
        """The SELECT of every readable field, labelled by canonical name (subclasses join)."""
        return select(*[col.label(name) for name, col in self.columns.items()])

    def base_select(self) -> Select[Any]:
        """``build_select``, built once: statements are immutable and cost ~0.2 ms to build."""
        built: Select[Any] | None = getattr(self, "_select", None)
        if built is None:
            built = self._select = self.build_select()
        return built

    def key_select(self, dialect: str, names: Sequence[str]) -> Select[Any]:
        """The SELECT that looks records up by the fields ``names`` (a match, a fetch by
        identity: a few hundred records, each found through an index) on a ``dialect``
        database: ``base_select``, unless a subclass knows a form that plans better there."""
        return self.base_select()

    def _shape(self) -> tuple[list[str], list[str], list[str]]:
        """The fields a record shows, and those of them stored as 0/1 and as comma lists."""
        shape = self._record_shape
        if shape is None:
            types = {name: self.fields[name].type for name in self.columns}
            shape = self._record_shape = (
                list(self.columns),
                [n for n, t in types.items() if t is FieldType.BOOLEAN],
                [n for n, t in types.items() if t is FieldType.MULTISELECT],
            )
        return shape

    def to_record(self, row: Mapping[Any, Any]) -> Record:
        names, flags, multi = self._shape()
        return self._finish({name: row[name] for name in names}, flags, multi)

    @staticmethod
    def _finish(record: Record, flags: list[str], multi: list[str]) -> Record:
        """``record`` with its flags as booleans and its multi-select values as tuples."""
        for name in flags:
            value = record[name]
            if value is not None:
                record[name] = bool(value)
        for name in multi:
            value = record[name]
            record[name] = tuple(v for v in value.split(",") if v) if value else None
        return record

    def records(self, result: Result[Any]) -> Iterator[Record]:
        """:meth:`to_record` of each row of ``result`` (of a SELECT labelled by field name, as
        ``base_select`` and ``key_select`` are), each built by column position."""
        names, flags, multi = self._shape()
        keys = list(result.keys())
        if keys != names:  # another order or shape: each record built by name
            for mapping in result.mappings():
                yield self.to_record(mapping)
            return
        finish = self._finish if flags or multi else None
        for row in result:
            record = dict(zip(names, row, strict=True))
            yield record if finish is None else finish(record, flags, multi)

    def identity_of(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        one = self._one_identity
        if one is not None:
            return (fold_text(record.get(one)),)
        get = record.get
        return tuple([fold_text(get(k)) for k in self.source.identity])

    def identity_clause(
        self, identities: Sequence[tuple[Any, ...]], dialect: str = ""
    ) -> ColumnElement[bool]:
        parts = []
        for i, name in enumerate(self.source.identity):
            values = {ident[i] for ident in identities}
            parts.append(self.in_clause(name, values, dialect))
        return and_(*parts)

    def in_clause(self, name: str, values: set[Any], dialect: str = "") -> ColumnElement[bool]:
        """``field IN values``, text compared without case, using an index where one serves
        (on ``dialect``'s terms: :func:`among`)."""
        col = self.columns[name]
        fdef = self.fields[name]
        if not fdef.type.is_text:
            return among(col, sorted(values, key=repr), dialect)
        if is_key_like(fdef):
            return among(col, spellings(values), dialect)
        return among(folded(col), sorted({fold_text(str(v)) for v in values}), dialect)

    def read(
        self,
        conn: Connection,
        filters: Sequence[Filter],
        order_by: Sequence[str],
        limit: int | None,
    ) -> Iterator[Record]:
        stmt = self.base_select()
        for flt in filters:
            stmt = stmt.where(filter_clause(self.source, self.columns, flt))
        order: list[ColumnElement[Any]] = []
        for name in order_by:
            descending = name.startswith("-")
            fdef = self.source.field(name.lstrip("-"))
            col = self.columns.get(fdef.name)
            if col is None:
                raise FilterError(f"Cannot order by {fdef.name}: it is not readable.")
            order.extend(order_terms(col, fdef, descending))
        for k in self.source.identity:
            order.extend(identity_order(self.columns[k], self.fields[k]))
        stmt = stmt.order_by(*order)
        if limit is not None:
            stmt = stmt.limit(limit)
        result = conn.execution_options(yield_per=1000).execute(stmt)
        yield from self.records(result)

    def fetch(
        self, conn: Connection, identities: Sequence[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], Record]:
        """Current records by identity (folded), in as few queries as the chunks allow."""
        found: dict[tuple[Any, ...], Record] = {}
        unique = list(dict.fromkeys(identities))
        key_select = self.key_select(conn.dialect.name, self.source.identity)
        for start in range(0, len(unique), MATCH_CHUNK):
            chunk = unique[start : start + MATCH_CHUNK]
            stmt = key_select.where(self.identity_clause(chunk, conn.dialect.name))
            for record in self.records(conn.execute(stmt)):
                found[self.identity_of(record)] = record
        return found


def load_contacts(conn: Connection, ids: set[str]) -> dict[str, Record]:
    """Contacts by folded iMIS ID, for reference checks and the records that show contact
    fields (ImisId, IsOrganization, Email, FirstName, LastName)."""
    from idms.targets.embedded.schema import contacts

    found: dict[str, Record] = {}
    wanted = sorted(ids)
    c = contacts.c
    for start in range(0, len(wanted), MATCH_CHUNK):
        chunk = wanted[start : start + MATCH_CHUNK]
        stmt = select(c.imis_id, c.is_organization, c.email, c.first_name, c.last_name).where(
            among(c.imis_id, spellings(chunk), conn.dialect.name)
        )
        for imis_id, is_org, email, first_name, last_name in conn.execute(stmt):
            found[imis_id.lower()] = {
                "ImisId": imis_id,
                "IsOrganization": bool(is_org),
                "Email": email,
                "FirstName": first_name,
                "LastName": last_name,
            }
    return found
