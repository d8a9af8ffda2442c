"""Reading a Party body (PersonData, OrganizationData, ComboPartyData): where every member goes.

One reading for both sides. The REST target reads iMIS's answers with it and takes the Contact
record (``PartyBody.contact``); what has no place in a record is left aside, as iMIS sends far
more than idms keeps. The sandbox reads requests with it and refuses a body whose ``problems``
are not empty (400 naming each member), so that nothing a client sends is dropped silently.

Every member of ASI's contract is one of three kinds:

* kept: it has a place in the store. The Contact's own fields; the contact's addresses, one per
  ``AddressPurpose`` (the store's default purpose is the Contact's address fields), with their
  ``Email``, ``Phone``, ``Fax``, ``Note`` and preferred mailing/billing/shipping flags
  (``CommunicationPreferences`` reasons ``mail``, ``bill``, ``ship``). An address's e-mail and
  phones may also come in ``Emails`` and ``Phones`` typed by the purpose (``EmailType``
  ``Home``; ``PhoneType`` ``Home`` and ``Home Fax``), as iMIS lists them;
* derived: iMIS computes it and ignores what a client sends (``Name``, ``FullName``, ``Sort``,
  ``FullAddress``, ``AddresseeText``, ``UpdateInformation``, ``CountryCode`` beside
  ``CountryName`` ...). Accepted, not stored; a derived member that carries a client's own value
  (``SortIsOverridden: true``, an overridden salutation, a social network) is a problem;
* anything else: a problem naming the member.

Member names are matched without case, as Json.NET binds them; Json.NET's metadata members
(``$type``, ``$values``, ``$value``, ``$id``, ``$ref``) are its own and case-sensitive, and are
never a problem. Enums (``Gender``) are read as a number or a name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from idms.targets.imis import wire

# Contact phone fields and the PhoneType iMIS gives each.
PHONES = {
    "HomePhone": "_Home Phone",
    "WorkPhone": "_Work Phone",
    "MobilePhone": "Mobile",
    "Fax": "_Fax",
}
PRIMARY_EMAIL = "_Primary"
FAX_SUFFIX = " Fax"
# AdditionalAttributes kept in Contact fields: canonical -> attribute name.
ATTRIBUTES = {
    "MemberType": "CustomerTypeCode",
    "JoinDate": "JoinDate",
    "PaidThrough": "PaidThruDate",
    "Chapter": "Chapter",
    "Designation": "Designation",
    "MajorKey": "MajorKey",
    "BillingCategory": "BillingCategory",
    "MarkForErasure": "MarkForErasure",
}
# Attributes read as another member of the contract (older idms sent the name parts this way).
ATTRIBUTE_ALIASES = {"Prefix": "Prefix", "Suffix": "Suffix"}
# Attributes iMIS derives from the member type and the dates; accepted, not kept.
DERIVED_ATTRIBUTES = frozenset(
    name.casefold()
    for name in (
        "CustomerTypeDescription",
        "IsMember",
        "IsMemberRecord",
        "IsInactiveMember",
        "AllowAdvanceRenewal",
        "IsCompanyAdministrator",
    )
)
# The Gender enum of PersonData, as ASI's own samples send it (Mr. ... 0, Mrs./Ms. ... 1), and
# the store code each name is kept as.
GENDERS = {0: "Male", 1: "Female"}
GENDER_CODES = {"male": "M", "female": "F"}
# CommunicationPreferences reasons of an address: the preferred flags, and "default" for the
# contact's own (default-purpose) address.
REASONS = {
    "mail": "IsPreferredMailing",
    "bill": "IsPreferredBilling",
    "ship": "IsPreferredShipping",
}
DEFAULT_REASON = "default"
ADDRESS_LINES = ("Address1", "Address2", "Address3")
# Address fields (canonical) that a Party address carries, and its member for each.
ADDRESS_MEMBERS = {
    "Address1": "Address.AddressLines[0]",
    "Address2": "Address.AddressLines[1]",
    "Address3": "Address.AddressLines[2]",
    "City": "Address.CityName",
    "StateProvince": "Address.CountrySubEntityCode",
    "PostalCode": "Address.PostalCode",
    "Country": "Address.CountryName",
    "Email": "Email",
    "Phone": "Phone",
    "Fax": "Fax",
    "Notes": "Note",
    "AddressPurpose": "AddressPurpose",
    **dict.fromkeys(REASONS.values(), "CommunicationPreferences"),
}
CONTACT_ADDRESS = (*ADDRESS_LINES, "City", "StateProvince", "PostalCode", "Country")


def _fold(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(n.casefold() for n in names)


# Each additional attribute (or its alias) and phone type, folded -> the Contact field it sets.
_ATTRIBUTE_FIELDS = {a.casefold(): c for c, a in ATTRIBUTES.items()} | {
    a.casefold(): c for a, c in ATTRIBUTE_ALIASES.items()
}
_PHONE_FIELDS = {kind.casefold(): canonical for canonical, kind in PHONES.items()}

TOP = _fold(("PersonName", "OrganizationName", "PrimaryOrganization", "Title", "BirthDate",
             "Gender", "AdditionalAttributes", "Emails", "Phones", "Addresses", "Id", "PartyId",
             "Status", "UniformId", "AlternateIds", "Name", "Sort", "SortIsOverridden",
             "UpdateInformation", "FinancialInformation", "Salutations", "SocialNetworks",
             "CommunicationTypePreferences"))  # fmt: skip
PERSON_NAME = _fold(("FirstName", "MiddleName", "LastName", "InformalName", "NamePrefix",
                     "NameSuffix", "FullName"))  # fmt: skip
PRIMARY_ORGANIZATION = _fold(("OrganizationPartyId", "Name", "Title"))
EMAIL = _fold(("Address", "EmailType", "IsPrimary"))
PHONE = _fold(("Number", "PhoneType"))
FULL_ADDRESS = _fold(("Address", "AddressPurpose", "Email", "Phone", "Fax", "Note",
                      "CommunicationPreferences", "FullAddressId", "AdditionalLines",
                      "AddresseeText", "Salutation", "DisplayName", "DisplayOrganizationTitle",
                      "DisplayOrganizationName"))  # fmt: skip
ADDRESS = _fold(("AddressLines", "CityName", "CountryName", "CountrySubEntityCode", "PostalCode",
                 "AddressId", "FullAddress", "CountryCode", "CountrySubEntityName", "Barcode",
                 "VerificationStatus"))  # fmt: skip
STATUS = _fold(("PartyStatusId", "Name", "Description"))
ALTERNATE_ID = _fold(("Id", "IdType"))
SALUTATION = _fold(("SalutationId", "SalutationMethod", "Text", "IsOverridden"))


@dataclass
class AddressBody:
    """One address of a Party body: its purpose and the Address fields it sets."""

    purpose: str | None  # None: no purpose given (the store's default)
    member: str  # where it came from: "Addresses[1]", or the e-mail or phone naming it
    listed: bool = False  # in Addresses (not only named by an e-mail or a phone)
    default: bool = False  # carries the "default" CommunicationPreferences reason
    values: dict[str, Any] = field(default_factory=dict)  # canonical Address fields
    members: dict[str, str] = field(default_factory=dict)  # canonical field -> member


@dataclass
class PartyBody:
    """What a Party body carries, by place: the Contact's values, its addresses, its problems."""

    values: dict[str, Any] = field(default_factory=dict)  # canonical Contact fields, untyped
    members: dict[str, str] = field(default_factory=dict)  # canonical field -> member
    addresses: list[AddressBody] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (member, sentence)
    phones_given: bool = False
    emails_given: bool = False

    def problem(self, member: str, message: str) -> None:
        """A member without a place; the sentence names it."""
        self.problems.append((member, message if member in message else f"{member}: {message}"))

    def set(self, name: str, value: Any, member: str) -> None:
        """Set a Contact value; a second, different value for it is a problem (an empty one
        leaves the first as it is)."""
        if name in self.values:
            old = self.values[name]
            if _empty(value):
                return
            if not _empty(old) and not _same(old, value):
                self.problem(
                    member,
                    f"{member} ({value!r}) disagrees with {self.members[name]} ({old!r}); "
                    f"both set {name}.",
                )
                return
        self.values[name] = value
        self.members[name] = member

    def address(self, purpose: str | None, member: str) -> AddressBody:
        """The address of ``purpose`` (made when first named)."""
        wanted = (purpose or "").casefold()
        for found in self.addresses:
            if (found.purpose or "").casefold() == wanted:
                return found
        made = AddressBody(purpose, member)
        self.addresses.append(made)
        return made

    def finish(self) -> None:
        """An address listed in Addresses whose e-mail, phone or fax neither it nor Emails or
        Phones gives has none (the body is the whole Party)."""
        for address in self.addresses:
            if not address.listed:
                continue
            for name, given in (("Email", self.emails_given), ("Phone", self.phones_given),
                                ("Fax", self.phones_given)):  # fmt: skip
                if given and name not in address.values:
                    address.values[name] = None
                    address.members[name] = f"{address.member}.{ADDRESS_MEMBERS[name]}"

    def by_purpose(self, default_purpose: str) -> list[AddressBody]:
        """The addresses with every purpose named (none given: ``default_purpose``), one per
        purpose: an address named twice (once without a purpose) is merged."""
        out: dict[str, AddressBody] = {}
        for address in self.addresses:
            purpose = address.purpose or default_purpose
            key = purpose.casefold()
            found = out.get(key)
            if found is None:
                out[key] = AddressBody(
                    purpose, address.member, address.listed, address.default,
                    dict(address.values), dict(address.members),
                )  # fmt: skip
                continue
            for name, value in address.values.items():
                _put(self, found, name, value, address.members.get(name, address.member))
            found.listed = found.listed or address.listed
            found.default = found.default or address.default
            if address.listed:
                found.member = address.member
        return list(out.values())

    def contact_address(self, default_purpose: str | None = None) -> AddressBody | None:
        """The address held in the Contact's fields: the one of ``default_purpose`` (without a
        purpose: the store's default); else, when the store's default is not known (the REST
        target), the one marked "default", else the first listed."""
        listed = [a for a in self.addresses if a.listed]
        if default_purpose is not None:
            wanted = default_purpose.casefold()
            return next(
                (a for a in listed if (a.purpose or default_purpose).casefold() == wanted), None
            )
        return next((a for a in listed if a.default), listed[0] if listed else None)

    def contact(self, default_purpose: str | None = None) -> dict[str, Any]:
        """The Contact values, the address fields of its address included."""
        values = dict(self.values)
        address = self.contact_address(default_purpose)
        if address is not None:
            for name in CONTACT_ADDRESS:
                if name in address.values:
                    values[name] = address.values[name]
        return values

    def contact_members(self, default_purpose: str | None = None) -> dict[str, str]:
        members = dict(self.members)
        address = self.contact_address(default_purpose)
        if address is not None:
            members.update({k: v for k, v in address.members.items() if k in CONTACT_ADDRESS})
        return members


