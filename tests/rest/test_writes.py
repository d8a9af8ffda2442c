"""The REST target's writes, watched on the wire: which calls each source makes, and their effect.

A recording transport notes every request (method and path as sent), so the tests check the
conversation of docs/rest-contract.md as well as the records that result.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from idms.sources.filters import Filter
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.passwords import LoginOutcome
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import entities, wire
from idms.targets.imis.client import ImisClient
from idms.targets.imis.target import RestTarget, lanes_of
from idms.targets.imis.writes import modify_party

from .conftest import Serve, Served
from .support import seed_panels, seed_store

NewStore = Callable[[str], EmbeddedTarget]
PASSWORD = "Correct-Horse-42"


class Recording(httpx.HTTPTransport):
    """Notes ``METHOD /raw/path`` of every request (token requests too)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.raw_path.decode().split('?')[0]}")
        return super().handle_request(request)

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return [c for c in calls if not c.endswith("/token")]


def one(results: list[Any]) -> Any:
    (result,) = results
    assert result.ok, result.error
    return result


def setup(
    new_store: NewStore, serve: Serve, *, platform: str = "ems", panels: bool = False
) -> tuple[Served, RestTarget, Recording, EmbeddedTarget]:
    store = new_store("imis")
    seed_store(store)
    if panels:
        seed_panels(store)
    store.apply(
        "LookupTable",
        [
            Change(ChangeKind.INSERT, {"TableName": t, "Code": c, "Description": c})
            for t, codes in {
                "MEMBER_TYPE": ("NM", "REG"),
                "CONTACT_STATUS": ("A",),
                "COUNTRY": ("GB", "US"),
                "ACTIVITY_TYPE": ("MEETING", "WEBINAR"),
                "VOLUNTEER_SKILL": ("TEACHING", "EVENTS"),
                "INTEREST": ("MATHS",),
            }.items()
            for c in codes
        ],
    )
    served = serve(store, platform=platform)
    recording = Recording()
    target = RestTarget(served.client(transport=recording), platform)
    target.sources()  # discovery first, so that the tests see only the writes' calls
    recording.take()
    return served, target, recording, store


def insert(target: RestTarget, source: str, values: dict[str, Any]) -> dict[str, Any]:
    after = one(target.apply(source, [Change(ChangeKind.INSERT, values)])).after
    assert after is not None
    return dict(after)


# ---- Contact ----


def test_party_create_and_update(new_store: NewStore, serve: Serve) -> None:
    _, target, wire_log, store = setup(new_store, serve)
    person = insert(
        target,
        "Contact",
        {"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.org",
         "WorkPhone": "555-0100", "City": "London", "Country": "GB", "MemberType": "reg"},
    )  # fmt: skip
    org = insert(target, "Contact", {"IsOrganization": True, "OrganizationName": "Engines"})
    assert wire_log.take() == ["POST /api/Person", "POST /api/Organization"]
    assert (person["MemberType"], person["Country"], person["Status"]) == ("REG", "GB", "A")
    assert org["IsOrganization"] is True

    ada = person["ImisId"]
    change = Change(
        ChangeKind.UPDATE,
        {"MobilePhone": "555-0199", "City": "Cambridge", "Title": "Countess"},
        identity={"ImisId": ada},
    )
    result = one(target.apply("Contact", [change]))
    assert wire_log.take() == [f"GET /api/Party/{ada}", f"PUT /api/Party/{ada}"]
    assert result.before == person
    assert result.after == {
        **person,
        "MobilePhone": "555-0199",
        "City": "Cambridge",
        "Title": "Countess",
        "UpdatedOn": result.after["UpdatedOn"],
    }
    stored = list(store.read("Contact", [Filter.parse(f"ImisId={ada}")]))
    assert stored == [result.after]

    missing = target.apply(
        "Contact", [Change(ChangeKind.UPDATE, {"Title": "x"}, identity={"ImisId": "424242"})]
    )
    assert missing[0].error is not None
    assert missing[0].error.code == "not_found"


