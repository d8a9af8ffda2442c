"""Standard iMIS endpoints clients call besides the data sources (ASI's Postman collections).

* Read-only lookups, typed as iMIS types them, from the store's lookup tables: ``Country``
  (CountryData), ``PartyStatus`` (PartyStatusData), ``NamePrefix``, ``NameSuffix`` and ``Group``
  (GroupData): ``GET /api/{Type}`` (paged, filterable by any member) and ``/api/{Type}/{id}``.
* ``CsContact``: the contact business object as GenericEntityData (``ID``, ``FirstName``,
  ``MemberType``, ``PaidThrough`` ...), read and updated through the Contact source's rules, as
  ACHPER's scripts use it (GET, then PUT the object back).
* ``metadata/Party`` (and ``Person``, ``Organization``, ``PartySummary``): the Party contract's
  definition, in the BOEntityDefinitionData shape ``metadata`` answers for business objects.

Shapes are minimal: the members a client reads (ids, names, descriptions), not iMIS's full
contracts; the envelope is the PagedResult every list answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idms.sandbox.context import Sandbox
from idms.sandbox.discovery import DEFINITION, PROPERTIES, property_definition
from idms.sandbox.http import Reply, not_found, not_implemented, ok
from idms.sandbox.paging import ListQuery, Properties, page_in_memory
from idms.sources.model import FieldDef, SourceDef
from idms.targets.base import Record
from idms.targets.imis import wire
from idms.targets.imis.entities import EntitySpec

CONTACT = "Contact"


@dataclass(frozen=True)
class Lookup:
    """A lookup table served as a typed contract: its id and name members, its description's."""

    table: str
    contract: str
    id_member: str
    name_member: str | None = "Name"
    description_member: str | None = "Description"

    def item(self, code: str, description: str) -> dict[str, Any]:
        obj: dict[str, Any] = {"$type": self.contract, self.id_member: code}
        if self.name_member:
            obj[self.name_member] = description or code
        if self.description_member:
            obj[self.description_member] = description
        return obj

    def members(self) -> list[str]:
        return [m for m in (self.id_member, self.name_member, self.description_member) if m]


LOOKUPS = {
    "country": Lookup("COUNTRY", wire.contract("CountryData"), "CountryCode", "CountryName", None),
    "partystatus": Lookup("CONTACT_STATUS", wire.contract("PartyStatusData"), "PartyStatusId"),
    "nameprefix": Lookup("PREFIX", wire.contract("NamePrefixData"), "NamePrefixId"),
    "namesuffix": Lookup("SUFFIX", wire.contract("NameSuffixData"), "NameSuffixId"),
    "group": Lookup("GROUP", wire.contract("GroupData"), "GroupId"),
}

# CsContact: the Contact source as a business object, with iMIS's key name.
CS_CONTACT = EntitySpec(CONTACT, "CsContact", "generic", {"ImisId": "ID"}, "Party")

# The Party contract's members, by Contact field (metadata/Party); PartySummary's own list.
PARTY_MEMBERS = {
    "ImisId": "PartyId",
    "ContactKey": "UniformId",
    "Prefix": "NamePrefix",
    "Suffix": "NameSuffix",
    "OrganizationId": "OrganizationPartyId",
    "City": "CityName",
    "StateProvince": "CountrySubEntityCode",
    "Country": "CountryName",
    "Status": "PartyStatusId",
    "MemberType": "CustomerTypeCode",
    "PaidThrough": "PaidThruDate",
}
PERSON_ONLY = frozenset({"FirstName", "MiddleName", "LastName", "InformalName", "Prefix", "Suffix"})
SUMMARY_MEMBERS = (
    "PartyId",
    "Id",
    "UniformId",
    "Name",
    "IsOrganization",
    "Email",
    "Phone",
    "CustomerTypeCode",
    "Status",
)


def is_lookup(entity: str) -> bool:
    return entity.casefold() in LOOKUPS


class Standard:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    # ---- lookups -------------------------------------------------------------------------------

    def _rows(self, lookup: Lookup) -> list[Record]:
        codes = self.sb.target.lookup_codes(lookup.table)
        ordered = sorted(codes.items(), key=lambda kv: kv[0].casefold())
        return [lookup.item(code, description) for code, description in ordered]

    def lookup(self, method: str, entity: str, ident: str | None, query: ListQuery) -> Reply:
        if method != "GET":
            raise not_implemented()  # read-only here: lookup codes are set up in the store
        lookup = LOOKUPS[entity.casefold()]
        rows = self._rows(lookup)
        if ident is not None:
            wanted = ident.casefold()
            for row in rows:
                if str(row[lookup.id_member]).casefold() == wanted:
                    return ok(row)
            raise not_found(f"No {entity} was found with the identity '{ident}'.")
        source = _table_source(lookup)
        page, total = page_in_memory(rows, query, Properties(source))
        return ok(
            wire.paged_result(
                page, lookup.contract, offset=query.offset, limit=query.limit, total=total
            )
        )

    # ---- metadata of the Party contract --------------------------------------------------------

    def metadata(self, entity: str) -> Reply | None:
        """The definition of a Party-family contract, or None for any other entity."""
        name = entity.casefold()
        contact = self.sb.source(CONTACT)
        if name == "partysummary":
            props = [
                property_definition(
                    EntitySpec(CONTACT, "PartySummary", "party"),
                    _table_source_named("PartySummary", SUMMARY_MEMBERS),
                    FieldDef(member, member),
                )
                for member in SUMMARY_MEMBERS
            ]
            return ok(_definition("PartySummary", props))
        if name not in ("party", "person", "organization"):
            return None
        spec = EntitySpec(CONTACT, entity, "party", PARTY_MEMBERS)
        fields = [f for f in contact.fields if not f.secret and not f.write_only]
        if name == "organization":
            fields = [f for f in fields if f.name not in PERSON_ONLY]
        if name == "person":
            fields = [f for f in fields if f.name != "OrganizationName"]
        props = [property_definition(spec, contact, f) for f in fields]
        title = {"party": "Party", "person": "Person", "organization": "Organization"}[name]
        return ok(_definition(title, props))


def _definition(entity: str, props: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "$type": DEFINITION,
        "EntityTypeName": entity,
        "ObjectTypeName": "Standard",
        "PrimaryParentEntityTypeName": None,
        "Properties": wire.collection(PROPERTIES, props),
    }


def _table_source(lookup: Lookup) -> SourceDef:
    return _table_source_named(lookup.contract, tuple(lookup.members()))


def _table_source_named(name: str, members: tuple[str, ...]) -> SourceDef:
    """A throw-away source whose fields are a contract's members (filters and order by them)."""
    return SourceDef(
        name=name,
        label=name,
        description="",
        fields=tuple(FieldDef(m, m) for m in members),
        identity=(members[0],),
        keys=members[0],
        actions=frozenset(),
    )
