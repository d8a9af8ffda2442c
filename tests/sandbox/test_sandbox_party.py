"""Party, Person, Organization, PartySummary and AddressPurpose."""

from __future__ import annotations

from typing import Any

from sandbox_support import CONTACTS, Api

from idms.targets.imis import wire


def person(first: str, last: str, email: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "$type": wire.contract("PersonData"),
        "PersonName": {
            "$type": wire.contract("PersonNameData"),
            "FirstName": first,
            "LastName": last,
        },
        **extra,
    }
    if email:
        body["Emails"] = wire.collection(
            wire.contract("EmailDataCollection"),
            [{"$type": wire.contract("EmailData"), "Address": email, "IsPrimary": True}],
        )
    return body


def test_create_assigns_ids_from_the_counter(api: Api) -> None:
    first = api.post("/api/Person", person("Ada", "Lovelace", "ada@example.org"))
    second = api.post("/api/Person", person("Alan", "Turing"))
    assert (first.status_code, second.status_code) == (201, 201)
    ada, alan = first.json(), second.json()
    assert ada["$type"] == wire.contract("PersonData")
    assert int(alan["Id"]) == int(ada["Id"]) + 1 > CONTACTS
    assert ada["PartyId"] == ada["Id"]
    assert ada["UniformId"]
    assert ada["Emails"]["$values"][0]["Address"] == "ada@example.org"
    again = api.get(f"/api/Party/{ada['Id']}").json()
    assert again["PersonName"]["FullName"] == "Ada Lovelace"


def test_create_an_organization(api: Api) -> None:
    body = {"$type": wire.contract("OrganizationData"), "OrganizationName": "Analytical Society"}
    answer = api.post("/api/Organization", body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["$type"] == wire.contract("OrganizationData")
    assert answer.json()["Name"] == "Analytical Society"


def test_create_with_a_free_supplied_id(api: Api) -> None:
    answer = api.post("/api/Person", person("Grace", "Hopper", Id="90001"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["Id"] == "90001"
    assert api.get("/api/Party/90001").status_code == 200


def test_create_with_a_taken_id_is_400_with_the_store_code(api: Api) -> None:
    answer = api.post("/api/Person", person("Grace", "Hopper", Id="1"))
    assert answer.status_code == 400
    body = answer.json()
    assert body["$type"] == wire.VALIDATION_RESULTS
    message, code, prop = wire.validation_errors(body)[0]
    assert (code, prop) == ("imis_id_taken", "ImisId")
    assert "iMIS ID 1 is already used" in message


def test_create_needs_a_last_name(api: Api) -> None:
    answer = api.post("/api/Person", person("Cher", ""))
    assert answer.status_code == 400
    assert wire.validation_errors(answer.json())[0][1:] == ("required", "LastName")


def test_get_modify_put(api: Api) -> None:
    ident = api.items("/api/Person", limit=1)[0]["Id"]
    party = api.get(f"/api/Party/{ident}").json()
    party["PersonName"]["FirstName"] = "Renamed"
    party["Title"] = "Chief Tester"
    answer = api.put(f"/api/Party/{ident}", party)
    assert answer.status_code == 200, answer.text
    again = api.get(f"/api/Party/{ident}").json()
    assert (again["PersonName"]["FirstName"], again["Title"]) == ("Renamed", "Chief Tester")
    assert again["Emails"] == party["Emails"]
    assert again["Addresses"]["$values"] == party["Addresses"]["$values"]


def test_put_with_an_invalid_code_is_refused(api: Api) -> None:
    ident = api.items("/api/Person", limit=1)[0]["Id"]
    party = api.get(f"/api/Party/{ident}").json()
    for attribute in party["AdditionalAttributes"]["$values"]:
        if attribute["Name"] == "CustomerTypeCode":
            attribute["Value"] = "NOT-A-TYPE"
    answer = api.put(f"/api/Party/{ident}", party)
    assert answer.status_code == 400
    assert wire.validation_errors(answer.json())[0][1:] == ("invalid_code", "MemberType")


def test_unknown_contacts_are_404(api: Api) -> None:
    assert api.get("/api/Party/999999").status_code == 404
    assert api.put("/api/Party/999999", person("No", "Body")).status_code == 404
    # An unknown contact is a 404 even when the body would be refused (its body is read first).
    refused = person("No", "Body", Gender=7, NoSuchMember=1)
    assert api.put("/api/Party/999999", refused).status_code == 404
    known = api.items("/api/Person", limit=1)[0]["Id"]
    assert api.put(f"/api/Party/{known}", refused).status_code == 400
    org = api.items("/api/Organization", limit=1)[0]["Id"]
    assert api.get(f"/api/Person/{org}").status_code == 404
    assert api.get(f"/api/Organization/{org}").status_code == 200


def test_delete_is_refused(api: Api) -> None:
    answer = api.delete("/api/Party/1")
    assert answer.status_code == 400
    message, code, _ = wire.validation_errors(answer.json())[0]
    assert code == "action_not_allowed"
    assert "cannot be deleted" in message
    assert api.get("/api/Party/1").status_code == 200


def test_person_and_organization_lists_hold_their_kind(api: Api) -> None:
    persons = api.get("/api/Person", limit=500).json()
    orgs = api.get("/api/Organization", limit=500).json()
    assert persons["TotalCount"] + orgs["TotalCount"] == CONTACTS
    assert {i["$type"] for i in persons["Items"]["$values"]} == {wire.contract("PersonData")}


def test_party_summary(api: Api) -> None:
    rows = api.items("/api/PartySummary", limit=3)
    assert len(rows) == 3
    assert {"Id", "PartyId", "Name", "Email"} <= set(rows[0])
    one = api.get(f"/api/PartySummary/{rows[0]['Id']}").json()
    assert one["Name"] == rows[0]["Name"]
    assert api.post("/api/PartySummary", {}).status_code == 501


def test_address_purposes(api: Api) -> None:
    rows = api.items("/api/AddressPurpose")
    names = {r["Name"]: r["IsDefaultAddress"] for r in rows}
    assert names["Address"] is True
    assert sum(names.values()) == 1


def test_skip_validation_and_put_checks_only_what_changed(api: Api) -> None:
    body = person("Ada", "Lovelace", AdditionalAttributes=wire.collection(
        wire.PROPERTY_COLLECTION, [wire.property_data("Prefix", "Countess")]
    ))  # fmt: skip
    assert api.post("/api/Person", body).status_code == 400
    answer = api.http.post(
        "/api/Person", params={"SkipValidation": "true"}, json=body, headers=api.headers
    )
    assert answer.status_code == 201, answer.text
    party = answer.json()
    party["Title"] = "Countess of Lovelace"
    put = api.put(f"/api/Party/{party['Id']}", party)  # Prefix is sent back unchanged
    assert put.status_code == 200, put.text
    assert put.json()["Title"] == "Countess of Lovelace"
