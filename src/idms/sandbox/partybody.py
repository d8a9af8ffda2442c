"""A Party body in and out of the store: the contact with every address it has.

In: ``partydata.read_party`` places each member of the body; a member without a place is a 400
naming it (never a silent drop). The contact is written, then each address of the body under its
purpose (the store's default purpose is the contact's own address: its lines are Contact fields,
its e-mail, phones, note and preferred flags the Address record's), all in one transaction, so a
refused address leaves nothing written. Out: the contact with its Address records
(``entities.party_from_record``), the default purpose first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from idms.errors import CoercionError
from idms.sandbox.context import Sandbox, changed, writable
from idms.sandbox.http import ApiError, invalid
from idms.sources.model import SourceDef
from idms.targets.base import Change, ChangeKind, Record
from idms.targets.imis import partydata, wire
from idms.targets.imis.entities import ADDRESS_FIELDS, party_from_record, typed
from idms.targets.imis.partydata import PartyBody

CONTACT = "Contact"
ADDRESS = "Address"
# What an Address record of the default purpose holds beyond the Contact's address fields.
ADDRESS_EXTRAS = ("Email", "Phone", "Fax", "Notes", *partydata.REASONS.values())
# What the store leaves empty on the default-purpose address it makes with a contact
# (``ContactAdapter._address_insert``): a body's empty value for one of these changes nothing.
EMPTY_ON_NEW_ADDRESS = frozenset({"Email", "Phone", "Fax", "Notes"})
NOT_KEPT = "not_kept"
# ``Sandbox.together``'s write: (source, change, members) -> the record as written.
Write = Callable[..., Record | None]


@dataclass
class AddressChange:
    """The values one address of a body writes, and the members they came from."""

    purpose: str
    values: dict[str, Any]
    members: dict[str, str]
    member: str
    listed: bool


@dataclass
class ReadBody:
    """A Party body as the store's changes: Contact values and each address's."""

    contact: dict[str, Any]
    members: dict[str, str]
    addresses: list[AddressChange]


def _key(value: Any) -> str:
    return str(value or "").strip().casefold()


class PartyBodies:
    """Reads and writes Party bodies over one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    @property
    def default_purpose(self) -> str:
        return self.sb.target.policy.default_address_purpose

    # ---- out ------------------------------------------------------------------------------------

    def addresses(self, ids: Iterable[Any]) -> dict[str, list[Record]]:
        """The Address records of the contacts ``ids``, by folded iMIS ID (one query).

        A look-up of the IDs as the store matches IDs (``match``: the imis_id index serves it),
        not a filtered read: ``ImisId in:`` folds the column, which reads every address of the
        store on every call. Each contact's addresses come in purpose order, as a read gives.
        """
        wanted = {_key(i): str(i) for i in ids if i not in (None, "")}
        out: dict[str, list[Record]] = {}
        if not wanted:
            return out
        criteria = [{"ImisId": i} for _, i in sorted(wanted.items())]
        for found in self.sb.target.match(ADDRESS, ["ImisId"], criteria):
            for record in found:
                out.setdefault(_key(record.get("ImisId")), []).append(record)
        return out

    def party(self, record: Record, addresses: Sequence[Record] | None = None) -> dict[str, Any]:
        """A Contact record as PersonData/OrganizationData, every address of it included."""
        if addresses is None:
            addresses = self.addresses([record.get("ImisId")]).get(_key(record.get("ImisId")), [])
        return party_from_record(
            record, address_purpose=self.default_purpose, addresses=list(addresses)
        )

    def parties(self, records: Sequence[Record]) -> list[dict[str, Any]]:
        by_id = self.addresses(r.get("ImisId") for r in records)
        return [self.party(r, by_id.get(_key(r.get("ImisId")), [])) for r in records]

    # ---- in -------------------------------------------------------------------------------------

    def read(self, body: Mapping[str, Any], is_organization: bool | None) -> ReadBody:
        """The changes a body makes, or a 400 naming every member that has no place."""
        party = partydata.read_party(body)
        if party.problems:
            raise ApiError(
                400,
                wire.validation_results([(m, NOT_KEPT, member) for member, m in party.problems]),
            )
        default = self.default_purpose
        members = party.contact_members(default)
        source = self.sb.source(CONTACT)
        values = self._typed(source, party.contact(default), members)
        if is_organization is not None:
            values["IsOrganization"] = is_organization
        return ReadBody(writable(source, values), members, self._addresses(party, default))

    def _addresses(self, party: PartyBody, default: str) -> list[AddressChange]:
        source = self.sb.source(ADDRESS)
        out = []
        for address in party.by_purpose(default):
            purpose = address.purpose or default
            own = _key(purpose) == _key(default)
            raw = {k: v for k, v in address.values.items() if not own or k in ADDRESS_EXTRAS}
            if not raw and own:
                continue  # the contact's own address, all of it in Contact fields
            values = writable(source, self._typed(source, raw, address.members))
            members = dict(address.members)
            out.append(AddressChange(purpose, values, members, address.member, address.listed))
        return out

    @staticmethod
    def _typed(
        source: SourceDef, values: Mapping[str, Any], members: Mapping[str, str]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in values.items():
            fdef = source.find_field(name)
            if fdef is None:
                out[name] = value
                continue
            try:
                out[fdef.name] = typed(fdef.type, value, fdef.label)
            except CoercionError as exc:
                member = members.get(name, name)
                raise invalid(f"{exc.message} ({member})", exc.code, member) from None
        return out

    # ---- writes ---------------------------------------------------------------------------------

    def create(self, write: Write, body: ReadBody) -> dict[str, Any]:
        """Insert the contact and its addresses with ``write`` (``Sandbox.together``'s); the
        party as stored: the contact as its write gave it back (see :meth:`update`), its
        addresses read in the same transaction."""
        record = write(CONTACT, Change(ChangeKind.INSERT, body.contact), body.members)
        assert record is not None
        self._write_addresses(write, record, body.addresses, {})
        return self.party(record)

    def update(self, write: Write, current: Record, body: ReadBody) -> dict[str, Any]:
        """Update the contact and write each address of the body with ``write``
        (``Sandbox.together``'s); the party as stored.

        The contact is the record the store's write gives back, which is what a read of it
        in the same transaction gives: the address writes that follow never touch a Contact
        field (the own address's lines are the contact's, written with it; its extras and
        the other addresses are Address fields only)."""
        held = self.addresses([current["ImisId"]]).get(_key(current["ImisId"]), [])
        existing = {_key(a.get("AddressPurpose")): a for a in held}
        values = changed(body.contact, current)
        identity = {"ImisId": current["ImisId"]}
        record = write(CONTACT, Change(ChangeKind.UPDATE, values, identity=identity), body.members)
        assert record is not None
        wrote = self._write_addresses(write, record, body.addresses, existing)
        # The contact's own address lines are its default-purpose Address record: while they
        # and every other address stand as read, the addresses need no second read.
        moved = any(record.get(f) != current.get(f) for f in ADDRESS_FIELDS)
        return self.party(record, None if wrote or moved else held)

    def _write_addresses(
        self,
        write: Write,
        contact: Record,
        addresses: Sequence[AddressChange],
        existing: Mapping[str, Record],
    ) -> bool:
        """Write the body's addresses; whether any write was made."""
        wrote = False
        default = _key(self.default_purpose)
        for address in addresses:
            key = _key(address.purpose)
            current = existing.get(key)
            if current is None and key == default and any(contact.get(f) for f in ADDRESS_FIELDS):
                current = {}  # the contact's own address, just written with the contact
            if current is None and not any(address.values.values()):
                continue  # nothing to keep of an address the contact does not have
            if current is None and not address.listed:
                raise self._no_address(address)
            if current is None:
                values = {**address.values, "ImisId": contact["ImisId"],
                          "AddressPurpose": address.purpose}  # fmt: skip
                if values.get("Country") in (None, "") and contact.get("Country"):
                    # iMIS keeps an address given without a country (ASI's own ComboPartyData
                    # sample sends two); the store's Address records need one, so such an
                    # address takes the country of the contact's own address.
                    values["Country"] = contact["Country"]
                write(ADDRESS, Change(ChangeKind.INSERT, values), address.members)
                wrote = True
                continue
            if current:
                values = changed(address.values, current)
            else:  # the own address the contact's write has just made: its extras are empty
                values = {
                    k: v
                    for k, v in address.values.items()
                    if v is not None or k not in EMPTY_ON_NEW_ADDRESS
                }
            if not values:
                continue
            purpose = current.get("AddressPurpose") or address.purpose
            identity = {"ImisId": contact["ImisId"], "AddressPurpose": purpose}
            write(ADDRESS, Change(ChangeKind.UPDATE, values, identity=identity), address.members)
            wrote = True
        return wrote

    def _no_address(self, address: AddressChange) -> ApiError:
        phones = ", ".join(partydata.PHONES.values())
        return invalid(
            f"{address.member} names the address purpose '{address.purpose}', and the contact "
            f"has no address of that purpose. Phone types: {phones}, or an address purpose "
            f"(its fax: the purpose and '{partydata.FAX_SUFFIX.strip()}'); e-mail types: "
            f"{partydata.PRIMARY_EMAIL} or an address purpose.",
            NOT_KEPT,
            address.member,
        )
