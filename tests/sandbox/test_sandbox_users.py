"""User, UserSecurity and iMIS 2017's UserData business object."""

from __future__ import annotations

from typing import Any

from sandbox_support import ADA, BOB, PASSWORD, Api, Known, Serve, errors, execute, generic, props

from idms.targets.imis import wire

SECURITY = "Asi.Soa.Membership.DataContracts.User.UserSecurityData, Asi.Contracts"


def security(**fields: Any) -> dict[str, Any]:
    return {"$type": SECURITY, **fields}


def test_user_list_filter_and_one(api: Api, known: Known) -> None:
    body = api.get("/api/User", UserName=ADA).json()
    assert body["$type"] == wire.paged_type(wire.contract("UserData"))
    (user,) = body["Items"]["$values"]
    assert (user["UserId"], user["UserName"], user["IsDisabled"]) == (known.ada_id, ADA, False)
    assert "Password" not in user
    assert api.get(f"/api/User/{known.ada_id}").json()["UserName"] == ADA
    assert api.get("/api/User/999999").status_code == 404


def test_create_credentials_for_an_existing_contact(api: Api, known: Known) -> None:
    body = security(UserName="spare.user", Password="Spare-Pass-1", UserId=known.spare_id)
    answer = api.post("/api/UserSecurity", body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["UserId"] == known.spare_id
    assert api.token("spare.user", "Spare-Pass-1").status_code == 200
    again = api.post("/api/UserSecurity", dict(body, UserName="spare.again"))
    assert again.status_code == 400
    assert errors(again.json())[0][1:] == ("credentials_exist", "ImisId")


def test_create_credentials_with_a_new_contact(api: Api) -> None:
    body = security(
        UserName="new.person",
        Password="New-Person-1",
        FirstName="Nova",
        LastName="Person",
        Email="nova@example.org",
    )
    answer = api.post("/api/UserSecurity", body)
    assert answer.status_code == 201, answer.text
    user = answer.json()
    assert (user["FirstName"], user["Email"]) == ("Nova", "nova@example.org")
    party = api.get(f"/api/Party/{user['UserId']}").json()
    assert party["PersonName"]["LastName"] == "Person"
    assert api.token("NEW.PERSON", "New-Person-1").status_code == 200


def test_duplicate_usernames_and_weak_passwords_are_refused(api: Api, known: Known) -> None:
    taken = api.post("/api/UserSecurity", security(UserName=ADA.upper(), Password="Whatever-1",
                                                   UserId=known.spare_id))  # fmt: skip
    assert errors(taken.json())[0][1] == "username_taken"
    weak = api.post(
        "/api/UserSecurity", security(UserName="w", Password="x", UserId=known.spare_id)
    )
    assert errors(weak.json())[0][1:] == ("weak_password", "Password")


def test_user_security_list_is_501_and_delete_removes_the_login(api: Api, known: Known) -> None:
    assert api.get("/api/UserSecurity").status_code == 501
    assert api.delete(f"/api/UserSecurity/{known.bob_id}").status_code == 200
    assert api.token(BOB, PASSWORD).status_code == 400
    assert api.get(f"/api/Party/{known.bob_id}").status_code == 200  # the contact stays
    assert api.delete(f"/api/UserSecurity/{known.bob_id}").status_code == 404


def test_find_by_name_and_roles(api: Api, known: Known) -> None:
    found = api.execute("UserSecurity", execute("UserSecurity", "FindByName", ADA)).json()
    assert found["Result"]["UserId"] == known.ada_id
    roles = api.execute("UserSecurity", execute("UserSecurity", "GetUserRoles", "MANAGER"))
    names = {r["RoleName"] for r in roles.json()["Result"]["$values"]}
    assert names == {"SysAdmin", "RemoteService"}  # a background account's pair
    unknown = api.execute("UserSecurity", execute("UserSecurity", "UnlockUser", "nobody"))
    assert unknown.status_code == 404
    bad = api.execute("UserSecurity", execute("UserSecurity", "UnlockUser"))
    assert bad.status_code == 400
    other = api.execute("UserSecurity", execute("UserSecurity", "AddUserRoles", ADA, "X"))
    assert other.status_code == 501


def lock(api: Api, username: str) -> None:
    for _ in range(5):
        api.token(username, "not-the-password")


def test_2017_user_data_put_unlocks(serve: Serve, known: Known) -> None:
    api = serve(platform="2017")
    lock(api, ADA)
    locked = api.items("/api/UserData", IsLockedOut="true", limit=500)
    ids = [props(r)["ID"] for r in locked]
    assert known.ada_id in ids
    assert all(props(r)["IsLockedOut"] is True for r in locked)
    assert len(api.items("/api/UserData", IsLockedOut="eq:true", limit=500)) == len(locked)
    row = api.get(f"/api/UserData/{known.ada_id}").json()
    for prop in row["Properties"]["$values"]:
        if prop["Name"] == "IsLockedOut":
            prop["Value"] = {"$type": "System.Boolean", "$value": False}
    answer = api.put(f"/api/UserData/{known.ada_id}", row)
    assert answer.status_code == 200, answer.text
    assert props(answer.json())["IsLockedOut"] is False
    assert api.token(ADA, PASSWORD).status_code == 200
    relock = api.put(f"/api/UserData/{known.ada_id}", generic("UserData", IsLockedOut=True))
    assert errors(relock.json())[0][1] == "locking_not_supported"


def test_2017_refuses_credentials_writes_and_events(serve: Serve, known: Known) -> None:
    api = serve(platform="2017")
    body = security(UserName="spare.user", Password="Spare-Pass-1", UserId=known.spare_id)
    for answer in (
        api.post("/api/UserSecurity", body),
        api.delete(f"/api/UserSecurity/{known.ada_id}"),
    ):
        assert answer.status_code == 400
        assert errors(answer.json())[0][0].startswith("iMIS 2017 can only unlock user accounts")
    for entity in ("EventRegistration", "Event", "EventFunction"):
        assert api.get(f"/api/{entity}").status_code == 404
    lock(api, BOB)
    unlock = api.execute("UserSecurity", execute("UserSecurity", "UnlockUser", BOB))
    assert unlock.status_code == 200
    assert api.token(BOB, PASSWORD).status_code == 200


def test_user_data_is_served_on_ems_too(api: Api, known: Known) -> None:
    assert api.get(f"/api/UserData/{known.ada_id}").status_code == 200
