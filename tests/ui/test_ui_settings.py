"""The settings page over HTTP: admins only; the connection without its password and a test of
it; secrets by name, their values never on any page; a new API token shown once."""

from __future__ import annotations

import time

from pace import SLOWEST_PAGE, timed_get
from ui_support import ADMIN, EDITOR, VIEWER, Site, form_token

SECRET_VALUE = "s3cret-value-that-must-never-show"


def test_only_an_admin_opens_the_settings(site: Site, people: dict[str, tuple[str, str]]) -> None:
    for who in (VIEWER, EDITOR):
        with site.signed_in(*who) as client:
            assert client.get("/settings").status_code == 403
            assert "Settings" not in client.get("/").text.split("<main")[0]  # not in the nav
            token = form_token(client.get("/").text)
            refused = client.post(
                "/settings/secrets", data={"csrf_token": token, "name": "x", "value": "y"}
            )
            assert refused.status_code == 403
    with site.signed_in(*ADMIN) as admin:
        page = admin.get("/settings")
        assert page.status_code == 200
        assert '<a href="/settings" aria-current="page">Settings</a>' in page.text
        assert "<dt>Target</dt><dd>The embedded store (in the workspace)</dd>" in page.text
        assert "<dt>Platform</dt><dd>iMIS EMS</dd>" in page.text
        assert "<dt>Notify on</dt><dd>failure</dd>" in page.text


def test_a_secret_is_set_listed_by_name_and_its_value_never_shown(
    site: Site, people: dict[str, tuple[str, str]]
) -> None:
    with site.signed_in(*ADMIN) as admin:
        token = form_token(admin.get("/settings").text)
        assert admin.post("/settings/secrets", data={"name": "imis.password"}).status_code == 403
        stored = admin.post(
            "/settings/secrets",
            data={"csrf_token": token, "name": "imis.password", "value": SECRET_VALUE},
        )
        assert stored.status_code == 303
        page = admin.get(stored.headers["location"]).text
        assert "Secret &#39;imis.password&#39; stored (encrypted)." in page
        assert "<code>imis.password</code>" in page
        pages = [page, admin.get("/settings").text, admin.get("/").text, admin.get("/users").text]
        pages.append(admin.get("/schedules").text)
        assert site.workspace.secret_store.get("imis.password") == SECRET_VALUE
        empty = admin.post(
            "/settings/secrets", data={"csrf_token": token, "name": "other", "value": ""}
        )
        assert empty.status_code == 400
        assert "No value given for secret &#39;other&#39;" in empty.text
        deleted = admin.post("/settings/secrets/imis.password/delete", data={"csrf_token": token})
        assert deleted.status_code == 303
        pages.append(admin.get(deleted.headers["location"]).text)
    for html in pages:
        assert SECRET_VALUE not in html
    assert site.workspace.secrets_set() == []


def test_a_new_api_token_is_shown_once_then_only_by_name(
    site: Site, people: dict[str, tuple[str, str]]
) -> None:
    with site.signed_in(*ADMIN) as admin:
        token = form_token(admin.get("/settings").text)
        assert admin.post("/settings/tokens", data={"name": "zapier"}).status_code == 403
        made = admin.post("/settings/tokens", data={"csrf_token": token, "name": "zapier"})
        assert made.status_code == 200
        assert made.headers["cache-control"] == "no-store"
        shown = made.text.split('id="token-value" type="text" readonly value="')[1].split('"')[0]
        assert site.workspace.tokens.verify(shown) is not None  # the real token
        again = admin.get("/settings").text
        assert shown not in again
        assert "<td>zapier</td>" in again
        twice = admin.post("/settings/tokens", data={"csrf_token": token, "name": "zapier"})
        assert twice.status_code == 400
        assert "A token named &#39;zapier&#39; exists already" in twice.text
        revoked = admin.post("/settings/tokens/zapier/revoke", data={"csrf_token": token})
        assert revoked.status_code == 303
        assert "revoked" in admin.get(revoked.headers["location"]).text
    assert site.workspace.tokens.verify(shown) is None


