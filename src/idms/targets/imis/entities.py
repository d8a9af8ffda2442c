"""How each idms source looks on the iMIS REST API: its entity, its URL identity, its JSON.

Shared by the REST target (records -> requests, responses -> records) and the sandbox (requests
-> records, records -> responses), so both sides agree by construction.

* Contact is the typed Party contract (PersonData / OrganizationData, imis-rest-api.md §3.2).
* Activity, panels and UserData are GenericEntityData business objects with iMIS's property
  names (``SEQN``, ``ACTIVITY_TYPE``, ``PartyId`` ...), §4–§6.3.
* The other sources are served as GenericEntityData business objects named after the source,
  with the canonical field names as properties (``PartyId`` for the iMIS ID). Real iMIS spreads
  some of them over other endpoints (addresses inside Party, GenTable for lookup codes); the
  sandbox serves this uniform shape and the differences are written down in docs/sandbox.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal
from urllib.parse import quote, unquote

from idms.errors import CoercionError
from idms.sources.model import SourceDef
from idms.targets.base import Record
from idms.targets.imis import partydata, wire
from idms.targets.imis.partydata import ATTRIBUTES, PHONES, PRIMARY_EMAIL
from idms.values.coerce import coerce
from idms.values.types import FieldType

ACTIVITY_PROPERTIES = {
    "Seqn": "SEQN",
    "ImisId": "PartyId",
    "ActivityType": "ACTIVITY_TYPE",
    "ProductCode": "PRODUCT_CODE",
    "TransactionDate": "TRANSACTION_DATE",
    "EffectiveDate": "EFFECTIVE_DATE",
    "ThruDate": "THRU_DATE",
    "Description": "DESCRIPTION",
    "Amount": "AMOUNT",
    "Units": "UNITS",
    "Category": "CATEGORY",
    "Note": "NOTE",
    "Source": "SOURCE_CODE",
    "CampaignCode": "CAMPAIGN_CODE",
    "ActionCodes": "ACTION_CODES",
    "BatchNumber": "BATCH_NUM",
    "OriginatingTransNum": "ORIGINATING_TRANS_NUM",
    "MemberType": "MEMBER_TYPE",
    "OrganizationId": "CO_ID",
}
USER_DATA_PROPERTIES = {"ImisId": "ID"}
ENTITY_NAMES = {
    "Activity": "Activity",
    "LookupTable": "GenTable",
    "UserData": "UserData",
    "UserCredentials": "User",
}


@dataclass(frozen=True)
class EntitySpec:
    """One source's REST shape."""

    source: str
    entity: str
    style: Literal["party", "generic", "user"]
    renames: Mapping[str, str] = field(default_factory=dict)  # canonical -> wire name
    parent: str | None = "Party"

    def wire_name(self, name: str) -> str:
        return self.renames.get(name, name)

    def canonical(self, wire_name: str) -> str:
        for canonical, renamed in self.renames.items():
            if renamed.casefold() == wire_name.casefold():
                return canonical
        return wire_name


def spec_for(source: SourceDef) -> EntitySpec:
    if source.name == "Contact":
        return EntitySpec("Contact", "Party", "party")
    if source.name == "UserCredentials":
        return EntitySpec(
            "UserCredentials", "User", "user", {"ImisId": "UserId", "Username": "UserName"}
        )
    if source.name == "Activity":
        return EntitySpec("Activity", "Activity", "generic", ACTIVITY_PROPERTIES)
    if source.name == "UserData":
        return EntitySpec("UserData", "UserData", "generic", USER_DATA_PROPERTIES)
    parent: str | None = "Standalone" if source.panel_kind == "standalone" else "Party"
    if "ImisId" not in source.field_names and source.panel_kind != "standalone":
        parent = None
    renames = {"ImisId": "PartyId"} if "ImisId" in source.field_names else {}
    return EntitySpec(
        source.name, ENTITY_NAMES.get(source.name, source.name), "generic", renames, parent
    )


# ---- identity in URLs --------------------------------------------------------------------------


def identity_path(source: SourceDef, identity: Mapping[str, Any]) -> str:
    """``/{id}`` for one key, ``/~{a}|{b}`` for several (``|`` sent as ``%7C``)."""
    parts = [_key_text(identity.get(k)) for k in source.identity]
    if len(parts) == 1:
        return "/" + quote(parts[0], safe="")
    return "/~" + "%7C".join(quote(p, safe="") for p in parts)


def parse_identity_path(source: SourceDef, text: str) -> dict[str, Any] | None:
    """The identity a URL segment names (``101``, ``~101|2``, ``~101%7C2``); None if malformed."""
    text = unquote(text)
    parts = text[1:].split("|") if text.startswith("~") else [text]
    if len(parts) != len(source.identity):
        return None
    out: dict[str, Any] = {}
    for name, part in zip(source.identity, parts, strict=True):
        fdef = source.field(name)
        try:
            out[name] = coerce(part, fdef.type)
        except CoercionError:
            return None
    return out


def _key_text(value: Any) -> str:
    return "" if value is None else str(value)


