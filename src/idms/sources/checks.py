"""The rules that need the store's data, written once for every target.

``idms.sources.rules`` holds what idms decides from the declarations alone; this module holds
the checks iMIS makes against what is stored: required fields and defaults of a new record,
lookup codes, iMIS IDs that must name contacts, and the data-dependent rules of Contact and
User Credentials. They work over :class:`StoreLookups`, a few questions about the store:

* the embedded store answers them from the batch's connection
  (``targets/embedded/adapters``), and applies these checks when it writes, so the sandbox
  (the embedded store served as iMIS) refuses with exactly these sentences;
* the REST target answers them with REST reads, to judge a change in a plan (a dry run:
  iMIS has none) exactly as the write would be judged.

Every check raises :class:`~idms.sources.rules.RowRefused`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from idms.sources.model import FieldDef, SourceDef
from idms.sources.rules import RowRefused
from idms.values.folding import fold, fold_value

Values = Mapping[str, Any]

# Fields holding iMIS IDs that must name existing contacts, per source (panels: see below).
CONTACT_REFS: dict[str, tuple[str, ...]] = {
    "Contact": ("OrganizationId",),
    "Address": ("ImisId",),
    "Activity": ("ImisId", "OrganizationId"),
    "UserCredentials": ("ImisId",),
    "GroupMember": ("ImisId",),
    "Relationship": ("ImisId", "TargetImisId"),
    "CommunicationPreferences": ("ImisId",),
    "Event": ("EventContactId",),
    "EventRegistration": ("RegistrantId", "RegisteredById", "BillToId"),
    "Gift": ("DonorId", "SoftCreditId", "TributeNameId", "MovesManagerId", "NotifyContactId"),
}


class StoreLookups(Protocol):
    """What the checks ask of a store (text compared without case, as iMIS's collation does)."""

    def canonical_code(self, table: str, value: str) -> str | None:
        """The stored spelling of ``value`` in lookup ``table``, or None: not a code."""
        ...

    def contact(self, imis_id: str) -> Mapping[str, Any] | None:
        """The contact with this iMIS ID (``ImisId``, ``IsOrganization``, ``Email``,
        ``FirstName``, ``LastName``), or None."""
        ...


def contact_refs(source: SourceDef) -> tuple[str, ...]:
    """The fields of ``source`` that must name existing contacts."""
    if source.kind == "panel":
        return ("ImisId",) if source.panel_kind in ("single", "multi") else ()
    return CONTACT_REFS.get(source.name, ())


# ---- every source ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Defaults:
    """A source's defaults, sorted by kind once (``defaults_of``) so that filling a record's
    is a few loops rather than a rule interpreted per field and record: fixed values, today's
    date, new GUIDs, then the fields copied from others (GiftDate = TransactionDate), in field
    order. Counters are the store's to assign and are not here."""

    constants: tuple[tuple[str, Any], ...] = ()
    today: tuple[str, ...] = ()
    guids: tuple[str, ...] = ()
    copied: tuple[tuple[str, str], ...] = ()


def defaults_of(source: SourceDef) -> Defaults:
    """The defaults of ``source``'s fields, in the order they are filled in: fixed ones first,
    then those copied from other fields."""
    rules = [(f.name, f.default) for f in source.fields if f.default is not None]
    return Defaults(
        constants=tuple(
            (name, rule.value)
            for name, rule in rules
            if rule.kind == "constant" and rule.value is not None
        ),
        today=tuple(name for name, rule in rules if rule.kind == "today"),
        guids=tuple(name for name, rule in rules if rule.kind == "guid"),
        copied=tuple((name, rule.value) for name, rule in rules if rule.kind == "field"),
    )


def fill_defaults(
    defaults: Defaults,
    record: dict[str, Any],
    today: date,
    new_guid: Callable[[], Any],
) -> None:
    """The defaults (``defaults_of``) of the fields a new record leaves blank."""
    get = record.get
    for name, value in defaults.constants:
        if get(name) is None:
            record[name] = value
    for name in defaults.today:
        if get(name) is None:
            record[name] = today
    for name in defaults.guids:
        if get(name) is None and (guid := new_guid()) is not None:
            record[name] = guid
    for name, other in defaults.copied:
        if get(name) is None and (value := get(other)) is not None:
            record[name] = value


def check_required(fields: Iterable[FieldDef], record: Mapping[str, Any]) -> None:
    """Each field of ``fields`` (the source's required on insert) must have a value."""
    for fdef in fields:
        if record.get(fdef.name) in (None, ""):
            raise RowRefused("required", f"{fdef.label} is required for a new record.", fdef.name)


def check_contact_refs(
    source: SourceDef,
    refs: Iterable[str],
    record: dict[str, Any],
    names: Collection[str],
    lookups: StoreLookups,
) -> None:
    """Each reference in ``names`` (the fields written) must be a contact's iMIS ID (compared
    without case); it is kept in the contact's own spelling, as lookup codes are."""
    for name in refs:
        value = record.get(name)
        if name not in names or value in (None, ""):
            continue
        contact = lookups.contact(str(value))
        if contact is None:
            raise RowRefused(
                "contact_not_found",
                f"{source.field(name).label} {value}: no contact has this iMIS ID.",
                name,
            )
        record[name] = contact["ImisId"]


def check_lookups(
    lookup_fields: Mapping[str, FieldDef],
    record: dict[str, Any],
    values: Iterable[str],
    lookups: StoreLookups,
) -> None:
    """Each code field written (``values``) holds codes of its lookup table; they are kept in
    the table's own spelling (``gld`` is stored as ``GLD``)."""
    for name in filter(lookup_fields.__contains__, values):  # the code fields, at C speed
        fdef = lookup_fields[name]
        value = record.get(name)
        if value is None:
            continue
        assert fdef.lookup is not None
        if isinstance(value, tuple):
            fixed = []
            for item in value:
                code = lookups.canonical_code(fdef.lookup, item)
                if code is None:
                    raise bad_code(fdef, item)
                fixed.append(code)
            record[name] = tuple(dict.fromkeys(fixed))
        else:
            code = lookups.canonical_code(fdef.lookup, str(value))
            if code is None:
                raise bad_code(fdef, value)
            record[name] = code


def bad_code(fdef: FieldDef, value: Any) -> RowRefused:
    return RowRefused(
        "invalid_code",
        f"{fdef.label} '{value}' is not a code in the {fdef.lookup} lookup table.",
        fdef.name,
    )


# ---- Contact -----------------------------------------------------------------------------------


def imis_id_taken(imis_id: str) -> RowRefused:
    return RowRefused(
        "imis_id_taken",
        f"iMIS ID {imis_id} is already used by another contact; leave it blank to get the next "
        "free ID.",
        "ImisId",
    )


def contact_insert(record: Mapping[str, Any], lookups: StoreLookups) -> None:
    """A person needs first and last name, an organization its name; an Organization ID must
    name an organization."""
    if record.get("IsOrganization"):
        if not record.get("OrganizationName"):
            raise RowRefused(
                "required",
                "Organization Name is required for a new organization.",
                "OrganizationName",
            )
    else:
        for name, label in (("FirstName", "First Name"), ("LastName", "Last Name")):
            if not record.get(name):
                raise RowRefused("required", f"{label} is required for a new person.", name)
    contact_organization(record, lookups)


def contact_organization(record: Mapping[str, Any], lookups: StoreLookups) -> None:
    org = record.get("OrganizationId")
    if not org:
        return
    found = lookups.contact(str(org))
    if found is not None and not found["IsOrganization"]:
        raise RowRefused(
            "not_an_organization",
            f"Organization ID {org} is a person, not an organization.",
            "OrganizationId",
        )


# ---- User Credentials --------------------------------------------------------------------------

NEW_CONTACT_FIELDS = ("FirstName", "LastName", "Email", "Username", "Password")


def credentials_contact(
    source: SourceDef, imis_id: str, values: Values, lookups: StoreLookups
) -> Mapping[str, Any]:
    """The existing contact new credentials are for: it must exist and have an e-mail, and
    contact details given along must be its own."""
    contact = lookups.contact(imis_id)
    if contact is None:
        raise RowRefused(
            "contact_not_found", f"iMIS ID {imis_id}: no contact has this iMIS ID.", "ImisId"
        )
    for name in ("FirstName", "LastName", "Email"):
        # The contact's own values may come along (a record read back, an undo); others would
        # be silently ignored, so they are refused.
        if values.get(name) is not None and fold_value(values[name]) != fold_value(contact[name]):
            raise RowRefused(
                "contact_field_on_existing",
                f"{source.field(name).label} '{values[name]}' is not contact "
                f"{contact['ImisId']}'s: contact details can only be given when the credentials "
                "create a new contact (leave iMIS ID blank for that).",
                name,
            )
    if not contact["Email"]:
        raise RowRefused(
            "contact_has_no_email",
            f"Contact {contact['ImisId']} has no e-mail address; iMIS needs one to create "
            "credentials.",
            "ImisId",
        )
    return contact


def credentials_exist(contact: Mapping[str, Any]) -> RowRefused:
    return RowRefused(
        "credentials_exist",
        f"Contact {contact['ImisId']} already has user credentials; delete them first to "
        "create new ones.",
        "ImisId",
    )


def credentials_new_contact(source: SourceDef, values: Values) -> None:
    """Credentials that create their contact need its names, e-mail, username and password."""
    missing = [n for n in NEW_CONTACT_FIELDS if values.get(n) in (None, "")]
    if missing:
        labels = ", ".join(source.field(n).label for n in missing)
        raise RowRefused(
            "required",
            "Creating a new contact with credentials needs First name, Last name, Email, "
            f"Username and Password; missing: {labels}.",
            missing[0],
        )


def username_taken(username: str) -> RowRefused:
    return RowRefused(
        "username_taken",
        f"The username '{username}' is already used (usernames ignore case).",
        "Username",
    )


def username_key(username: str) -> str:
    """The folded form that carries the case-insensitive uniqueness of usernames (``fold``)."""
    return fold(username.strip())


def password_problem(password: str, min_length: int) -> str | None:
    """Why a password breaks the policy (iMIS default: at least 6 characters), or None."""
    if len(password) < min_length:
        return f"The password is too short: it needs at least {min_length} characters."
    if password.strip() != password:
        return "The password starts or ends with a space."
    return None


def unlocked(source: SourceDef, before: Values, values: Values) -> dict[str, Any]:
    """What an update of a login source (User Credentials, UserData) leaves: it only unlocks
    (Unlock User Account = Yes, or Is Locked Out = No), which also clears the failed attempts."""
    after = dict(before)
    if source.name == "UserData":
        unlock = values.get("IsLockedOut") is False
    else:
        unlock = bool(values.get("UnlockUserAccount"))
    if unlock:
        after.update(IsLockedOut=False, FailedPasswordAttemptCount=0)
    return after


# ---- what a store without these data cannot judge before writing ---------------------------

# The rules of a source that need data a REST client cannot read before the write (iMIS checks
# them when the run writes): a plan over REST says so on each row it plans for these sources.
CHECKED_ONLY_ON_WRITE: dict[str, str] = {
    "GroupMember": "the group's roles",
    "EventRegistration": "the event's functions, their prices and places",
    "Gift": "the payment method's type (credit cards are refused)",
    "CommunicationPreferences": "the contact's preferences",
}


def checked_only_on_write(source: SourceDef) -> str | None:
    """What of ``source``'s rules a REST dry run cannot judge (see CHECKED_ONLY_ON_WRITE)."""
    if source.kind == "panel" and source.panel_kind == "single":
        return "that the contact has no row of this panel yet"
    return CHECKED_ONLY_ON_WRITE.get(source.name)


# ---- Activity ----------------------------------------------------------------------------------


def activity_delete(before: Values) -> None:
    """An activity tied to a financial transaction is never deleted."""
    if before.get("OriginatingTransNum"):
        raise RowRefused(
            "financial_activity",
            f"Activity {before['Seqn']} is tied to financial transaction "
            f"{before['OriginatingTransNum']} and must not be deleted.",
            "Seqn",
        )


# ---- Relationship ------------------------------------------------------------------------------


def relationship_insert(record: Mapping[str, Any], lookups: StoreLookups) -> None:
    if fold_value(str(record["ImisId"])) == fold_value(str(record["TargetImisId"])):
        raise RowRefused(
            "self_relationship", "A contact cannot be related to itself.", "TargetImisId"
        )


# ---- each source's own checks, by source -------------------------------------------------------

InsertRule = Callable[[Mapping[str, Any], StoreLookups], None]
UpdateRule = Callable[[Mapping[str, Any], Mapping[str, Any], Values, StoreLookups], None]


def _contact_update(
    before: Mapping[str, Any], after: Mapping[str, Any], values: Values, lookups: StoreLookups
) -> None:
    if "OrganizationId" in values:
        contact_organization(after, lookups)


INSERT_RULES: dict[str, InsertRule] = {
    "Contact": contact_insert,
    "Relationship": relationship_insert,
}
UPDATE_RULES: dict[str, UpdateRule] = {"Contact": _contact_update}
DELETE_RULES: dict[str, Callable[[Values], None]] = {"Activity": activity_delete}


def source_insert(source: SourceDef, record: Mapping[str, Any], lookups: StoreLookups) -> None:
    """The source's own data-dependent rules for a new record."""
    rule = INSERT_RULES.get(source.name)
    if rule is not None:
        rule(record, lookups)


def source_update(
    source: SourceDef,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    values: Values,
    lookups: StoreLookups,
) -> None:
    """The source's own data-dependent rules for a change of ``before`` into ``after``."""
    rule = UPDATE_RULES.get(source.name)
    if rule is not None:
        rule(before, after, values, lookups)


def source_delete(source: SourceDef, before: Mapping[str, Any]) -> None:
    """The source's own rules for a delete."""
    rule = DELETE_RULES.get(source.name)
    if rule is not None:
        rule(before)
