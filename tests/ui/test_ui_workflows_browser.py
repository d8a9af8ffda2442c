"""The workflow pages in a real headless Chromium (Playwright): an editor signs in, opens a
workflow, runs it with a JSON input typed in the form, the queued run is executed (here, by
the test: the tests' server has no executor), and the run's page shows every step's status in
the diagram and what each step received and gave.

With ``IDMS_TEST_UI_SCREENSHOTS=1`` the test saves ``docs/images/ui-workflow.png`` and
``docs/images/ui-workflow-run.png``, and, after a transfer has run, ``ui-transfer.png``
(docs/ui.md shows them); normal runs write nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flows_support import WORKFLOW, demo_transfers, receiver, save_workflow
from pace import SLOWEST_PAGE
from test_ui_browser import fastest_goto, screenshot, sign_in
from ui_support import EDITOR, Site

from idms.runs.status import RunStatus


def unnamed_controls(page: Any) -> list[str]:
    """The page's controls that have no accessible name (none should)."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll(
                'input:not([type=hidden]), select, textarea, button')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.textContent.trim())
            .map(el => el.outerHTML)"""
    )
    return found


@pytest.mark.firefox
@pytest.mark.usefixtures("people")
def test_an_editor_runs_a_workflow_and_sees_each_step(site: Site, browser_page: Any) -> None:
    from playwright.sync_api import expect  # there, as the browser is (conftest.browser)

    page = browser_page
    base = site.base
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    save_workflow(site.workspace)
    site.workspace.run_workflow(WORKFLOW, {"imisId": "7", "course": "induction"})

    sign_in(page, base, *EDITOR)
    page.get_by_role("link", name="Workflows").click()
    page.wait_for_url(f"{base}/workflows")
    page.get_by_role("link", name=WORKFLOW).click()
    page.wait_for_url(f"{base}/workflows/LMS%20completion")
    assert fastest_goto(page, page.url) < SLOWEST_PAGE
    boxes = page.locator("ol.chain > li")
    assert boxes.count() == 2
    assert boxes.nth(0).inner_text().split("\n")[:2] == ["check", "json_schema_validation"]
    assert page.get_by_label("Webhook URL").input_value().startswith(f"{base}/hooks/")
    screenshot(page, "workflow")

    form = page.locator("form.run-form").last
    form.get_by_label("Input (JSON)").fill(json.dumps({"imisId": "42", "course": "first aid"}))
    form.get_by_role("button", name="Run now").click()
    page.wait_for_url(f"{base}/workflows/runs/*")
    run_id = page.url.rsplit("/", 1)[1]
    assert page.get_by_test_id("run-status").inner_text() == "Queued"

    assert site.workspace.runs.get(run_id).status == RunStatus.QUEUED
    site.workspace.execute(run_id)  # the executor's part
    # The page follows the run by itself (htmx, every 2 s) until it ends.
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded", timeout=10_000)
    assert page.locator("[hx-trigger]").count() == 0  # ended: no more polling
    assert fastest_goto(page, page.url) < SLOWEST_PAGE
    statuses = page.locator("ol.chain [data-testid=step-status]").all_inner_texts()
    assert statuses == ["Succeeded", "Succeeded"]
    inputs = page.get_by_test_id("step-input").all_inner_texts()
    outputs = page.get_by_test_id("step-output").all_inner_texts()
    assert json.loads(inputs[0]) == {"imisId": "42", "course": "first aid"}
    assert json.loads(outputs[1]) == {"Who": "42", "Course": "FIRST AID"}
    screenshot(page, "workflow-run")
    for path in ("/workflows", f"/workflows/runs/{run_id}", "/workflows/LMS%20completion"):
        page.goto(f"{base}{path}")
        assert unnamed_controls(page) == [], path

    # A transfer's page: its connections, its runs and what each sent, its keys.
    with receiver() as http:
        demo_transfers(site.workspace, http.url)
        site.workspace.run_transfer("LMS nightly")
    page.get_by_role("link", name="Transfers").click()
    page.wait_for_url(f"{base}/transfers")
    page.get_by_role("link", name="LMS nightly").click()
    page.wait_for_url(f"{base}/transfers/LMS%20nightly")
    assert page.get_by_test_id("hash-count").inner_text() == "8"
    assert unnamed_controls(page) == []
    screenshot(page, "transfer")
    assert errors == []  # no script error, nothing the CSP refused, no missing file
