"""Contacts as iMIS's typed Party contract: ``Party``, ``Person``, ``Organization`` (§3).

``GET /api/Party[/{id}]`` answers PersonData / OrganizationData; ``POST /api/Person`` or
``/api/Organization`` creates (201; a supplied free ``Id`` is used, a taken one is refused with
the store's code); ``PUT /api/Party/{id}`` takes the whole object back (GET → modify → PUT);
``DELETE`` is refused by the store. ``PartySummary`` is a light read-only view and
``AddressPurpose`` lists the store's address purposes.
"""

from __future__ import annotations

from typing import Any

from idms.sandbox.context import Sandbox
from idms.sandbox.http import ApiError, Reply, created, not_found, ok
from idms.sandbox.paging import ListQuery, Properties, page_in_memory
from idms.sandbox.party_properties import ALIASES, DERIVED
from idms.sandbox.partybody import PartyBodies
from idms.sources.filters import Filter, Operator
from idms.targets.base import Change, ChangeKind, Record
from idms.targets.imis import wire

CONTACT = "Contact"
KINDS = {"party": None, "person": False, "organization": True}  # entity -> IsOrganization
ITEM_TYPES = {
    "party": wire.contract("PartyData"),
    "person": wire.contract("PersonData"),
    "organization": wire.contract("OrganizationData"),
}
SUMMARY = wire.contract("PartySummaryData")


def is_party(entity: str) -> bool:
    return entity.casefold() in KINDS


class Parties:
    """The Party family of entities over the store's Contact source."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.bodies = PartyBodies(sandbox)

    def _party(self, record: Record) -> dict[str, Any]:
        return self.bodies.party(record)

    def _props(self) -> Properties:
        return Properties(self.sb.source(CONTACT), aliases=ALIASES, derived=DERIVED)

    def _kind_filter(self, entity: str) -> list[Filter]:
        kind = KINDS[entity.casefold()]
        if kind is None:
            return []
        return [Filter("IsOrganization", Operator.IS_TRUE if kind else Operator.IS_FALSE)]

    # ---- reads ----------------------------------------------------------------------------------

    def listing(self, entity: str, query: ListQuery) -> Reply:
        source = self.sb.source(CONTACT)
        records, total = self.sb.page(source, query, self._props(), extra=self._kind_filter(entity))
        items = self.bodies.parties(records)
        item_type = ITEM_TYPES[entity.casefold()]
        return ok(
            wire.paged_result(items, item_type, offset=query.offset, limit=query.limit, total=total)
        )

    def one(self, entity: str, ident: str) -> Record:
        record = self.sb.get(self.sb.source(CONTACT), ident, "contact")
        kind = KINDS[entity.casefold()]
        if kind is not None and bool(record.get("IsOrganization")) is not kind:
            raise not_found(f"No contact was found with the identity '{ident}'.")
        return record

    def get(self, entity: str, ident: str) -> Reply:
        return ok(self._party(self.one(entity, ident)))

    # ---- writes ---------------------------------------------------------------------------------

    # A write and the reads around it share one transaction (``Sandbox.together``): the
    # contact and its addresses are read on the write's connection, not on one each.

    def create(self, entity: str, body: dict[str, Any]) -> Reply:
        read = self.bodies.read(body, KINDS[entity.casefold()])
        with self.sb.together() as write:
            return created(self.bodies.create(write, read))

    def update(self, entity: str, ident: str, body: dict[str, Any]) -> Reply:
        # The body is read before the write lock is taken (it needs nothing of the store), so
        # that one request's reading does not hold up another's writing; a body refused is
        # answered after the contact is found, as before (an unknown contact is a 404 first).
        try:
            read, refusal = self.bodies.read(body, KINDS[entity.casefold()]), None
        except ApiError as exc:
            read, refusal = None, exc
        with self.sb.together() as write:
            current = self.one(entity, ident)
            if refusal is not None:
                raise refusal
            assert read is not None
            return ok(self.bodies.update(write, current, read))

    def delete(self, entity: str, ident: str) -> Reply:
        identity = self.sb.identity(self.sb.source(CONTACT), ident) or {"ImisId": ident}
        self.sb.write(CONTACT, Change(ChangeKind.DELETE, identity=identity))
        return ok(None)  # never reached: the store refuses to delete contacts

    # ---- PartySummary, AddressPurpose ----------------------------------------------------------

    def _summary(self, record: Record) -> dict[str, Any]:
        is_org = bool(record.get("IsOrganization"))
        name = record.get("OrganizationName") if is_org else None
        if not is_org:
            name = " ".join(str(p) for p in (record.get("FirstName"), record.get("LastName")) if p)
        return {
            "$type": SUMMARY,
            "PartyId": record.get("ImisId"),
            "Id": record.get("ImisId"),
            "UniformId": str(record.get("ContactKey") or "").lower() or None,
            "Name": name,
            "IsOrganization": is_org,
            "Email": record.get("Email"),
            "Phone": record.get("WorkPhone")
            or record.get("HomePhone")
            or record.get("MobilePhone"),
            "CustomerTypeCode": record.get("MemberType"),
            "Status": record.get("Status"),
        }

    def summaries(self, query: ListQuery) -> Reply:
        records, total = self.sb.page(self.sb.source(CONTACT), query, self._props())
        items = [self._summary(r) for r in records]
        return ok(
            wire.paged_result(items, SUMMARY, offset=query.offset, limit=query.limit, total=total)
        )

    def summary(self, ident: str) -> Reply:
        return ok(self._summary(self.one("party", ident)))

    def address_purposes(self, query: ListQuery) -> Reply:
        default = self.sb.target.policy.default_address_purpose
        codes = self.sb.target.lookup_codes("ADDRESS_PURPOSE")
        rows: list[Record] = [
            {"Name": code, "Description": description, "IsDefaultAddress": code == default}
            for code, description in sorted(codes.items())
        ]
        source = self.sb.source("LookupTable")
        props = Properties(source, aliases={"Name": "Code"})
        for row in rows:
            row["Code"] = row["Name"]
        page, total = page_in_memory(rows, query, props)
        item_type = wire.contract("AddressPurposeData")
        items = [
            {"$type": item_type, "Name": r["Name"], "Description": r["Description"],
             "IsDefaultAddress": r["IsDefaultAddress"]}
            for r in page
        ]  # fmt: skip
        return ok(
            wire.paged_result(items, item_type, offset=query.offset, limit=query.limit, total=total)
        )
