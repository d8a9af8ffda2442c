"""The schedule pages over HTTP: a viewer sees the schedules but changes nothing; an editor adds
one from a preset in a zone and sees its next five times exactly (across a daylight-saving
change); a wrong cron or zone is refused next to its field, nothing saved; every POST needs its
form token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pace import SLOWEST_PAGE, timed_get
from ui_support import EDITOR, VIEWER, Site, form_token

from idms.schedules.timing import parse_cron
from idms.schedules.words import cron_in_words
from idms.workspace import Workspace

FLOW = {
    "name": "Nightly sync",
    "trigger": {"type": "schedule"},
    "steps": [{"id": "done", "action": "gate"}],
}


@pytest.fixture
def flow(workspace: Workspace) -> str:
    workspace.save_workflow(FLOW)
    return "Nightly sync"


def _form(**fields: str) -> dict[str, str]:
    base = {
        "name": "Weekday sync",
        "run": "workflow:Nightly sync",
        "how": "weekdays",
        "time": "02:00",
        "timezone": "America/New_York",
        "misfire": "run-once",
        "overlap": "skip",
    }
    return base | fields


def test_a_viewer_sees_the_schedules_but_cannot_change_them(
    site: Site, people: dict[str, tuple[str, str]], flow: str
) -> None:
    with site.signed_in(*EDITOR) as editor:
        token = form_token(editor.get("/schedules/new").text)
        made = editor.post("/schedules/new", data=_form(csrf_token=token))
        assert made.status_code == 303, made.text
    with site.signed_in(*VIEWER) as viewer:
        page = viewer.get("/schedules")
        assert page.status_code == 200
        html = page.text
        assert "Weekday sync" in html
        assert "workflow &#39;Nightly sync&#39;" in html
        assert "At 02:00, Monday through Friday (America/New_York)" in html
        assert "active" in html
        assert "never run" in html
        assert "/schedules/Weekday%20sync/pause" not in html  # no buttons for a viewer
        token = form_token(html)  # the sign-out form's
        for action in ("pause", "resume", "run", "remove"):
            refused = viewer.post(f"/schedules/Weekday%20sync/{action}", data={"csrf_token": token})
            assert refused.status_code == 403, action
        assert viewer.get("/schedules/new").status_code == 403
        assert viewer.get("/schedules/preview", params=_form()).status_code == 403
    assert site.workspace.schedules.get("Weekday sync").state == "active"


def test_an_editor_adds_a_schedule_from_a_preset_and_sees_its_next_five_times(
    site: Site, people: dict[str, tuple[str, str]], flow: str
) -> None:
    with site.signed_in(*EDITOR) as editor:
        new = editor.get("/schedules/new")
        assert new.status_code == 200
        assert '<option value="workflow:Nightly sync">Nightly sync</option>' in new.text
        token = form_token(new.text)
        made = editor.post("/schedules/new", data=_form(csrf_token=token))
        assert made.status_code == 303
        assert made.headers["location"].startswith("/schedules?done=added")
        listed = editor.get(made.headers["location"]).text
        assert "Schedule &#39;Weekday sync&#39; added." in listed
        info = site.workspace.schedules.get("Weekday sync")
        assert info.cron is not None
        assert info.cron.expression == "0 2 * * 1-5"
        assert info.timezone == "America/New_York"
        assert info.kind == "workflow"

        # Pause, resume, run now, then remove it: each says what it did.
        row = "/schedules/Weekday%20sync"
        assert editor.post(f"{row}/pause", data={"csrf_token": token}).status_code == 303
        assert site.workspace.schedules.get("Weekday sync").state == "paused"
        page = editor.get("/schedules").text
        assert "none (paused)" in page
        assert f"{row}/resume" in page
        assert editor.post(f"{row}/resume", data={"csrf_token": token}).status_code == 303
        assert site.workspace.schedules.get("Weekday sync").state == "active"
        queued = editor.post(f"{row}/run", data={"csrf_token": token})
        assert queued.status_code == 303
        assert "done=queued" in queued.headers["location"]
        removed = editor.post(f"{row}/remove", data={"csrf_token": token})
        assert removed.status_code == 303
        assert site.workspace.schedules.list() == []


def test_the_preview_gives_the_exact_next_five_times_across_a_dst_change(
    site: Site, workspace: Workspace
) -> None:
    # 02:30 every day in New York from 2027-03-12: 2027-03-14 02:30 does not exist (the clocks
    # go from 02:00 to 03:00), so that day's run is at 03:00 EDT, the moment of the change.
    preview = workspace.preview_timing(
        cron="30 2 * * *",
        at=None,
        timezone="America/New_York",
        now=datetime(2027, 3, 12, 12, 0, tzinfo=UTC),
    )
    assert preview.words == "At 02:30 (America/New_York)"
    assert [t.isoformat() for t in preview.times] == [
        "2027-03-13T07:30:00+00:00",  # 02:30 EST
        "2027-03-14T07:00:00+00:00",  # 03:00 EDT: the gap's end
        "2027-03-15T06:30:00+00:00",  # 02:30 EDT
        "2027-03-16T06:30:00+00:00",
        "2027-03-17T06:30:00+00:00",
    ]


def test_the_preview_fragment_shows_the_words_and_five_times_in_the_zone(
    site: Site, people: dict[str, tuple[str, str]]
) -> None:
    with site.signed_in(*EDITOR) as editor:
        fragment = editor.get("/schedules/preview", params=_form())
        assert fragment.status_code == 200
        html = fragment.text
        assert "<html" not in html  # a fragment, for htmx to place
        assert "At 02:00, Monday through Friday (America/New_York)" in html
        assert html.count("<li>") == 5
        times = site.workspace.preview_timing(
            cron="0 2 * * 1-5", at=None, timezone="America/New_York"
        ).times
        for moment in times:
            assert moment.isoformat() in html
        assert " EST" in html or " EDT" in html
        wrong = editor.get("/schedules/preview", params=_form(how="cron", cron="61 * * * *"))
        assert "the minute field &#39;61&#39; is wrong" in wrong.text


def test_a_wrong_cron_or_zone_is_refused_next_to_its_field_and_nothing_is_saved(
    site: Site, people: dict[str, tuple[str, str]], flow: str
) -> None:
    with site.signed_in(*EDITOR) as editor:
        token = form_token(editor.get("/schedules/new").text)
        bad_cron = editor.post(
            "/schedules/new", data=_form(csrf_token=token, how="cron", cron="0 25 * * *")
        )
        assert bad_cron.status_code == 400
        assert 'id="cron-error"' in bad_cron.text
        assert "the hour field &#39;25&#39; is wrong" in bad_cron.text
        assert 'value="0 25 * * *"' in bad_cron.text  # the form comes back as entered
        bad_zone = editor.post(
            "/schedules/new", data=_form(csrf_token=token, timezone="America/New_Yrok")
        )
        assert bad_zone.status_code == 400
        assert 'id="timezone-error"' in bad_zone.text
        assert "Unknown time zone &#39;America/New_Yrok&#39;" in bad_zone.text
        nothing = editor.post("/schedules/new", data=_form(csrf_token=token, run=""))
        assert nothing.status_code == 400
        assert 'id="run-error"' in nothing.text
    assert site.workspace.schedules.list() == []


def test_every_schedule_post_needs_the_form_token(
    site: Site, people: dict[str, tuple[str, str]], flow: str
) -> None:
    with site.signed_in(*EDITOR) as editor:
        assert editor.post("/schedules/new", data=_form()).status_code == 403
        token = form_token(editor.get("/schedules/new").text)
        assert editor.post("/schedules/new", data=_form(csrf_token=token)).status_code == 303
        for action in ("pause", "run", "remove", "edit"):
            answer = editor.post(f"/schedules/Weekday%20sync/{action}", data=_form())
            assert answer.status_code == 403, action
    assert site.workspace.schedules.get("Weekday sync").state == "active"


def test_an_editor_changes_a_schedule_keeping_its_history(
    site: Site, people: dict[str, tuple[str, str]], flow: str
) -> None:
    with site.signed_in(*EDITOR) as editor:
        token = form_token(editor.get("/schedules/new").text)
        editor.post("/schedules/new", data=_form(csrf_token=token))
        before = site.workspace.schedules.get("Weekday sync")
        form = editor.get("/schedules/Weekday%20sync/edit")
        assert form.status_code == 200
        assert 'value="weekdays" checked' in form.text
        assert 'value="02:00"' in form.text
        changed = editor.post(
            "/schedules/Weekday%20sync/edit",
            data=_form(csrf_token=token, name="Friday sync", how="weekly", weekday="5"),
        )
        assert changed.status_code == 303, changed.text
    after = site.workspace.schedules.get("Friday sync")
    assert after.id == before.id
    assert after.cron is not None
    assert after.cron.expression == "0 2 * * 5"
    assert after.in_words() == "At 02:00, on Friday (America/New_York)"


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 2 * * 1-5", "At 02:00, Monday through Friday"),
        ("daily", "At 00:00"),
        ("hourly", "Every hour, on the hour"),
        ("*/15 * * * *", "Every 15 minutes"),
        ("30 9 1,15 * *", "At 09:30, on days 1 and 15 of the month"),
        ("0 0 L * *", "At 00:00, on the last day of the month"),
        ("0 9 * * MON,THU", "At 09:00, on Monday and Thursday"),
        ("0 8,17 * * *", "At 08:00 and 17:00"),
        ("0 6 1 JAN *", "At 06:00, on day 1 of the month, in January"),
        ("0 0 1 * 1", "At 00:00, on day 1 of the month or on Monday"),
        ("5 9-17 * * 1-5", "Every hour from 09:05 to 17:05, Monday through Friday"),
    ],
)
def test_a_cron_in_words(cron: str, words: str) -> None:
    assert cron_in_words(parse_cron(cron)) == words


def test_the_schedules_page_renders_quickly_with_many_schedules(
    site: Site, people: dict[str, tuple[str, str]], flow: str
) -> None:
    from idms.schedules.define import define_schedule

    settings = site.workspace.settings
    for number in range(100):
        new = define_schedule(
            f"Sync {number:03d}",
            templates=site.workspace.templates,
            target=settings.target,
            platform=settings.platform.value,
            workflow=flow,
            cron=f"{number % 60} {number % 24} * * *",
            timezone="Europe/London",
        )
        site.workspace.add_schedule(new)
    with site.signed_in(*VIEWER) as viewer:
        viewer.get("/schedules")
        took, page = timed_get(viewer, "/schedules")
    assert page.status_code == 200
    assert page.text.count("Sync 0") == 100
    assert took < SLOWEST_PAGE, f"/schedules took {took * 1000:.0f} ms"


def test_a_job_files_schedule_changes_its_timing_and_keeps_its_job(
    site: Site, people: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    from idms.schedules.define import define_schedule

    workspace = site.workspace
    settings = workspace.settings
    job = {
        "name": "People by e-mail",
        "input": str(tmp_path / "people.csv"),
        "source": "Contact",
        "action": "insert-update",
        "mappings": [{"field": "Email", "column": "E-mail", "match": True}],
    }
    new = define_schedule(
        "Nightly",
        templates=workspace.templates,
        target=settings.target,
        platform=settings.platform.value,
        job=job,
        cron="30 2 * * *",
        timezone="Europe/London",
    )
    before = workspace.schedules.add(new)
    with site.signed_in(*EDITOR) as editor:
        form = editor.get("/schedules/Nightly/edit")
        assert "job &#39;People by e-mail&#39; (as it is)" in form.text
        token = form_token(form.text)
        changed = editor.post(
            "/schedules/Nightly/edit",
            data=_form(csrf_token=token, name="Nightly", run="keep", how="daily", time="04:15"),
        )
        assert changed.status_code == 303, changed.text
    after = workspace.schedules.get("Nightly")
    assert after.id == before.id
    assert after.kind == "job"
    assert after.stored_job == before.stored_job
    assert after.in_words() == "At 04:15 (America/New_York)"
