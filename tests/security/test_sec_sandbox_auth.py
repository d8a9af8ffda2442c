"""Issue 14, item 8: in the sandbox only a system administrator manages other users' logins.

A real sandbox over a small store with two ordinary users (``ada``, ``bob``) and one store user
named a system administrator (``root.admin``). Ordinary users may not change MANAGER's or each
other's passwords, unlock, delete or create logins, or change iMIS 2017's ``UserData``; a user
changing their own password gives the current one; MANAGER and the named administrator may do
all of it. Refusals are 403 HttpError bodies, as iMIS's other refusals.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from idms.demo.generate import fill_demo
from idms.sandbox.app import create_app
from idms.sandbox.server import running_sandbox
from idms.targets.base import Change, ChangeKind
from idms.targets.embedded.target import EmbeddedTarget
from idms.targets.imis import wire

MANAGER_PASSWORD = "manager-secret-1"
PASSWORD = "Sandbox-Pass-1"
USERS = ("ada.sec", "bob.sec", "root.admin")
HTTP_ERROR = "System.Web.Http.HttpError, System.Web.Http"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A store with 30 contacts, three of them with a login (password :data:`PASSWORD`)."""
    path = tmp_path_factory.mktemp("sec-sandbox") / "imis.db"
    target = EmbeddedTarget(f"sqlite:///{path}")
    try:
        fill_demo(target.engine, contacts=30, seed=5)
        taken = {r["ImisId"] for r in target.read("UserCredentials")}
        free = [
            r["ImisId"]
            for r in target.read("Contact", order_by=["ImisId"])
            if r["Email"] and not r["IsOrganization"] and r["ImisId"] not in taken
        ]
        ids = dict(zip(USERS, free, strict=False))
        changes = [
            Change(ChangeKind.INSERT, {"ImisId": ids[u], "Username": u, "Password": PASSWORD})
            for u in USERS
        ]
        assert all(r.ok for r in target.apply("UserCredentials", changes))
        ids["spare"] = free[len(USERS)]
    finally:
        target.close()
    return path, ids


