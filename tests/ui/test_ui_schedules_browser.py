"""The schedule form in a real headless Chromium: an editor signs in, picks "every weekday at
02:00" in America/New_York, sees the timing in words and its next five times change as the form
changes (htmx asks the server; no script of the page's own), saves the schedule and pauses it.
An admin then opens the settings.

With ``IDMS_TEST_UI_SCREENSHOTS=1`` it saves ``docs/images/ui-schedules.png``,
``ui-schedule-form.png`` and ``ui-settings.png``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from pace import SLOWEST_PAGE
from test_ui_browser import fastest_goto, screenshot
from ui_support import ADMIN, EDITOR, Site

from idms.schedules.define import define_schedule
from idms.workspace import Workspace

FLOW = {
    "name": "Nightly sync",
    "trigger": {"type": "schedule"},
    "steps": [{"id": "done", "action": "gate"}],
}


def sign_in_as(page: Any, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/signin")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def expected_times(workspace: Workspace, cron: str) -> list[str]:
    preview = workspace.preview_timing(cron=cron, at=None, timezone="America/New_York")
    return [t.isoformat() for t in preview.times]


@pytest.mark.firefox
def test_an_editor_schedules_a_workflow_every_weekday_in_new_york_and_pauses_it(
    site: Site, people: dict[str, tuple[str, str]], browser_page: Any
) -> None:
    page = browser_page
    base = site.base
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    site.workspace.save_workflow(FLOW)
    sign_in_as(page, base, *EDITOR)

    assert fastest_goto(page, f"{base}/schedules/new") < SLOWEST_PAGE
    page.get_by_label("Name", exact=True).fill("Weekday sync")
    page.get_by_label("Runs", exact=True).select_option("workflow:Nightly sync")
    page.get_by_label("Every weekday (Monday to Friday) at a time").check()
    page.get_by_label("At", exact=True).fill("02:00")
    page.get_by_label("Time zone", exact=True).select_option("America/New_York")
    from playwright.sync_api import expect

    words = page.get_by_test_id("timing-words")
    times = page.get_by_test_id("next-times").locator("time")
    expect(words).to_contain_text("America/New_York")
    assert words.inner_text().startswith("At 02:00, Monday through Friday (America/New_York)")
    shown = [times.nth(i).get_attribute("datetime") for i in range(times.count())]
    assert shown == expected_times(site.workspace, "0 2 * * 1-5")
    assert re.search(r"\d{4}-\d\d-\d\d 02:00 E[SD]T", times.first.inner_text())
    page.mouse.wheel(0, 300)  # the timing and its preview in view
    page.wait_for_timeout(200)
    screenshot(page, "schedule-form")

    # Change the time: the words and the times follow.
    page.get_by_label("At", exact=True).fill("06:30")
    expect(words).to_contain_text("06:30")
    assert words.inner_text().startswith("At 06:30, Monday through Friday")
    shown = [times.nth(i).get_attribute("datetime") for i in range(times.count())]
    assert shown == expected_times(site.workspace, "30 6 * * 1-5")
    # A wrong cron expression says what is wrong, and a right one is described.
    page.get_by_label("A cron expression").check()
    page.get_by_label("Cron expression", exact=True).fill("0 25 * * *")
    expect(page.locator("#timing-preview .error")).to_contain_text("the hour field '25' is wrong")
    page.get_by_label("Every weekday (Monday to Friday) at a time").check()
    page.get_by_label("At", exact=True).fill("02:00")
    expect(words).to_contain_text("At 02:00")

    page.get_by_role("button", name="Add schedule").click()
    page.wait_for_url(re.compile(r"/schedules\?done=added"))
    assert "Schedule 'Weekday sync' added." in page.get_by_role("status").inner_text()
    row = page.get_by_test_id("schedules").locator("tbody tr").first
    assert "At 02:00, Monday through Friday (America/New_York)" in row.inner_text()
    assert "active" in row.inner_text()
    screenshot(page, "schedules")

    page.get_by_role("button", name="Pause Weekday sync").click()
    page.wait_for_url(re.compile(r"done=paused"))
    row = page.get_by_test_id("schedules").locator("tbody tr").first
    assert "paused" in row.inner_text()
    assert "none (paused)" in row.inner_text()
    assert site.workspace.schedules.get("Weekday sync").state == "paused"
    assert errors == [], errors


def test_an_editor_edits_a_schedules_cron_and_it_keeps_its_history_and_state(
    site: Site, people: dict[str, tuple[str, str]], browser_page: Any
) -> None:
    """Edit opens the schedule's form filled in; a wrong cron is shown next to its field and
    saves nothing; a right one is saved through the facade (``Workspace.edit_schedule``): the
    same ID, still paused, the new timing."""
    from playwright.sync_api import expect

    page = browser_page
    base = site.base
    workspace = site.workspace
    workspace.save_workflow(FLOW)
    workspace.add_schedule(
        define_schedule(
            "Weekday sync",
            templates=workspace.templates,
            target=workspace.settings.target,
            platform=workspace.settings.platform.value,
            workflow="Nightly sync",
            cron="0 2 * * 1-5",
            timezone="America/New_York",
        )
    )
    workspace.pause_schedule("Weekday sync")
    before = workspace.schedules.get("Weekday sync")
    sign_in_as(page, base, *EDITOR)

    page.goto(f"{base}/schedules")
    page.get_by_role("link", name="Edit Weekday sync").click()
    page.wait_for_url(re.compile(r"/schedules/Weekday%20sync/edit"))
    assert page.get_by_label("Name", exact=True).input_value() == "Weekday sync"
    assert page.get_by_label("Time zone", exact=True).input_value() == "America/New_York"
    page.get_by_label("A cron expression").check()
    cron = page.get_by_label("Cron expression", exact=True)
    cron.fill("0 25 * * *")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("body")).to_contain_text("the hour field '25' is wrong")
    assert workspace.schedules.get("Weekday sync") == before  # refused: nothing changed

    page.get_by_label("A cron expression").check()
    page.get_by_label("Cron expression", exact=True).fill("15 4 * * *")
    expect(page.get_by_test_id("timing-words")).to_contain_text("04:15")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(r"/schedules\?done=changed"))
    assert "Schedule 'Weekday sync' changed." in page.get_by_role("status").inner_text()
    row = page.get_by_test_id("schedules").locator("tbody tr").first
    assert "At 04:15 (America/New_York)" in row.inner_text()
    assert "paused" in row.inner_text()
    after = workspace.schedules.get("Weekday sync")
    assert (after.id, after.state) == (before.id, "paused")
    assert after.cron is not None
    assert after.cron.text == "15 4 * * *"


def test_an_admin_sees_the_settings(
    site: Site, people: dict[str, tuple[str, str]], browser_page: Any
) -> None:
    page = browser_page
    site.workspace.secret_store.set("imis.password", "hunter2-do-not-show")
    site.workspace.create_token("power-automate")
    sign_in_as(page, site.base, *ADMIN)
    page.get_by_role("link", name="Settings").click()
    page.wait_for_url(f"{site.base}/settings")
    page.get_by_role("button", name="Test connection").click()
    test = page.get_by_test_id("connection-test")
    assert test.inner_text().startswith("Connected: the target answered with")
    assert "hunter2-do-not-show" not in page.content()
    screenshot(page, "settings")
