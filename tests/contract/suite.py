"""The contract every Target passes, written once against the protocol in ``targets/base.py``.

A target's test module subclasses :class:`TargetContract` (and :class:`PanelContract` when it has
panels) and provides:

* a ``target`` fixture: a fresh, empty store behind the target (closed afterwards);
* ``seed_reference_data(target)``: writes the part of :data:`REFERENCE` that the contract does
  not write itself (groups and their roles, events and their functions, gift items, payment
  methods, communication preference definitions); the embedded store writes its tables, a REST
  sandbox does the same on its side;
* ``seed_panels(target)`` (panels only): creates the panels of :data:`PANELS`;
* ``expected_platform`` and ``keeps_journal``: its platform, and whether it is a BatchJournal.

Everything else, lookup codes included, is written through ``target.apply`` by the contract
itself, and every check goes through the protocol: ``platform``, ``describe``, ``match``,
``apply``, and the optional ``sources``, ``lookup_codes`` and ``read``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from idms.errors import FilterError, UnknownFieldError, UnknownSourceError
from idms.sources.filters import Filter, Operator, parse_operator
from idms.sources.model import Action
from idms.targets.base import (
    ApplyOptions,
    ApplyResult,
    BatchJournal,
    Change,
    ChangeKind,
    FullTarget,
    Record,
    Target,
    capability,
)
from idms.values.types import FieldType

# ---- the reference data a contract store starts from --------------------------------------------


@dataclass(frozen=True)
class EventFunctionSeed:
    event_code: str
    function_code: str
    function_name: str
    is_registration_option: bool
    price: Decimal | None
    capacity: int | None


@dataclass(frozen=True)
class ReferenceData:
    """What a store holds before a contract test starts writing contacts."""

    # table -> code -> description; written by the contract through the LookupTable source
    lookups: Mapping[str, Mapping[str, str]]
    # group -> (description, roles)
    groups: Mapping[str, tuple[str, tuple[str, ...]]]
    # event -> (name, status)
    events: Mapping[str, tuple[str, str]]
    functions: tuple[EventFunctionSeed, ...]
    # gift item -> name
    gift_items: Mapping[str, str]
    # payment method -> (name, payment type: CASH, CHECK or CREDIT_CARD)
    payment_methods: Mapping[str, tuple[str, str]]
    # communication preference code -> (name, description)
    communication_preferences: Mapping[str, tuple[str, str]]


REFERENCE = ReferenceData(
    lookups={
        "PREFIX": {"Dr": "Doctor", "Ms": "Ms"},
        "MEMBER_TYPE": {"NM": "Non-member", "REG": "Regular member", "STU": "Student"},
        "COUNTRY": {"US": "United States", "GB": "United Kingdom"},
        "ADDRESS_PURPOSE": {"Address": "Main address", "Home": "Home", "Work": "Work"},
        "ACTIVITY_TYPE": {"MEETING": "Meeting", "WEBINAR": "Webinar"},
        "RELATIONSHIP_TYPE": {"PARENT": "Parent of", "CHILD": "Child of", "SPOUSE": "Spouse"},
        "VOLUNTEER_SKILL": {"TEACHING": "Teaching", "MENTORING": "Mentoring", "EVENTS": "Events"},
        "INTEREST": {"HISTORY": "History", "MATHS": "Mathematics"},
    },
    groups={
        "BOARD": ("Board of directors", ("Member", "Chair")),
        "AUDIT": ("Audit panel", ("Chair", "Auditor")),
    },
    events={"CONF26": ("Annual Conference 2026", "A"), "GALA26": ("Gala 2026", "A")},
    functions=(
        EventFunctionSeed("CONF26", "REG", "Full registration", True, Decimal("250.00"), 2),
        EventFunctionSeed("CONF26", "WORKSHOP", "Workshop", False, Decimal("40.00"), None),
        EventFunctionSeed("GALA26", "DINNER", "Gala dinner", True, Decimal("75.00"), None),
    ),
    gift_items={"GENERAL": "General fund", "SCHOLAR": "Scholarship fund"},
    payment_methods={
        "CASH": ("Cash", "CASH"),
        "CHECK": ("Cheque", "CHECK"),
        "VISA": ("Visa", "CREDIT_CARD"),
    },
    communication_preferences={
        "NEWSLETTER": ("Newsletter", "The monthly newsletter"),
        "EVENTS": ("Event announcements", "News of upcoming events"),
    },
)

# The purpose of the address that a contact's own address fields are written to.
DEFAULT_ADDRESS_PURPOSE = "Address"

# The panels the panel contract expects (what ``seed_panels`` creates).
PROFILE_PANEL = """\
name: Profile
kind: single
description: Professional profile of a member
fields:
  - {name: Specialty, type: string, length: 60}
  - {name: YearsInPractice, label: Years in Practice, type: integer}
  - {name: Newsletter, label: Printed Newsletter, type: boolean}
  - {name: Interests, type: multiselect, lookup: INTEREST}
"""
VOLUNTEERING_PANEL = """\
name: Volunteering
kind: multi
description: Volunteer roles and hours
fields:
  - {name: Role, type: string, length: 60, required: true}
  - {name: Hours, type: decimal}
  - {name: Skills, type: multiselect, lookup: VOLUNTEER_SKILL}
  - {name: StartDate, label: Start Date, type: date}
