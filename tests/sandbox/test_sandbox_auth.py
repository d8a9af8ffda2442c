"""``POST /token``, lock-out and unlock, and the bearer check on ``/api``."""

from __future__ import annotations

import pytest
from sandbox_support import ADA, BOB, MANAGER_PASSWORD, PASSWORD, Api, Serve, execute

from idms.targets.imis import wire

INCORRECT = {
    "error": "invalid_grant",
    "error_description": "The user name or password is incorrect.",
}
LOCKED = {"error": "invalid_grant", "error_description": "The user account is locked out."}
DENIED = {
    "$type": "System.Web.Http.HttpError, System.Web.Http",
    "Message": "Authorization has been denied for this request.",
}


def test_token_answers_in_the_owin_shape(api: Api) -> None:
    answer = api.token(ADA, PASSWORD)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "userName",
        ".issued",
        ".expires",
    }
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1209599
    assert body["userName"] == ADA
    assert body[".issued"].endswith(" GMT")
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert api.http.get("/api/Party", params={"limit": 1}, headers=headers).status_code == 200


def test_token_form_keys_and_path_in_any_case(api: Api) -> None:
    form = {"Grant_Type": "password", "UserName": "manager", "PASSWORD": MANAGER_PASSWORD}
    answer = api.http.post("/TOKEN", data=form)
    assert answer.status_code == 200, answer.text
    assert answer.json()["userName"] == "MANAGER"


def test_wrong_password_and_unknown_user_are_invalid_grant(api: Api) -> None:
    for username, password in ((ADA, "wrong-password"), ("nobody-here", PASSWORD)):
        answer = api.token(username, password)
        assert answer.status_code == 400
        assert answer.json() == INCORRECT


def test_other_grant_types_are_unsupported(api: Api) -> None:
    answer = api.http.post("/token", data={"grant_type": "client_credentials"})
    assert answer.status_code == 400
    assert answer.json() == {"error": "unsupported_grant_type"}


def lock(api: Api, username: str) -> None:
    for _ in range(5):
        assert api.token(username, "not-the-password").status_code == 400
    answer = api.token(username, PASSWORD)
    assert answer.status_code == 400
    assert answer.json() == LOCKED


def test_five_failures_lock_and_a_locked_account_gets_no_token(api: Api) -> None:
    for _ in range(4):
        assert api.token(ADA, "not-the-password").json() == INCORRECT
    assert api.token(ADA, "not-the-password").json() == LOCKED
    assert api.token(ADA, PASSWORD).json() == LOCKED
    assert api.token(BOB, PASSWORD).status_code == 200  # others are not affected
    users = api.items("/api/User", UserName=ADA)
    assert users[0]["IsLockedOut"] is True
    assert users[0]["FailedPasswordAttemptCount"] == 5


@pytest.mark.parametrize("boxed", [True, False], ids=["boxed", "raw-20.3.44"])
def test_unlock_user_then_the_token_works(api: Api, boxed: bool) -> None:
    lock(api, ADA)
    answer = api.execute("UserSecurity", execute("UserSecurity", "UnlockUser", ADA, boxed=boxed))
    assert answer.status_code == 200, answer.text
    assert answer.json()["IsSuccessStatusCode"] is True
    assert api.token(ADA, PASSWORD).status_code == 200


def test_manager_locks_in_memory_and_another_sysadmin_unlocks(serve: Serve) -> None:
    api = serve(sysadmins=[ADA])
    for _ in range(5):
        assert api.token("MANAGER", "wrong").status_code == 400
    assert api.token().json() == LOCKED
    ada = {"Authorization": f"Bearer {api.token(ADA, PASSWORD).json()['access_token']}"}
    answer = api.http.post(
        "/api/UserSecurity/_execute",
        json=execute("UserSecurity", "UnlockUser", "Manager"),
        headers=ada,
    )
    assert answer.status_code == 200, answer.text
    assert api.token().status_code == 200


def test_validate_user_counts_a_failed_attempt(api: Api) -> None:
    answer = api.execute("UserSecurity", execute("UserSecurity", "ValidateUser", BOB, "nope"))
    assert answer.status_code == 200
    assert answer.json()["Result"] is False
    assert api.items("/api/User", UserName=BOB)[0]["FailedPasswordAttemptCount"] == 1
    answer = api.execute("UserSecurity", execute("UserSecurity", "ValidateUser", BOB, PASSWORD))
    assert answer.json()["Result"] is True


def test_update_password(api: Api) -> None:
    body = execute("UserSecurity", "UpdatePassword", BOB, "Brand-New-Pass-2")
    assert api.execute("UserSecurity", body).status_code == 200
    assert api.token(BOB, PASSWORD).status_code == 400
    assert api.token(BOB, "Brand-New-Pass-2").status_code == 200
    weak = api.execute("UserSecurity", execute("UserSecurity", "UpdatePassword", BOB, "x"))
    assert weak.status_code == 400
    assert wire.validation_errors(weak.json())[0][1:] == ("weak_password", "Password")


@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-a-token", "Basic bWFuYWdlcjp4", "Bearer"]
)
def test_api_without_a_valid_token_is_401(api: Api, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = api.http.get("/api/Party", headers=headers)
    assert answer.status_code == 401
    assert answer.json() == DENIED


def test_an_expired_token_is_401(serve: Serve) -> None:
    api = serve(token_lifetime=0)
    answer = api.http.get("/api/Party", headers=api.headers)
    assert answer.status_code == 401
    assert answer.json() == DENIED
