"""The web UI over HTTP, against the real server: signing in and out, the session cookie's
flags, throttling, the form token (CSRF) on every POST, roles, and the security headers."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from ui_support import ADMIN, EDITOR, VIEWER, Site, form_token, sign_in

from idms.server.app import create_server_app
from idms.state import throttle
from idms.ui.headers import HEADERS


def test_a_first_run_says_how_to_make_the_first_administrator(site: Site) -> None:
    with site.client() as client:
        answer = client.get("/")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/signin"
        page = client.get("/signin")
    assert page.status_code == 200
    assert "idms user add NAME --role admin" in page.text


@pytest.mark.usefixtures("people")
def test_signing_in_sets_a_safe_session_cookie_and_shows_the_dashboard(site: Site) -> None:
    with site.client() as client:
        answer = sign_in(client, *ADMIN)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/"
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith("idms_session=")
        )
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path=/", "samesite=lax"} <= flags
        assert "secure" not in flags  # plain http here; over https the cookie is Secure
        dashboard = client.get("/")
        assert dashboard.status_code == 200
        assert "<h1>Dashboard</h1>" in dashboard.text
        assert ADMIN[0] in dashboard.text
        assert "idms user add NAME" not in client.get("/signin", follow_redirects=True).text


@pytest.mark.usefixtures("people")
def test_the_cookie_is_secure_over_https(site: Site) -> None:
    """Over https (here the app called directly with an https URL) the cookies are Secure."""
    app = create_server_app(site.workspace, None)

    async def sign_in_over_https() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://idms.example") as c:
            token = form_token((await c.get("/signin")).text)
            data = {"name": ADMIN[0], "password": ADMIN[1], "csrf_token": token}
            return await c.post("/signin", data=data)

    with ThreadPoolExecutor(1) as thread:  # a loop of its own, whatever runs in this thread
        answer = thread.submit(lambda: asyncio.run(sign_in_over_https())).result()
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "idms_session=" in c)
    assert "secure" in cookie.lower()


@pytest.mark.usefixtures("people")
def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(site: Site) -> None:
    with site.client() as client:
        wrong = sign_in(client, ADMIN[0], "not the password at all")
        unknown = sign_in(client, "nobody", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "the name or the password is wrong" in wrong.text
    assert wrong.text.replace(ADMIN[0], "NAME").replace("nobody", "NAME").count(
        "the name or the password is wrong"
    ) == unknown.text.count("the name or the password is wrong")
    assert "idms_session=" not in wrong.headers.get("set-cookie", "")


@pytest.mark.usefixtures("people")
def test_five_failures_throttle_the_name(site: Site) -> None:
    with site.client() as client:
        for _ in range(throttle.NAME_LIMIT):
            assert sign_in(client, ADMIN[0], "a wrong password").status_code == 401
        throttled = sign_in(client, *ADMIN)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in throttled.text


@pytest.mark.usefixtures("people")
def test_signing_out_ends_the_session(site: Site) -> None:
    with site.signed_in(*ADMIN) as client:
        session = client.cookies["idms_session"]
        token = form_token(client.get("/").text)
        out = client.post("/signout", data={"csrf_token": token})
        assert out.status_code == 303
        assert out.headers["location"] == "/signin"
    with site.client() as replay:  # the old cookie opens nothing any more
        replay.cookies.set("idms_session", session)
        assert replay.get("/").status_code == 303


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_post_without_its_form_token_is_refused(site: Site, token: str | None) -> None:
    with site.signed_in(*ADMIN) as client:
        data = {
            "name": "mallory",
            "role": "admin",
            "password": "x" * 12,
            "password_again": "x" * 12,
        }
        if token is not None:
            data["csrf_token"] = token
        refused = client.post("/users", data=data)
        assert refused.status_code == 403
        assert "security token" in refused.text
        assert "mallory" not in [u.name for u in site.workspace.users()]
        signout = client.post("/signout")
        assert signout.status_code == 403


@pytest.mark.usefixtures("people")
def test_the_header_token_is_accepted_as_htmx_sends_it(site: Site) -> None:
    with site.signed_in(*ADMIN) as client:
        token = form_token(client.get("/").text)
        data = {"name": "nina", "role": "viewer", "password": "y" * 12, "password_again": "y" * 12}
        added = client.post("/users", data=data, headers={"X-CSRF-Token": token})
    assert added.status_code == 303
    assert "nina" in [u.name for u in site.workspace.users()]


@pytest.mark.usefixtures("people")
def test_the_signin_form_needs_its_own_token(site: Site) -> None:
    with site.client() as client:
        client.get("/signin")
        refused = client.post("/signin", data={"name": ADMIN[0], "password": ADMIN[1]})
    assert refused.status_code == 403


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize("who", [VIEWER, EDITOR])
def test_only_an_admin_manages_users(site: Site, who: tuple[str, str]) -> None:
    with site.signed_in(*who) as client:
        token = form_token(client.get("/").text)
        assert client.get("/users").status_code == 403
        assert 'href="/users"' not in client.get("/").text
        data = {
            "name": "mallory",
            "role": "admin",
            "password": "x" * 12,
            "password_again": "x" * 12,
            "csrf_token": token,
        }
        refused = client.post("/users", data=data)
        assert refused.status_code == 403
        assert "does not allow this" in refused.text
        assert client.post(f"/users/{ADMIN[0]}/remove", data=data).status_code == 403
    assert "mallory" not in [u.name for u in site.workspace.users()]
    assert ADMIN[0] in [u.name for u in site.workspace.users()]


@pytest.mark.usefixtures("people")
def test_an_admin_adds_changes_and_removes_a_user(site: Site) -> None:
    with site.signed_in(*ADMIN) as client:
        token = form_token(client.get("/users").text)
        data = {
            "name": "Zoe Smith",
            "role": "editor",
            "password": "zoe's password",
            "password_again": "zoe's password",
            "csrf_token": token,
        }
        added = client.post("/users", data=data)
        assert added.status_code == 303
        assert "User &#39;Zoe Smith&#39; added." in client.get(added.headers["location"]).text
        differ = client.post("/users", data={**data, "name": "yan", "password_again": "other"})
        assert differ.status_code == 400
        assert "The two passwords differ" in differ.text
        again = client.post("/users", data=data)
        assert again.status_code == 400
        assert "exists already" in again.text
        role = client.post("/users/Zoe%20Smith/role", data={"role": "viewer", "csrf_token": token})
        assert role.status_code == 303
        assert site.workspace.user_store.get("zoe smith").role == "viewer"
        last = client.post(f"/users/{ADMIN[0]}/role", data={"role": "viewer", "csrf_token": token})
        assert last.status_code == 400
        assert "only active administrator" in last.text
        gone = client.post("/users/Zoe%20Smith/remove", data={"csrf_token": token})
        assert gone.status_code == 303
    assert "Zoe Smith" not in [u.name for u in site.workspace.users()]


def test_a_page_asked_for_before_signing_in_comes_back_after(site: Site) -> None:
    site.workspace.add_user(*ADMIN[:1], "admin", ADMIN[1])
    with site.client() as client:
        first = client.get("/users")
        assert first.headers["location"] == "/signin?next=/users"
        answer = sign_in(client, *ADMIN, next="/users")
        assert answer.headers["location"] == "/users"
        assert client.get("/signin?next=/users").headers["location"] == "/users"  # signed in
    with site.client() as client:
        elsewhere = sign_in(client, *ADMIN, next="//evil.example/")
    assert elsewhere.headers["location"] == "/"


@pytest.mark.parametrize("path", ["/signin", "/static/idms.css", "/static/htmx.min.js"])
def test_every_ui_answer_has_the_security_headers(site: Site, path: str) -> None:
    answer = httpx.get(f"{site.base}{path}", timeout=30)
    assert answer.status_code == 200
    for name, value in HEADERS.items():
        assert answer.headers[name] == value
    assert "unsafe-inline" not in answer.headers["content-security-policy"]


def test_the_api_keeps_its_own_answers(site: Site) -> None:
    answer = httpx.get(f"{site.base}/api/v1/runs", timeout=30)
    assert answer.status_code == 401
    assert answer.json()["error"] is True
    assert "content-security-policy" not in answer.headers
    assert httpx.get(f"{site.base}/api/v1/docs", timeout=30).status_code == 200