class Sandbox:
    def __init__(self, base: str, ids: dict[str, str]) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.ids = ids

    def token(self, username: str, password: str) -> httpx.Response:
        form = {"grant_type": "password", "username": username, "password": password}
        return self.http.post("/token", data=form)

    def as_user(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        answer = self.token(username, password)
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def execute(self, headers: dict[str, str], operation: str, *params: Any) -> httpx.Response:
        body = wire.execute_request("UserSecurity", operation, list(params), boxed=True)
        return self.http.post("/api/UserSecurity/_execute", json=body, headers=headers)


@pytest.fixture
def sandbox(
    template: tuple[Path, dict[str, str]], tmp_path: Path
) -> Iterator[Callable[..., Sandbox]]:
    with ExitStack() as stack:

        def start(platform: str = "ems") -> Sandbox:
            path = tmp_path / f"imis-{platform}.db"
            shutil.copyfile(template[0], path)
            target = EmbeddedTarget(f"sqlite:///{path}")
            stack.callback(target.close)
            app = create_app(
                target,
                platform=platform,
                manager_password=MANAGER_PASSWORD,
                sysadmins=["root.admin"],
            )
            client = Sandbox(stack.enter_context(running_sandbox(app)), template[1])
            stack.callback(client.http.close)
            return client

        yield start


def forbidden(answer: httpx.Response, words: str) -> None:
    assert answer.status_code == 403, answer.text
    body = answer.json()
    assert body["$type"] == HTTP_ERROR
    assert words in body["Message"]


def test_an_ordinary_user_cannot_take_over_manager_or_another_user(
    sandbox: Callable[..., Sandbox],
) -> None:
    sb = sandbox()
    ada = sb.as_user("ada.sec")
    # MANAGER's password, without the old one, and bob's: both refused, both unchanged.
    forbidden(sb.execute(ada, "UpdatePassword", "MANAGER", "Taken-Over-1"), "system administrator")
    forbidden(sb.execute(ada, "UpdatePassword", "bob.sec", "Taken-Over-1"), "system administrator")
    forbidden(
        sb.execute(ada, "UpdatePassword", "bob.sec", PASSWORD, "Taken-Over-1"),
        "system administrator",
    )
    assert sb.token("MANAGER", MANAGER_PASSWORD).status_code == 200
    assert sb.token("MANAGER", "Taken-Over-1").status_code == 400
    assert sb.token("bob.sec", PASSWORD).status_code == 200

    # Unlock: bob locks himself out; ada cannot unlock him (nor MANAGER).
    for _ in range(5):
        sb.token("bob.sec", "wrong")
    assert sb.token("bob.sec", PASSWORD).json()["error_description"] == (
        "The user account is locked out."
    )
    forbidden(sb.execute(ada, "UnlockUser", "bob.sec"), "system administrator")
    forbidden(sb.execute(ada, "UnlockUser", "MANAGER"), "system administrator")
    assert sb.token("bob.sec", PASSWORD).status_code == 400

    # Delete and create logins.
    forbidden(
        sb.http.delete(f"/api/UserSecurity/{sb.ids['root.admin']}", headers=ada),
        "system administrator",
    )
    assert sb.token("root.admin", PASSWORD).status_code == 200
    created = sb.http.post(
        "/api/UserSecurity",
        json={"UserName": "sneaky", "Password": "Sneaky-Pass-1", "UserId": sb.ids["spare"]},
        headers=ada,
    )
    forbidden(created, "system administrator")
    assert sb.token("sneaky", "Sneaky-Pass-1").status_code == 400


def test_a_user_changes_their_own_password_only_with_the_current_one(
    sandbox: Callable[..., Sandbox],
) -> None:
    sb = sandbox()
    ada = sb.as_user("ada.sec")
    forbidden(sb.execute(ada, "UpdatePassword", "ada.sec", "Brand-New-1"), "current one")
    forbidden(sb.execute(ada, "UpdatePassword", "ADA.SEC", "Brand-New-1"), "current one")
    forbidden(
        sb.execute(ada, "UpdatePassword", "ada.sec", "not-it", "Brand-New-1"),
        "current password is incorrect",
    )
    assert sb.token("ada.sec", PASSWORD).status_code == 200
    changed = sb.execute(ada, "UpdatePassword", "ada.sec", PASSWORD, "Brand-New-1")
    assert changed.status_code == 200, changed.text
    assert changed.json()["Result"] is True
    assert sb.token("ada.sec", PASSWORD).status_code == 400
    assert sb.token("ada.sec", "Brand-New-1").status_code == 200


def test_wrong_current_passwords_count_as_failed_logins(sandbox: Callable[..., Sandbox]) -> None:
    sb = sandbox()
    ada = sb.as_user("ada.sec")
    for _ in range(4):
        sb.execute(ada, "UpdatePassword", "ada.sec", "guess", "Brand-New-1")
    locked = sb.execute(ada, "UpdatePassword", "ada.sec", "guess", "Brand-New-1")
    forbidden(locked, "locked out")
    assert sb.token("ada.sec", PASSWORD).status_code == 400


@pytest.mark.parametrize("admin", ["MANAGER", "root.admin"])
def test_system_administrators_manage_every_login(
    sandbox: Callable[..., Sandbox], admin: str
) -> None:
    sb = sandbox()
    headers = sb.as_user(admin, MANAGER_PASSWORD if admin == "MANAGER" else PASSWORD)
    roles = sb.execute(headers, "GetUserRoles", admin).json()["Result"]["$values"]
    assert "SysAdmin" in [r["RoleName"] for r in roles]

    assert sb.execute(headers, "UpdatePassword", "bob.sec", "Reset-By-Admin-1").status_code == 200
    assert sb.token("bob.sec", "Reset-By-Admin-1").status_code == 200
    for _ in range(5):
        sb.token("ada.sec", "wrong")
    assert sb.execute(headers, "UnlockUser", "ada.sec").status_code == 200
    assert sb.token("ada.sec", PASSWORD).status_code == 200
    # Their own password still needs the current one.
    forbidden(sb.execute(headers, "UpdatePassword", admin, "Brand-New-1"), "current one")
    deleted = sb.http.delete(f"/api/UserSecurity/{sb.ids['bob.sec']}", headers=headers)
    assert deleted.status_code == 200, deleted.text
    assert sb.token("bob.sec", "Reset-By-Admin-1").status_code == 400


def test_2017_user_data_changes_need_a_system_administrator(
    sandbox: Callable[..., Sandbox],
) -> None:
    sb = sandbox("2017")
    for _ in range(5):
        sb.token("bob.sec", "wrong")
    ada = sb.as_user("ada.sec")
    body = wire.generic_entity("UserData", [sb.ids["bob.sec"]], {"IsLockedOut": False})
    path = f"/api/UserData/{sb.ids['bob.sec']}"
    forbidden(sb.http.put(path, json=body, headers=ada), "system administrator")
    forbidden(sb.execute(ada, "UnlockUser", "bob.sec"), "system administrator")
    assert sb.token("bob.sec", PASSWORD).status_code == 400
    manager = sb.as_user("MANAGER", MANAGER_PASSWORD)
    assert sb.http.put(path, json=body, headers=manager).status_code == 200
    assert sb.token("bob.sec", PASSWORD).status_code == 200
