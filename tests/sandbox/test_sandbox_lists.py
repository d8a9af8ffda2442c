"""Paged lists: the envelope, paging to the end, the 500 clamp, filters and OrderBy."""

from __future__ import annotations

import pytest
from sandbox_support import CONTACTS, Api, props

from idms.targets.imis import wire


@pytest.fixture
def api(reader: Api) -> Api:
    """Every test here only reads: they share one sandbox."""
    return reader


def test_the_envelope(api: Api) -> None:
    answer = api.get("/api/Party", limit=5, offset=10)
    assert answer.status_code == 200
    body = answer.json()
    assert body["$type"] == wire.paged_type(wire.contract("PartyData"))
    assert body["Items"]["$type"] == wire.list_type(wire.contract("PartyData"))
    assert (body["Offset"], body["Limit"], body["Count"]) == (10, 5, 5)
    assert body["TotalCount"] == CONTACTS
    assert (body["HasNext"], body["NextOffset"], body["NextPageLink"]) == (True, 15, None)


def test_limit_defaults_to_100(api: Api) -> None:
    body = api.get("/api/Party").json()
    assert (body["Limit"], body["Count"]) == (100, 100)


def test_paging_to_the_end_sees_every_row_once(api: Api) -> None:
    seen: list[str] = []
    counts = 0
    offset, total = 0, None
    while True:
        body = api.get("/api/Party", limit=70, offset=offset).json()
        total = body["TotalCount"]
        counts += body["Count"]
        seen += [item["Id"] for item in body["Items"]["$values"]]
        if not body["HasNext"]:
            assert body["NextOffset"] == 0
            break
        offset = body["NextOffset"]
    assert counts == total == CONTACTS
    assert len(set(seen)) == len(seen) == CONTACTS


def test_limit_is_clamped_to_500(api: Api) -> None:
    body = api.get("/api/Activity", limit=1000).json()
    assert body["TotalCount"] > 500
    assert (body["Limit"], body["Count"], body["HasNext"], body["NextOffset"]) == (
        500,
        500,
        True,
        500,
    )
    rest = api.get("/api/Activity", limit=1000, offset=500).json()
    assert rest["Count"] == body["TotalCount"] - 500
    assert rest["HasNext"] is False


def test_an_empty_result(api: Api) -> None:
    body = api.get("/api/Party", LastName="no-such-name-anywhere").json()
    assert (body["Count"], body["TotalCount"], body["HasNext"], body["NextOffset"]) == (
        0,
        0,
        False,
        0,
    )
    assert body["Items"]["$values"] == []


def last_names(api: Api, **params: str) -> list[str]:
    items = api.items("/api/Person", **{"limit": "500", **params})
    return [item["PersonName"]["LastName"] for item in items]


def test_filters_eq_bare_and_aliases(api: Api) -> None:
    some = last_names(api, limit="1")[0]
    for value in (some, f"eq:{some}", f"==:{some.upper()}", f"Equal:{some.lower()}"):
        assert set(last_names(api, lastname=value)) == {some}


def test_filter_starts_with_and_contains(api: Api) -> None:
    names = last_names(api, LastName="startsWith:S")
    assert names
    assert all(n.lower().startswith("s") for n in names)
    assert all("ll" in n.lower() for n in last_names(api, LastName="contains:ll"))


def test_filter_in_and_between(api: Api) -> None:
    ids = {i["Id"] for i in api.items("/api/Party", Id="in:1|2|3")}
    assert ids == {"1", "2", "3"}
    activities = api.items("/api/Activity", SEQN="between:10|19")
    assert sorted(props(a)["SEQN"] for a in activities) == list(range(10, 20))


def test_filter_is_empty_and_is_true(api: Api) -> None:
    no_email = api.items("/api/Person", Email="isEmpty:", limit=500)
    assert no_email
    assert all(not p["Emails"]["$values"] for p in no_email)
    orgs = api.get("/api/Party", IsOrganization="isTrue:").json()
    assert orgs["TotalCount"] == api.get("/api/Organization").json()["TotalCount"] > 0
    assert all(i["$type"] == wire.contract("OrganizationData") for i in orgs["Items"]["$values"])


def test_filter_on_wire_names_of_a_business_object(api: Api) -> None:
    first = props(api.items("/api/Activity", limit=1)[0])
    rows = api.items(
        "/api/Activity", PartyId=first["PartyId"], activity_type=first["ACTIVITY_TYPE"]
    )
    assert rows
    for row in rows:
        values = props(row)
        assert (values["PartyId"], values["ACTIVITY_TYPE"]) == (
            first["PartyId"],
            first["ACTIVITY_TYPE"],
        )
    canonical = api.items(
        "/api/Activity", ImisId=first["PartyId"], ActivityType=first["ACTIVITY_TYPE"]
    )
    assert [wire.identity_elements(r) for r in canonical] == [
        wire.identity_elements(r) for r in rows
    ]


def test_unknown_filters_are_ignored(api: Api) -> None:
    body = api.get("/api/Party", NoSuchProperty="eq:1", MajorKeyish="x").json()
    assert body["TotalCount"] == CONTACTS


def test_a_filter_value_of_the_wrong_type_is_400(api: Api) -> None:
    answer = api.get("/api/Activity", SEQN="gt:abc")
    assert answer.status_code == 400
    assert wire.validation_errors(answer.json())


@pytest.mark.parametrize("key", ["OrderBy", "orderby"])
def test_order_by_ascending_and_descending(api: Api, key: str) -> None:
    up = last_names(api, **{key: "LastName"})
    down = last_names(api, **{key: "LastName:Descending"})
    assert up == sorted(up, key=str.casefold)
    assert down == sorted(down, key=str.casefold, reverse=True)
    assert api.get("/api/Person", OrderBy="NoSuchField").status_code == 200
