"""The saved-query pages in a real headless Chromium: an editor builds a query in the builder
(a source, columns with an alias, a filter with a prompt), looks at its rows with the prompt
given, downloads them as CSV, then "Update these rows": the import wizard on the query's rows,
through source, mapping (the aliases matched), options, plan and run, the store changed, and
undone.

With ``IDMS_TEST_UI_SCREENSHOTS=1`` the pages are saved as ``docs/images/ui-queries*.png``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from queries_support import known_people
from test_queries_http import titles
from test_ui_browser import choose_source, screenshot, sign_in
from ui_support import EDITOR, Site


def test_an_editor_builds_a_query_exports_it_and_updates_its_rows(
    running_site: Site, people: object, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    base = running_site.base
    workspace = running_site.workspace
    known_people(workspace, tmp_path)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, base, *EDITOR)

    # The builder: a misspelt field is refused next to its column, then corrected.
    page.get_by_role("link", name="Queries").click()
    page.wait_for_url(f"{base}/queries")
    page.get_by_role("link", name="New query").click()
    page.wait_for_url("**/queries/new")
    page.get_by_label("Name", exact=True).fill("Pioneers")
    page.get_by_label("About").fill("Contacts by last name, to update")
    page.get_by_label("Source", exact=True).select_option("Contact")
    page.get_by_label("Column 1: field").fill("ImisId")
    page.get_by_label("Column 1: shown as").fill("ID")
    page.get_by_label("Column 2: field").fill("LastNme")
    page.get_by_label("Column 2: shown as").fill("Last")
    page.get_by_label("Column 3: field").fill("Email")
    page.get_by_label("Filter 1: field").fill("LastName")
    page.get_by_label("Filter 1: operator").select_option("startsWith")
    page.get_by_label("Filter 1: prompt name").fill("last")
    page.get_by_label("Filter 1: prompt required").check()
    page.get_by_label("Sort by").fill("ID")
    page.get_by_role("button", name="Save the query").click()
    page.wait_for_selector("#column-1-error")
    assert "'LastNme'" in page.inner_text("#column-1-error")
    assert "LastName" in page.inner_text("#column-1-error")
    assert "LastNme" in page.inner_text("[data-testid=problems]")  # also listed at the top
    page.locator("#column-1-error").scroll_into_view_if_needed()
    screenshot(page, "queries-builder")
    assert errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    errors.clear()  # the refused form's own answer (400), as expected
    page.get_by_label("Column 2: field").fill("LastName")
    page.get_by_role("button", name="Save the query").click()
    page.wait_for_url("**/queries?done=saved*")
    assert "Query 'Pioneers' saved." in page.inner_text("[role=status]")
    screenshot(page, "queries")

    # Its rows: the required prompt asked first, then given.
    page.get_by_role("link", name="Pioneers").click()
    page.wait_for_selector("[data-testid=prompts]")
    assert page.locator("[data-testid=rows]").count() == 0
    page.get_by_label("last").fill("Hop")
    page.get_by_role("button", name="Show the rows").click()
    page.wait_for_selector("[data-testid=rows]")
    rows = page.locator("[data-testid=rows] tbody tr").all_inner_texts()
    assert [r.split("\t")[1:] for r in rows] == [["Hopper", "grace@example.org"]]
    assert page.inner_text("[data-testid=row-count]") == "1 row; showing 1 to 1."
    screenshot(page, "queries-rows")

    # Downloaded as CSV: what the page showed.
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download CSV").click()
    saved = tmp_path / "pioneers.csv"
    downloading.value.save_as(saved)
    with saved.open(encoding="utf-8-sig", newline="") as file:
        table = list(csv.reader(file))
    assert [r[1:] for r in table] == [["Last", "Email"], ["Hopper", "grace@example.org"]]

    # Update these rows: the wizard, from its source step, on the query's rows.
    page.get_by_role("button", name="Update these rows").click()
    page.wait_for_url("**/source")
    assert "Rows of the query Pioneers · last = Hop" in page.inner_text("main")
    choose_source(page, "Contact")
    page.wait_for_selector("#action-update")
    page.locator("#action-update").check()
    page.get_by_role("button", name="Next: mapping").click()
    page.wait_for_url("**/mapping")
    assert page.get_by_label("Field for ID").input_value() == "ImisId"
    assert page.get_by_label("Match on ID").is_checked()
    assert page.get_by_label("Field for Last").input_value() == "LastName"
    assert page.get_by_label("Field for Email").input_value() == "Email"
    page.locator("[name=const_field]").first.fill("Title")
    page.locator("[name=const_value]").first.fill("Fellow")
    screenshot(page, "queries-update-mapping")
    page.get_by_role("button", name="Next: options").click()
    page.wait_for_url("**/options")
    page.get_by_role("button", name="Next: plan").click()
    page.wait_for_url("**/plan")
    page.get_by_role("button", name="Make the plan").click()
    page.wait_for_selector("[data-testid=plan-rows]")
    assert "1 updated" in page.inner_text("main h2")
    assert titles(workspace)["Hopper"] is None  # a plan writes nothing
    page.get_by_role("button", name="Run the update").click()
    page.wait_for_selector("text=Succeeded", timeout=15_000)
    assert page.inner_text("[data-testid=run-counts]") == "1 row: 1 updated"
    assert titles(workspace) == {"Lovelace": None, "Hopper": "Fellow", **_others(workspace)}
    screenshot(page, "queries-update-run")

    # Undone, once asked to confirm: the title as it was.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo this update").click()
    # Queued, then followed by the panel until it has ended.
    page.wait_for_selector("[data-testid=undo] >> text=Succeeded", timeout=15_000)
    assert page.inner_text("[data-testid=undo]").startswith("Undone by run")
    assert titles(workspace)["Hopper"] is None
    assert errors == []


def _others(workspace: Any) -> dict[str, object]:
    return {k: v for k, v in titles(workspace).items() if k not in ("Lovelace", "Hopper")}
