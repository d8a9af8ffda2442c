"""Templates in a real headless Chromium: an editor imports a roster through the wizard, saves
it as a template and schedules it from the results step (the schedule form opens prefilled and
the schedule shows under Schedules, running the template), then opens the template's page and
imports next month's file with it: the wizard opens at the plan with the template's choices.

With ``IDMS_TEST_UI_SCREENSHOTS=1`` the pages are saved as ``docs/images/ui-templates*.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pace import SLOWEST_PAGE
from test_ui_browser import choose_source, fastest_goto, screenshot, sign_in
from ui_support import EDITOR, Site

JUNE = (
    "E-mail,First Name,Last Name,Zip\n"
    "ada@example.org,Ada,Lovelace,02139\n"
    "grace@example.org,Grace,Hopper,10001\n"
)
JULY = JUNE + "alan@example.org,Alan,Turing,94043\n"


def test_an_import_is_saved_scheduled_and_run_again_from_its_template(
    running_site: Site, people: object, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    base = running_site.base
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    june, july = tmp_path / "june.csv", tmp_path / "july.csv"
    june.write_text(JUNE, encoding="utf-8")
    july.write_text(JULY, encoding="utf-8")
    sign_in(page, base, *EDITOR)

    # The wizard, through to a finished run.
    page.get_by_role("link", name="Import").click()
    page.get_by_label("File (CSV").set_input_files(str(june))
    page.get_by_role("button", name="Upload and look at the file").click()
    page.wait_for_url("**/file")
    page.get_by_role("link", name="Next: source and action").click()
    choose_source(page, "Contact")
    page.wait_for_selector("#action-insert-update")
    page.get_by_label("insert-update").check()
    page.get_by_role("button", name="Next: mapping").click()
    page.wait_for_url("**/mapping")
    page.get_by_role("button", name="Next: options").click()
    page.wait_for_url("**/options")
    page.get_by_role("button", name="Next: plan").click()
    page.wait_for_url("**/plan")
    page.get_by_role("button", name="Make the plan").click()
    page.wait_for_selector("[data-testid=plan-rows]")
    page.get_by_role("button", name="Run the import").click()
    page.wait_for_url("**/results")
    page.wait_for_selector("text=Succeeded", timeout=15_000)

    # Schedule it from the results step: saved as a template first, then the form, prefilled.
    page.get_by_label("Save it as template").fill("Chapter roster")
    screenshot(page, "templates-schedule-import")
    page.get_by_role("button", name="Schedule this import").click()
    page.wait_for_url("**/schedules/new?template=Chapter+roster&input=upload*")
    assert page.get_by_label("Runs", exact=True).input_value() == "template:Chapter roster"
    assert page.get_by_label("Name", exact=True).input_value() == "Chapter roster"
    assert page.get_by_label("Reads the file").input_value().startswith("upload:")
    screenshot(page, "templates-schedule-form")
    page.get_by_label("Every month on a day").check()
    page.get_by_label("At", exact=True).fill("06:30")
    page.wait_for_selector("text=At 06:30, on day 1 of the month")
    page.get_by_role("button", name="Add schedule").click()
    page.wait_for_url("**/schedules?done=added*")
    row = page.locator("[data-testid=schedules] tbody tr", has_text="Chapter roster")
    assert "template 'Chapter roster'" in row.inner_text()

    # The template's page: what it does and the schedule that runs it.
    page.get_by_role("link", name="Templates").click()
    page.wait_for_url(f"{base}/templates")
    listed = page.locator("[data-testid=templates] tbody tr").first.inner_text()
    assert "Chapter roster" in listed
    assert "4 columns, matched on" in listed
    screenshot(page, "templates")
    page.get_by_role("link", name="Chapter roster", exact=True).click()
    page.wait_for_url(f"{base}/templates/Chapter%20roster")
    assert "Chapter roster" in page.inner_text("[data-testid=template-schedules]")
    mapping = page.locator("[data-testid=template-mapping] tbody tr").all_inner_texts()
    assert mapping[0].split("\t")[:2] == ["E-mail", "Email"]
    screenshot(page, "template")
    for path in ("/templates", "/templates/Chapter%20roster"):
        assert fastest_goto(page, f"{base}{path}") < SLOWEST_PAGE, path

    # Next month's file, imported with the template: straight to the plan.
    page.get_by_role("link", name="Import a file with this template").click()
    page.wait_for_url(f"{base}/import?template=Chapter+roster")
    assert "imported with template Chapter roster" in page.inner_text("[data-testid=with-template]")
    page.get_by_label("File (CSV").set_input_files(str(july))
    page.get_by_role("button", name="Upload and look at the file").click()
    page.wait_for_url("**/plan")
    assert "insert-update into Contact" in page.inner_text("main")
    page.get_by_role("button", name="Make the plan").click()
    page.wait_for_selector("[data-testid=plan-rows]")
    assert "1 inserted" in page.inner_text("main h2")
    page.get_by_role("button", name="Run the import").click()
    page.wait_for_selector("text=Succeeded", timeout=15_000)
    assert page.inner_text("[data-testid=run-counts]").startswith("3 rows: 1 inserted")
    assert errors == []
