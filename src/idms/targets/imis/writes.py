"""Writing over REST: one strategy per kind of source, one change at a time.

Each change becomes the calls rest-contract.md fixes for its source, with its before image read
first (``GET``) for an update or delete and its after image taken from the answer:

* Contact: ``POST /api/Person|Organization``; update is GET -> modify -> ``PUT /api/Party/{id}``
  with the whole object, changing only what the change names (other addresses, phones and
  attributes an iMIS holds are kept as they are).
* business objects (Activity, panels, Address, GroupMember, LookupTable as GenTable ...):
  ``POST /api/{Entity}``; ``PUT`` / ``DELETE /api/{Entity}{identity}``, the PUT carrying the
  stored object with the changed properties replaced.
* UserCredentials (EMS): ``POST /api/UserSecurity`` (``UserId`` for an existing contact, names
  and e-mail for a new one); unlock through ``_execute UnlockUser``; ``DELETE
  /api/UserSecurity/{id}``. iMIS 2017 allows none of these: its unlock is an update of the
  UserData business object (``PUT /api/UserData/{ID}`` with IsLockedOut false, the generic way).
* EventRegistration: ``_execute RegisterEvent``; Gift: ``POST /api/GiftInformationBatch``.

What idms decides from the source declaration alone (read-only and unsupported fields, key
changes, what a credentials update may do) is refused without a call, by the source's rules
(``idms.sources.rules``, as on the embedded store); everything else is iMIS's to refuse, and a 400
ValidationResults becomes a RowError with the answer's code (``imis_validation`` when iMIS gives
none) and field.

A plan (``ApplyOptions.dry_run``) makes no write: each change is judged here (``rehearse``) by
the rules the store applies when it writes (``idms.sources.checks``), over REST reads
(``dryrun.py``), and its result is what the write would answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from idms.sources import checks
from idms.sources.catalog import CONTACT
from idms.sources.model import SourceDef
from idms.sources.rules import RowRefused, insert_values, update_values
from idms.targets.base import ApplyOptions, ApplyResult, Change, ChangeKind, Record, RowError
from idms.targets.imis import entities, partydata, registrations, wire
from idms.targets.imis.carried import Carried
from idms.targets.imis.client import ImisClient, ImisRefused
from idms.targets.imis.dryrun import Judge
from idms.targets.imis.entities import EntitySpec
from idms.targets.imis.reads import record_of, records_of

REGISTRATION_REQUEST = "Asi.Soa.Events.DataContracts.EventRegistrationRequest, Asi.Contracts"
GIFT_BATCH = "Asi.Soa.Fundraising.DataContracts.GiftInformationBatchData, Asi.Contracts"
GIFT_COLLECTION = "Asi.Soa.Fundraising.DataContracts.GiftInformationDataCollection, Asi.Contracts"
USER_SECURITY = wire.contract("User.UserSecurityData")
# Request properties of the registration call, by the field they carry.
REGISTRATION_PROPERTIES = {
    "EventId": "EventCode",
    "FunctionId": "FunctionCode",
    "RegistrationOptionFunctionId": "FunctionCode",
    "RegistrantId": "RegistrantId",
    "RegisteredBy": "RegisteredById",
    "BillTo": "BillToId",
}
ADDRESS_FIELDS = ("Address1", "Address2", "Address3", "City", "StateProvince", "PostalCode",
                  "Country")  # fmt: skip


# A request member path at the end of a message: `` (Addresses[0].Address.CountryName)``.
_MEMBER_SUFFIX = re.compile(r" \((?:[A-Za-z$]+(?:\[\d+\])?\.)+[A-Za-z]+\)$")


@dataclass
class Writer:
    """Writes the changes of one source; ``write`` never raises for a refused change."""

    client: ImisClient
    source: SourceDef
    spec: EntitySpec
    platform: str
    options: ApplyOptions
    # A dry run (``options.dry_run``): each change's look-ups, over REST (see dryrun.py).
    judge: Callable[[], Judge] | None = None
    # The objects the batch's match read: an update or delete takes its own from there rather
    # than reading it again (see carried.py).
    carried: Carried | None = None

    @property
    def collection(self) -> str:
        return f"api/{self.spec.entity}"

    def url(self, identity: Mapping[str, Any]) -> str:
        return self.collection + entities.identity_path(self.source, identity)

    def query(self) -> list[tuple[str, str]]:
        """Query parameters every write carries (Skip Validation, for the sandbox)."""
        return [("SkipValidation", "true")] if self.options.skip_validation else []

    def path(self, path: str) -> str:
        query = self.query()
        return path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")

    def write(self, change: Change) -> ApplyResult:
        try:
            if self.judge is not None:
                return self.rehearse(change, self.judge())
            if change.kind is ChangeKind.INSERT:
                return self.insert(change)
            if change.kind is ChangeKind.UPDATE:
                return self.update(change)
            return self.delete(change)
        except RowRefused as exc:
            return ApplyResult(change.ref, False, error=RowError(exc.code, exc.message, exc.field))
        except ImisRefused as exc:
            return ApplyResult(change.ref, False, error=self.refusal(exc, change))

    # ---- the general strategy: business objects --------------------------------------------

    def insert(self, change: Change) -> ApplyResult:
        values = self.writable(change.values)
        body = entities.entity_from_record(self.spec, self.source, values)
        answer = self.client.post(self.path(self.collection), body)
        return ApplyResult(change.ref, True, None, self.after_insert(answer, values))

    def update(self, change: Change) -> ApplyResult:
        stored, before = self.stored(change)
        values = self.appended(before, self.writable(change.values, before), change)
        answer = self.client.put(self.path(self.url(before)), self.modified(stored, values, before))
        return ApplyResult(change.ref, True, before, self.after_update(answer, before))

    def delete(self, change: Change) -> ApplyResult:
        before = self.stored(change)[1]
        self.client.delete(self.path(self.url(before)))
        return ApplyResult(change.ref, True, before, None)

    def stored(self, change: Change) -> tuple[Any, Record]:
        """The stored object a change's identity names (404 when it names none), and its
        record: the one the batch's match read, while fresh (``carried.py``), else read now."""
        identity = change.identity or {}
        if any(identity.get(k) in (None, "") for k in self.source.identity):
            raise ImisRefused("GET", self.collection, 404, None)
        if self.carried is not None:
            read = self.carried.take_read(self.source, identity)
            if read is not None:
                obj, record = read
                if registrations.is_registration(obj):  # its match's record is a function's
                    return obj, self.record(obj)
                return obj, record
        obj = self.client.get(self.url(identity))
        return obj, self.record(obj)

    def record(self, obj: Any) -> Record:
        if not isinstance(obj, Mapping):
            raise RowRefused("imis_error", f"iMIS sent no {self.source.label} record.")
        return record_of(self.spec, self.source, obj)

    def modified(
        self, stored: Mapping[str, Any], values: Mapping[str, Any], before: Record
    ) -> dict[str, Any]:
        """The stored GenericEntityData (whose record is ``before``) with the changed
        properties replaced (others kept)."""
        obj: dict[str, Any] = wire.copied(dict(stored))
        props = obj.setdefault(
            "Properties", wire.collection(wire.PROPERTY_COLLECTION, [])
        ).setdefault("$values", [])
        for name, value in values.items():
            wire_name = self.spec.wire_name(name)
            new = wire.property_data(wire_name, value)
            for i, prop in enumerate(props):
                if str(prop.get("Name", "")).casefold() == wire_name.casefold():
                    props[i] = {**new, "Name": prop["Name"]}
                    break
            else:
                props.append(new)
        return obj

    def after_insert(self, answer: Any, values: Mapping[str, Any]) -> Record:
        after = self.record(answer)
        if self.source.panel_kind in ("multi", "standalone") and not after.get("Ordinal"):
            after = self._find_new_row(after) or after  # iMIS's "ordinal 0" answer
        return after

    def after_update(self, answer: Any, before: Record) -> Record:
        if isinstance(answer, Mapping) and answer:
            return self.record(answer)
        return self.record(self.client.get(self.url(before)))

    def _find_new_row(self, after: Record) -> Record | None:
        params = [("PartyId", after["ImisId"])] if after.get("ImisId") else []
        rows = [self.record(o) for o in self.client.paged(self.collection, params)]
        rows = [r for r in rows if r.get("Ordinal")]
        return max(rows, key=lambda r: int(r["Ordinal"]), default=None)

    # ---- a dry run: every rule the write would meet, judged here ----------------------------

    def rehearse(self, change: Change, judge: Judge) -> ApplyResult:
        """What writing ``change`` would give, judged by the rules the store applies when it
        writes (``idms.sources.checks``), without writing anything."""
        planned = judge.planned
        if change.kind is ChangeKind.INSERT:
            after = self.public(self.judge_insert(judge, self.writable(change.values)))
            planned.keep(self.source, None, after)
            return ApplyResult(change.ref, True, None, after, note=self.note(judge))
        known, before = planned.find(self.source, change.identity or {})
        if not known:
            before = self.stored(change)[1]
        if before is None:
            raise ImisRefused("GET", self.collection, 404, None)  # the plan deleted it
        if change.kind is ChangeKind.DELETE:
            self.judge_delete(judge, before)
            planned.keep(self.source, before, None)
            return ApplyResult(change.ref, True, before, None, note=self.note(judge))
        values = self.appended(before, self.writable(change.values, before), change)
        after = self.public(self.judge_update(judge, before, values))
        planned.keep(self.source, before, after)
        return ApplyResult(change.ref, True, before, after, note=self.note(judge))

    def public(self, record: Record) -> Record:
        """A record as iMIS answers it: never a secret (a password) or a write-only field."""
        hidden = {f.name for f in self.source.fields if f.secret or f.write_only}
        return {k: v for k, v in record.items() if k not in hidden}

    def judge_insert(self, judge: Judge, values: Mapping[str, Any]) -> Record:
        source = self.source
        record: Record = {f.name: None for f in source.fields if not (f.secret or f.write_only)}
        record.update(values)
        checks.fill_defaults(checks.defaults_of(source), record, _today(), lambda: None)
        checks.check_required([f for f in source.fields if f.required_on_insert], record)
        refs = checks.contact_refs(source)
        checks.check_contact_refs(source, refs, record, record.keys(), judge)
        self.check_codes(judge, record, values)
        self.check_insert(judge, record)
        for fdef in source.fields:
            counted = fdef.default is not None and fdef.default.kind == "counter"
            if counted and record.get(fdef.name) in (None, ""):
                record[fdef.name] = judge.planned.new_id()  # iMIS numbers it on write
        return record

    def judge_update(self, judge: Judge, before: Record, values: Mapping[str, Any]) -> Record:
        after = dict(before)
        after.update(values)
        refs = checks.contact_refs(self.source)
        checks.check_contact_refs(self.source, refs, after, values.keys(), judge)
        self.check_codes(judge, after, values)
        self.check_update(judge, before, after, values)
        return after

    def judge_delete(self, judge: Judge, before: Record) -> None:
        checks.source_delete(self.source, before)

    def check_codes(self, judge: Judge, record: Record, values: Mapping[str, Any]) -> None:
        if self.options.skip_validation:
            return
        lookup = {f.name: f for f in self.source.fields if f.lookup is not None}
        checks.check_lookups(lookup, record, values, judge)

    def check_insert(self, judge: Judge, record: Record) -> None:
        """The source's own rules for a new record."""
        checks.source_insert(self.source, record, judge)

    def check_update(
        self, judge: Judge, before: Record, after: Record, values: Mapping[str, Any]
    ) -> None:
        """The source's own rules for a change."""
        checks.source_update(self.source, before, after, values, judge)

    def note(self, judge: Judge) -> str | None:
        unchecked = checks.checked_only_on_write(self.source)
        if unchecked:
            judge.notes.append(f"iMIS checks {unchecked} only when the run writes.")
        return judge.note()

    # ---- what idms refuses itself ----------------------------------------------------------

    def writable(self, values: Mapping[str, Any], before: Record | None = None) -> dict[str, Any]:
        """The values a new record (``before`` None) or ``before`` may be given: the source's
        rules, the same the embedded store applies, refuse the rest with RowRefused."""
        if before is None:
            return insert_values(self.source, self.platform, values)
        return update_values(self.source, self.platform, before, values)

    @staticmethod
    def appended(before: Record, values: dict[str, Any], change: Change) -> dict[str, Any]:
        for name in change.append:
            if name in values and isinstance(values[name], tuple):
                values[name] = tuple(dict.fromkeys((before.get(name) or ()) + values[name]))
        return values

    # ---- what iMIS refused -----------------------------------------------------------------

    def refusal(self, exc: ImisRefused, change: Change) -> RowError:
        if exc.status == 404:
            identity = change.identity or {}
            described = ", ".join(f"{k} {identity.get(k)!s}" for k in self.source.identity)
            return RowError(
                "not_found",
                f"No {self.source.label} record with {described} (it may have been deleted "
                "since it was matched).",
            )
        errors = exc.validation_errors
        if errors:
            message, code, prop = errors[0]
            # The request member iMIS names after the sentence (``… (Addresses[0].Address.
            # CountryName)``) is where idms put the field in its own body; the row names the
            # field, and the sentence stays the rule's own, as a plan words it.
            message = _MEMBER_SUFFIX.sub("", message)
            return RowError(code or "imis_validation", message, self.field_of(prop))
        codes = {409: "conflict", 405: "action_not_allowed", 501: "action_not_allowed"}
        return RowError(codes.get(exc.status, "imis_error"), exc.message)

    def field_of(self, prop: str | None) -> str | None:
        if not prop:
            return None
        fdef = self.source.find_field(self.spec.canonical(prop))
        return fdef.name if fdef is not None else prop


