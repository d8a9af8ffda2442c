"""The runs pages in a real headless Chromium: an editor opens /runs, filters the runs that went
wrong, opens the import with a bad row, downloads its failed rows (the CSV holds that row) and
undoes the run; the undo run's page follows the undo until it ends, and says by whom.

With ``IDMS_TEST_UI_SCREENSHOTS=1`` it saves ``docs/images/ui-runs.png``,
``ui-run.png`` and ``ui-dashboard-chart.png`` (docs/ui.md shows them).
"""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from pace import SLOWEST_PAGE
from runs_support import record_runs, run_with_a_bad_row
from sqlalchemy import update
from test_ui_browser import fastest_goto, screenshot
from ui_support import EDITOR, Site

from idms.state.models import Run, utcnow


def a_month_of_runs(site: Site) -> None:
    """Runs spread over the last 30 days (recorded now, then dated back), for the chart."""
    rng = random.Random(17)
    statuses = ["succeeded"] * 6 + ["completed_with_errors", "failed", "cancelled"]
    people = ["user:eddie", "user:ann", "token:zapier", "schedule:nightly", "cli:ann"]
    specs = [
        (rng.choice(statuses), rng.choice(["import", "update"]), rng.choice(people))
        for _ in range(120)
    ]
    ids = record_runs(site.workspace, specs)
    with site.workspace.suite.begin() as conn:
        for run_id in ids:
            back = timedelta(days=rng.randrange(1, 30), hours=rng.randrange(0, 12))
            conn.execute(update(Run).where(Run.id == run_id).values(created_at=utcnow() - back))


def sign_in(page: Any, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/signin")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_an_editor_finds_a_bad_run_downloads_its_failed_rows_and_undoes_it(
    site: Site, people: dict[str, tuple[str, str]], browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    base = site.base
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    a_month_of_runs(site)
    bad = run_with_a_bad_row(site.workspace, tmp_path)
    sign_in(page, base, *EDITOR)
    assert page.get_by_role("heading", name="Runs of the last 30 days").is_visible()
    assert page.locator("svg.daily-chart rect[data-part]").count() > 10
    screenshot(page, "dashboard-chart")

    # /runs, then only the runs that went wrong.
    page.get_by_role("link", name="Runs", exact=True).click()
    page.wait_for_url(f"{base}/runs")
    assert fastest_goto(page, f"{base}/runs") < SLOWEST_PAGE
    page.get_by_label("Status").select_option(label="Failed or with errors")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(f"{base}/runs?status=problems*")  # the blank fields follow
    statuses = page.locator("table.data tbody tr td:nth-child(6)").all_inner_texts()
    assert statuses
    assert set(statuses) <= {"Failed", "Completed with errors"}
    screenshot(page, "runs")

    # The run with the bad row: its facts, its outcome bar, its rows.
    page.locator(f'tr[data-run="{bad}"] a').first.click()
    page.wait_for_url(f"{base}/runs/{bad}")
    assert fastest_goto(page, f"{base}/runs/{bad}") < SLOWEST_PAGE
    assert page.get_by_role("img", name="Outcome of 3 rows: 2 inserted").count() == 1
    bar = page.locator("svg.outcome-bar")
    assert (bar.get_attribute("aria-label") or "").startswith("Outcome of 3 rows: 2 inserted")
    page.get_by_label("Outcome", exact=True).select_option(label="Error")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"{base}/runs/{bad}?outcome=error")
    assert page.locator('[data-testid="rows-table"] tbody tr').count() == 1
    screenshot(page, "run")

    # Its failed rows, downloaded as the browser saves them.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as CSV").click()
    saved = tmp_path / "failed.csv"
    download_info.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert [(r["Email"], r["LastName"]) for r in rows] == [("not-an-email", "Row")]

    # Undo it (the confirmation accepted): the undo is queued, and its page follows it. This
    # server has no executor: the test carries the undo out (what every executor calls) while
    # the page is open, and the page shows it ended without being reloaded.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo the run").click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/runs/[0-9a-f]+\?done=undo"))
    undo = page.url.split("/runs/", 1)[1].split("?", 1)[0]
    assert undo != bad
    assert "The undo is queued" in page.locator("main").inner_text()
    assert "Queued: it starts as soon as an executor takes it." in page.locator("main").inner_text()
    report = site.workspace.execute(undo)
    assert report is not None
    assert report.status == "succeeded"
    page.wait_for_selector("dl.facts >> text=Succeeded", timeout=10_000)  # followed: no reload
    assert page.url.endswith("?done=undo")
    assert "Queued:" not in page.locator("main").inner_text()
    assert f"{EDITOR[0]} (web)" in page.locator("dl.facts").inner_text()
    page.get_by_role("link", name=f"run {bad}").click()
    page.wait_for_url(f"{base}/runs/{bad}")
    assert f"run {undo}" in page.locator("dl.facts").inner_text()  # Undone by
    assert site.workspace.runs.get(bad).undone_by == undo
    assert errors == []