"""
PANELS = (PROFILE_PANEL, VOLUNTEERING_PANEL)

PASSWORD = "Correct-Horse-42"
PREFERRED_FLAGS = ("IsPreferredMailing", "IsPreferredBilling", "IsPreferredShipping")

# ---- helpers: the protocol, spelled shortly ---------------------------------------------------


def changes(kind: ChangeKind, rows: Iterable[Mapping[str, Any]]) -> list[Change]:
    return [Change(kind, dict(row), ref=i) for i, row in enumerate(rows, start=1)]


def insert(
    target: Target, source: str, *rows: Mapping[str, Any], options: ApplyOptions = ApplyOptions()
) -> list[ApplyResult]:
    results = target.apply(source, changes(ChangeKind.INSERT, rows), options)
    assert [r.ref for r in results] == list(range(1, len(rows) + 1))
    return results


def inserted(target: Target, source: str, *rows: Mapping[str, Any]) -> list[Record]:
    """Insert rows that must all succeed; their after images."""
    return [after_of(r) for r in insert(target, source, *rows)]


def update(
    target: Target,
    source: str,
    identity: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    append: Iterable[str] = (),
) -> ApplyResult:
    change = Change(
        ChangeKind.UPDATE, dict(values), identity=dict(identity), append=frozenset(append), ref=7
    )
    (result,) = target.apply(source, [change])
    assert result.ref == 7
    return result


def delete(target: Target, source: str, identity: Mapping[str, Any]) -> ApplyResult:
    (result,) = target.apply(source, [Change(ChangeKind.DELETE, identity=dict(identity), ref=9)])
    assert result.ref == 9
    return result


def after_of(result: ApplyResult) -> Record:
    assert result.ok, result.error
    assert result.after is not None
    return result.after


def refused(result: ApplyResult) -> tuple[str, str | None]:
    """The code and field of a refused change (which has neither image)."""
    assert not result.ok
    assert result.error is not None
    assert result.before is None
    assert result.after is None
    return result.error.code, result.error.field


def rows(
    target: Target,
    source: str,
    *filters: Filter,
    order_by: Iterable[str] = (),
    limit: int | None = None,
) -> list[Record]:
    return list(target.read(source, filters, order_by=list(order_by), limit=limit))


def eq(field: str, value: Any) -> Filter:
    return Filter(field, Operator.EQ, value)


def one(target: Target, source: str, **equal: Any) -> Record:
    found = rows(target, source, *[eq(k, v) for k, v in equal.items()])
    assert len(found) == 1, found
    return found[0]


def today_values() -> set[date]:
    """Today, in local time and in UTC (a target may use either near midnight)."""
    return {date.today(), datetime.now(UTC).date()}


def readable_fields(target: Target, source: str) -> set[str]:
    return {f.name for f in target.describe(source).fields if not f.write_only and not f.secret}


# ---- the contract -------------------------------------------------------------------------------


class TargetContract:
    """The Target protocol's contract. Subclasses provide ``target`` and the seeding hook."""

    keeps_journal: bool = True
    expected_platform: str = "ems"

    def seed_reference_data(self, target: Target) -> None:
        raise NotImplementedError

    def seed(self, target: Target) -> None:
        """The reference data: the hook's part, then lookup codes through LookupTable."""
        self.seed_reference_data(target)
        inserted(
            target,
            "LookupTable",
            *[
                {"TableName": table, "Code": code, "Description": description}
                for table, codes in REFERENCE.lookups.items()
                for code, description in codes.items()
            ],
        )

    @pytest.fixture
    def seeded(self, target: Target) -> Target:
        self.seed(target)
        return target

    @pytest.fixture
    def people(self, seeded: Target) -> dict[str, str]:
        """Three persons and an organization, by first name (the org as "Org"): their iMIS IDs."""
        made = inserted(
            seeded,
            "Contact",
            {
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Email": "ada@example.org",
                "BirthDate": date(1815, 12, 10),
                "Title": "Countess",
            },
            {
                "FirstName": "Grace",
                "LastName": "Hopper",
                "Email": "grace@example.org",
                "BirthDate": date(1906, 12, 9),
                "Title": "Rear Admiral",
            },
            {
                "FirstName": "Alan",
                "LastName": "Turing",
                "Email": "alan@example.org",
                "BirthDate": date(1912, 6, 23),
                "MarkForErasure": True,
            },
            {"IsOrganization": True, "OrganizationName": "Analytical Engines Ltd"},
        )
        return {
            "Ada": made[0]["ImisId"],
            "Grace": made[1]["ImisId"],
            "Alan": made[2]["ImisId"],
            "Org": made[3]["ImisId"],
        }

    # ---- capabilities and sources ------------------------------------------------------------

    def test_target_satisfies_the_protocol(self, target: Target) -> None:
        assert isinstance(target, Target)
        assert isinstance(target, FullTarget)  # it reads and runs saved queries as well

    def test_platform_and_batch_journal(self, target: Target) -> None:
        assert target.platform == self.expected_platform
        assert (capability(target, BatchJournal) is not None) == self.keeps_journal

    def test_contacts_are_never_deleted(self, target: Target) -> None:
        def actions(source: str) -> frozenset[Action]:
            return target.describe(source).actions_on(target.platform)

        assert actions("Contact") == frozenset(
            {Action.INSERT, Action.INSERT_WITH_MATCHING, Action.UPDATE, Action.INSERT_UPDATE}
        )
        assert Action.DELETE in actions("Activity")
        assert actions("Gift") == frozenset({Action.INSERT})
        assert actions("EventRegistration") == frozenset({Action.INSERT})
        with pytest.raises(UnknownSourceError):
            target.describe("NoSuchSource")

    def test_sources_list_every_source_once(self, target: FullTarget) -> None:
        names = [s.name for s in target.sources()]
        assert len(names) == len(set(names))
        assert {
            "Contact",
            "Address",
            "Activity",
            "UserCredentials",
            "GroupMember",
            "Relationship",
            "CommunicationPreferences",
            "EventRegistration",
            "Gift",
            "LookupTable",
        } <= set(names)

    def test_describe_by_name_label_and_loosely(self, target: Target) -> None:
        for name in ("Contact", "contact", "CONTACT", "Contact Details", "contact details"):
            assert target.describe(name).name == "Contact"
        assert target.describe("user credentials").name == "UserCredentials"
        assert target.describe("General Lookup Tables").name == "LookupTable"
        assert target.describe("gifts").name == "Gift"
        assert target.describe("Event-Registration").name == "EventRegistration"

    def test_describe_resolves_field_names_loosely(self, target: Target) -> None:
        contact = target.describe("Contact")
        assert contact.identity == ("ImisId",)
        assert contact.field("iMIS ID").name == "ImisId"
        assert contact.field("imis_id").name == "ImisId"
        assert contact.field("Mark Contact for Erasure").name == "MarkForErasure"
        assert contact.field("postal code").type is FieldType.POSTAL_CODE
        with pytest.raises(UnknownFieldError) as info:
            contact.field("FristName")
        assert info.value.suggestion == "FirstName"

    def test_describe_unknown_source_suggests_the_closest(self, target: Target) -> None:
        with pytest.raises(UnknownSourceError) as info:
            target.describe("Contcat")
        assert info.value.suggestion == "Contact"
        assert "Did you mean 'Contact'?" in str(info.value)

    def test_describe_shows_one_field_per_communication_preference(self, seeded: Target) -> None:
        source = seeded.describe("Communication Preferences")
        fields = {f.name: f for f in source.fields}
        assert set(fields) == {"ImisId", "EVENTS", "NEWSLETTER"}
        assert fields["NEWSLETTER"].label == "Newsletter"
        assert fields["NEWSLETTER"].type is FieldType.BOOLEAN
        assert fields["EVENTS"].label == "Event announcements"
        assert source.field("event announcements").name == "EVENTS"

    def test_lookup_codes_lists_general_and_entity_tables(self, seeded: Target) -> None:
        assert seeded.lookup_codes("MEMBER_TYPE") == {
            "NM": "Non-member",
            "REG": "Regular member",
            "STU": "Student",
        }
        assert seeded.lookup_codes("GROUP") == {
            "AUDIT": "Audit panel",
            "BOARD": "Board of directors",
        }
        assert seeded.lookup_codes("PAYMENT_METHOD") == {
            "CASH": "Cash",
            "CHECK": "Cheque",
            "VISA": "Visa",
        }
        assert seeded.lookup_codes("NO_SUCH_TABLE") == {}

    # ---- Contact: insert ----------------------------------------------------------------------

    def test_contact_insert_assigns_ids_from_the_counter(self, seeded: Target) -> None:
        made = inserted(
            seeded,
            "Contact",
            {"FirstName": "Ada", "LastName": "Lovelace"},
            {"FirstName": "Grace", "LastName": "Hopper"},
            {"FirstName": "Alan", "LastName": "Turing"},
        )
        ids = [r["ImisId"] for r in made]
        assert all(isinstance(i, str) and i.isdigit() for i in ids)
        first = int(ids[0])
        assert ids == [str(first), str(first + 1), str(first + 2)]
        (later,) = inserted(seeded, "Contact", {"FirstName": "Mary", "LastName": "Somerville"})
        assert later["ImisId"] == str(first + 3)

    def test_contact_insert_gives_a_guid_contact_key(self, seeded: Target) -> None:
        made = inserted(
            seeded,
            "Contact",
            {"FirstName": "Ada", "LastName": "Lovelace"},
            {"FirstName": "Grace", "LastName": "Hopper"},
        )
        keys = [r["ContactKey"] for r in made]
        assert all(str(uuid.UUID(k)) == k.lower() for k in keys)
        assert keys[0] != keys[1]

    def test_contact_insert_uses_a_free_supplied_id(self, seeded: Target) -> None:
        (made,) = inserted(
            seeded, "Contact", {"ImisId": "9001", "FirstName": "Ada", "LastName": "Lovelace"}
        )
        assert made["ImisId"] == "9001"
        assert one(seeded, "Contact", ImisId="9001")["LastName"] == "Lovelace"

    def test_contact_insert_taken_id_is_refused_and_the_rest_is_kept(self, seeded: Target) -> None:
        (ada,) = inserted(seeded, "Contact", {"FirstName": "Ada", "LastName": "Lovelace"})
        results = insert(
            seeded,
            "Contact",
            {"ImisId": "9001", "FirstName": "Grace", "LastName": "Hopper"},
            {"ImisId": ada["ImisId"], "FirstName": "Alan", "LastName": "Turing"},
            {"FirstName": "Katherine", "LastName": "Johnson"},
            {"ImisId": "9001", "FirstName": "Dorothy", "LastName": "Vaughan"},
        )
        assert [r.ok for r in results] == [True, False, True, False]
        assert refused(results[1]) == ("imis_id_taken", "ImisId")
        assert refused(results[3]) == ("imis_id_taken", "ImisId")
        assert results[0].after is not None
        assert results[0].after["ImisId"] == "9001"
        assert results[2].after is not None
        assert results[2].after["ImisId"] == str(int(ada["ImisId"]) + 1)
        stored = {r["ImisId"]: r["FirstName"] for r in rows(seeded, "Contact")}
        assert stored == {
            ada["ImisId"]: "Ada",
            "9001": "Grace",
            str(int(ada["ImisId"]) + 1): "Katherine",
        }

    def test_contact_insert_person_needs_first_and_last_name(self, seeded: Target) -> None:
        results = insert(
            seeded,
            "Contact",
            {"FirstName": "Ada"},
            {"LastName": "Lovelace"},
            {"FirstName": "Ada", "LastName": "Lovelace"},
        )
        assert refused(results[0]) == ("required", "LastName")
        assert refused(results[1]) == ("required", "FirstName")
        assert results[2].ok
        assert [r["LastName"] for r in rows(seeded, "Contact")] == ["Lovelace"]

    def test_contact_insert_organization_needs_its_name(self, seeded: Target) -> None:
        results = insert(
            seeded,
            "Contact",
            {"IsOrganization": True, "FirstName": "Ada"},
            {"IsOrganization": True, "OrganizationName": "Analytical Engines Ltd"},
        )
        assert refused(results[0]) == ("required", "OrganizationName")
        after = after_of(results[1])
        assert after["IsOrganization"] is True
        assert after["OrganizationName"] == "Analytical Engines Ltd"
        assert after["FirstName"] is None

    def test_contact_insert_validates_lookup_codes(self, seeded: Target) -> None:
        results = insert(
            seeded,
            "Contact",
            {"FirstName": "Ada", "LastName": "Lovelace", "Prefix": "Countess"},
            {"FirstName": "Grace", "LastName": "Hopper", "MemberType": "GOLD"},
        )
        assert refused(results[0]) == ("invalid_code", "Prefix")
        assert refused(results[1]) == ("invalid_code", "MemberType")
        assert results[0].error is not None
        assert "Countess" in results[0].error.message
        assert rows(seeded, "Contact") == []

    def test_contact_insert_stores_codes_in_the_lookup_spelling(self, seeded: Target) -> None:
        (after,) = inserted(
            seeded,
            "Contact",
            {"FirstName": "Ada", "LastName": "Lovelace", "Prefix": "dr", "MemberType": " reg "},
        )
        assert (after["Prefix"], after["MemberType"]) == ("Dr", "REG")
        stored = one(seeded, "Contact", ImisId=after["ImisId"])
        assert (stored["Prefix"], stored["MemberType"]) == ("Dr", "REG")

    def test_contact_insert_defaults(self, seeded: Target) -> None:
        (after,) = inserted(seeded, "Contact", {"FirstName": "Ada", "LastName": "Lovelace"})
        assert after["MemberType"] == "NM"
        assert after["Status"] == "A"
        assert after["IsOrganization"] is False
        assert after["MarkForErasure"] is False

    def test_contact_insert_skip_validation_lets_unknown_codes_through(
        self, seeded: Target
    ) -> None:
        (result,) = insert(
            seeded,
            "Contact",
            {"FirstName": "Ada", "LastName": "Lovelace", "Prefix": "Countess"},
            options=ApplyOptions(skip_validation=True),
        )
        after = after_of(result)
        assert after["Prefix"] == "Countess"
        assert one(seeded, "Contact", ImisId=after["ImisId"])["Prefix"] == "Countess"

    def test_contact_insert_after_image_is_what_read_returns(self, seeded: Target) -> None:
        (result,) = insert(
            seeded,
            "Contact",
            {
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Email": "ada@example.org",
                "BirthDate": date(1815, 12, 10),
                "City": "London",
                "Country": "GB",
            },
        )
        assert result.before is None
        after = after_of(result)
        assert set(after) == readable_fields(seeded, "Contact")
        assert after == one(seeded, "Contact", ImisId=after["ImisId"])
        assert after["BirthDate"] == date(1815, 12, 10)
        assert isinstance(after["CreatedOn"], datetime)

    def test_contact_insert_writes_address_fields_to_the_default_address(
        self, seeded: Target
    ) -> None:
        (after,) = inserted(
            seeded,
            "Contact",
            {
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Address1": "77 Massachusetts Ave",
                "City": "Cambridge",
                "StateProvince": "MA",
                "PostalCode": "02139",
                "Country": "us",
            },
        )
        assert (after["PostalCode"], after["Country"]) == ("02139", "US")
        address = one(seeded, "Address", ImisId=after["ImisId"])
        assert address["AddressPurpose"] == DEFAULT_ADDRESS_PURPOSE
        assert address["Address1"] == "77 Massachusetts Ave"
        assert address["City"] == "Cambridge"
        assert address["StateProvince"] == "MA"
        assert address["PostalCode"] == "02139"
        assert address["Country"] == "US"

    def test_contact_insert_without_address_fields_writes_no_address(self, seeded: Target) -> None:
        (after,) = inserted(seeded, "Contact", {"FirstName": "Ada", "LastName": "Lovelace"})
        assert rows(seeded, "Address", eq("ImisId", after["ImisId"])) == []

    # ---- Contact: update and delete ---------------------------------------------------------

    def test_contact_update_returns_before_and_after(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada = people["Ada"]
        before = one(seeded, "Contact", ImisId=ada)
        result = update(
            seeded, "Contact", {"ImisId": ada}, {"Title": "Analyst", "MemberType": "stu"}
        )
        assert result.ok
        assert result.before == before
        after = after_of(result)
        assert after == {
            **before,
            "Title": "Analyst",
            "MemberType": "STU",
            "UpdatedOn": after["UpdatedOn"],
        }
        assert after["UpdatedOn"] >= before["UpdatedOn"]
        assert one(seeded, "Contact", ImisId=ada) == after

    def test_contact_update_clears_with_none(self, seeded: Target, people: dict[str, str]) -> None:
        result = update(seeded, "Contact", {"ImisId": people["Ada"]}, {"Title": None})
        assert after_of(result)["Title"] is None
        assert one(seeded, "Contact", ImisId=people["Ada"])["Title"] is None

    def test_contact_update_unknown_contact_is_not_found(self, seeded: Target) -> None:
        result = update(seeded, "Contact", {"ImisId": "424242"}, {"Title": "Nobody"})
        assert refused(result) == ("not_found", None)

    def test_contact_update_cannot_turn_a_person_into_an_organization(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        result = update(seeded, "Contact", {"ImisId": people["Ada"]}, {"IsOrganization": True})
        assert refused(result) == ("contact_kind_changed", "IsOrganization")

    def test_contact_update_address_fields_create_then_change_the_default_address(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada = people["Ada"]
        assert rows(seeded, "Address", eq("ImisId", ada)) == []
        first = update(
            seeded,
            "Contact",
            {"ImisId": ada},
            {"City": "Cambridge", "PostalCode": "02139", "Country": "US"},
        )
        assert after_of(first)["PostalCode"] == "02139"
        address = one(seeded, "Address", ImisId=ada)
        assert address["AddressPurpose"] == DEFAULT_ADDRESS_PURPOSE
        assert (address["City"], address["PostalCode"], address["Country"]) == (
            "Cambridge",
            "02139",
            "US",
        )
        second = update(seeded, "Contact", {"ImisId": ada}, {"City": "Boston"})
        assert first.after is not None
        assert second.before == first.after
        assert after_of(second)["City"] == "Boston"
        address = one(seeded, "Address", ImisId=ada)
        assert (address["City"], address["PostalCode"], address["Country"]) == (
            "Boston",
            "02139",
            "US",
        )
        contact = one(seeded, "Contact", ImisId=ada)
        assert (contact["City"], contact["PostalCode"]) == ("Boston", "02139")

    def test_contact_update_new_default_address_keeps_other_preferences(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada = people["Ada"]
        inserted(
            seeded,
            "Address",
            {"ImisId": ada, "AddressPurpose": "Home", "Country": "GB", "IsPreferredMailing": True},
        )
        assert update(seeded, "Contact", {"ImisId": ada}, {"City": "London"}).ok
        addresses = {r["AddressPurpose"]: r for r in rows(seeded, "Address", eq("ImisId", ada))}
        assert set(addresses) == {"Home", DEFAULT_ADDRESS_PURPOSE}
        assert addresses["Home"]["IsPreferredMailing"] is True
        default = addresses[DEFAULT_ADDRESS_PURPOSE]
        assert default["City"] == "London"
        assert [default[f] for f in PREFERRED_FLAGS] == [False, True, False]

    def test_contact_update_identity_ignores_case(self, seeded: Target) -> None:
        inserted(
            seeded,
            "Contact",
            {"ImisId": "AB100", "FirstName": "Ada", "LastName": "Byron", "City": "London"},
        )
        result = update(seeded, "Contact", {"ImisId": "ab100"}, {"City": "Paris"})
        assert after_of(result)["ImisId"] == "AB100"
        assert one(seeded, "Address", ImisId="AB100")["City"] == "Paris"
        assert one(seeded, "Contact", ImisId="ab100")["City"] == "Paris"

    def test_contact_delete_is_refused(self, seeded: Target, people: dict[str, str]) -> None:
        result = delete(seeded, "Contact", {"ImisId": people["Ada"]})
        assert refused(result) == ("action_not_allowed", None)
        assert result.error is not None
        assert "Mark Contact for Erasure" in result.error.message
        assert one(seeded, "Contact", ImisId=people["Ada"])["LastName"] == "Lovelace"

    # ---- match --------------------------------------------------------------------------------

    def test_match_a_batch_in_the_order_of_the_criteria(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        found = seeded.match(
            "Contact",
            ["Email"],
            [
                {"Email": "grace@example.org"},
                {"Email": "nobody@example.org"},
                {"Email": "ada@example.org"},
            ],
        )
        assert [[r["ImisId"] for r in hits] for hits in found] == [
            [people["Grace"]],
            [],
            [people["Ada"]],
        ]
        assert found[0][0] == one(seeded, "Contact", ImisId=people["Grace"])

    def test_match_text_ignores_case_and_surrounding_spaces(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        found = seeded.match(
            "Contact",
            ["Email"],
            [{"Email": " ADA@Example.org"}, {"Email": "grace@EXAMPLE.ORG  "}],
        )
        assert [[r["ImisId"] for r in hits] for hits in found] == [
            [people["Ada"]],
            [people["Grace"]],
        ]
        assert found[0][0]["Email"] == "ada@example.org"

    def test_match_on_several_fields(self, seeded: Target, people: dict[str, str]) -> None:
        inserted(seeded, "Contact", {"FirstName": "Ada", "LastName": "Byron"})
        found = seeded.match(
            "Contact",
            ["FirstName", "LastName"],
            [
                {"FirstName": "ada", "LastName": "LOVELACE"},
                {"FirstName": "Grace", "LastName": "Lovelace"},
            ],
        )
        assert [[r["ImisId"] for r in hits] for hits in found] == [[people["Ada"]], []]

    def test_match_zero_one_and_many(self, seeded: Target, people: dict[str, str]) -> None:
        twins = inserted(
            seeded,
            "Contact",
            {"FirstName": "Jane", "LastName": "Smith"},
            {"FirstName": "John", "LastName": "Smith"},
        )
        found = seeded.match(
            "Contact",
            ["LastName"],
            [{"LastName": "smith"}, {"LastName": "Hopper"}, {"LastName": "Jones"}],
        )
        assert [len(hits) for hits in found] == [2, 1, 0]
        assert sorted(r["ImisId"] for r in found[0]) == sorted(t["ImisId"] for t in twins)
        assert {r["FirstName"] for r in found[0]} == {"Jane", "John"}
        assert found[1][0]["ImisId"] == people["Grace"]

    def test_match_same_criteria_twice_gives_the_same_records(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        found = seeded.match(
            "Contact", ["LastName"], [{"LastName": "Turing"}, {"LastName": "TURING"}]
        )
        assert found[0] == found[1]
        assert [r["ImisId"] for r in found[0]] == [people["Alan"]]

    def test_match_none_criterion_matches_blank_values(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        (blank,) = inserted(
            seeded, "Contact", {"FirstName": "Mary", "LastName": "Somerville", "Email": ""}
        )
        found = seeded.match(
            "Contact",
            ["Email"],
            [{"Email": None}, {"Email": "  "}, {}],
        )
        expected = sorted([people["Org"], blank["ImisId"]])
        assert [sorted(r["ImisId"] for r in hits) for hits in found] == [expected] * 3

    def test_match_a_thousand_criteria_in_one_call(self, seeded: Target) -> None:
        made = inserted(
            seeded,
            "Contact",
            *[
                {"FirstName": f"Member{i}", "LastName": "Bulk", "Email": f"m{i}@example.org"}
                for i in range(1000)
            ],
        )
        criteria = [{"Email": f"M{i}@Example.org"} for i in range(999, -1, -1)]
        found = seeded.match("Contact", ["Email"], criteria)
        assert len(found) == 1000
        assert [len(hits) for hits in found] == [1] * 1000
        assert [hits[0]["ImisId"] for hits in found] == [r["ImisId"] for r in reversed(made)]

    def test_match_an_unknown_field_is_an_error(self, seeded: Target) -> None:
        with pytest.raises(UnknownFieldError) as info:
            seeded.match("Contact", ["Emial"], [{"Emial": "ada@example.org"}])
        assert info.value.suggestion == "Email"

    # ---- read ---------------------------------------------------------------------------------

    def names(self, records: Iterable[Record]) -> list[str]:
        return [r["FirstName"] or r["OrganizationName"] for r in records]

    def read_names(self, target: Target, *filters: Filter) -> list[str]:
        return sorted(self.names(rows(target, "Contact", *filters)))

    def test_read_everything_in_identity_order(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        records = rows(seeded, "Contact")
        assert [r["ImisId"] for r in records] == sorted(people.values())
        assert all(set(r) == readable_fields(seeded, "Contact") for r in records)

    def test_read_eq_and_ne_on_text(self, seeded: Target, people: dict[str, str]) -> None:
        assert self.read_names(seeded, eq("LastName", "lovelace")) == ["Ada"]
        assert self.read_names(seeded, Filter("LastName", Operator.NE, "LOVELACE")) == [
            "Alan",
            "Analytical Engines Ltd",
            "Grace",
        ]

    def test_read_comparisons_on_dates(self, seeded: Target, people: dict[str, str]) -> None:
        day = date(1906, 12, 9)
        assert self.read_names(seeded, Filter("BirthDate", Operator.GT, day)) == ["Alan"]
        assert self.read_names(seeded, Filter("BirthDate", Operator.GE, day)) == ["Alan", "Grace"]
        assert self.read_names(seeded, Filter("BirthDate", Operator.LT, day)) == ["Ada"]
        assert self.read_names(seeded, Filter("BirthDate", Operator.LE, day)) == ["Ada", "Grace"]
        assert self.read_names(seeded, Filter("BirthDate", Operator.EQ, "1906-12-09")) == ["Grace"]

    def test_read_text_operators(self, seeded: Target, people: dict[str, str]) -> None:
        assert self.read_names(seeded, Filter("Title", Operator.CONTAINS, "ADMIR")) == ["Grace"]
        assert self.read_names(seeded, Filter("Title", Operator.NOT_CONTAIN, "count")) == [
            "Alan",
            "Analytical Engines Ltd",
            "Grace",
        ]
        assert self.read_names(seeded, Filter("LastName", Operator.STARTS_WITH, "LOV")) == ["Ada"]
        assert self.read_names(seeded, Filter("Email", Operator.ENDS_WITH, "@EXAMPLE.org")) == [
            "Ada",
            "Alan",
            "Grace",
        ]
        assert self.read_names(seeded, Filter("Title", Operator.CONTAINS, "%")) == []

    def test_read_in_and_between(self, seeded: Target, people: dict[str, str]) -> None:
        assert self.read_names(seeded, Filter("LastName", Operator.IN, ("hopper", "TURING"))) == [
            "Alan",
            "Grace",
        ]
        between = Filter("BirthDate", Operator.BETWEEN, (date(1900, 1, 1), date(1910, 1, 1)))
        assert self.read_names(seeded, between) == ["Grace"]
        inclusive = Filter("BirthDate", Operator.BETWEEN, ("1906-12-09", "1912-06-23"))
        assert self.read_names(seeded, inclusive) == ["Alan", "Grace"]

    def test_read_empty_and_not_empty(self, seeded: Target, people: dict[str, str]) -> None:
        assert self.read_names(seeded, Filter("Title", Operator.IS_EMPTY)) == [
            "Alan",
            "Analytical Engines Ltd",
        ]
        assert self.read_names(seeded, Filter("Title", Operator.NOT_EMPTY)) == ["Ada", "Grace"]
        assert self.read_names(seeded, Filter("BirthDate", Operator.IS_EMPTY)) == [
            "Analytical Engines Ltd"
        ]

    def test_read_true_and_false(self, seeded: Target, people: dict[str, str]) -> None:
        assert self.read_names(seeded, Filter("MarkForErasure", Operator.IS_TRUE)) == ["Alan"]
        assert self.read_names(seeded, Filter("MarkForErasure", Operator.IS_FALSE)) == [
            "Ada",
            "Analytical Engines Ltd",
            "Grace",
        ]
        assert self.read_names(seeded, Filter("IsOrganization", Operator.IS_TRUE)) == [
            "Analytical Engines Ltd"
        ]
        assert self.read_names(seeded, eq("IsOrganization", False)) == ["Ada", "Alan", "Grace"]

    def test_read_operators_on_numbers(self, seeded: Target, people: dict[str, str]) -> None:
        made = inserted(
            seeded,
            "Activity",
            {"ImisId": people["Ada"], "ActivityType": "MEETING", "Amount": Decimal("10.00")},
            {"ImisId": people["Ada"], "ActivityType": "WEBINAR", "Amount": Decimal("25.50")},
            {"ImisId": people["Grace"], "ActivityType": "MEETING"},
        )
        seqns = [r["Seqn"] for r in made]

        def seqns_of(*filters: Filter) -> list[int]:
            return [r["Seqn"] for r in rows(seeded, "Activity", *filters)]

        assert seqns_of(Filter("Amount", Operator.GT, Decimal("10"))) == [seqns[1]]
        assert seqns_of(Filter("Amount", Operator.GE, "10")) == seqns[:2]
        assert seqns_of(Filter("Amount", Operator.LT, 25.5)) == [seqns[0]]
        assert seqns_of(Filter("Amount", Operator.LE, Decimal("25.50"))) == seqns[:2]
        assert seqns_of(Filter("Amount", Operator.BETWEEN, ("5", "20"))) == [seqns[0]]
        assert seqns_of(Filter("Amount", Operator.IS_EMPTY)) == [seqns[2]]
        assert seqns_of(Filter("Amount", Operator.NE, "10.00")) == [seqns[1], seqns[2]]
        assert seqns_of(Filter("Seqn", Operator.IN, (seqns[0], seqns[2]))) == [seqns[0], seqns[2]]
        assert seqns_of(Filter("Seqn", Operator.GT, seqns[0])) == seqns[1:]
        assert seqns_of(eq("Seqn", str(seqns[1]))) == [seqns[1]]

    def test_read_filters_are_anded(self, seeded: Target, people: dict[str, str]) -> None:
        assert self.read_names(
            seeded,
            Filter("Email", Operator.ENDS_WITH, "example.org"),
            Filter("BirthDate", Operator.GT, date(1900, 1, 1)),
            Filter("MarkForErasure", Operator.IS_FALSE),
        ) == ["Grace"]

    def test_read_parsed_filters_and_operator_aliases(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        assert Filter.parse("LastName=startsWith:lov") == Filter(
            "LastName", Operator.STARTS_WITH, "lov"
        )
        assert self.read_names(seeded, Filter.parse("LastName=startsWith:lov")) == ["Ada"]
        assert self.read_names(seeded, Filter.parse("LastName=Hopper")) == ["Grace"]
        assert self.read_names(seeded, Filter.parse("LastName=in:Hopper,Turing")) == [
            "Alan",
            "Grace",
        ]
        assert self.read_names(seeded, Filter.parse("BirthDate=between:1900-01-01|1910-01-01")) == [
            "Grace"
        ]
        assert self.read_names(seeded, Filter.parse("Title=!empty:")) == ["Ada", "Grace"]
        assert self.read_names(seeded, Filter.parse("MarkForErasure=IsTrue:")) == ["Alan"]
        assert self.read_names(seeded, Filter.parse("BirthDate=>=:1906-12-09")) == [
            "Alan",
            "Grace",
        ]
        assert self.read_names(seeded, Filter.parse("Title=notEqual:Countess")) == [
            "Alan",
            "Analytical Engines Ltd",
            "Grace",
        ]
        spellings = {
            "==": Operator.EQ,
            "Equal": Operator.EQ,
            "!=": Operator.NE,
            ">": Operator.GT,
            "greaterThanOrEqual": Operator.GE,
            "<": Operator.LT,
            "<=": Operator.LE,
            "!contain": Operator.NOT_CONTAIN,
            " StartsWith ": Operator.STARTS_WITH,
            "empty": Operator.IS_EMPTY,
            "true": Operator.IS_TRUE,
            "false": Operator.IS_FALSE,
        }
        assert {name: parse_operator(name) for name in spellings} == spellings

    def test_read_order_by_and_limit(self, seeded: Target, people: dict[str, str]) -> None:
        persons = Filter("IsOrganization", Operator.IS_FALSE)
        assert self.names(rows(seeded, "Contact", persons, order_by=["BirthDate"])) == [
            "Ada",
            "Grace",
            "Alan",
        ]
        assert self.names(rows(seeded, "Contact", persons, order_by=["-BirthDate"])) == [
            "Alan",
            "Grace",
            "Ada",
        ]
        assert self.names(rows(seeded, "Contact", persons, order_by=["-birth date"], limit=2)) == [
            "Alan",
            "Grace",
        ]
        assert self.names(rows(seeded, "Contact", persons, order_by=["FirstName"], limit=1)) == [
            "Ada"
        ]
        assert rows(seeded, "Contact", limit=0) == []

    def test_read_order_by_text_ignores_case_and_puts_blanks_first(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        inserted(seeded, "Contact", {"FirstName": "Augustus", "LastName": "de Morgan"})
        ordered = rows(seeded, "Contact", order_by=["LastName"])
        assert [r["LastName"] for r in ordered] == [
            None,
            "de Morgan",
            "Hopper",
            "Lovelace",
            "Turing",
        ]
        ordered = rows(seeded, "Contact", order_by=["-LastName"])
        assert [r["LastName"] for r in ordered] == [
            "Turing",
            "Lovelace",
            "Hopper",
            "de Morgan",
            None,
        ]

    def test_read_order_by_several_fields(self, seeded: Target, people: dict[str, str]) -> None:
        inserted(
            seeded,
            "Contact",
            {"FirstName": "Zoe", "LastName": "Hopper"},
            {"FirstName": "Abe", "LastName": "Hopper"},
        )
        ordered = rows(
            seeded, "Contact", eq("LastName", "Hopper"), order_by=["LastName", "-FirstName"]
        )
        assert [r["FirstName"] for r in ordered] == ["Zoe", "Grace", "Abe"]

    def test_read_unknown_field_suggests_the_closest(self, seeded: Target) -> None:
        with pytest.raises(UnknownFieldError) as info:
            rows(seeded, "Contact", eq("LastNmae", "Lovelace"))
        assert info.value.suggestion == "LastName"
        with pytest.raises(UnknownFieldError):
            rows(seeded, "Contact", order_by=["-Birthday"])

    def test_read_bad_operator_or_value_is_a_filter_error(self, seeded: Target) -> None:
        with pytest.raises(FilterError):
            parse_operator("like")
        with pytest.raises(FilterError):
            Filter.parse("LastName")
        with pytest.raises(FilterError):
            Filter.parse("BirthDate=between:1900-01-01")
        with pytest.raises(FilterError):
            rows(seeded, "Contact", Filter("LastName", Operator.IS_TRUE))
        with pytest.raises(FilterError):
            rows(seeded, "Contact", Filter("BirthDate", Operator.GT, "not a date"))
        with pytest.raises(FilterError):
            rows(seeded, "Contact", Filter("LastName", Operator.STARTS_WITH, None))

    def test_read_never_shows_secret_fields(self, seeded: Target) -> None:
        with pytest.raises(FilterError):
            rows(seeded, "UserCredentials", eq("Password", PASSWORD))

    # ---- Activity -----------------------------------------------------------------------------

    def test_activity_insert_assigns_seqn_and_defaults_the_date(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        results = insert(
            seeded,
            "Activity",
            {"ImisId": people["Ada"], "ActivityType": "meeting", "Description": "Board"},
            {
                "ImisId": people["Grace"],
                "ActivityType": "WEBINAR",
                "TransactionDate": date(2026, 1, 15),
                "Amount": Decimal("12.50"),
            },
        )
        first, second = (after_of(r) for r in results)
        assert isinstance(first["Seqn"], int)
        assert second["Seqn"] == first["Seqn"] + 1
        assert first["ActivityType"] == "MEETING"
        assert first["TransactionDate"] in today_values()
        assert second["TransactionDate"] == date(2026, 1, 15)
        assert second["Amount"] == Decimal("12.50")
        assert rows(seeded, "Activity") == [first, second]

    def test_activity_insert_for_unknown_contact_is_refused(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        results = insert(
            seeded,
            "Activity",
            {"ImisId": "424242", "ActivityType": "MEETING"},
            {"ImisId": people["Ada"], "ActivityType": "MEETING"},
            {"ImisId": people["Ada"], "ActivityType": "DINNER"},
            {"ImisId": people["Ada"]},
        )
        assert refused(results[0]) == ("contact_not_found", "ImisId")
        assert results[1].ok
        assert refused(results[2]) == ("invalid_code", "ActivityType")
        assert refused(results[3]) == ("required", "ActivityType")
        assert len(rows(seeded, "Activity")) == 1

    def test_contact_references_ignore_case(self, seeded: Target) -> None:
        inserted(seeded, "Contact", {"ImisId": "AB100", "FirstName": "Ada", "LastName": "Byron"})
        (after,) = inserted(seeded, "Activity", {"ImisId": "ab100", "ActivityType": "MEETING"})
        assert str(after["ImisId"]).casefold() == "ab100"
        stored = one(seeded, "Activity", ImisId="AB100")
        assert stored["Seqn"] == after["Seqn"]

    def test_activity_update_and_delete_by_seqn(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        first, second = inserted(
            seeded,
            "Activity",
            {"ImisId": people["Ada"], "ActivityType": "MEETING"},
            {"ImisId": people["Ada"], "ActivityType": "WEBINAR"},
        )
        changed = update(seeded, "Activity", {"Seqn": first["Seqn"]}, {"Note": "Minutes sent"})
        assert changed.before == first
        assert after_of(changed) == {**first, "Note": "Minutes sent"}
        removed = delete(seeded, "Activity", {"Seqn": first["Seqn"]})
        assert removed.ok
        assert removed.before == {**first, "Note": "Minutes sent"}
        assert removed.after is None
        assert rows(seeded, "Activity") == [second]
        again = delete(seeded, "Activity", {"Seqn": first["Seqn"]})
        assert refused(again) == ("not_found", None)

    def test_activity_seqn_cannot_be_written(self, seeded: Target, people: dict[str, str]) -> None:
        (result,) = insert(
            seeded, "Activity", {"ImisId": people["Ada"], "ActivityType": "MEETING", "Seqn": 5}
        )
        assert refused(result) == ("read_only_field", "Seqn")

    # ---- Address --------------------------------------------------------------------------------

    def preferred_mailing(self, target: Target, imis_id: str) -> dict[str, bool]:
        return {
            r["AddressPurpose"]: r["IsPreferredMailing"]
            for r in rows(target, "Address", eq("ImisId", imis_id))
        }

    def test_address_preferred_mailing_moves_between_addresses(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada, grace = people["Ada"], people["Grace"]
        home = {"ImisId": ada, "AddressPurpose": "home", "Country": "GB", "City": "London"}
        (after,) = inserted(seeded, "Address", {**home, "IsPreferredMailing": True})
        assert (after["AddressPurpose"], after["IsPreferredMailing"]) == ("Home", True)
        assert after["IsPreferredBilling"] is False
        inserted(
            seeded,
            "Address",
            {
                "ImisId": grace,
                "AddressPurpose": "Home",
                "Country": "US",
                "IsPreferredMailing": True,
            },
        )
        inserted(
            seeded,
            "Address",
            {"ImisId": ada, "AddressPurpose": "Work", "Country": "GB", "IsPreferredMailing": True},
        )
        assert self.preferred_mailing(seeded, ada) == {"Home": False, "Work": True}
        result = update(
            seeded,
            "Address",
            {"ImisId": ada, "AddressPurpose": "Home"},
            {"IsPreferredMailing": True},
        )
        assert result.before is not None
        assert result.before["IsPreferredMailing"] is False
        assert after_of(result)["IsPreferredMailing"] is True
        assert self.preferred_mailing(seeded, ada) == {"Home": True, "Work": False}
        assert self.preferred_mailing(seeded, grace) == {"Home": True}

    def test_address_preferred_mailing_in_one_batch_keeps_the_last(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada = people["Ada"]
        inserted(
            seeded,
            "Address",
            {"ImisId": ada, "AddressPurpose": "Home", "Country": "GB", "IsPreferredMailing": True},
            {"ImisId": ada, "AddressPurpose": "Work", "Country": "GB", "IsPreferredMailing": True},
        )
        assert self.preferred_mailing(seeded, ada) == {"Home": False, "Work": True}

    def test_address_needs_purpose_and_country(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        results = insert(
            seeded,
            "Address",
            {"ImisId": people["Ada"], "Country": "GB"},
            {"ImisId": people["Ada"], "AddressPurpose": "Home"},
            {"ImisId": people["Ada"], "AddressPurpose": "Holiday", "Country": "GB"},
        )
        assert refused(results[0]) == ("required", "AddressPurpose")
        assert refused(results[1]) == ("required", "Country")
        assert refused(results[2]) == ("invalid_code", "AddressPurpose")

    # ---- UserCredentials -------------------------------------------------------------------------

    def assert_no_password(self, *items: object) -> None:
        for item in items:
            assert PASSWORD not in repr(item)
            records: list[Any] = []
            if isinstance(item, ApplyResult):
                records = [item.before, item.after]
            elif isinstance(item, dict):
                records = [item]
            for record in records:
                if record is not None:
                    assert not [k for k in record if "password" in k.lower() and "Count" not in k]

    def test_credentials_insert_for_a_contact_with_email(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada = people["Ada"]
        (result,) = insert(seeded, "UserCredentials", {"ImisId": ada, "Password": PASSWORD})
        after = after_of(result)
        assert result.before is None
        assert after["ImisId"] == ada
        assert after["Username"] == "ada@example.org"
        assert after["Email"] == "ada@example.org"
        assert after["IsLockedOut"] is False
        assert after["FailedPasswordAttemptCount"] == 0
        stored = one(seeded, "UserCredentials", ImisId=ada)
        assert stored == after
        assert set(stored) == readable_fields(seeded, "UserCredentials")
        self.assert_no_password(result, stored)

    def test_credentials_with_an_explicit_username(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        (after,) = inserted(
            seeded,
            "UserCredentials",
            {"ImisId": people["Grace"], "Username": "ghopper", "Password": PASSWORD},
        )
        assert after["Username"] == "ghopper"
        assert one(seeded, "UserCredentials", Username="GHOPPER")["ImisId"] == people["Grace"]

    def test_credentials_need_the_contact_to_have_an_email(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        results = insert(
            seeded,
            "UserCredentials",
            {"ImisId": people["Org"], "Password": PASSWORD},
            {"ImisId": "424242", "Password": PASSWORD},
        )
        assert refused(results[0]) == ("contact_has_no_email", "ImisId")
        assert refused(results[1]) == ("contact_not_found", "ImisId")
        assert rows(seeded, "UserCredentials") == []
        self.assert_no_password(*results)

    def test_credentials_second_insert_is_refused(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada = people["Ada"]
        first = insert(
            seeded,
            "UserCredentials",
            {"ImisId": ada, "Password": PASSWORD},
            {"ImisId": ada, "Username": "ada2", "Password": PASSWORD},
        )
        assert first[0].ok
        assert refused(first[1]) == ("credentials_exist", "ImisId")
        (again,) = insert(
            seeded, "UserCredentials", {"ImisId": ada, "Username": "ada3", "Password": PASSWORD}
        )
        assert refused(again) == ("credentials_exist", "ImisId")
        assert [r["Username"] for r in rows(seeded, "UserCredentials")] == ["ada@example.org"]

    def test_credentials_usernames_are_unique_ignoring_case(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        inserted(seeded, "UserCredentials", {"ImisId": people["Ada"], "Password": PASSWORD})
        results = insert(
            seeded,
            "UserCredentials",
            {"ImisId": people["Grace"], "Username": "ADA@Example.ORG", "Password": PASSWORD},
            {"ImisId": people["Alan"], "Username": "turing", "Password": PASSWORD},
            {
                "FirstName": "Alan",
                "LastName": "Turing",
                "Email": "alan2@example.org",
                "Username": "Turing",
                "Password": PASSWORD,
            },
        )
        assert refused(results[0]) == ("username_taken", "Username")
        assert results[1].ok
        assert refused(results[2]) == ("username_taken", "Username")
        assert sorted(r["Username"] for r in rows(seeded, "UserCredentials")) == [
            "ada@example.org",
            "turing",
        ]

    def test_credentials_with_a_new_contact(self, seeded: Target, people: dict[str, str]) -> None:
        (result,) = insert(
            seeded,
            "UserCredentials",
            {
                "FirstName": "Mary",
                "LastName": "Somerville",
                "Email": "mary@example.org",
                "Username": "msomerville",
                "Password": PASSWORD,
            },
        )
        after = after_of(result)
        imis_id = after["ImisId"]
        assert imis_id not in people.values()
        assert (after["FirstName"], after["LastName"], after["Username"]) == (
            "Mary",
            "Somerville",
            "msomerville",
        )
        contact = one(seeded, "Contact", ImisId=imis_id)
        assert (contact["FirstName"], contact["LastName"], contact["Email"]) == (
            "Mary",
            "Somerville",
            "mary@example.org",
        )
        assert contact["MemberType"] == "NM"
        uuid.UUID(contact["ContactKey"])
        assert one(seeded, "UserCredentials", ImisId=imis_id) == after
        self.assert_no_password(result)

    def test_credentials_new_contact_needs_every_field(self, seeded: Target) -> None:
        results = insert(
            seeded,
            "UserCredentials",
            {"FirstName": "Mary", "Email": "mary@example.org", "Password": PASSWORD},
            {"FirstName": "Mary", "LastName": "Somerville", "Email": "mary@example.org"},
        )
        assert refused(results[0]) == ("required", "LastName")
        assert refused(results[1]) == ("required", "Username")
        assert rows(seeded, "Contact") == []
        self.assert_no_password(*results)

    def test_credentials_weak_password_is_refused(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        (result,) = insert(seeded, "UserCredentials", {"ImisId": people["Ada"], "Password": "abc"})
        assert refused(result) == ("weak_password", "Password")
        assert result.error is not None
        assert "abc" not in result.error.message
        assert rows(seeded, "UserCredentials") == []

    def test_credentials_update_only_unlocks(self, seeded: Target, people: dict[str, str]) -> None:
        ada = people["Ada"]
        (created,) = inserted(seeded, "UserCredentials", {"ImisId": ada, "Password": PASSWORD})
        unlock = update(seeded, "UserCredentials", {"ImisId": ada}, {"UnlockUserAccount": True})
        assert unlock.before == created
        after = after_of(unlock)
        assert (after["IsLockedOut"], after["FailedPasswordAttemptCount"]) == (False, 0)
        lock = update(seeded, "UserCredentials", {"ImisId": ada}, {"UnlockUserAccount": False})
        assert refused(lock) == ("locking_not_supported", "UnlockUserAccount")
        rename = update(seeded, "UserCredentials", {"ImisId": ada}, {"Username": "ada"})
        assert refused(rename) == ("credentials_not_updatable", "Username")
        repass = update(seeded, "UserCredentials", {"ImisId": ada}, {"Password": PASSWORD})
        assert refused(repass) == ("credentials_not_updatable", "Password")
        assert one(seeded, "UserCredentials", ImisId=ada)["Username"] == "ada@example.org"
        self.assert_no_password(unlock, lock, rename, repass)

    def test_credentials_delete_keeps_the_contact(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada = people["Ada"]
        (created,) = inserted(seeded, "UserCredentials", {"ImisId": ada, "Password": PASSWORD})
        removed = delete(seeded, "UserCredentials", {"ImisId": ada})
        assert removed.ok
        assert removed.before == created
        assert removed.after is None
        assert rows(seeded, "UserCredentials") == []
        assert one(seeded, "Contact", ImisId=ada)["Email"] == "ada@example.org"
        (again,) = inserted(seeded, "UserCredentials", {"ImisId": ada, "Password": PASSWORD})
        assert again["Username"] == "ada@example.org"
        self.assert_no_password(removed)

    # ---- GroupMember ----------------------------------------------------------------------------

    def test_group_member_role_defaults_to_member(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        results = insert(
            seeded,
            "GroupMember",
            {"ImisId": people["Ada"], "GroupName": "board"},
            {"ImisId": people["Ada"], "GroupName": "BOARD", "RoleName": "chair"},
        )
        member, chair = (after_of(r) for r in results)
        assert (member["GroupName"], member["RoleName"]) == ("BOARD", "Member")
        assert (chair["GroupName"], chair["RoleName"]) == ("BOARD", "Chair")
        assert member["JoinDate"] in today_values()
        assert member["IsActive"] is True
        assert rows(seeded, "GroupMember", order_by=["RoleName"]) == [chair, member]

    def test_group_member_role_must_belong_to_the_group(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        results = insert(
            seeded,
            "GroupMember",
            {"ImisId": people["Ada"], "GroupName": "BOARD", "RoleName": "Auditor"},
            {"ImisId": people["Ada"], "GroupName": "AUDIT"},
            {"ImisId": people["Ada"], "GroupName": "AUDIT", "RoleName": "auditor"},
            {"ImisId": people["Ada"], "GroupName": "CHOIR"},
            {"ImisId": "424242", "GroupName": "BOARD"},
        )
        assert refused(results[0]) == ("invalid_role", "RoleName")
        assert refused(results[1]) == ("required", "RoleName")
        assert after_of(results[2])["RoleName"] == "Auditor"
        assert refused(results[3]) == ("invalid_code", "GroupName")
        assert refused(results[4]) == ("contact_not_found", "ImisId")

    def test_group_member_update_and_delete(self, seeded: Target, people: dict[str, str]) -> None:
        (member,) = inserted(seeded, "GroupMember", {"ImisId": people["Ada"], "GroupName": "BOARD"})
        identity = {"ImisId": people["Ada"], "GroupName": "BOARD", "RoleName": "Member"}
        changed = update(
            seeded, "GroupMember", identity, {"RoleEndDate": date(2026, 12, 31), "IsActive": False}
        )
        assert changed.before == member
        assert after_of(changed) == {**member, "RoleEndDate": date(2026, 12, 31), "IsActive": False}
        bad = update(seeded, "GroupMember", identity, {"RoleName": "Janitor"})
        assert refused(bad) == ("key_changed", "RoleName")
        removed = delete(seeded, "GroupMember", identity)
        assert removed.before == changed.after
        assert rows(seeded, "GroupMember") == []

    # ---- Relationship ---------------------------------------------------------------------------

    def test_relationship_with_reciprocal_appears_on_the_target(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada, grace = people["Ada"], people["Grace"]
        (after,) = inserted(
            seeded,
            "Relationship",
            {
                "ImisId": ada,
                "RelationshipType": "parent",
                "TargetImisId": grace,
                "ReciprocalType": "CHILD",
                "BeginDate": date(2020, 1, 1),
            },
        )
        assert (after["RelationshipType"], after["ReciprocalType"]) == ("PARENT", "CHILD")
        mirror = one(seeded, "Relationship", ImisId=grace)
        assert mirror == {
            **after,
            "ImisId": grace,
            "TargetImisId": ada,
            "RelationshipType": "CHILD",
            "ReciprocalType": "PARENT",
        }
        assert one(seeded, "Relationship", ImisId=ada) == after

    def test_relationship_delete_removes_the_reciprocal(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada, grace, alan = people["Ada"], people["Grace"], people["Alan"]
        inserted(
            seeded,
            "Relationship",
            {
                "ImisId": ada,
                "RelationshipType": "PARENT",
                "TargetImisId": grace,
                "ReciprocalType": "CHILD",
            },
            {"ImisId": ada, "RelationshipType": "SPOUSE", "TargetImisId": alan},
        )
        assert len(rows(seeded, "Relationship")) == 3
        removed = delete(
            seeded,
            "Relationship",
            {"ImisId": ada, "RelationshipType": "PARENT", "TargetImisId": grace},
        )
        assert removed.ok
        assert removed.before is not None
        assert removed.before["ReciprocalType"] == "CHILD"
        remaining = rows(seeded, "Relationship")
        assert [(r["ImisId"], r["RelationshipType"], r["TargetImisId"]) for r in remaining] == [
            (ada, "SPOUSE", alan)
        ]

    def test_relationship_update_keeps_the_reciprocal_in_step(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada, grace = people["Ada"], people["Grace"]
        inserted(
            seeded,
            "Relationship",
            {
                "ImisId": ada,
                "RelationshipType": "PARENT",
                "TargetImisId": grace,
                "ReciprocalType": "CHILD",
            },
        )
        identity = {"ImisId": ada, "RelationshipType": "PARENT", "TargetImisId": grace}
        changed = update(seeded, "Relationship", identity, {"Title": "Mother"})
        assert after_of(changed)["Title"] == "Mother"
        assert one(seeded, "Relationship", ImisId=grace)["Title"] == "Mother"
        dropped = update(seeded, "Relationship", identity, {"ReciprocalType": None})
        assert after_of(dropped)["ReciprocalType"] is None
        assert rows(seeded, "Relationship", eq("ImisId", grace)) == []

    def test_relationship_rules(self, seeded: Target, people: dict[str, str]) -> None:
        ada = people["Ada"]
        results = insert(
            seeded,
            "Relationship",
            {"ImisId": ada, "RelationshipType": "SPOUSE", "TargetImisId": ada},
            {"ImisId": ada, "RelationshipType": "SPOUSE", "TargetImisId": "424242"},
            {"ImisId": ada, "RelationshipType": "COUSIN", "TargetImisId": people["Grace"]},
        )
        assert refused(results[0]) == ("self_relationship", "TargetImisId")
        assert refused(results[1]) == ("contact_not_found", "TargetImisId")
        assert refused(results[2]) == ("invalid_code", "RelationshipType")

    # ---- CommunicationPreferences ---------------------------------------------------------------

    def test_preferences_insert_then_update(self, seeded: Target, people: dict[str, str]) -> None:
        ada = people["Ada"]
        (result,) = insert(seeded, "CommunicationPreferences", {"ImisId": ada, "NEWSLETTER": True})
        after = after_of(result)
        assert after == {"ImisId": ada, "NEWSLETTER": True, "EVENTS": None}
        assert one(seeded, "CommunicationPreferences", ImisId=ada) == after
        changed = update(
            seeded,
            "CommunicationPreferences",
            {"ImisId": ada},
            {"EVENTS": False, "NEWSLETTER": False},
        )
        assert changed.before == after
        assert after_of(changed) == {"ImisId": ada, "NEWSLETTER": False, "EVENTS": False}
        assert one(seeded, "CommunicationPreferences", ImisId=ada) == changed.after
        assert rows(
            seeded, "CommunicationPreferences", Filter("NEWSLETTER", Operator.IS_FALSE)
        ) == [changed.after]

    def test_preferences_second_insert_is_refused(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        ada = people["Ada"]
        first = insert(
            seeded,
            "CommunicationPreferences",
            {"ImisId": ada, "NEWSLETTER": True},
            {"ImisId": ada, "EVENTS": True},
        )
        assert first[0].ok
        assert refused(first[1]) == ("preferences_exist", "ImisId")
        (again,) = insert(seeded, "CommunicationPreferences", {"ImisId": ada, "EVENTS": True})
        assert refused(again) == ("preferences_exist", "ImisId")
        assert one(seeded, "CommunicationPreferences", ImisId=ada)["EVENTS"] is None

    # ---- EventRegistration ----------------------------------------------------------------------

    def test_registration_price_defaults_to_the_option_price(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        results = insert(
            seeded,
            "EventRegistration",
            {"RegistrantId": people["Ada"], "EventCode": "conf26", "FunctionCode": "reg"},
            {
                "RegistrantId": people["Grace"],
                "EventCode": "CONF26",
                "FunctionCode": "WORKSHOP",
                "Price": Decimal("20.00"),
            },
        )
        first, second = (after_of(r) for r in results)
        assert (first["EventCode"], first["FunctionCode"]) == ("CONF26", "REG")
        assert first["Price"] == Decimal("250.00")
        assert first["Status"] == "Registered"
        assert first["Waitlist"] is False
        assert first["TransactionDate"] in today_values()
        assert isinstance(first["RegistrationId"], int)
        assert second["RegistrationId"] == first["RegistrationId"] + 1
        assert second["Price"] == Decimal("20.00")
        assert rows(seeded, "EventRegistration") == [first, second]

    def test_registration_function_must_belong_to_the_event(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        results = insert(
            seeded,
            "EventRegistration",
            {"RegistrantId": people["Ada"], "EventCode": "CONF26", "FunctionCode": "DINNER"},
            {"RegistrantId": people["Ada"], "EventCode": "CONF26", "FunctionCode": "PICNIC"},
            {"RegistrantId": "424242", "EventCode": "CONF26", "FunctionCode": "REG"},
        )
        assert refused(results[0]) == ("invalid_function", "FunctionCode")
        assert refused(results[1]) == ("invalid_code", "FunctionCode")
        assert refused(results[2]) == ("contact_not_found", "RegistrantId")
        assert rows(seeded, "EventRegistration") == []

    def test_registration_full_option_needs_the_wait_list(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        reg = {"EventCode": "CONF26", "FunctionCode": "REG"}
        results = insert(
            seeded,
            "EventRegistration",
            {**reg, "RegistrantId": people["Ada"]},
            {**reg, "RegistrantId": people["Grace"]},
            {**reg, "RegistrantId": people["Alan"]},
            {**reg, "RegistrantId": people["Alan"], "Waitlist": True},
        )
        assert [r.ok for r in results] == [True, True, False, True]
        assert refused(results[2]) == ("function_full", "FunctionCode")
        assert (after_of(results[3])["Status"], after_of(results[3])["Waitlist"]) == (
            "Waitlisted",
            True,
        )
        (late,) = insert(seeded, "EventRegistration", {**reg, "RegistrantId": people["Org"]})
        assert refused(late) == ("function_full", "FunctionCode")
        statuses = [r["Status"] for r in rows(seeded, "EventRegistration")]
        assert statuses == ["Registered", "Registered", "Waitlisted"]

    def test_registration_is_insert_only(self, seeded: Target, people: dict[str, str]) -> None:
        (reg,) = inserted(
            seeded,
            "EventRegistration",
            {"RegistrantId": people["Ada"], "EventCode": "GALA26", "FunctionCode": "DINNER"},
        )
        identity = {"RegistrationId": reg["RegistrationId"]}
        assert refused(delete(seeded, "EventRegistration", identity))[0] == "action_not_allowed"
        assert refused(update(seeded, "EventRegistration", identity, {"Price": 1}))[0] == (
            "action_not_allowed"
        )
        assert rows(seeded, "EventRegistration") == [reg]

    # ---- Gift ---------------------------------------------------------------------------------

    def test_gift_date_defaults_to_the_transaction_date(
        self, seeded: Target, people: dict[str, str]
    ) -> None:
        gift = {"DonorId": people["Ada"], "GiftItemId": "general", "PaymentMethodId": "cash"}
        results = insert(
            seeded,
            "Gift",
            {**gift, "Amount": Decimal("100.00"), "TransactionDate": date(2026, 1, 15)},
            {**gift, "Amount": Decimal("5.25")},
            {
                **gift,
                "Amount": Decimal("7.00"),
                "TransactionDate": date(2026, 1, 15),
                "GiftDate": date(2025, 12, 31),
            },
        )
        first, second, third = (after_of(r) for r in results)
        assert (first["GiftItemId"], first["PaymentMethodId"]) == ("GENERAL", "CASH")
        assert first["GiftDate"] == first["TransactionDate"] == date(2026, 1, 15)
        assert second["TransactionDate"] in today_values()
        assert second["GiftDate"] == second["TransactionDate"]
        assert third["GiftDate"] == date(2025, 12, 31)
        assert first["Amount"] == Decimal("100.00")
        assert second["GiftId"] == first["GiftId"] + 1
        assert rows(seeded, "Gift") == [first, second, third]

    def test_gift_by_credit_card_is_refused(self, seeded: Target, people: dict[str, str]) -> None:
        gift = {"DonorId": people["Ada"], "GiftItemId": "GENERAL", "Amount": Decimal("10")}
        results = insert(
            seeded,
            "Gift",
            {**gift, "PaymentMethodId": "visa"},
            {**gift, "PaymentMethodId": "CHECK", "CheckNumber": "0042"},
            {**gift, "DonorId": "424242", "PaymentMethodId": "CASH"},
            {"DonorId": people["Ada"], "GiftItemId": "GENERAL", "PaymentMethodId": "CASH"},
        )
        assert refused(results[0]) == ("credit_card_gift", "PaymentMethodId")
        assert after_of(results[1])["CheckNumber"] == "0042"
        assert refused(results[2]) == ("contact_not_found", "DonorId")
        assert refused(results[3]) == ("required", "Amount")
        assert [r["PaymentMethodId"] for r in rows(seeded, "Gift")] == ["CHECK"]

    # ---- LookupTable ----------------------------------------------------------------------------

    def test_lookup_table_insert_update_delete(self, seeded: Target) -> None:
        key = {"TableName": "TEST_TABLE", "Code": "A"}
        (after,) = inserted(seeded, "LookupTable", {**key, "Description": "Alpha"})
        assert after == {**key, "Description": "Alpha", "Expansion": None}
        assert seeded.lookup_codes("TEST_TABLE") == {"A": "Alpha"}
        changed = update(seeded, "LookupTable", key, {"Description": "Alpha one"})
        assert changed.before == after
        assert after_of(changed)["Description"] == "Alpha one"
        assert seeded.lookup_codes("TEST_TABLE") == {"A": "Alpha one"}
        removed = delete(seeded, "LookupTable", {"TableName": "test_table", "Code": "a"})
        assert removed.before == changed.after
        assert seeded.lookup_codes("TEST_TABLE") == {}

    def test_lookup_table_codes_validate_at_once(self, seeded: Target) -> None:
        inserted(seeded, "LookupTable", {"TableName": "PREFIX", "Code": "Prof", "Description": ""})
        (after,) = inserted(
            seeded, "Contact", {"FirstName": "Ada", "LastName": "Lovelace", "Prefix": "PROF"}
        )
        assert after["Prefix"] == "Prof"

    def test_lookup_table_names_ignore_case(self, seeded: Target) -> None:
        inserted(seeded, "LookupTable", {"TableName": "suffix", "Code": "Jr", "Description": "Jr."})
        assert seeded.lookup_codes("SUFFIX") == {"Jr": "Jr."}
        assert seeded.lookup_codes("Suffix") == {"Jr": "Jr."}
        (after,) = inserted(
            seeded, "Contact", {"FirstName": "Ada", "LastName": "Lovelace", "Suffix": "jr"}
        )
        assert after["Suffix"] == "Jr"


class PanelContract:
    """User-defined panels: the target holds the panels of :data:`PANELS` (``seed_panels``)."""

    def seed_panels(self, target: Target) -> None:
        raise NotImplementedError

    @pytest.fixture
    def panelled(self, seeded: Target) -> Target:
        self.seed_panels(seeded)
        return seeded

    @pytest.fixture
    def members(self, panelled: Target) -> list[str]:
        made = inserted(
            panelled,
            "Contact",
            {"FirstName": "Ada", "LastName": "Lovelace"},
            {"FirstName": "Grace", "LastName": "Hopper"},
        )
        return [r["ImisId"] for r in made]

    def test_panels_are_described(self, panelled: Target) -> None:
        multi = panelled.describe("Panel Volunteering")
        assert multi.name == "Volunteering"
        assert (multi.kind, multi.panel_kind) == ("panel", "multi")
        assert multi.identity == ("ImisId", "Ordinal")
        assert [f.name for f in multi.fields] == [
            "ImisId",
            "Ordinal",
            "Role",
            "Hours",
            "Skills",
            "StartDate",
        ]
        assert multi.field("start date").type is FieldType.DATE
        assert multi.field("Skills").appendable
        single = panelled.describe("profile")
        assert (single.name, single.panel_kind, single.identity) == (
            "Profile",
            "single",
            ("ImisId",),
        )
        assert panelled.describe("panel profile").name == "Profile"
        volunteering = panelled.describe("Volunteering")
        assert volunteering.actions_on(panelled.platform) == frozenset(Action)
        assert {"Profile", "Volunteering"} <= {s.name for s in panelled.sources()}

    def test_multi_panel_insert_assigns_ordinals(
        self, panelled: Target, members: list[str]
    ) -> None:
        ada, grace = members
        results = insert(
            panelled,
            "Volunteering",
            {"ImisId": ada, "Role": "Tutor", "Skills": ("teaching", "Mentoring")},
            {"ImisId": ada, "Role": "Steward", "Hours": Decimal("12.5")},
            {"ImisId": grace, "Role": "Speaker", "StartDate": date(2026, 3, 1)},
            {"ImisId": grace, "Hours": Decimal("1")},
            {"ImisId": grace, "Role": "Juggler", "Skills": ("JUGGLING",)},
        )
        first, second, third = (after_of(r) for r in results[:3])
        assert isinstance(first["Ordinal"], int)
        assert [second["Ordinal"], third["Ordinal"]] == [first["Ordinal"] + 1, first["Ordinal"] + 2]
        assert first["Skills"] == ("TEACHING", "MENTORING")
        assert second["Hours"] == Decimal("12.5")
        assert refused(results[3]) == ("required", "Role")
        assert refused(results[4]) == ("invalid_code", "Skills")
        assert rows(panelled, "Volunteering") == [first, second, third]
        assert rows(panelled, "Volunteering", eq("ImisId", grace)) == [third]

    def test_multi_panel_update_and_delete(self, panelled: Target, members: list[str]) -> None:
        ada = members[0]
        first, second = inserted(
            panelled,
            "Volunteering",
            {"ImisId": ada, "Role": "Tutor"},
            {"ImisId": ada, "Role": "Steward"},
        )
        identity = {"ImisId": ada, "Ordinal": first["Ordinal"]}
        changed = update(panelled, "Volunteering", identity, {"Hours": Decimal("3.5")})
        assert changed.before == first
        assert after_of(changed) == {**first, "Hours": Decimal("3.5")}
        removed = delete(panelled, "Volunteering", identity)
        assert removed.before == changed.after
        assert rows(panelled, "Volunteering") == [second]
        (third,) = inserted(panelled, "Volunteering", {"ImisId": ada, "Role": "Host"})
        assert third["Ordinal"] == second["Ordinal"] + 1

    def test_multi_select_filters_ask_for_one_code(
        self, panelled: Target, members: list[str]
    ) -> None:
        ada, grace = members
        inserted(
            panelled,
            "Volunteering",
            {"ImisId": ada, "Role": "Tutor", "Skills": ("TEACHING", "MENTORING")},
            {"ImisId": grace, "Role": "Organiser", "Skills": ("EVENTS",)},
            {"ImisId": grace, "Role": "Helper"},
        )

        def roles(*filters: Filter) -> list[str]:
            return sorted(r["Role"] for r in rows(panelled, "Volunteering", *filters))

        assert roles(Filter("Skills", Operator.EQ, "mentoring")) == ["Tutor"]
        assert roles(Filter("Skills", Operator.IN, ("EVENTS", "TEACHING"))) == [
            "Organiser",
            "Tutor",
        ]
        assert roles(Filter("Skills", Operator.NE, "TEACHING")) == ["Helper", "Organiser"]
        assert roles(Filter.parse("Skills=eq:TEACH")) == []

    def test_multi_select_append_adds_to_what_is_stored(
        self, panelled: Target, members: list[str]
    ) -> None:
        ada = members[0]
        (row,) = inserted(
            panelled, "Volunteering", {"ImisId": ada, "Role": "Tutor", "Skills": ("TEACHING",)}
        )
        identity = {"ImisId": ada, "Ordinal": row["Ordinal"]}
        appended = update(
            panelled,
            "Volunteering",
            identity,
            {"Skills": ("mentoring", "teaching")},
            append={"Skills"},
        )
        assert after_of(appended)["Skills"] == ("TEACHING", "MENTORING")
        assert one(panelled, "Volunteering", Ordinal=row["Ordinal"])["Skills"] == (
            "TEACHING",
            "MENTORING",
        )
        replaced = update(panelled, "Volunteering", identity, {"Skills": ("EVENTS",)})
        assert after_of(replaced)["Skills"] == ("EVENTS",)
        assert one(panelled, "Volunteering", Ordinal=row["Ordinal"])["Skills"] == ("EVENTS",)

    def test_single_panel_holds_one_row_per_contact(
        self, panelled: Target, members: list[str]
    ) -> None:
        ada, grace = members
        results = insert(
            panelled,
            "Profile",
            {"ImisId": ada, "Specialty": "Analysis", "YearsInPractice": 12, "NEWSLETTER": True},
            {"ImisId": ada, "Specialty": "Poetry"},
            {"ImisId": grace, "Interests": ("maths", "History")},
        )
        first = after_of(results[0])
        assert first == {
            "ImisId": ada,
            "Specialty": "Analysis",
            "YearsInPractice": 12,
            "Newsletter": True,
            "Interests": None,
        }
        assert refused(results[1]) == ("panel_row_exists", "ImisId")
        assert after_of(results[2])["Interests"] == ("MATHS", "HISTORY")
        (again,) = insert(panelled, "Profile", {"ImisId": ada, "Specialty": "Poetry"})
        assert refused(again) == ("panel_row_exists", "ImisId")
        assert one(panelled, "Profile", ImisId=ada) == first

    def test_single_panel_update_and_delete(self, panelled: Target, members: list[str]) -> None:
        ada = members[0]
        (row,) = inserted(panelled, "Profile", {"ImisId": ada, "Specialty": "Analysis"})
        changed = update(panelled, "Profile", {"ImisId": ada}, {"YearsInPractice": 3})
        assert changed.before == row
        assert after_of(changed) == {**row, "YearsInPractice": 3}
        assert one(panelled, "Profile", ImisId=ada) == changed.after
        removed = delete(panelled, "Profile", {"ImisId": ada})
        assert removed.before == changed.after
        assert rows(panelled, "Profile") == []
        (again,) = inserted(panelled, "Profile", {"ImisId": ada, "Specialty": "Poetry"})
        assert again["Specialty"] == "Poetry"

    def test_panel_rows_need_an_existing_contact(self, panelled: Target) -> None:
        (result,) = insert(panelled, "Profile", {"ImisId": "424242", "Specialty": "Analysis"})
        assert refused(result) == ("contact_not_found", "ImisId")