class ContactWriter(Writer):
    """Contacts: the typed Party contract, GET -> modify -> PUT for updates."""

    def insert(self, change: Change) -> ApplyResult:
        values = self.writable(change.values)
        body = entities.party_from_record(values)
        kind = "Organization" if values.get("IsOrganization") else "Person"
        answer = self.client.post(self.path(f"api/{kind}"), body)
        return ApplyResult(change.ref, True, None, self.record(answer))

    def modified(
        self, stored: Mapping[str, Any], values: Mapping[str, Any], before: Record
    ) -> dict[str, Any]:
        return modify_party(stored, {**before, **values}, values)

    def judge_insert(self, judge: Judge, values: Mapping[str, Any]) -> Record:
        supplied = values.get("ImisId")
        record = super().judge_insert(judge, values)
        if supplied:
            imis_id = str(supplied).strip()
            if judge.contact(imis_id) is not None:
                raise checks.imis_id_taken(imis_id)
            record["ImisId"] = imis_id
        record["IsOrganization"] = bool(record.get("IsOrganization"))
        record["MarkForErasure"] = bool(record.get("MarkForErasure"))
        return record


def modify_party(
    stored: Mapping[str, Any], merged: Mapping[str, Any], changed: Mapping[str, Any]
) -> dict[str, Any]:
    """The stored PersonData/OrganizationData with the ``changed`` fields set, the rest kept."""
    obj: dict[str, Any] = wire.copied(dict(stored))
    fresh = entities.party_from_record(merged)
    names = {
        **{n: n for n in ("FirstName", "MiddleName", "LastName", "InformalName")},
        "Prefix": "NamePrefix",
        "Suffix": "NameSuffix",
    }
    if any(n in changed for n in names) and isinstance(fresh.get("PersonName"), Mapping):
        person = dict(obj.get("PersonName") or {})
        person.update({m: fresh["PersonName"][m] for n, m in names.items() if n in changed})
        if any(n in changed for n in ("FirstName", "LastName")):
            person["FullName"] = fresh["PersonName"]["FullName"]
            obj["Name"] = fresh["Name"]
        obj["PersonName"] = person
    if "OrganizationName" in changed and "OrganizationName" in fresh:
        obj["OrganizationName"] = fresh["OrganizationName"]
        obj["Name"] = fresh["Name"]
    for key in ("Title", "BirthDate", "Gender"):
        if key in changed:
            obj[key] = fresh.get(key)
    if any(n in changed for n in ("OrganizationId", "OrganizationName", "Title")) and (
        "PersonName" in fresh
    ):
        if fresh.get("PrimaryOrganization"):
            obj["PrimaryOrganization"] = fresh["PrimaryOrganization"]
        else:
            obj.pop("PrimaryOrganization", None)
    if "Status" in changed:
        obj["Status"] = fresh.get("Status")
    _set_attributes(obj, changed)
    if "Email" in changed:
        _set_email(obj, changed["Email"], fresh)
    for canonical, kind in partydata.PHONES.items():
        if canonical in changed:
            _set_phone(obj, kind, changed[canonical])
    if any(name in changed for name in ADDRESS_FIELDS):
        _set_address(obj, merged, fresh)
    return obj