def read_party(obj: Mapping[str, Any]) -> PartyBody:
    """A Party body read member by member (names without case)."""
    body = PartyBody()
    kind = str(obj.get("$type", ""))
    _unknown(body, obj, TOP, "")
    name = _get(obj, "PersonName")
    is_org = "OrganizationData" in kind or (
        not isinstance(name, Mapping) and _get(obj, "OrganizationName") is not None
    )
    body.values["IsOrganization"] = is_org
    if isinstance(name, Mapping):
        _unknown(body, name, PERSON_NAME, "PersonName.")
        for key in ("FirstName", "MiddleName", "LastName", "InformalName"):
            if _has(name, key):
                body.set(key, _get(name, key), f"PersonName.{key}")
        for key, canonical in (("NamePrefix", "Prefix"), ("NameSuffix", "Suffix")):
            if _has(name, key):
                body.set(canonical, _get(name, key), f"PersonName.{key}")
    if _has(obj, "OrganizationName"):
        body.set("OrganizationName", _get(obj, "OrganizationName"), "OrganizationName")
    if _has(obj, "Title"):
        body.set("Title", _get(obj, "Title"), "Title")
    primary = _get(obj, "PrimaryOrganization")
    if isinstance(primary, Mapping):
        _read_primary(body, primary, is_org)
    if _has(obj, "BirthDate"):
        body.set("BirthDate", _get(obj, "BirthDate"), "BirthDate")
    if _has(obj, "Gender"):
        _read_gender(body, _get(obj, "Gender"))
    _read_attributes(body, _get(obj, "AdditionalAttributes"))
    _read_addresses(body, obj)
    _read_emails(body, obj)
    _read_phones(body, obj)
    ident = _get(obj, "Id") or _get(obj, "PartyId")
    if ident:
        body.set("ImisId", str(ident), "Id" if _get(obj, "Id") else "PartyId")
    if _get(obj, "UniformId"):
        body.values["ContactKey"] = str(_get(obj, "UniformId")).upper()
    status = _get(obj, "Status")
    if isinstance(status, Mapping):
        _unknown(body, status, STATUS, "Status.")
        if _get(status, "PartyStatusId"):
            body.set("Status", _get(status, "PartyStatusId"), "Status.PartyStatusId")
    info = _get(obj, "UpdateInformation")
    if isinstance(info, Mapping):
        body.values["CreatedOn"] = _get(info, "CreatedOn")
        body.values["UpdatedOn"] = _get(info, "UpdatedOn")
    _read_derived(body, obj)
    body.finish()
    return body


