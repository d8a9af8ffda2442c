"""The templates pages over HTTP: a viewer sees the list and a template's mapping, options and
schedules, without a control; an editor imports a file with a template (the wizard opens at
the plan with its choices), schedules it (the form prefilled, the file it reads checked) and
deletes it, refused while a schedule runs it, as the CLI and API refuse it; a password
constant is shown masked; every POST needs its form token; the pages are fast."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from pace import SLOWEST_PAGE, timed_get
from test_import_http import ROSTER, cells, facts, upload
from ui_support import EDITOR, VIEWER, Site, form_token

from idms.jobs.model import build_job
from idms.schedules.define import define_schedule
from idms.workspace import Workspace

ROSTER_JOB: dict[str, Any] = {
    "name": "Monthly roster",
    "description": "The chapter's monthly roster",
    "source": "Contact",
    "action": "insert-update",
    "mappings": [
        {"field": "Email", "column": "E-mail", "match": True},
        {"field": "FirstName", "column": "First Name"},
        {"field": "LastName", "column": "Last Name"},
        {"field": "PostalCode", "column": "Zip"},
    ],
    "options": {"blank_values": "clear"},
}
LOGINS: dict[str, Any] = {
    "name": "Logins",
    "source": "UserCredentials",
    "action": "insert-with-matching",
    "mappings": [
        {"field": "Email", "column": "Email", "match": True},
        {"field": "Username", "column": "Login"},
        {"field": "Password", "value": "Correct horse battery 9"},
    ],
}


def save(workspace: Workspace, document: dict[str, Any] = ROSTER_JOB) -> str:
    workspace.save_template(document["name"], build_job(document))
    return str(document["name"])


def schedule(workspace: Workspace, template: str, tmp_path: Path, name: str = "Monthly") -> None:
    settings = workspace.settings
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    new = define_schedule(
        name,
        templates=workspace.templates,
        target=settings.target,
        platform=settings.platform.value,
        template=template,
        input_file=str(roster),
        cron="0 6 1 * *",
        timezone="UTC",
    )
    workspace.add_schedule(new)


def nav(html: str) -> str:
    return re.findall(r'<nav class="main-nav".*?</nav>', html, re.S)[0]


def post(client: httpx.Client, path: str, data: dict[str, str] | None = None) -> httpx.Response:
    token = form_token(client.get("/templates").text)
    return client.post(path, data={"csrf_token": token, **(data or {})})


def test_a_viewer_sees_the_templates_and_one_in_full_but_no_controls(
    site: Site, people: object, tmp_path: Path
) -> None:
    name = save(site.workspace)
    schedule(site.workspace, name, tmp_path)
    with site.signed_in(*VIEWER) as viewer:
        listed = viewer.get("/templates")
        assert listed.status_code == 200
        assert "Templates" in nav(listed.text)
        assert cells(listed.text, "templates")[0][:5] == [
            "Monthly rosterThe chapter&#39;s monthly roster",
            "Contactinsert-update",
            "4 columns, matched on Email",
            "Empty cells: clear",
            "Schedule Monthly never run",
        ]
        shown = viewer.get("/templates/Monthly%20roster")
        assert shown.status_code == 200
        token = form_token(shown.text)  # the sign-out form's
    html = shown.text
    assert facts(html)["Imports into"] == "Contact, insert-update"
    assert facts(html)["Matched on"] == "Email"
    assert cells(html, "template-mapping") == [
        ["E-mail", "Email", "match", ""],
        ["First Name", "FirstName", "", ""],
        ["Last Name", "LastName", "", ""],
        ["Zip", "PostalCode", "", ""],
    ]
    assert "Monthly</a>: At 06:00, on day 1 of the month (UTC) (active)" in html
    for control in ("Import a file with this template", "/schedules/new", "/delete"):
        assert control not in html
    with site.signed_in(*VIEWER) as viewer:
        refused = viewer.post("/templates/Monthly%20roster/delete", data={"csrf_token": token})
        assert refused.status_code == 403
        assert viewer.get("/import?template=Monthly%20roster").status_code == 403
        assert viewer.get("/schedules/new?template=Monthly%20roster").status_code == 403
    assert site.workspace.templates.get(name)


def test_a_password_constant_is_shown_masked(site: Site, people: object) -> None:
    save(site.workspace, LOGINS)
    with site.signed_in(*VIEWER) as viewer:
        html = viewer.get("/templates/Logins").text
    assert cells(html, "template-constants") == [["Password", "********"]]
    assert "Correct horse" not in html
    assert "Password: stored encrypted and shown masked" in html


def test_an_unknown_template_is_not_found_with_the_closest_name(site: Site, people: object) -> None:
    save(site.workspace)
    with site.signed_in(*VIEWER) as viewer:
        missing = viewer.get("/templates/Monthly%20rooster")
    assert missing.status_code == 404
    assert "Did you mean &#39;Monthly roster&#39;?" in missing.text


def test_a_template_a_schedule_runs_is_not_deleted_then_is(
    site: Site, people: object, tmp_path: Path
) -> None:
    name = save(site.workspace)
    schedule(site.workspace, name, tmp_path)
    with site.signed_in(*EDITOR) as editor:
        shown = editor.get("/templates/Monthly%20roster")
        assert "Import a file with this template" in shown.text
        assert 'href="/schedules/new?template=Monthly+roster"' in shown.text
        assert editor.post("/templates/Monthly%20roster/delete").status_code == 403  # no token
        refused = post(editor, "/templates/Monthly%20roster/delete")
        assert refused.status_code == 409
        assert (
            "Template &#39;Monthly roster&#39; is run by schedule &#39;Monthly&#39;: remove it"
            in refused.text
        )
        assert site.workspace.templates.get(name)
        site.workspace.remove_schedule("Monthly")
        deleted = post(editor, "/templates/Monthly%20roster/delete")
        assert deleted.status_code == 303
        listed = editor.get(deleted.headers["location"])
    assert "Template &#39;Monthly roster&#39; deleted." in listed.text
    assert "No templates yet" in listed.text
    assert site.workspace.templates.list() == []


def test_a_file_is_imported_with_a_template_straight_to_the_plan(
    site: Site, people: object
) -> None:
    save(site.workspace)
    with site.signed_in(*EDITOR) as editor:
        start = editor.get("/import?template=Monthly%20roster")
        assert 'name="template" value="Monthly roster"' in start.text
        token = form_token(start.text)
        files = {"file": ("june.csv", ROSTER.encode("utf-8"))}
        sent = editor.post(
            "/import", data={"csrf_token": token, "template": "Monthly roster"}, files=files
        )
        assert sent.status_code == 303, sent.text
        assert re.fullmatch(r"/import/[0-9a-f]{24}/plan", sent.headers["location"])
        plan = editor.get(sent.headers["location"])
        unknown = editor.post(
            "/import", data={"csrf_token": token, "template": "Nope"}, files=files
        )
    assert "insert-update into Contact" in plan.text
    assert "4 columns mapped, matched on Email" in plan.text
    assert "blank_values: clear" in plan.text
    assert unknown.status_code == 404
    assert "No template &#39;Nope&#39;" in unknown.text


def test_the_results_step_saves_and_schedules_the_import(site: Site, people: object) -> None:
    with site.signed_in(*EDITOR) as editor:
        upload_id = upload(editor)
        from test_import_http import through_options

        through_options(editor, upload_id)
        token = form_token(editor.get(f"/import/{upload_id}/plan").text)
        assert editor.post(f"/import/{upload_id}/run", data={"csrf_token": token}).status_code
        results = editor.get(f"/import/{upload_id}/results")
        assert "Save it as template" in results.text
        sent = editor.post(
            f"/import/{upload_id}/template",
            data={"csrf_token": token, "template_name": "June roster", "then": "schedule"},
        )
        assert sent.status_code == 303
        form_path = f"/schedules/new?template=June+roster&input=upload%3A{upload_id}"
        assert sent.headers["location"] == form_path
        again = editor.get(f"/import/{upload_id}/results")  # now a link, not a name to give
        assert f'href="{form_path.replace("&", "&amp;")}"' in again.text
        form = editor.get(form_path)
        assert '<option value="template:June roster" selected>' in form.text
        assert f'value="upload:{upload_id}"' in form.text
        fields = {
            "csrf_token": token,
            "name": "June roster",
            "run": "template:June roster",
            "input": f"upload:{upload_id}",
            "how": "monthly",
            "day": "1",
            "time": "06:00",
            "timezone": "UTC",
        }
        bad = editor.post("/schedules/new", data={**fields, "input": "/etc/passwd"})
        assert bad.status_code == 400
        assert 'id="input-error"' in bad.text
        added = editor.post("/schedules/new", data=fields)
        assert added.status_code == 303, added.text
    info = site.workspace.schedules.get("June roster")
    assert (info.kind, info.template) == ("template", "June roster")
    assert info.input_file == str(site.workspace.uploads.path(upload_id))
    assert site.workspace.templates.get("June roster").document["source"] == "Contact"


def test_the_templates_pages_render_fast_on_the_demo_workspace(
    site: Site, people: object, tmp_path: Path
) -> None:
    from idms.demo import fill_demo

    with site.workspace.target() as target:
        fill_demo(target.engine, contacts=5000)
    for number in range(30):
        save(site.workspace, {**ROSTER_JOB, "name": f"Roster {number:02d}"})
    schedule(site.workspace, "Roster 07", tmp_path)
    timings: dict[str, float] = {}
    with site.signed_in(*EDITOR) as editor:
        for path in ("/templates", "/templates/Roster%2007", "/schedules/new?template=Roster%2007"):
            editor.get(path)
            timings[path], answer = timed_get(editor, path)
            assert answer.status_code == 200, answer.text
    print({k: f"{v * 1000:.0f} ms" for k, v in timings.items()})
    assert {k: v for k, v in timings.items() if v >= SLOWEST_PAGE} == {}


def test_a_template_schedule_keeps_its_file_when_changed_and_an_unknown_template_is_said(
    site: Site, people: object, tmp_path: Path
) -> None:
    name = save(site.workspace)
    schedule(site.workspace, name, tmp_path)
    before = site.workspace.schedules.get("Monthly").input_file
    with site.signed_in(*EDITOR) as editor:
        form = editor.get("/schedules/Monthly/edit")
        assert 'value="roster.csv"' in form.text  # its name only: never the server's path
        assert str(tmp_path) not in form.text
        token = form_token(form.text)
        fields = {
            "csrf_token": token,
            "name": "Monthly",
            "run": "template:Monthly roster",
            "input": "roster.csv",
            "how": "monthly",
            "day": "2",
            "time": "07:00",
            "timezone": "UTC",
        }
        changed = editor.post("/schedules/Monthly/edit", data=fields)
        assert changed.status_code == 303, changed.text
        missing = editor.get("/schedules/new?template=Monthly%20rooster")
    info = site.workspace.schedules.get("Monthly")
    assert info.input_file == before
    assert info.cron is not None
    assert info.cron.text == "0 7 2 * *"
    assert missing.status_code == 404
    assert "No template &#39;Monthly rooster&#39;. Did you mean &#39;Monthly roster&#39;?" in (
        missing.text
    )