def _items(obj: dict[str, Any], key: str, type_name: str) -> list[Any]:
    holder = obj.get(key)
    if not isinstance(holder, dict):
        holder = wire.collection(wire.contract(type_name), [])
        obj[key] = holder
    return holder.setdefault("$values", [])  # type: ignore[no-any-return]


def _set_attributes(obj: dict[str, Any], changed: Mapping[str, Any]) -> None:
    wanted = {a: changed[c] for c, a in partydata.ATTRIBUTES.items() if c in changed}
    if not wanted:
        return
    holder = obj.get("AdditionalAttributes")
    if not isinstance(holder, dict):
        holder = wire.collection(wire.PROPERTY_COLLECTION, [])
        obj["AdditionalAttributes"] = holder
    props = holder.setdefault("$values", [])
    for name, value in wanted.items():
        new = wire.property_data(name, value)
        for i, prop in enumerate(props):
            if str(prop.get("Name", "")).casefold() == name.casefold():
                props[i] = {**new, "Name": prop["Name"]}
                break
        else:
            props.append(new)


def _set_email(obj: dict[str, Any], value: Any, fresh: Mapping[str, Any]) -> None:
    emails = _items(obj, "Emails", "EmailDataCollection")
    index = next((i for i, e in enumerate(emails) if e.get("IsPrimary")), 0 if emails else None)
    if not value:
        if index is not None:
            emails.pop(index)
    elif index is None:
        emails.extend(wire.values_of(fresh.get("Emails")))
    else:
        emails[index] = {**emails[index], "Address": value}