def gender_code(value: Any) -> Any:
    """A Gender enum value (0, 1, "Male", "female" ...) as the store's code (M, F); another
    text is taken as a code as it is. Raises ValueError for a number that is not a Gender."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if number not in GENDERS:
            raise ValueError(value)
        return GENDER_CODES[GENDERS[number].casefold()]
    if isinstance(value, str):
        return GENDER_CODES.get(value.strip().casefold(), value)
    return value


def gender_wire(code: Any) -> Any:
    """A stored Gender code as PersonData sends it: the enum's number for M and F."""
    if isinstance(code, str):
        for number, name in GENDERS.items():
            if GENDER_CODES[name.casefold()].casefold() == code.strip().casefold():
                return number
    return code


# ---- the parts -----------------------------------------------------------------------------------


def _read_primary(body: PartyBody, primary: Mapping[str, Any], is_org: bool) -> None:
    _unknown(body, primary, PRIMARY_ORGANIZATION, "PrimaryOrganization.")
    if _has(primary, "OrganizationPartyId"):
        body.set(
            "OrganizationId",
            _get(primary, "OrganizationPartyId"),
            "PrimaryOrganization.OrganizationPartyId",
        )
    if _has(primary, "Name") and not is_org:
        body.set("OrganizationName", _get(primary, "Name"), "PrimaryOrganization.Name")
    if _has(primary, "Title"):
        body.set("Title", _get(primary, "Title"), "PrimaryOrganization.Title")


