"""Requests as clients written to ASI's documentation and Postman collections send them.

Raw JSON over real HTTP to a running sandbox. ``data/asi_combo_party.json`` is the request body of
"Creates a Party" in ASI's public Postman collection (github.com/Advsol/iMISRESTCollection,
``EndpointCollections/iMIS_SDK.postman_collectionV2_1.json``, Membership > Party), unchanged
but for the layout.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
from sandbox_support import Api, errors

from idms.sources.filters import Filter, Operator
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import wire

COMBO_PARTY = Path(__file__).parent / "data" / "asi_combo_party.json"
PERSON = "Asi.Soa.Membership.DataContracts.PersonData, Asi.Contracts"


def send(api: Api, method: str, path: str, body: Any) -> httpx.Response:
    """``body`` as JSON text, member names exactly as given."""
    headers = {**api.headers, "Content-Type": "application/json"}
    return api.http.request(method, path, content=json.dumps(body), headers=headers)


def values(collection: dict[str, Any]) -> list[dict[str, Any]]:
    return list(collection["$values"])


def contacts(target: EmbeddedTarget) -> int:
    return len(list(target.read("Contact")))


def addresses_of(target: EmbeddedTarget, imis_id: str) -> dict[str, dict[str, Any]]:
    rows = target.read("Address", [Filter("ImisId", Operator.EQ, imis_id)])
    return {r["AddressPurpose"]: r for r in rows}


def add_codes(target: EmbeddedTarget, codes: dict[str, list[str]]) -> None:
    changes = [
        Change(ChangeKind.INSERT, {"TableName": table, "Code": code, "Description": code})
        for table, names in codes.items()
        for code in names
    ]
    assert all(r.ok for r in target.apply("LookupTable", changes))


# ---- member names, paths, routes ------------------------------------------------------------


def test_member_names_bind_without_case_as_json_net_does(api: Api) -> None:
    body = {
        "$type": PERSON,
        "personName": {"firstName": "Ada", "LASTNAME": "Lovelace"},
        "emails": {"$values": [{"address": "ada@example.org", "emailType": "_Primary"}]},
        "phones": {"$values": [{"number": "555-0100", "phonetype": "Mobile"}]},
    }
    answer = send(api, "POST", "/api/Person", body)
    assert answer.status_code == 201, answer.text
    party = api.get(f"/api/Party/{answer.json()['Id']}").json()
    assert party["PersonName"]["LastName"] == "Lovelace"
    assert [e["Address"] for e in values(party["Emails"])] == ["ada@example.org"]
    assert [p["Number"] for p in values(party["Phones"])] == ["555-0100"]

    activity = {
        "$type": wire.GENERIC_ENTITY,
        "entityTypeName": "Activity",
        "properties": {
            "$values": [
                {"name": "PartyId", "value": party["Id"]},
                {"NAME": "ACTIVITY_TYPE", "Value": "webinar"},
                {"Name": "description", "value": "Lower-case members"},
            ]
        },
    }
    made = send(api, "POST", "/api/Activity", activity)
    assert made.status_code == 201, made.text
    stored = wire.entity_properties(made.json())
    assert (stored["PartyId"], stored["DESCRIPTION"]) == (party["Id"], "Lower-case members")


def test_json_net_metadata_members_keep_their_case() -> None:
    from idms.sandbox.jsonbody import loads

    obj = loads('{"$TYPE": "x", "Name": 1, "$values": [2]}')
    assert (obj.get("$type"), obj.get("$TYPE"), obj["name"], "NAME" in obj) == (None, "x", 1, True)
    assert obj.get("$VALUES") is None


def test_a_double_slash_is_served_like_one(api: Api) -> None:
    answer = api.http.get("/api//Party", params={"limit": 2}, headers=api.headers)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["Items"]["$values"]) == 2
    one = answer.json()["Items"]["$values"][0]["Id"]
    again = httpx.get(f"{api.base}//api/Party//{one}", headers=api.headers)
    assert again.status_code == 200, again.text
    assert again.json()["Id"] == one


def test_an_unknown_route_answers_an_http_error(api: Api) -> None:
    for path in ("/nothing/here", "/", "/apis/Party"):
        answer = api.http.get(path, headers=api.headers)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("application/json")
        body = answer.json()
        assert body["$type"] == wire.HTTP_ERROR
        assert body["Message"].startswith("No HTTP resource was found that matches the request")
        assert path in body["Message"]
    wrong = api.http.get("/token")
    assert wrong.status_code == 405
    assert wrong.json() == {
        "$type": wire.HTTP_ERROR,
        "Message": "The requested resource does not support http method 'GET'.",
    }


# ---- a Person keeps everything it carries ------------------------------------------------------


def full_person() -> dict[str, Any]:
    def address(purpose: str, line: str, **more: Any) -> dict[str, Any]:
        return {
            "Address": {
                "AddressLines": {"$values": [line]},
                "CityName": "London",
                "CountryName": "United Kingdom",
                "PostalCode": "NW1 6XE",
            },
            "AddressPurpose": purpose,
            **more,
        }

    return {
        "$type": PERSON,
        "PersonName": {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "NamePrefix": "Dr",
            "NameSuffix": "PhD",
        },
        "PrimaryOrganization": {"Name": "Analytical Engines Ltd", "Title": "Countess"},
        "Gender": "Female",
        "Emails": {
            "$values": [
                {"Address": "ada@example.org", "EmailType": "_Primary", "IsPrimary": True},
                {"Address": "ada@home.example.org", "EmailType": "Home"},
            ]
        },
        "Phones": {
            "$values": [
                {"Number": "555-0101", "PhoneType": "_Home Phone"},
                {"Number": "555-0102", "PhoneType": "_Work Phone"},
                {"Number": "555-0103", "PhoneType": "Mobile"},
                {"Number": "555-0104", "PhoneType": "_Fax"},
                {"Number": "555-0105", "PhoneType": "Home"},
                {"Number": "555-0106", "PhoneType": "Home Fax"},
            ]
        },
        "Addresses": {
            "$values": [
                address(
                    "Address",
                    "12 Baker Street",
                    Email="ada@work.example.org",
                    Note="Reception on the left",
                    CommunicationPreferences={"$values": [{"Reason": "default"}]},
                ),
                address(
                    "Home",
                    "1 St James's Square",
                    CommunicationPreferences={"$values": [{"Reason": "mail"}]},
                ),
            ]
        },
    }


def test_a_person_reads_back_everything_it_was_posted_with(api: Api) -> None:
    answer = send(api, "POST", "/api/Person", full_person())
    assert answer.status_code == 201, answer.text
    party = api.get(f"/api/Party/{answer.json()['Id']}").json()
    assert answer.json() == party
    name = party["PersonName"]
    assert (name["NamePrefix"], name["NameSuffix"]) == ("Dr", "PhD")
    assert party["PrimaryOrganization"]["Name"] == "Analytical Engines Ltd"
    assert party["PrimaryOrganization"]["Title"] == "Countess"
    assert party["Gender"] == 1  # Female, as PersonData's enum
    emails = {e["EmailType"]: e["Address"] for e in values(party["Emails"])}
    assert emails == {
        "_Primary": "ada@example.org",
        "Address": "ada@work.example.org",
        "Home": "ada@home.example.org",
    }
    phones = {p["PhoneType"]: p["Number"] for p in values(party["Phones"])}
    assert phones == {
        "_Home Phone": "555-0101",
        "_Work Phone": "555-0102",
        "Mobile": "555-0103",
        "_Fax": "555-0104",
        "Home": "555-0105",
        "Home Fax": "555-0106",
    }
    own, home = values(party["Addresses"])
    assert (own["AddressPurpose"], home["AddressPurpose"]) == ("Address", "Home")
    assert values(own["Address"]["AddressLines"]) == ["12 Baker Street"]
    assert (own["Email"], own["Note"]) == ("ada@work.example.org", "Reception on the left")
    assert values(home["Address"]["AddressLines"]) == ["1 St James's Square"]
    assert (home["Email"], home["Phone"], home["Fax"]) == (
        "ada@home.example.org",
        "555-0105",
        "555-0106",
    )
    assert [r["Reason"] for r in values(home["CommunicationPreferences"])] == ["mail"]

    # The store holds it in its own places: Contact fields and one Address record per purpose.
    contact = next(api.target.read("Contact", [Filter("ImisId", Operator.EQ, party["Id"])]))
    assert (contact["Prefix"], contact["Suffix"], contact["Gender"]) == ("Dr", "PhD", "F")
    assert (contact["OrganizationName"], contact["Title"]) == ("Analytical Engines Ltd", "Countess")
    assert contact["Address1"] == "12 Baker Street"
    stored = addresses_of(api.target, party["Id"])
    assert set(stored) == {"Address", "Home"}
    assert stored["Home"]["IsPreferredMailing"] is True
    assert stored["Address"]["IsPreferredMailing"] is False  # one preferred mailing address

    # GET -> PUT of the same object changes nothing; a changed member is kept.
    assert api.put(f"/api/Party/{party['Id']}", party).json() == party
    party["Phones"]["$values"] = [p for p in values(party["Phones"]) if p["PhoneType"] != "Mobile"]
    values(party["Addresses"])[1]["Note"] = "Ring twice"
    again = api.put(f"/api/Party/{party['Id']}", party).json()
    assert "Mobile" not in {p["PhoneType"] for p in values(again["Phones"])}
    assert values(again["Addresses"])[1]["Note"] == "Ring twice"


def test_a_member_without_a_place_is_refused_by_name_and_nothing_is_written(api: Api) -> None:
    before = contacts(api.target)
    cases = {
        "Phones[6].PhoneType": lambda b: b["Phones"]["$values"].append(
            {"Number": "800-0100", "PhoneType": "_Toll Free"}
        ),
        "Website": lambda b: b.update(Website="https://example.org"),
        "PersonName.Nickname": lambda b: b["PersonName"].update(Nickname="Ada"),
        "AdditionalAttributes.ShoeSize": lambda b: b.update(
            AdditionalAttributes={"$values": [{"Name": "ShoeSize", "Value": "38"}]}
        ),
        "Addresses[1].AddressPurpose": lambda b: values(b["Addresses"])[1].update(
            AddressPurpose="Address"
        ),
        "Addresses[1].Address.AddressLines": lambda b: values(b["Addresses"])[1]["Address"].update(
            AddressLines={"$values": ["1", "2", "3", "4"]}
        ),
        "Emails[2].Address": lambda b: b["Emails"]["$values"].append(
            {"Address": "other@example.org", "EmailType": "_Primary"}
        ),
    }
    for member, change in cases.items():
        body = full_person()
        change(body)
        answer = send(api, "POST", "/api/Person", body)
        assert answer.status_code == 400, (member, answer.text)
        found = errors(answer.json())
        assert member in {prop for _, _, prop in found}, (member, found)
        assert any(member in message for message, _, _ in found), found
    # A phone of a purpose the contact has no address of is named too.
    body = full_person()
    body["Phones"]["$values"].append({"Number": "555-0199", "PhoneType": "Work"})
    answer = send(api, "POST", "/api/Person", body)
    assert answer.status_code == 400
    assert errors(answer.json())[0][2] == "Phones[6].PhoneType"
    # The store refuses the second address (not a country it knows): the contact is not written.
    body = full_person()
    values(body["Addresses"])[1]["Address"]["CountryName"] = "Atlantis"
    answer = send(api, "POST", "/api/Person", body)
    assert answer.status_code == 400
    message, code, prop = errors(answer.json())[0]
    assert (code, prop) == ("invalid_code", "Country")
    assert "Addresses[1].Address.CountryName" in message
    assert contacts(api.target) == before


def test_gender_is_a_number_or_a_name(api: Api) -> None:
    for given, code, wired in ((0, "M", 0), ("1", "F", 1), ("male", "M", 0), ("U", "U", "U")):
        body = {**full_person(), "Gender": given}
        answer = send(api, "POST", "/api/Person", body)
        assert answer.status_code == 201, answer.text
        assert answer.json()["Gender"] == wired
        contact = next(
            api.target.read("Contact", [Filter("ImisId", Operator.EQ, answer.json()["Id"])])
        )
        assert contact["Gender"] == code
    refused = send(api, "POST", "/api/Person", {**full_person(), "Gender": 7})
    assert refused.status_code == 400
    assert errors(refused.json())[0][2] == "Gender"


# ---- ASI's own sample ------------------------------------------------------------------------


def asi_store(target: EmbeddedTarget) -> None:
    """The codes ASI's demo database has and ASI's sample uses."""
    add_codes(
        target,
        {
            "PREFIX": ["Mr."],
            "SUFFIX": ["Jr."],
            "MEMBER_TYPE": ["CM"],
            "ADDRESS_PURPOSE": ["Street Address", "Home Address"],
        },
    )


def test_asi_combo_party_sample_is_accepted_and_kept(api: Api) -> None:
    asi_store(api.target)
    sample = json.loads(COMBO_PARTY.read_text("utf-8"))
    before = contacts(api.target)
    # As published, two of its addresses have no country: iMIS keeps them, and the store's
    # Address records, which need a country, take the contact's own.
    answer = send(api, "POST", "/api/Party", sample)
    assert answer.status_code == 201, answer.text
    assert contacts(api.target) == before + 1
    party = api.get(f"/api/Party/{answer.json()['Id']}").json()
    assert party["Id"] != "101"  # AlternateIds repeats the sample's own ID; a new one is given
    assert party["Gender"] == 0
    assert party["BirthDate"] == "1952-05-19T00:00:00"
    name = party["PersonName"]
    assert (name["FirstName"], name["MiddleName"], name["InformalName"]) == (
        "Douglas",
        "A.",
        "Doug",
    )
    assert (name["NamePrefix"], name["NameSuffix"]) == ("Mr.", "Jr.")
    organization = party["PrimaryOrganization"]
    assert (organization["Name"], organization["Title"]) == (
        "Prodigy Makers International",
        "President",
    )
    attributes = {
        p["Name"]: wire.unbox(p.get("Value")) for p in values(party["AdditionalAttributes"])
    }
    assert (attributes["CustomerTypeCode"], attributes["JoinDate"]) == ("CM", "1967-05-28T00:00:00")
    purposes = [a["AddressPurpose"] for a in values(party["Addresses"])]
    assert purposes == ["Address", "Home Address", "Street Address"]
    own = values(party["Addresses"])[0]
    assert (own["Email"], own["Phone"], own["Fax"], own["Note"]) == (
        "prodigymakers@imisdemo.com",
        "(201) 898-9000",
        "(201) 898-4255",
        "P.S.I. Code 9450",
    )
    reasons = [r["Reason"] for r in values(own["CommunicationPreferences"])]
    assert reasons == ["default", "mail", "bill", "ship"]
    street = values(party["Addresses"])[2]["Address"]
    assert values(street["AddressLines"]) == ["115 Franklin Avenue", "Suite 256"]
    phones = {p["PhoneType"]: p["Number"] for p in values(party["Phones"])}
    sent = {p["PhoneType"]: p["Number"] for p in values(sample["Phones"])}
    assert phones == sent
    emails = {e["EmailType"]: e["Address"] for e in values(party["Emails"])}
    assert emails == {
        "_Primary": "prodigymakers@imisdemo.com",
        "Address": "prodigymakers@imisdemo.com",
    }

    # ASI's "Updates a Party by id": the same object with another informal name.
    update = copy.deepcopy(sample)
    update["PersonName"]["InformalName"] = "Dougie"
    answer = send(api, "PUT", f"/api/Party/{party['Id']}", {**update, "PartyId": party["Id"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["PersonName"]["InformalName"] == "Dougie"
    assert len(addresses_of(api.target, party["Id"])) == 3
