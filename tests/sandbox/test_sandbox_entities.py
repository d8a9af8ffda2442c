"""Generic business objects: panels, Activity, GenTable, discovery, gifts, registrations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sandbox_support import Api, Serve, errors, generic, identity, props

from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import wire

ARITY = "ArgumentFault: Incorrect number of identity element"


def test_single_panel_get_and_get_modify_put(api: Api) -> None:
    row = api.items("/api/MemberProfile", limit=1)[0]
    party = props(row)["PartyId"]
    assert identity(row) == [party]
    assert row["PrimaryParentEntityTypeName"] == "Party"
    one = api.get(f"/api/memberprofile/{party}").json()
    assert props(one) == props(row)
    for prop in one["Properties"]["$values"]:
        if prop["Name"] == "YearsInPractice":
            prop["Value"] = {"$type": "System.Int32", "$value": 42}
    answer = api.put(f"/api/MemberProfile/{party}", one)
    assert answer.status_code == 200, answer.text
    assert props(api.get(f"/api/MemberProfile/{party}").json())["YearsInPractice"] == 42


@pytest.mark.parametrize("separator", ["|", "%7C", "%7c"])
def test_multi_panel_row_by_identity(api: Api, separator: str) -> None:
    row = api.items("/api/Volunteering", limit=1)[0]
    party, ordinal = identity(row)
    answer = api.http.get(f"/api/Volunteering/~{party}{separator}{ordinal}", headers=api.headers)
    assert answer.status_code == 200, answer.text
    assert props(answer.json()) == props(row)


def test_multi_panel_insert_update_delete(api: Api) -> None:
    party = props(api.items("/api/MemberProfile", limit=1)[0])["PartyId"]
    body = generic("Volunteering", PartyId=party, Role="Greeter", Hours=Decimal("2.5"))
    answer = api.post("/api/Volunteering", body)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    party_id, ordinal = identity(made)
    assert party_id == party
    assert props(made)["Ordinal"] == int(ordinal)
    path = f"/api/Volunteering/~{party}%7C{ordinal}"
    made_props = {p["Name"]: p for p in made["Properties"]["$values"]}
    made_props["Role"]["Value"] = "Head greeter"
    assert api.put(path, made).status_code == 200
    assert props(api.get(path).json())["Role"] == "Head greeter"
    assert api.delete(path).status_code == 200
    assert api.get(path).status_code == 404
    assert api.delete(path).status_code == 404


def test_wrong_identity_arity_is_400(api: Api) -> None:
    for path in ("/api/Volunteering/12", "/api/MemberProfile/~12|1", "/api/Activity/~1|2"):
        answer = api.get(path)
        assert answer.status_code == 400, path
        assert errors(answer.json())[0][0] == ARITY


def test_panel_rules_come_from_the_store(api: Api) -> None:
    answer = api.post("/api/Volunteering", generic("Volunteering", PartyId="1", Hours=1))
    assert answer.status_code == 400
    assert errors(answer.json())[0][1:] == ("required", "Role")


def test_activity_crud_by_seqn(api: Api) -> None:
    party = api.items("/api/Person", limit=1)[0]["Id"]
    body = generic(
        "Activity",
        PartyId=party,
        ACTIVITY_TYPE="webinar",
        DESCRIPTION="Sandbox webinar",
        UNITS=Decimal("1.5"),
        TRANSACTION_DATE="2024-03-01T00:00:00",
    )
    answer = api.post("/api/Activity", body)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    (seqn,) = identity(made)
    values = props(made)
    assert values["SEQN"] == int(seqn)
    assert values["ACTIVITY_TYPE"] == "WEBINAR"  # the lookup's own spelling
    assert values["UNITS"] == Decimal("1.5")
    assert values["TRANSACTION_DATE"] == "2024-03-01T00:00:00"
    update = generic("Activity", DESCRIPTION="Renamed webinar")
    assert api.put(f"/api/Activity/{seqn}", update).status_code == 200
    again = props(api.get(f"/api/Activity/{seqn}").json())
    assert (again["DESCRIPTION"], again["ACTIVITY_TYPE"]) == ("Renamed webinar", "WEBINAR")
    assert api.delete(f"/api/Activity/{seqn}").status_code == 200
    assert api.get(f"/api/Activity/{seqn}").status_code == 404


def test_activity_with_an_unknown_type_is_refused(api: Api) -> None:
    body = generic("Activity", PartyId="1", ACTIVITY_TYPE="NOPE")
    answer = api.post("/api/Activity", body)
    assert answer.status_code == 400
    assert errors(answer.json())[0][1:] == ("invalid_code", "ActivityType")


def test_gen_table_general_and_entity_backed(api: Api) -> None:
    rows = api.items("/api/GenTable", TableName="ACTIVITY_TYPE")
    codes = {props(r)["Code"] for r in rows}
    assert {"WEBINAR", "MEETING"} <= codes
    assert all(identity(r)[0] == "ACTIVITY_TYPE" for r in rows)
    events = api.items("/api/GenTable", TableName="event")
    assert events
    assert all(props(r)["TableName"] == "EVENT" for r in events)
    code = props(events[0])["Code"]
    assert api.get(f"/api/GenTable/~EVENT|{code}").status_code == 200


def test_gen_table_insert_update_delete(api: Api) -> None:
    body = generic("GenTable", TableName="ACTIVITY_TYPE", Code="SANDBOX", Description="Sandbox")
    assert api.post("/api/GenTable", body).status_code == 201
    path = "/api/GenTable/~ACTIVITY_TYPE%7CSANDBOX"
    assert api.put(path, generic("GenTable", Description="Renamed")).status_code == 200
    assert props(api.get(path).json())["Description"] == "Renamed"
    assert api.delete(path).status_code == 200
    assert api.get(path).status_code == 404


def test_bo_entity_definition_lists_the_demo_panels(api: Api) -> None:
    body = api.get("/api/BoEntityDefinition").json()
    defs = {d["EntityTypeName"]: d for d in body["Items"]["$values"]}
    assert set(defs) == {"MemberProfile", "Volunteering"}
    multi = defs["Volunteering"]
    assert (multi["ObjectTypeName"], multi["PrimaryParentEntityTypeName"]) == ("Multi", "Party")
    fields = {p["Name"]: p for p in multi["Properties"]["$values"]}
    assert list(fields) == ["PartyId", "Ordinal", "Role", "Hours", "Skills", "StartDate"]
    assert fields["Ordinal"]["IsIdentity"] is True
    assert fields["Role"]["IsRequired"] is True
    assert fields["Skills"]["PropertyTypeName"] == "MultiSelect"
    assert fields["Skills"]["LookupTable"] == "VOLUNTEER_SKILL"
    assert fields["StartDate"]["PropertyTypeName"] == "Date"
    assert defs["MemberProfile"]["ObjectTypeName"] == "Single"


def test_metadata(api: Api) -> None:
    prefs = api.get("/api/metadata/CommunicationPreferences").json()
    names = [p for p in prefs["Properties"]["$values"] if p["PropertyTypeName"] == "Boolean"]
    assert len(names) == 5
    assert api.get("/api/metadata/Activity").json()["EntityTypeName"] == "Activity"
    assert api.get("/api/metadata/Party").json()["EntityTypeName"] == "Party"
    assert api.get("/api/metadata/UserSecurity").status_code == 501


def test_unknown_entities_and_operations(api: Api) -> None:
    assert api.get("/api/NoSuchThing").status_code == 404
    assert api.post("/api/Gift", generic("Gift")).json() == {
        "$type": wire.HTTP_ERROR,
        "Message": "Operation not implemented",
    }
    assert api.post("/api/Party/_validate", {}).status_code == 501


def test_relationship_and_group_member_with_canonical_names(api: Api) -> None:
    row = api.items("/api/GroupMember", limit=1)[0]
    values = props(row)
    assert {"PartyId", "GroupName", "RoleName"} <= set(values)
    members = api.items("/api/GroupMember", GroupId=values["GroupName"], limit=500)
    assert all(props(m)["GroupName"] == values["GroupName"] for m in members)
    rel = api.items("/api/Relationship", limit=1)[0]
    assert len(identity(rel)) == 3


def test_gifts_read_and_batch_entry(api: Api) -> None:
    gifts = api.get("/api/Gift", limit=1).json()
    total = gifts["TotalCount"]
    donor = api.items("/api/Person", limit=1)[0]["Id"]
    gift = generic(
        "Gift",
        DonorId=donor,
        Amount=Decimal("25.00"),
        GiftItemId="ANNUAL",
        PaymentMethodId="CHECK",
    )
    batch = {
        "$type": "Asi.Soa.Fundraising.DataContracts.GiftInformationBatchData, Asi.Contracts",
        "Gifts": wire.collection(wire.list_type(wire.GENERIC_ENTITY), [gift, gift]),
    }
    answer = api.post("/api/GiftInformationBatch", batch)
    assert answer.status_code == 201, answer.text
    stored = answer.json()["Gifts"]["$values"]
    assert [props(g)["Amount"] for g in stored] == [Decimal("25.00")] * 2
    assert api.get("/api/Gift").json()["TotalCount"] == total + 2
    card = generic("Gift", DonorId=donor, Amount=5, GiftItemId="ANNUAL", PaymentMethodId="VISA")
    refused = api.post("/api/GiftInformationBatch", {"Gifts": {"$values": [card]}})
    assert refused.status_code == 400
    assert errors(refused.json())[0][1] == "credit_card_gift"


def registration_request(event: str, function: str, registrant: str) -> dict[str, Any]:
    """ASI's EventRegistrationRequest, as ACHPER's integration example sends it."""
    return {
        "$type": "Asi.Soa.Events.DataContracts.EventRegistrationRequest, Asi.Contracts",
        "EntityTypeName": "EventRegistration",
        "OperationName": "RegisterEvent",
        "RegistrationType": 3,
        "EventId": event,
        "RegistrationOptionFunctionId": f"{event}/{function}",
        "FunctionId": f"{event}/{function}",
        "RegistrantId": registrant,
        "RegisteredBy": registrant,
        "BillTo": registrant,
        "Waitlist": False,
    }


def functions_of(registration: dict[str, Any]) -> list[str]:
    return [f["EventFunction"]["EventFunctionCode"] for f in registration["Functions"]["$values"]]


def test_event_registration_register_read_and_cancel(api: Api) -> None:
    registrant = api.items("/api/Person", limit=1)[0]["Id"]
    request = registration_request("GALA27", "TICKET", registrant)
    answer = api.execute("EventRegistration", request)
    assert answer.status_code == 200, answer.text
    result = answer.json()["Result"]
    assert result["$type"] == "Asi.Soa.Events.DataContracts.EventRegistrationData, Asi.Contracts"
    assert result["EventRegistrationId"] == f"GALA27-{registrant}"
    assert result["Status"] == 1
    [ticket] = result["Functions"]["$values"]
    assert ticket["EventFunction"]["EventFunctionId"] == "GALA27/TICKET"
    assert ticket["EventFunction"]["Name"] == "Individual Ticket"
    assert ticket["EventFunction"]["IsEventRegistrationOption"] is True
    assert ticket["UnitPrice"]["Amount"] == 175.0
    extra = wire.entity_properties({"Properties": ticket["AdditionalAttributes"]})
    reg_id = extra["RegistrationId"]
    assert api.get(f"/api/EventRegistration/GALA27-{registrant}").json() == result
    assert api.get(f"/api/EventRegistration/{reg_id}").json() == result
    listed = api.items("/api/EventRegistration", EventId="GALA27", PartyId=registrant)
    assert listed == [result]
    cancel = wire.execute_request("EventRegistration", "CancelEventRegistration", [reg_id])
    refused = api.execute("EventRegistration", cancel)
    assert refused.status_code == 400
    assert errors(refused.json())[0][1] == "action_not_allowed"
    bad = dict(request, FunctionId="GALA27/BRIEFING")  # an item of another event
    assert errors(api.execute("EventRegistration", bad).json())[0][1] == "invalid_function"


def test_registering_an_event_and_party_again_registers_nothing(api: Api) -> None:
    """RegisterEvent for a registered event and party answers the registration as it is."""
    taken = {r["RegistrantId"] for r in api.target.read("EventRegistration")}
    people = api.items("/api/Person", limit=50)
    registrant = next(p["Id"] for p in people if p["Id"] not in taken)
    first = api.execute("EventRegistration", registration_request("LS26", "MEMBER", registrant))
    assert first.status_code == 200, first.text
    count = api.get("/api/EventRegistration", EventId="LS26").json()["TotalCount"]
    rows = len(list(api.target.read("EventRegistration")))
    again = api.execute("EventRegistration", registration_request("LS26", "MEMBER", registrant))
    assert again.status_code == 200, again.text
    assert again.json()["Result"] == first.json()["Result"]
    assert api.get("/api/EventRegistration", EventId="LS26").json()["TotalCount"] == count
    assert len(list(api.target.read("EventRegistration"))) == rows
    # A program item not yet registered is added to the same registration, once.
    for _ in range(2):
        tour = api.execute("EventRegistration", registration_request("LS26", "TOUR", registrant))
        assert tour.status_code == 200, tour.text
        assert functions_of(tour.json()["Result"]) == ["MEMBER", "TOUR"]
    assert api.get("/api/EventRegistration", EventId="LS26").json()["TotalCount"] == count
    assert len(list(api.target.read("EventRegistration"))) == rows + 1


def test_registrations_read_as_one_per_event_and_party(api: Api) -> None:
    """The demo's registrant 1 holds LS26's NONMEMBER option and its TOUR item: one registration."""
    stored = [r for r in api.target.read("EventRegistration") if r["RegistrantId"] == "1"]
    events = {r["EventCode"] for r in stored}
    listed = api.items("/api/EventRegistration", PartyId="1")
    assert {r["Event"]["EventId"] for r in listed} == events
    assert len(listed) == len(events)
    for registration in listed:
        event = registration["Event"]["EventId"]
        mine = sorted(r["FunctionCode"] for r in stored if r["EventCode"] == event)
        assert sorted(functions_of(registration)) == mine
        assert registration["Functions"]["$values"][0]["EventFunction"]["IsEventRegistrationOption"]
        assert registration["Registrant"]["PartyId"] == "1"
    total = api.get("/api/EventRegistration").json()["TotalCount"]
    pairs = {(r["EventCode"], r["RegistrantId"]) for r in api.target.read("EventRegistration")}
    assert total == len(pairs)


def test_standalone_panel_by_ordinal(serve: Serve, store: EmbeddedTarget) -> None:
    store.create_panel("name: Notes\nkind: standalone\nfields:\n  - {name: Text, type: string}\n")
    api = serve()
    answer = api.post("/api/Notes", generic("Notes", Text="first"))
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["PrimaryParentEntityTypeName"] == "Standalone"
    (ordinal,) = identity(made)
    assert api.put(f"/api/Notes/{ordinal}", generic("Notes", Text="second")).status_code == 200
    assert props(api.get(f"/api/Notes/{ordinal}").json())["Text"] == "second"
    assert api.get("/api/BoEntityDefinition", EntityTypeName="Notes").json()["Count"] == 1
    assert api.delete(f"/api/Notes/{ordinal}").status_code == 200
    assert api.get(f"/api/Notes/{ordinal}").status_code == 404