def _read_gender(body: PartyBody, value: Any) -> None:
    try:
        body.set("Gender", gender_code(value), "Gender")
    except ValueError:
        names = ", ".join(f"{n} ({name})" for n, name in GENDERS.items())
        body.problem("Gender", f"Gender {value!r} is not a Gender: give {names} or a code.")


def _read_attributes(body: PartyBody, holder: Any) -> None:
    by_name = _ATTRIBUTE_FIELDS
    for i, prop in enumerate(wire.values_of(holder)):
        member = f"AdditionalAttributes[{i}]"
        if not isinstance(prop, Mapping):
            body.problem(member, f"{member} is not a GenericPropertyData.")
            continue
        name = str(_get(prop, "Name") or "")
        canonical = by_name.get(name.casefold())
        if canonical is not None:
            body.set(canonical, wire.unbox(_get(prop, "Value")), f"AdditionalAttributes.{name}")
        elif name.casefold() not in DERIVED_ATTRIBUTES:
            known = ", ".join(ATTRIBUTES.values())
            body.problem(
                f"AdditionalAttributes.{name}",
                f"The additional attribute '{name}' has no place in this iMIS (attributes it "
                f"keeps: {known}).",
            )


def _read_addresses(body: PartyBody, obj: Mapping[str, Any]) -> None:
    if not _has(obj, "Addresses"):
        return
    items = wire.values_of(_get(obj, "Addresses"))
    if not items:
        # No address: the contact's own address fields are cleared (other purposes are kept).
        empty = body.address(None, "Addresses")
        empty.listed = True
        empty.values.update(dict.fromkeys(CONTACT_ADDRESS))
        return
    for i, item in enumerate(items):
        member = f"Addresses[{i}]"
        if not isinstance(item, Mapping):
            body.problem(member, f"{member} is not a FullAddressData.")
            continue
        _unknown(body, item, FULL_ADDRESS, f"{member}.")
        purpose = _get(item, "AddressPurpose")
        purpose = str(purpose).strip() if purpose not in (None, "") else None
        if any(a.listed and _same_purpose(a.purpose, purpose) for a in body.addresses):
            body.problem(
                f"{member}.AddressPurpose",
                f"{member} repeats the address purpose '{purpose or '(default)'}': a contact "
                "has one address of each purpose.",
            )
            continue
        address = body.address(purpose, member)
        address.listed = True
        address.member = member
        _read_address(body, address, item, member)


