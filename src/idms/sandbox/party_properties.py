"""What each property of the Party contract is in the store, so that every one can be filtered on.

PersonData, OrganizationData and PartySummaryData nest and rename the Contact source's fields
(``PersonName.FirstName``, ``Addresses[].Address.CityName``, ``Phones[].Number``,
``AdditionalAttributes`` by name ...). A filter names a property by its member name, as
iMIS's own examples do (``?lastname=eq:smith``, ``?Email=...&Phone=...``):

* most members are one field, under its canonical name or the contract's name (``ALIASES``);
* ``Phone`` (and ``Number``) shows any of the four numbers, ``AddressLines`` any address line
  (``AnyOf``);
* ``Name`` and ``FullName`` are computed as the renderer computes them (``Computed``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, literal

from idms.sandbox.paging import AnyOf, Columns, Computed, Derived, Encoded
from idms.targets.base import Record
from idms.targets.imis.partydata import ATTRIBUTES, gender_code

PHONES = ("HomePhone", "WorkPhone", "MobilePhone", "Fax")
ADDRESS_LINES = ("Address1", "Address2", "Address3")

ALIASES = {  # contract member -> Contact field
    "Id": "ImisId",
    "PartyId": "ImisId",
    "UniformId": "ContactKey",
    "OrganizationPartyId": "OrganizationId",
    "PartyStatusId": "Status",
    "NamePrefix": "Prefix",
    "NameSuffix": "Suffix",
    "CityName": "City",
    "CountryName": "Country",
    "CountrySubEntityCode": "StateProvince",
    "CustomerTypeCode": "MemberType",
    **{attribute: canonical for canonical, attribute in ATTRIBUTES.items()},
}


def _display_name_sql(columns: Columns) -> ColumnElement[Any]:
    first = func.coalesce(columns["FirstName"], literal(""))
    last = func.coalesce(columns["LastName"], literal(""))
    person = func.trim(first + literal(" ") + last)
    return case((columns["IsOrganization"].is_(True), columns["OrganizationName"]), else_=person)


def _display_name(record: Record) -> Any:
    if record.get("IsOrganization"):
        return record.get("OrganizationName")
    return " ".join(str(p) for p in (record.get("FirstName"), record.get("LastName")) if p)


DISPLAY_NAME = Computed(_display_name_sql, _display_name)

DERIVED: dict[str, Derived] = {
    "Phone": AnyOf(PHONES),
    "Number": AnyOf(PHONES),
    "AddressLines": AnyOf(ADDRESS_LINES),
    "Name": DISPLAY_NAME,
    "FullName": DISPLAY_NAME,
    "Gender": Encoded("Gender", gender_code),
}