def test_party_update_keeps_what_idms_does_not_manage() -> None:
    stored = entities.party_from_record(
        {"ImisId": "101", "FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.org",
         "HomePhone": "1", "City": "London", "Country": "GB", "Prefix": "Dr"}
    )  # fmt: skip
    stored["Phones"]["$values"].append({"Number": "2", "PhoneType": "_Pager"})
    stored["Addresses"]["$values"][0]["Address"]["AddressId"] = "92"
    stored["Addresses"]["$values"].append({"AddressPurpose": "Holiday", "Address": {}})
    stored["AdditionalAttributes"]["$values"].append({"Name": "IsMember", "Value": True})
    stored["SocialNetworks"] = {"$values": ["kept"]}
    body = modify_party(
        stored,
        {"City": "Paris", "HomePhone": None, "Prefix": "Ms"},
        {"City": "Paris", "HomePhone": None, "Prefix": "Ms"},
    )
    assert body["SocialNetworks"] == {"$values": ["kept"]}
    assert [p["PhoneType"] for p in body["Phones"]["$values"]] == ["_Pager"]
    first, holiday = body["Addresses"]["$values"]
    assert first["Address"]["CityName"] == "Paris"
    assert first["Address"]["AddressId"] == "92"
    assert holiday["AddressPurpose"] == "Holiday"
    attributes = {p["Name"]: p.get("Value") for p in body["AdditionalAttributes"]["$values"]}
    assert attributes["IsMember"] is True
    # The name prefix is PersonName's NamePrefix in ASI's contract; the rest of the name is kept.
    assert body["PersonName"] == {**stored["PersonName"], "NamePrefix": "Ms"}
    assert stored["Addresses"]["$values"][0]["Address"]["CityName"] == "London"  # a copy


# ---- business objects ---------------------------------------------------------------------------


def test_activity_insert_update_delete(new_store: NewStore, serve: Serve) -> None:
    _, target, wire_log, _ = setup(new_store, serve)
    ada = insert(target, "Contact", {"FirstName": "Ada", "LastName": "Lovelace"})["ImisId"]
    wire_log.take()
    made = insert(
        target,
        "Activity",
        {"ImisId": ada, "ActivityType": "meeting", "Amount": Decimal("12.50"),
         "TransactionDate": date(2026, 1, 15)},
    )  # fmt: skip
    seqn = made["Seqn"]
    assert (made["ActivityType"], made["Amount"]) == ("MEETING", Decimal("12.50"))
    changed = one(
        target.apply(
            "Activity",
            [Change(ChangeKind.UPDATE, {"Note": "Minutes sent"}, identity={"Seqn": seqn})],
        )
    )
    assert changed.before == made
    assert changed.after == {**made, "Note": "Minutes sent"}
    removed = one(target.apply("Activity", [Change(ChangeKind.DELETE, identity={"Seqn": seqn})]))
    assert removed.before == changed.after
    assert wire_log.take() == [
        "POST /api/Activity",
        f"GET /api/Activity/{seqn}",
        f"PUT /api/Activity/{seqn}",
        f"GET /api/Activity/{seqn}",
        f"DELETE /api/Activity/{seqn}",
    ]
    assert list(target.read("Activity")) == []
    (gone,) = target.apply("Activity", [Change(ChangeKind.DELETE, identity={"Seqn": seqn})])
    assert gone.error is not None
    assert gone.error.code == "not_found"
    (bad,) = target.apply("Activity", [Change(ChangeKind.INSERT, {"ImisId": ada, "Seqn": 5})])
    assert bad.error is not None
    assert (bad.error.code, bad.error.field) == ("read_only_field", "Seqn")
    # the read, the failed delete's GET; the refused insert sent nothing
    assert wire_log.take() == ["GET /api/Activity", f"GET /api/Activity/{seqn}"]


def test_panels_single_and_multi(new_store: NewStore, serve: Serve) -> None:
    _, target, wire_log, store = setup(new_store, serve, panels=True)
    for name in ("Profile", "Volunteering", "CommunicationPreferences"):
        assert target.describe(name) == store.describe(name)  # labels, types, lengths, lookups
    ada = insert(target, "Contact", {"FirstName": "Ada", "LastName": "Lovelace"})["ImisId"]
    profile = insert(target, "Profile", {"ImisId": ada, "Specialty": "Analysis"})
    row = insert(target, "Volunteering", {"ImisId": ada, "Role": "Tutor", "Skills": ("teaching",)})
    wire_log.take()
    single = one(
        target.apply(
            "Profile",
            [Change(ChangeKind.UPDATE, {"Interests": ("maths",)}, identity={"ImisId": ada})],
        )
    )
    assert single.after == {**profile, "Interests": ("MATHS",)}
    key = {"ImisId": ada, "Ordinal": row["Ordinal"]}
    multi = one(
        target.apply(
            "Volunteering",
            [Change(ChangeKind.UPDATE, {"Skills": ("events",)}, identity=key,
                    append=frozenset({"Skills"}))],
        )
    )  # fmt: skip
    assert multi.after == {**row, "Skills": ("TEACHING", "EVENTS")}
    one(target.apply("Volunteering", [Change(ChangeKind.DELETE, identity=key)]))
    ordinal = row["Ordinal"]
    assert wire_log.take() == [
        f"GET /api/Profile/{ada}",
        f"PUT /api/Profile/{ada}",
        f"GET /api/Volunteering/~{ada}%7C{ordinal}",
        f"PUT /api/Volunteering/~{ada}%7C{ordinal}",
        f"GET /api/Volunteering/~{ada}%7C{ordinal}",
        f"DELETE /api/Volunteering/~{ada}%7C{ordinal}",
    ]
    assert list(target.read("Volunteering")) == []