def _set_phone(obj: dict[str, Any], kind: str, value: Any) -> None:
    phones = _items(obj, "Phones", "PhoneDataCollection")
    index = next((i for i, p in enumerate(phones) if p.get("PhoneType") == kind), None)
    if not value:
        if index is not None:
            phones.pop(index)
    elif index is None:
        phones.append({"$type": wire.contract("PhoneData"), "Number": value, "PhoneType": kind})
    else:
        phones[index] = {**phones[index], "Number": value}


def _set_address(obj: dict[str, Any], merged: Mapping[str, Any], fresh: Mapping[str, Any]) -> None:
    addresses = _items(obj, "Addresses", "FullAddressDataCollection")
    new = wire.values_of(fresh.get("Addresses"))
    if not addresses:
        addresses.extend(new)
        return
    if not new:
        return  # every address field cleared: the address itself stays, as on the embedded store
    index = _own_address(addresses)
    if index is None:
        addresses.insert(0, new[0])  # the contact has other addresses, not its own yet
        return
    address = dict(addresses[index].get("Address") or {})
    address.update(new[0]["Address"])
    addresses[index] = {**addresses[index], "Address": address}


def _own_address(addresses: list[Any]) -> int | None:
    """Which of a Party's addresses is the contact's own: the one with the "default"
    communication reason; None when the addresses say their reasons and none is the default;
    the first when they say none."""
    for i, item in enumerate(addresses):
        reasons = wire.values_of(item.get("CommunicationPreferences"))
        if any(isinstance(r, Mapping) and str(r.get("Reason")).casefold() == "default"
               for r in reasons):  # fmt: skip
            return i
    if any("CommunicationPreferences" in item for item in addresses):
        return None
    return 0


