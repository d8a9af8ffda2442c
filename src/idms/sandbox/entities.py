"""Generic business objects: panels, Activity, Address, Relationship, GroupMember ... (§4, §5).

Each is served as GenericEntityData (``entities.entity_from_record``): a panel or Activity with
iMIS's property names (``PartyId``, ``SEQN``, ``ACTIVITY_TYPE`` ...), the other sources with their
canonical field names. The identity in a URL is ``/{id}`` for one key and ``/~{a}|{b}`` for
several (``%7C`` accepted); ``LookupTable`` is served as ``GenTable``, whose entity-backed tables
(EVENT, FUNCTION, GROUP, GIFT_ITEM, PAYMENT_METHOD) are read-only lists built from their tables.
"""

from __future__ import annotations

from typing import Any

from idms.errors import CoercionError
from idms.sandbox.context import Sandbox, changed, writable
from idms.sandbox.http import Reply, created, invalid, not_found, ok
from idms.sandbox.paging import ListQuery, Properties, page_in_memory
from idms.sources.catalog import ENTITY_LOOKUPS
from idms.sources.filters import Operator
from idms.sources.model import SourceDef
from idms.targets.base import Change, ChangeKind, Record
from idms.targets.imis import wire
from idms.targets.imis.entities import EntitySpec, entity_from_record, values_from_entity

# Further property names a filter may use, per source (wire name -> canonical field).
ALIASES: dict[str, dict[str, str]] = {
    "EventRegistration": {
        "PartyId": "RegistrantId",
        "ID": "RegistrantId",
        "EventId": "EventCode",
        "RegistrationOptionFunctionId": "FunctionCode",
    },
    "Gift": {"PartyId": "DonorId", "ID": "DonorId"},
    "GroupMember": {"GroupId": "GroupName"},
    "EventFunction": {"EventId": "EventCode", "FunctionId": "FunctionCode"},
    "Event": {"EventId": "EventCode"},
    "UserData": {"UserName": "Username"},
}
GEN_TABLE = "LookupTable"


def entity_of(spec: EntitySpec, source: SourceDef, record: Record) -> dict[str, Any]:
    """A record as GenericEntityData (an event registration also names its ``PartyId``)."""
    obj = entity_from_record(spec, source, record)
    if source.name == "EventRegistration":
        obj["Properties"]["$values"].append(
            wire.property_data("PartyId", record.get("RegistrantId"))
        )
    return obj


def properties(source: SourceDef, spec: EntitySpec) -> Properties:
    return Properties(source, spec, ALIASES.get(source.name))


def entity_values(spec: EntitySpec, source: SourceDef, body: dict[str, Any]) -> dict[str, Any]:
    """A GenericEntityData body's writable values (400 when a value has the wrong type)."""
    try:
        values = values_from_entity(spec, source, body)
    except CoercionError as exc:
        raise invalid(exc.message, exc.code) from None
    return writable(source, values)


class Generic:
    """GET (list, one), POST, PUT and DELETE of any source served as GenericEntityData."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    def listing(self, source: SourceDef, spec: EntitySpec, query: ListQuery) -> Reply:
        if source.name == GEN_TABLE:
            table = self._entity_table(query)
            if table is not None:
                return self._entity_table_list(source, spec, table, query)
        records, total = self.sb.page(source, query, properties(source, spec))
        items = [entity_of(spec, source, r) for r in records]
        return ok(
            wire.paged_result(
                items, wire.GENERIC_ENTITY, offset=query.offset, limit=query.limit, total=total
            )
        )

    def get(self, source: SourceDef, spec: EntitySpec, ident: str) -> Reply:
        if source.name == GEN_TABLE:
            identity = self.sb.identity(source, ident)
            if identity is not None and str(identity["TableName"]).upper() in ENTITY_LOOKUPS:
                rows = self._entity_rows(str(identity["TableName"]).upper())
                code = str(identity["Code"]).casefold()
                for row in rows:
                    if str(row["Code"]).casefold() == code:
                        return ok(entity_of(spec, source, row))
                raise not_found(f"No {spec.entity} was found with the identity '{ident}'.")
        record = self.sb.get(source, ident, spec.entity)
        return ok(entity_of(spec, source, record))

    def create(self, source: SourceDef, spec: EntitySpec, body: dict[str, Any]) -> Reply:
        values = entity_values(spec, source, body)
        record = self.sb.write(source.name, Change(ChangeKind.INSERT, values))
        assert record is not None
        return created(entity_of(spec, source, record))

    def update(
        self, source: SourceDef, spec: EntitySpec, ident: str, body: dict[str, Any]
    ) -> Reply:
        current = self.sb.get(source, ident, spec.entity)
        identity = {k: current[k] for k in source.identity}
        values = changed(entity_values(spec, source, body), current)
        record = self.sb.write(source.name, Change(ChangeKind.UPDATE, values, identity=identity))
        assert record is not None
        return ok(entity_of(spec, source, record))

    def delete(self, source: SourceDef, spec: EntitySpec, ident: str) -> Reply:
        identity = self.sb.identity(source, ident)
        if identity is None:
            raise not_found(f"No {spec.entity} was found with the identity '{ident}'.")
        self.sb.write(source.name, Change(ChangeKind.DELETE, identity=identity))
        return ok(None)

    # ---- GenTable over the entity-backed lookup tables -----------------------------------------

    @staticmethod
    def _entity_table(query: ListQuery) -> str | None:
        raw = query.raw_filter("TableName")
        if raw is None:
            return None
        flt = wire.parse_filter_param("TableName", raw)
        if flt.op is not Operator.EQ:
            return None
        name = str(flt.value or "").strip().upper()
        return name if name in ENTITY_LOOKUPS else None

    def _entity_rows(self, table: str) -> list[Record]:
        codes = self.sb.target.lookup_codes(table)
        return [
            {"TableName": table, "Code": code, "Description": description, "Expansion": None}
            for code, description in sorted(codes.items(), key=lambda kv: kv[0].casefold())
        ]

    def _entity_table_list(
        self, source: SourceDef, spec: EntitySpec, table: str, query: ListQuery
    ) -> Reply:
        rows = self._entity_rows(table)
        others = ListQuery(
            query.limit,
            query.offset,
            query.order_by,
            [(k, v) for k, v in query.filters if k.casefold() != "tablename"],
        )
        page, total = page_in_memory(rows, others, properties(source, spec))
        items = [entity_of(spec, source, r) for r in page]
        return ok(
            wire.paged_result(
                items, wire.GENERIC_ENTITY, offset=query.offset, limit=query.limit, total=total
            )
        )