# ---- credentials ----


def lock(store: EmbeddedTarget, username: str) -> None:
    for _ in range(store.policy.lockout_threshold):
        store.attempt_login(username, "wrong-password")
    assert store.attempt_login(username, PASSWORD).outcome is LoginOutcome.LOCKED_OUT


def can_log_in(served: Served, username: str) -> bool:
    with ImisClient(served.url, username, PASSWORD, retries=0) as client:
        try:
            client.get("api/Party")
        except Exception:
            return False
    return True


def test_credentials_create_and_unlock_on_ems(new_store: NewStore, serve: Serve) -> None:
    served, target, wire_log, store = setup(new_store, serve)
    ada = insert(
        target, "Contact", {"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.org"}
    )["ImisId"]
    wire_log.take()
    created = insert(target, "UserCredentials", {"ImisId": ada, "Password": PASSWORD})
    assert created["Username"] == "ada@example.org"
    # no Username given: the contact's e-mail is read and sent as the username
    assert wire_log.take() == [f"GET /api/Party/{ada}", "POST /api/UserSecurity"]
    assert PASSWORD not in repr(created)
    assert can_log_in(served, "ada@example.org")
    lock(store, "ada@example.org")
    assert not can_log_in(served, "ada@example.org")
    wire_log.take()
    unlock = one(
        target.apply(
            "UserCredentials",
            [Change(ChangeKind.UPDATE, {"UnlockUserAccount": True}, identity={"ImisId": ada})],
        )
    )
    assert unlock.before is not None
    assert unlock.before["IsLockedOut"] is True
    assert unlock.after is not None
    assert (unlock.after["IsLockedOut"], unlock.after["FailedPasswordAttemptCount"]) == (False, 0)
    assert wire_log.take() == [
        f"GET /api/User/{ada}",
        "POST /api/UserSecurity/_execute",
        f"GET /api/User/{ada}",
    ]
    assert can_log_in(served, "ada@example.org")
    removed = one(
        target.apply("UserCredentials", [Change(ChangeKind.DELETE, identity={"ImisId": ada})])
    )
    assert removed.before is not None
    assert wire_log.take() == [f"GET /api/User/{ada}", f"DELETE /api/UserSecurity/{ada}"]
    assert list(target.read("UserCredentials")) == []