def test_the_connection_test_reports_in_words_within_its_time(
    site: Site, people: dict[str, tuple[str, str]]
) -> None:
    with site.signed_in(*ADMIN) as admin:
        token = form_token(admin.get("/settings").text)
        assert admin.post("/settings/test").status_code == 403
        started = time.perf_counter()
        tested = admin.post("/settings/test", data={"csrf_token": token})
        took = time.perf_counter() - started
    assert tested.status_code == 200
    assert "Connected: the target answered with" in tested.text
    assert took < 20


def test_a_target_that_does_not_answer_is_reported_after_the_bounded_time(
    site: Site,
) -> None:
    import threading

    release = threading.Event()

    def hanging(settings: object) -> object:
        release.wait(10)
        raise OSError("never reached")

    workspace = site.workspace
    workspace.target_opener = hanging  # type: ignore[assignment]
    try:
        result = workspace.test_connection(seconds=0.2)
    finally:
        release.set()
        workspace.target_opener = None
    assert result.ok is False
    assert result.message == "The target did not answer within 0.2 seconds."


def test_a_rest_target_shows_its_base_url_and_user_never_its_password(
    site: Site, people: dict[str, tuple[str, str]]
) -> None:
    from dataclasses import replace

    from idms.config import Platform

    workspace = site.workspace
    before = workspace.settings
    workspace.secret_store.set("imis.username", "svc-idms")
    workspace.secret_store.set("imis.password", SECRET_VALUE)
    workspace.settings = replace(
        before, target="imis+https://imis.example.org/", platform=Platform.IMIS_2017
    )
    try:
        with site.signed_in(*ADMIN) as admin:
            page = admin.get("/settings").text
    finally:
        workspace.settings = before
    assert "<dt>Target</dt><dd>iMIS, over its REST API</dd>" in page
    assert "<dt>Base URL</dt><dd>https://imis.example.org</dd>" in page
    assert "<dt>Platform</dt><dd>iMIS 2017</dd>" in page
    assert "<dt>User name</dt><dd>svc-idms</dd>" in page
    assert SECRET_VALUE not in page


def test_the_settings_page_renders_quickly(site: Site, people: dict[str, tuple[str, str]]) -> None:
    for number in range(30):
        site.workspace.secret_store.set(f"key-{number}", "v")
        site.workspace.create_token(f"caller-{number}")
    with site.signed_in(*ADMIN) as admin:
        admin.get("/settings")
        took, page = timed_get(admin, "/settings")
    assert page.status_code == 200
    assert took < SLOWEST_PAGE, f"/settings took {took * 1000:.0f} ms"


def test_default_task_options_are_set_checked_and_dropped(
    site: Site, people: dict[str, tuple[str, str]]
) -> None:
    with site.signed_in(*EDITOR) as editor:
        token = form_token(editor.get("/").text)
        refused = editor.post("/settings/options", data={"csrf_token": token})
        assert refused.status_code == 403
    with site.signed_in(*ADMIN) as admin:
        page = admin.get("/settings").text
        assert 'name="option.batch_size" type="text"' in page
        assert 'placeholder="1000"' in page  # the built-in value a blank field stands for
        token = form_token(page)
        form = {"csrf_token": token, "option.batch_size": "500", "option.skip_validation": ""}
        saved = admin.post("/settings/options", data=form)
        assert saved.status_code == 303
        assert "Default task options saved" in admin.get(saved.headers["location"]).text
        assert site.workspace.option_defaults.get() == {"batch_size": 500}
        assert 'value="500" placeholder="1000"' in admin.get("/settings").text

        bad = admin.post("/settings/options", data={**form, "option.batch_size": "9999"})
        assert bad.status_code == 400
        assert "options.batch_size: Input should be less than or equal to 5000" in bad.text
        assert site.workspace.option_defaults.get() == {"batch_size": 500}

        cleared = admin.post("/settings/options", data={**form, "option.batch_size": ""})
        assert cleared.status_code == 303
        assert site.workspace.option_defaults.get() == {}