# ---- generic business objects ------------------------------------------------------------------


def entity_from_record(
    spec: EntitySpec, source: SourceDef, record: Mapping[str, Any]
) -> dict[str, Any]:
    """A record as GenericEntityData, every readable field present (null = no Value)."""
    properties = {
        spec.wire_name(f.name): _wire_value(f.type, record.get(f.name))
        for f in source.fields
        if not f.write_only and not f.secret and f.name in record
    }
    elements = [record.get(k) for k in source.identity]
    parent_elements = [record.get("ImisId")] if spec.parent == "Party" else None
    return wire.generic_entity(
        spec.entity,
        elements,
        properties,
        parent_type=spec.parent,
        parent_elements=parent_elements,
    )


def values_from_entity(
    spec: EntitySpec, source: SourceDef, obj: Mapping[str, Any]
) -> dict[str, Any]:
    """A GenericEntityData's properties as typed canonical values (unknown names kept as given).

    Raises CoercionError naming the property when a value cannot be read as its field's type.
    """
    props = wire.entity_properties(obj)
    values: dict[str, Any] = {}
    for name, value in props.items():
        canonical = spec.canonical(name)
        fdef = source.find_field(canonical)
        if fdef is None:
            values[canonical] = value
            continue
        values[fdef.name] = typed(fdef.type, value, fdef.label)
    # The parent identity carries the contact when the properties do not.
    if "ImisId" in source.field_names and values.get("ImisId") in (None, ""):
        parent = wire.identity_elements(obj, "PrimaryParentIdentity")
        if parent and spec.parent == "Party":
            values["ImisId"] = parent[0]
    return values


def record_from_entity(spec: EntitySpec, source: SourceDef, obj: Mapping[str, Any]) -> Record:
    values = values_from_entity(spec, source, obj)
    return {f.name: values.get(f.name) for f in source.fields if not f.write_only and not f.secret}


def typed(ftype: FieldType, value: Any, label: str = "") -> Any:
    """A wire value read as a field type (ISO date-times become dates for date fields)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.startswith("0001-01-01"):
        return None  # .NET's "no date"
    if ftype is FieldType.MULTISELECT and isinstance(value, str):
        return coerce(value, ftype, field=label)
    if ftype is FieldType.PASSWORD:
        return value
    return coerce(value, ftype, field=label)


def _wire_value(ftype: FieldType, value: Any) -> Any:
    if value is None:
        return None
    if ftype is FieldType.DATETIME and isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


# ---- the Party contract (Contact) --------------------------------------------------------------

PERSON = wire.contract("PersonData")
ORGANIZATION = wire.contract("OrganizationData")
PARTY = wire.contract("PartyData")
ADDRESS_FIELDS = ("Address1", "Address2", "Address3", "City", "StateProvince", "PostalCode",
                  "Country")  # fmt: skip


def party_from_record(
    record: Mapping[str, Any],
    *,
    address_purpose: str = "Address",
    addresses: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Contact record as PersonData or OrganizationData (imis-rest-api.md §3.2).

    ``addresses`` are the contact's Address records, every purpose (the sandbox gives them);
    without them the contact's own address is sent, as of ``address_purpose``. The default
    purpose's address comes first and carries the "default" communication reason.
    """
    is_org = bool(record.get("IsOrganization"))
    obj: dict[str, Any] = {"$type": ORGANIZATION if is_org else PERSON}
    if is_org:
        obj["OrganizationName"] = record.get("OrganizationName")
    else:
        obj["PersonName"] = {
            "$type": wire.contract("PersonNameData"),
            "FirstName": record.get("FirstName"),
            "MiddleName": record.get("MiddleName"),
            "LastName": record.get("LastName"),
            "InformalName": record.get("InformalName"),
            "NamePrefix": record.get("Prefix"),
            "NameSuffix": record.get("Suffix"),
            "FullName": " ".join(
                str(p) for p in (record.get("FirstName"), record.get("LastName")) if p
            ),
        }
        if record.get("OrganizationId") or record.get("OrganizationName"):
            obj["PrimaryOrganization"] = {
                "$type": wire.contract("PrimaryOrganizationInformationData"),
                "OrganizationPartyId": record.get("OrganizationId"),
                "Name": record.get("OrganizationName"),
                "Title": record.get("Title"),
            }
    obj["Name"] = record.get("OrganizationName") if is_org else obj["PersonName"]["FullName"]
    if "PrimaryOrganization" not in obj:  # a person's title is the one at their organization
        obj["Title"] = record.get("Title")
    obj["BirthDate"] = wire.wire_date(record["BirthDate"]) if record.get("BirthDate") else None
    obj["Gender"] = partydata.gender_wire(record.get("Gender"))
    obj["AdditionalAttributes"] = wire.collection(
        wire.PROPERTY_COLLECTION,
        [wire.property_data(name, record.get(canonical)) for canonical, name in ATTRIBUTES.items()],
    )
    known = addresses is not None  # the Address records say the preferred flags
    if addresses is None:
        own = {name: record.get(name) for name in ADDRESS_FIELDS}
        addresses = [{**own, "AddressPurpose": address_purpose}] if any(own.values()) else []
    ordered = sorted(
        addresses,
        key=lambda a: (str(a.get("AddressPurpose")) != address_purpose,
                       str(a.get("AddressPurpose") or "").casefold()),
    )  # fmt: skip
    emails = []
    if record.get("Email"):
        emails.append({"$type": wire.contract("EmailData"), "Address": record["Email"],
                       "EmailType": PRIMARY_EMAIL, "IsPrimary": True})  # fmt: skip
    phones = [
        {"$type": wire.contract("PhoneData"), "Number": record[c], "PhoneType": kind}
        for c, kind in PHONES.items()
        if record.get(c)
    ]
    for address in ordered:
        purpose = str(address.get("AddressPurpose") or address_purpose)
        if address.get("Email"):
            emails.append({"$type": wire.contract("EmailData"), "Address": address["Email"],
                           "EmailType": purpose, "IsPrimary": False})  # fmt: skip
        for name, kind in (("Phone", purpose), ("Fax", purpose + partydata.FAX_SUFFIX)):
            if address.get(name):
                phones.append(
                    {"$type": wire.contract("PhoneData"), "Number": address[name],
                     "PhoneType": kind}
                )  # fmt: skip
    obj["Emails"] = wire.collection(wire.contract("EmailDataCollection"), emails)
    obj["Phones"] = wire.collection(wire.contract("PhoneDataCollection"), phones)
    obj["Addresses"] = wire.collection(
        wire.contract("FullAddressDataCollection"),
        [_full_address(a, address_purpose, reasons=known) for a in ordered],
    )
    if record.get("ImisId"):
        obj["Id"] = obj["PartyId"] = str(record["ImisId"])
    if record.get("ContactKey"):
        obj["UniformId"] = str(record["ContactKey"]).lower()
    if record.get("Status"):
        obj["Status"] = {
            "$type": wire.contract("PartyStatusData"),
            "PartyStatusId": record["Status"],
        }
    if record.get("CreatedOn") or record.get("UpdatedOn"):
        obj["UpdateInformation"] = {
            "$type": "Asi.Soa.Core.DataContracts.EntityUpdateInformationData, Asi.Contracts",
            "CreatedOn": _stamp(record.get("CreatedOn")),
            "UpdatedOn": _stamp(record.get("UpdatedOn")),
        }
    return obj