def _read_address(
    body: PartyBody, address: AddressBody, item: Mapping[str, Any], member: str
) -> None:
    def put(name: str, value: Any) -> None:
        address.values[name] = value
        address.members[name] = f"{member}.{ADDRESS_MEMBERS[name]}"

    inner = _get(item, "Address")
    if isinstance(inner, Mapping):
        _unknown(body, inner, ADDRESS, f"{member}.Address.")
        lines = wire.values_of(_get(inner, "AddressLines"))
        if len(lines) > len(ADDRESS_LINES):
            body.problem(
                f"{member}.Address.AddressLines",
                f"{member} has {len(lines)} address lines; iMIS keeps {len(ADDRESS_LINES)}.",
            )
        for i, key in enumerate(ADDRESS_LINES):
            put(key, lines[i] if i < len(lines) else None)
        for key, name in (("CityName", "City"), ("CountrySubEntityCode", "StateProvince"),
                          ("PostalCode", "PostalCode"), ("CountryName", "Country")):  # fmt: skip
            put(name, _get(inner, key))
        if not _empty(_get(inner, "CountryCode")) and _empty(_get(inner, "CountryName")):
            body.problem(
                f"{member}.Address.CountryCode",
                f"{member} gives a CountryCode without its CountryName: this iMIS keeps the "
                "country by name (CountryName).",
            )
    extra = wire.values_of(_get(item, "AdditionalLines"))
    if extra:
        body.problem(
            f"{member}.AdditionalLines",
            f"{member} has additional lines; iMIS keeps {len(ADDRESS_LINES)} address lines.",
        )
    for key, name in (("Email", "Email"), ("Phone", "Phone"), ("Fax", "Fax"), ("Note", "Notes")):
        if _has(item, key):
            put(name, _get(item, key))
    if _has(item, "CommunicationPreferences"):
        reasons = []
        for j, pref in enumerate(wire.values_of(_get(item, "CommunicationPreferences"))):
            reason = str(_get(pref, "Reason") or "") if isinstance(pref, Mapping) else str(pref)
            if reason.casefold() == DEFAULT_REASON:
                address.default = True
            elif reason.casefold() in REASONS:
                reasons.append(reason.casefold())
            else:
                body.problem(
                    f"{member}.CommunicationPreferences[{j}].Reason",
                    f"The communication reason '{reason}' has no place: iMIS keeps "
                    f"{', '.join([DEFAULT_REASON, *REASONS])}.",
                )
        for reason, flag in REASONS.items():
            put(flag, reason in reasons)
    salutation = _get(item, "Salutation")
    if isinstance(salutation, Mapping) and _overridden(salutation):
        body.problem(f"{member}.Salutation", f"{member} overrides its salutation: not kept.")


def _read_emails(body: PartyBody, obj: Mapping[str, Any]) -> None:
    if not _has(obj, "Emails"):
        return
    body.emails_given = True
    emails = wire.values_of(_get(obj, "Emails"))
    primary: tuple[int, Any] | None = None
    for i, email in enumerate(emails):
        member = f"Emails[{i}]"
        if not isinstance(email, Mapping):
            body.problem(member, f"{member} is not an EmailData.")
            continue
        _unknown(body, email, EMAIL, f"{member}.")
        kind = str(_get(email, "EmailType") or "").strip()
        value = _get(email, "Address")
        is_primary_type = kind.casefold() in ("", PRIMARY_EMAIL.casefold())
        if _get(email, "IsPrimary") is True or is_primary_type:
            if primary is not None and not _same(primary[1], value):
                body.problem(
                    f"{member}.Address",
                    f"{member} is a second primary e-mail; a contact has one.",
                )
            primary = primary or (i, value)
            if is_primary_type:
                continue
        _address_value(body, kind, "Email", value, f"{member}.Address", f"{member}.EmailType")
    if primary is None and emails and isinstance(emails[0], Mapping):
        primary = (0, _get(emails[0], "Address"))  # iMIS makes the first e-mail the primary
    body.set("Email", primary[1] if primary else None, f"Emails[{primary[0] if primary else 0}]")