class CredentialsWriter(Writer):
    """User credentials: UserSecurity to create and delete, an unlock as the only update."""

    def insert(self, change: Change) -> ApplyResult:
        values = self.writable(change.values)
        if values.get("ImisId") not in (None, "") and values.get("Username") in (None, ""):
            # Without a Username the login is named after the contact's e-mail, as iMIS's own
            # "create logins for contacts with e-mail addresses" does; sent explicitly, so that
            # every iMIS version (and the sandbox) names it alike.
            email = self._contact_email(str(values["ImisId"]))
            if email:
                values["Username"] = email
        body: dict[str, Any] = {"$type": USER_SECURITY}
        for name, key in (("Username", "UserName"), ("Password", "Password"),
                          ("ImisId", "UserId"), ("FirstName", "FirstName"),
                          ("LastName", "LastName"), ("Email", "Email")):  # fmt: skip
            if values.get(name) not in (None, ""):
                body[key] = values[name]
        answer = self.client.post(self.path("api/UserSecurity"), body)
        return ApplyResult(change.ref, True, None, self.record(answer))

    def _contact_email(self, imis_id: str) -> str | None:
        path = "api/Party" + entities.identity_path(CONTACT, {"ImisId": imis_id})
        try:
            party = self.client.get(path)
        except ImisRefused:
            return None  # no such contact: iMIS says so when the credentials are posted
        if not isinstance(party, Mapping):
            return None
        email = entities.record_from_party(party, CONTACT).get("Email")
        return str(email) if email else None

    def update(self, change: Change) -> ApplyResult:
        before = self.stored(change)[1]
        # What an update may do (only unlock) is the source's rule.
        values = self.writable(change.values, before)
        if not values.get("UnlockUserAccount"):
            return ApplyResult(change.ref, True, before, dict(before))
        # EMS only: on 2017 User Credentials allows no action (the target refuses it before this)
        # and accounts are unlocked through the UserData business object (the generic Writer).
        request = wire.execute_request("UserSecurity", "UnlockUser", [before["Username"]])
        self.client.post(self.path("api/UserSecurity/_execute"), request)
        after = self.record(self.client.get(self.url(before)))
        return ApplyResult(change.ref, True, before, after)

    def judge_insert(self, judge: Judge, values: Mapping[str, Any]) -> Record:
        imis_id = values.get("ImisId")
        record: Record = {f.name: None for f in self.source.fields if not f.secret}
        if imis_id:
            contact = checks.credentials_contact(self.source, str(imis_id).strip(), values, judge)
            if judge.exists("UserCredentials", "ImisId", str(contact["ImisId"])):
                raise checks.credentials_exist(contact)
            record.update(
                ImisId=contact["ImisId"],
                FirstName=contact["FirstName"],
                LastName=contact["LastName"],
                Email=contact["Email"],
                Username=values.get("Username") or contact["Email"],
            )
        else:
            checks.credentials_new_contact(self.source, values)
            record.update(
                ImisId=judge.planned.new_id(),
                **{k: values[k] for k in ("FirstName", "LastName", "Email", "Username")},
            )
        if judge.exists("UserCredentials", "Username", str(record["Username"])):
            raise checks.username_taken(str(record["Username"]))
        if values.get("Password") is not None:
            judge.notes.append("iMIS checks the password against its policy when it is written.")
        record.update(IsLockedOut=False, FailedPasswordAttemptCount=0, IsDisabled=False)
        return record

    def judge_update(self, judge: Judge, before: Record, values: Mapping[str, Any]) -> Record:
        return checks.unlocked(self.source, before, values)

    def delete(self, change: Change) -> ApplyResult:
        before = self.stored(change)[1]
        path = "api/UserSecurity" + entities.identity_path(self.source, before)
        self.client.delete(self.path(path))
        return ApplyResult(change.ref, True, before, None)


