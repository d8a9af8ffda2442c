"""Standard endpoints clients call: lookups, CsContact, Party contract metadata, changelog."""

from __future__ import annotations

import pytest
from sandbox_support import CONTACTS, Api, props

from idms.targets.imis import wire

# entity -> (lookup table, item $type, id member, name member)
LOOKUPS = {
    "Country": ("COUNTRY", "CountryData", "CountryCode", "CountryName"),
    "PartyStatus": ("CONTACT_STATUS", "PartyStatusData", "PartyStatusId", "Name"),
    "NamePrefix": ("PREFIX", "NamePrefixData", "NamePrefixId", "Name"),
    "NameSuffix": ("SUFFIX", "NameSuffixData", "NameSuffixId", "Name"),
    "Group": ("GROUP", "GroupData", "GroupId", "Name"),
}


@pytest.mark.parametrize("entity", sorted(LOOKUPS))
def test_lookup_endpoints_list_and_get_the_store_codes(api: Api, entity: str) -> None:
    table, contract, id_member, name_member = LOOKUPS[entity]
    codes = api.target.lookup_codes(table)
    assert codes
    body = api.get(f"/api/{entity}", limit=500).json()
    item_type = wire.contract(contract)
    assert body["$type"] == wire.paged_type(item_type)
    assert body["Items"]["$type"] == wire.list_type(item_type)
    assert (body["Offset"], body["Count"], body["TotalCount"], body["HasNext"]) == (
        0,
        len(codes),
        len(codes),
        False,
    )
    items = body["Items"]["$values"]
    assert {i["$type"] for i in items} == {item_type}
    assert {i[id_member]: i[name_member] for i in items} == {
        code: description or code for code, description in codes.items()
    }
    code = next(iter(codes))
    one = api.get(f"/api/{entity.lower()}/{code}")
    assert one.status_code == 200
    assert one.json()[id_member] == code
    assert api.get(f"/api/{entity}", **{id_member: f"eq:{code}"}).json()["TotalCount"] == 1
    paged = api.get(f"/api/{entity}", limit=1, offset=1).json()
    assert (paged["Count"], paged["NextOffset"]) == (1, 2 if len(codes) > 2 else 0)
    missing = api.get(f"/api/{entity}/NO-SUCH-CODE")
    assert missing.status_code == 404
    assert missing.json()["$type"] == wire.http_error("x")["$type"]
    assert api.post(f"/api/{entity}", {"$type": item_type}).status_code == 501


def test_cs_contact_reads_and_updates_a_contact(api: Api) -> None:
    body = api.get("/api/CsContact", limit=5).json()
    assert body["$type"] == wire.paged_type(wire.GENERIC_ENTITY)
    assert body["TotalCount"] == CONTACTS
    first = body["Items"]["$values"][0]
    assert first["EntityTypeName"] == "CsContact"
    values = props(first)
    ident = values["ID"]
    assert wire.identity_elements(first) == [ident]
    one = api.get(f"/api/CsContact/{ident}").json()
    assert props(one) == values
    # ACHPER's scripts: GET, change MemberType and PaidThrough, PUT the object back.
    for prop in one["Properties"]["$values"]:
        if prop["Name"] == "MemberType":
            prop["Value"] = "REG"
        if prop["Name"] == "PaidThrough":
            prop["Value"] = "2031-12-31T00:00:00"
    answer = api.put(f"/api/CsContact/{ident}", one)
    assert answer.status_code == 200, answer.text
    stored = api.target.read("Contact", [])
    record = next(r for r in stored if r["ImisId"] == ident)
    assert (record["MemberType"], str(record["PaidThrough"])) == ("REG", "2031-12-31")
    party = api.get(f"/api/Party/{ident}").json()
    attributes = {p["Name"]: p.get("Value") for p in party["AdditionalAttributes"]["$values"]}
    assert attributes["CustomerTypeCode"] == "REG"
    assert api.get("/api/CsContact", ID=f"eq:{ident}").json()["TotalCount"] == 1
    assert api.get("/api/CsContact/999999").status_code == 404


@pytest.mark.parametrize("entity", ["Party", "Person", "Organization", "PartySummary"])
def test_metadata_of_the_party_contracts(api: Api, entity: str) -> None:
    answer = api.get(f"/api/metadata/{entity}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["$type"] == "Asi.Soa.Core.DataContracts.BOEntityDefinitionData, Asi.Contracts"
    assert body["EntityTypeName"] == entity
    names = {p["Name"] for p in body["Properties"]["$values"]}
    assert {"PartyId"} <= names
    if entity == "Person":
        assert {"FirstName", "LastName", "NamePrefix", "CityName"} <= names
        assert "OrganizationName" not in names
    if entity == "Organization":
        assert "OrganizationName" in names
        assert "FirstName" not in names
    if entity == "PartySummary":
        assert {"Name", "Email", "Phone"} <= names


@pytest.mark.parametrize(
    "path", ["/api/Party/{id}/changelog", "/api/Person/{id}/changelog", "/api/Activity/1/changelog"]
)
def test_changelog_answers_501_as_documented(api: Api, path: str) -> None:
    ident = api.items("/api/Person", limit=1)[0]["Id"]
    answer = api.get(path.format(id=ident))
    assert answer.status_code == 501
    assert answer.json() == wire.http_error("Operation not implemented")