def _read_phones(body: PartyBody, obj: Mapping[str, Any]) -> None:
    if not _has(obj, "Phones"):
        return
    body.phones_given = True
    by_type = _PHONE_FIELDS
    seen: set[str] = set()
    for i, phone in enumerate(wire.values_of(_get(obj, "Phones"))):
        member = f"Phones[{i}]"
        if not isinstance(phone, Mapping):
            body.problem(member, f"{member} is not a PhoneData.")
            continue
        _unknown(body, phone, PHONE, f"{member}.")
        kind = str(_get(phone, "PhoneType") or "").strip()
        number = _get(phone, "Number")
        canonical = by_type.get(kind.casefold())
        if canonical is not None:
            body.set(canonical, number, f"{member}.Number")
            seen.add(canonical)
        elif kind.casefold().endswith(FAX_SUFFIX.casefold()) and len(kind) > len(FAX_SUFFIX):
            purpose = kind[: -len(FAX_SUFFIX)].strip()
            _address_value(body, purpose, "Fax", number, f"{member}.Number", f"{member}.PhoneType")
        elif kind:
            _address_value(body, kind, "Phone", number, f"{member}.Number", f"{member}.PhoneType")
        else:
            body.problem(f"{member}.PhoneType", f"{member} has no PhoneType.")
    for canonical in PHONES:
        if canonical not in seen:
            body.set(canonical, None, "Phones")  # a phone left out of Phones is cleared


def _address_value(
    body: PartyBody, purpose: str, name: str, value: Any, member: str, type_member: str
) -> None:
    """An address's e-mail, phone or fax given in Emails or Phones (typed by its purpose)."""
    address = body.address(purpose, type_member)
    address.members.setdefault("AddressPurpose", type_member)
    _put(body, address, name, value, member)


def _put(body: PartyBody, address: AddressBody, name: str, value: Any, member: str) -> None:
    """Set an address value; a second, different value for it is a problem."""
    if name in address.values:
        old = address.values[name]
        if _empty(value):
            return
        if not _empty(old) and not _same(old, value):
            body.problem(
                member,
                f"{member} ({value!r}) disagrees with {address.members[name]} ({old!r}).",
            )
            return
    address.values[name] = value
    address.members[name] = member


def _read_derived(body: PartyBody, obj: Mapping[str, Any]) -> None:
    """Members iMIS computes: accepted unless they carry a value of the client's own."""
    if _get(obj, "SortIsOverridden") is True:
        body.problem("SortIsOverridden", "A sort name of one's own is not kept: iMIS derives Sort.")
    finance = _get(obj, "FinancialInformation")
    if isinstance(finance, Mapping) and any(not k.startswith("$") for k in finance):
        body.problem("FinancialInformation", "FinancialInformation is not kept.")
    for key in ("SocialNetworks", "CommunicationTypePreferences"):
        if wire.values_of(_get(obj, key)):
            body.problem(key, f"{key} are not kept by this iMIS.")
    for i, salutation in enumerate(wire.values_of(_get(obj, "Salutations"))):
        if isinstance(salutation, Mapping):
            _unknown(body, salutation, SALUTATION, f"Salutations[{i}].")
            if _overridden(salutation):
                body.problem(
                    f"Salutations[{i}]",
                    "A salutation of one's own is not kept: iMIS derives salutations from the "
                    "name.",
                )
    for i, alternate in enumerate(wire.values_of(_get(obj, "AlternateIds"))):
        member = f"AlternateIds[{i}]"
        if not isinstance(alternate, Mapping):
            continue
        _unknown(body, alternate, ALTERNATE_ID, f"{member}.")
        kind = str(_get(alternate, "IdType") or "")
        if kind.casefold() == "majorkey":
            body.set("MajorKey", _get(alternate, "Id"), f"{member}.Id")
        elif kind.casefold() != "id":  # "Id" repeats the iMIS ID, which the URL or Id gives
            body.problem(
                f"{member}.IdType",
                f"The alternate ID type '{kind}' has no place: iMIS keeps Id and MajorKey.",
            )


# ---- helpers -------------------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], name: str) -> Any:
    return wire.find(obj, name)


def _has(obj: Mapping[str, Any], name: str) -> bool:
    return wire.spelled(obj, name) is not None


def _unknown(body: PartyBody, obj: Mapping[str, Any], known: frozenset[str], prefix: str) -> None:
    for key in obj:
        if not key.startswith("$") and key.casefold() not in known:
            body.problem(
                f"{prefix}{key}", f"The member {prefix}{key} is not part of ASI's Party contract."
            )


def _overridden(salutation: Mapping[str, Any]) -> bool:
    return _get(salutation, "IsOverridden") is True


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().casefold() == b.strip().casefold()
    return bool(a == b)


def _same_purpose(a: str | None, b: str | None) -> bool:
    return (a or "").casefold() == (b or "").casefold()