class RegistrationWriter(Writer):
    """Event registrations: ``_execute RegisterEvent`` (insert only)."""

    def insert(self, change: Change) -> ApplyResult:
        v = self.writable(change.values)
        function = None
        if v.get("FunctionCode") not in (None, ""):
            function = f"{v.get('EventCode') or ''}/{v['FunctionCode']}"
        body = {
            "$type": REGISTRATION_REQUEST,
            "EntityTypeName": "EventRegistration",
            "OperationName": "RegisterEvent",
            "RegistrationType": 3,
            "EventId": v.get("EventCode"),
            "RegistrationOptionFunctionId": function,
            "FunctionId": function,
            "RegistrantId": v.get("RegistrantId"),
            "RegisteredBy": v.get("RegisteredById"),
            "BillTo": v.get("BillToId"),
            "Waitlist": v.get("Waitlist"),
            "Price": v.get("Price"),
            "TransactionDate": v.get("TransactionDate"),
        }
        answer = self.client.post(self.path("api/EventRegistration/_execute"), body)
        if isinstance(answer, Mapping) and answer.get("IsSuccessStatusCode") is False:
            errors = wire.validation_errors(answer)
            message, code, prop = errors[0] if errors else (str(answer.get("Message")), None, None)
            raise RowRefused(code or "imis_validation", message, self.field_of(prop))
        result = answer.get("Result") if isinstance(answer, Mapping) else None
        if not isinstance(result, Mapping):
            raise RowRefused("imis_error", f"iMIS sent no {self.source.label} record.")
        # The answer is the event's whole registration: the record is the function's.
        found = records_of(self.spec, self.source, result)
        wanted = str(v.get("FunctionCode") or "").casefold()
        mine = [r for r in found if str(r.get("FunctionCode") or "").casefold() == wanted]
        if not (mine or found):
            raise RowRefused("imis_error", "iMIS sent a registration without functions.")
        return ApplyResult(change.ref, True, None, (mine or found)[-1])

    def field_of(self, prop: str | None) -> str | None:
        return super().field_of(REGISTRATION_PROPERTIES.get(prop or "", prop))