def _full_address(
    address: Mapping[str, Any], default_purpose: str, *, reasons: bool
) -> dict[str, Any]:
    """An Address record as FullAddressData; its communication reasons (the default address,
    the preferred flags) only when ``reasons`` says the record holds them."""
    purpose = str(address.get("AddressPurpose") or default_purpose)
    lines = [address.get(f) for f in ("Address1", "Address2", "Address3") if address.get(f)]
    said = [partydata.DEFAULT_REASON] if purpose == default_purpose else []
    said += [r for r, flag in partydata.REASONS.items() if address.get(flag)]
    out: dict[str, Any] = {
        "$type": wire.contract("FullAddressData"),
        "Address": {
            "$type": wire.contract("AddressData"),
            "AddressLines": wire.collection(wire.contract("AddressLineDataCollection"), lines),
            "CityName": address.get("City"),
            "CountryName": address.get("Country"),
            "CountrySubEntityCode": address.get("StateProvince"),
            "PostalCode": address.get("PostalCode"),
        },
        "AddressPurpose": purpose,
    }
    if reasons:
        out["CommunicationPreferences"] = wire.collection(
            wire.contract("CommunicationPreferenceDataCollection"),
            [{"$type": wire.contract("CommunicationPreferenceData"), "Reason": r} for r in said],
        )
    for name, key in (("Email", "Email"), ("Phone", "Phone"), ("Fax", "Fax"), ("Notes", "Note")):
        if name in address:
            out[key] = address.get(name)
    return out


def _stamp(value: Any) -> str | None:
    if isinstance(value, datetime):
        return (
            value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
            if value.tzinfo
            else value.isoformat(timespec="seconds")
        )
    if isinstance(value, date):
        return wire.wire_date(value)
    return None


def values_from_party(
    obj: Mapping[str, Any], source: SourceDef, *, default_purpose: str | None = None
) -> dict[str, Any]:
    """Canonical Contact values from a Party body (only what it carries), typed.

    The address fields are those of the address of ``default_purpose``, or (not known) of the
    address marked "default", else the first. What has no place in a Contact record is left
    aside: ``partydata.read_party`` says what it is.
    """
    return typed_contact(partydata.read_party(obj).contact(default_purpose), source)


def typed_contact(values: Mapping[str, Any], source: SourceDef) -> dict[str, Any]:
    """Contact values read as their fields' types (CoercionError names the field)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        fdef = source.find_field(name)
        if fdef is not None:
            out[fdef.name] = typed(fdef.type, value, fdef.label)
    return out


def record_from_party(obj: Mapping[str, Any], source: SourceDef) -> Record:
    values = values_from_party(obj, source)
    return {f.name: values.get(f.name) for f in source.fields if not f.write_only and not f.secret}
