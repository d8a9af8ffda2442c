"""Every property an entity returns can be filtered on, with iMIS's operators (§2.1).

The properties are read off the answers themselves, not off the code's tables: each scalar member
of a returned item (nested objects included; ``Phones[].Number`` as ``Phone``,
``Emails[].Address`` as ``Email``; ``AdditionalAttributes`` by name) is a filter name, and a
filter on a sample's value must keep the sample, keep only items that show that value, and leave
out some of the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_support import CONTACTS, Api

from idms.targets.imis import wire


@pytest.fixture
def api(reader: Api) -> Api:
    """Every test here only reads: they share one sandbox."""
    return reader


# Members of a collection's items that describe the item, not the party (kinds and flags).
ITEM_KINDS = frozenset({"EmailType", "IsPrimary", "PhoneType", "AddressPurpose", "Reason"})
# Collection items whose value member is filtered under the collection's singular name.
ITEM_VALUES = {"Phones": ("Number", "Phone"), "Emails": ("Address", "Email")}
# Nested members that share a top-level member's name, by the name the contract gives them
# elsewhere (ComboPartyData carries a person's organization as OrganizationName).
NESTED_NAMES = {("PrimaryOrganization", "Name"): "OrganizationName"}
# Members an address item carries that the store keeps on Address records, not on the contact:
# not (yet) filterable on the Party family, whose filters read the contact's own fields.
ADDRESS_ONLY = frozenset({("Addresses", "Note")})


def leaves(item: dict[str, Any]) -> list[tuple[str, str]]:
    """(filter name, value as text) for every scalar member an item shows."""
    top = {k for k, v in item.items() if not isinstance(v, dict | list)}
    found: list[tuple[str, str]] = []

    def walk(node: Any, key: str, parent: str | None, nested: bool) -> Iterator[None]:
        if isinstance(node, dict):
            if "Name" in node and "GenericPropertyData" in str(node.get("$type")):
                value = wire.unbox(node.get("Value"))
                if value is not None:
                    found.append((str(node["Name"]), _text(value)))
                return
            for k, v in node.items():
                if not k.startswith("$"):
                    yield from walk(v, k, key, nested=node is not item)
            for v in node.get("$values", []) if isinstance(node.get("$values"), list) else []:
                yield from walk(v, key, parent, nested=True)
            return
        if isinstance(node, list):
            for v in node:
                yield from walk(v, key, parent, nested=True)
            return
        if node is None or node == "" or key in ITEM_KINDS:
            return
        if parent in ITEM_VALUES:
            member, name = ITEM_VALUES[parent]
            if key == member:
                found.append((name, _text(node)))
            return
        if nested and (parent, key) in ADDRESS_ONLY:
            return
        if nested and (parent, key) in NESTED_NAMES:
            found.append((NESTED_NAMES[parent, key], _text(node)))
            return
        if nested and key in top:
            return  # a nested member of the same name is another thing
        found.append((key, _text(node)))

    list(walk(item, "", None, nested=False))
    return found


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def shows(item: dict[str, Any], name: str, value: str) -> bool:
    return (name.casefold(), value.casefold()) in {
        (n.casefold(), v.casefold()) for n, v in leaves(item)
    }


def samples(api: Api, entity: str) -> dict[str, tuple[str, str]]:
    """Per property name, one (item id, value) seen in the first 500 items."""
    out: dict[str, tuple[str, str]] = {}
    for item in api.items(f"/api/{entity}", limit=500):
        ident = str(item.get("Id") or item.get("PartyId"))
        for name, value in leaves(item):
            out.setdefault(name, (ident, value))
    return out


@pytest.mark.parametrize("entity", ["Person", "Organization", "Party", "PartySummary"])
def test_every_returned_property_filters(api: Api, entity: str) -> None:
    total = api.get(f"/api/{entity}", limit=1).json()["TotalCount"]
    seen = samples(api, entity)
    assert {"Id", "Email"} <= set(seen), seen.keys()
    if entity in ("Person", "Party"):
        assert {"FirstName", "LastName", "FullName", "Name", "CityName", "Phone"} <= set(seen)
    ignored = []
    for name, (ident, value) in sorted(seen.items()):
        answer = api.get(f"/api/{entity}", **{name: f"eq:{value}", "limit": "500"})
        assert answer.status_code == 200, (name, value, answer.text)
        items = answer.json()["Items"]["$values"]
        assert ident in {str(i.get("Id") or i.get("PartyId")) for i in items}, (name, value)
        assert all(shows(i, name, value) for i in items), (name, value)
        if answer.json()["TotalCount"] == total:
            ignored.append(name)
    # A value every item shows (Status A, the $type-like constants) keeps them all; any other
    # property that keeps every item was not filtered on.
    everywhere = {
        n
        for n, (_, v) in seen.items()
        if all(shows(i, n, v) for i in api.items(f"/api/{entity}", limit=500))
    }
    assert set(ignored) <= everywhere, sorted(set(ignored) - everywhere)


def test_person_phone_filter_keeps_only_that_number(api: Api) -> None:
    """ACHPER's integration example finds a person by ``?Email=...&Phone=...``."""
    people = [p for p in api.items("/api/Person", limit=500) if p["Phones"]["$values"]]
    assert people
    person = people[0]
    number = person["Phones"]["$values"][0]["Number"]
    email = next((e["Address"] for e in person["Emails"]["$values"]), None)
    found = api.items("/api/Person", Phone=number)
    assert found
    assert len(found) < CONTACTS
    assert all(number in {p["Number"] for p in f["Phones"]["$values"]} for f in found)
    if email:
        both = api.items("/api/Person", Email=email, Phone=number)
        assert [b["Id"] for b in both] == [person["Id"]]
    digits = number[-4:]
    partial = api.items("/api/Person", phone=f"contains:{digits}", limit=500)
    assert person["Id"] in {p["Id"] for p in partial}
    assert all(any(digits in p["Number"] for p in f["Phones"]["$values"]) for f in partial)