class GiftWriter(Writer):
    """Gifts: one ``GiftInformationBatch`` per gift, so that each is refused on its own."""

    def insert(self, change: Change) -> ApplyResult:
        values = self.writable(change.values)
        gift = entities.entity_from_record(self.spec, self.source, values)
        body = {"$type": GIFT_BATCH, "Gifts": wire.collection(GIFT_COLLECTION, [gift])}
        answer = self.client.post(self.path("api/GiftInformationBatch"), body)
        stored = wire.values_of(answer.get("Gifts")) if isinstance(answer, Mapping) else []
        return ApplyResult(change.ref, True, None, self.record(stored[0] if stored else None))


def writer_for(
    client: ImisClient,
    source: SourceDef,
    platform: str,
    options: ApplyOptions,
    judge: Callable[[], Judge] | None = None,
    carried: Carried | None = None,
) -> Writer:
    spec = entities.spec_for(source)
    kinds: dict[str, type[Writer]] = {
        "Contact": ContactWriter,
        "UserCredentials": CredentialsWriter,
        "EventRegistration": RegistrationWriter,
        "Gift": GiftWriter,
    }
    if source.name == "UserData":
        return UserDataWriter(client, source, spec, platform, options, judge, carried)
    writer = kinds.get(source.name, Writer)
    return writer(client, source, spec, platform, options, judge, carried)


class UserDataWriter(Writer):
    """iMIS 2017's UserData: the generic business object, whose update only unlocks."""

    def judge_update(self, judge: Judge, before: Record, values: Mapping[str, Any]) -> Record:
        return checks.unlocked(self.source, before, values)


def _today() -> date:
    return datetime.now(UTC).date()