def test_credentials_unlock_on_2017(new_store: NewStore, serve: Serve) -> None:
    served, target, wire_log, store = setup(new_store, serve, platform="2017")
    assert target.platform == "2017"
    names = {s.name for s in target.sources()}
    assert "UserData" in names
    assert "EventRegistration" not in names
    people = store.apply(
        "Contact",
        [
            Change(ChangeKind.INSERT, {"FirstName": n, "LastName": "L", "Email": f"{n}@x.org"})
            for n in ("ada", "bob")
        ],
    )
    ada, bob = (str(r.after["ImisId"]) for r in people if r.after is not None)
    store.policy.platform = "ems"  # credentials are made by iMIS itself on 2017
    store.refresh()
    store.apply(
        "UserCredentials",
        [Change(ChangeKind.INSERT, {"ImisId": i, "Password": PASSWORD}) for i in (ada, bob)],
    )
    store.policy.platform = "2017"
    store.refresh()
    (refused,) = target.apply(
        "UserCredentials", [Change(ChangeKind.INSERT, {"ImisId": ada, "Password": PASSWORD})]
    )
    assert refused.error is not None
    assert refused.error.code == "action_not_allowed"
    lock(store, "ada@x.org")
    lock(store, "bob@x.org")
    wire_log.take()
    # 2017 unlocks through UserData only: a User Credentials update is refused without a call
    (unlock,) = target.apply(
        "UserCredentials",
        [Change(ChangeKind.UPDATE, {"UnlockUserAccount": True}, identity={"ImisId": ada})],
    )
    assert unlock.error is not None
    assert unlock.error.code == "action_not_allowed"
    assert "UserData" in unlock.error.message
    assert wire_log.take() == []
    assert not can_log_in(served, "ada@x.org")
    data = one(
        target.apply(
            "UserData",
            [Change(ChangeKind.UPDATE, {"IsLockedOut": False}, identity={"ImisId": bob})],
        )
    )
    assert data.before is not None
    assert (data.before["IsLockedOut"], data.after["IsLockedOut"]) == (True, False)
    assert wire_log.take() == [f"GET /api/UserData/{bob}", f"PUT /api/UserData/{bob}"]
    assert can_log_in(served, "bob@x.org")
    (locking,) = target.apply(
        "UserData", [Change(ChangeKind.UPDATE, {"IsLockedOut": True}, identity={"ImisId": bob})]
    )
    assert locking.error is not None
    assert locking.error.code == "locking_not_supported"


# ---- lanes ----


def test_dependent_changes_share_a_lane() -> None:
    from idms.sources.catalog import ACTIVITY, CONTACT, USER_CREDENTIALS

    contacts = [
        Change(ChangeKind.INSERT, {"FirstName": "A"}),
        Change(ChangeKind.INSERT, {"ImisId": "9001"}),
        Change(ChangeKind.INSERT, {"FirstName": "B"}),
        Change(ChangeKind.UPDATE, {"Title": "x"}, identity={"ImisId": " 9001"}),
    ]
    assert lanes_of(CONTACT, contacts) == [[0], [1, 3], [2]]
    activities = [
        Change(ChangeKind.INSERT, {"ImisId": "1"}),
        Change(ChangeKind.INSERT, {"ImisId": "2"}),
        Change(ChangeKind.INSERT, {"ImisId": "1", "OrganizationId": "2"}),
        Change(ChangeKind.DELETE, identity={"Seqn": 4}),
    ]
    assert lanes_of(ACTIVITY, activities) == [[0, 1, 2], [3]]
    logins = [
        Change(ChangeKind.INSERT, {"ImisId": "1", "Username": "Turing"}),
        Change(ChangeKind.INSERT, {"ImisId": "2", "Username": "turing "}),
        Change(ChangeKind.INSERT, {"ImisId": "3"}),
    ]
    assert lanes_of(USER_CREDENTIALS, logins) == [[0, 1], [2]]


def test_wire_identity_of_a_new_record_is_blank() -> None:
    body = wire.generic_entity("Volunteering", [None, None], {"Role": "x"},
                               parent_type="Party", parent_elements=[None])  # fmt: skip
    assert wire.identity_elements(body) == ["", ""]
    assert wire.identity_elements(body, "PrimaryParentIdentity") == [""]


@pytest.mark.parametrize("ordered", [False, True])
def test_results_come_back_in_input_order(new_store: NewStore, serve: Serve, ordered: bool) -> None:
    store = new_store("imis")
    seed_store(store)
    store.apply(
        "LookupTable",
        [Change(ChangeKind.INSERT, {"TableName": "MEMBER_TYPE", "Code": "NM", "Description": ""}),
         Change(ChangeKind.INSERT, {"TableName": "CONTACT_STATUS", "Code": "A",
                                    "Description": ""})],
    )  # fmt: skip
    target = serve(store).rest(ordered=ordered)
    changes = [
        Change(ChangeKind.INSERT, {"FirstName": f"F{i}", "LastName": "L" if i % 7 else None},
               ref=100 + i)
        for i in range(40)
    ]  # fmt: skip
    results = target.apply("Contact", changes)
    assert [r.ref for r in results] == [c.ref for c in changes]
    assert [r.ok for r in results] == [bool(i % 7) for i in range(40)]
    firsts = [r.after["FirstName"] for r in results if r.after is not None]
    assert firsts == [f"F{i}" for i in range(40) if i % 7]
    ids = [int(r.after["ImisId"]) for r in results if r.after is not None]
    if ordered:
        assert ids == sorted(ids)