def test_excluding_operators_on_a_property_of_several_fields(api: Api) -> None:
    """``ne``/``isEmpty`` on Phone hold for every number; ``notEmpty`` for one of them."""
    without = api.items("/api/Person", Phone="isEmpty:", limit=500)
    with_one = api.items("/api/Person", Phone="notEmpty:", limit=500)
    assert without
    assert with_one
    assert all(not p["Phones"]["$values"] for p in without)
    assert all(p["Phones"]["$values"] for p in with_one)
    number = with_one[0]["Phones"]["$values"][0]["Number"]
    others = api.items("/api/Person", Phone=f"ne:{number}", limit=500)
    assert all(number not in {p["Number"] for p in o["Phones"]["$values"]} for o in others)


def test_full_name_filters_with_iMIS_operators(api: Api) -> None:
    person = api.items("/api/Person", limit=1)[0]
    full = person["PersonName"]["FullName"]
    first = full.split(" ")[0]
    same = api.items("/api/Person", FullName=full.upper())
    assert person["Id"] in {p["Id"] for p in same}
    assert {p["PersonName"]["FullName"].casefold() for p in same} == {full.casefold()}
    starting = api.items("/api/Party", name=f"startsWith:{first}", limit=500)
    assert person["Id"] in {p["Id"] for p in starting}
    assert all(p["Name"].casefold().startswith(first.casefold()) for p in starting)


def test_a_property_no_entity_returns_is_still_ignored(api: Api) -> None:
    """As on iMIS (§2.1: ``Contact?MajorKey=101`` filters nothing): the list is unfiltered."""
    body = api.get("/api/Person", NoSuchMember="eq:x").json()
    assert body["TotalCount"] == api.get("/api/Person").json()["TotalCount"]
