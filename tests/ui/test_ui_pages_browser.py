"""Every page an admin can reach, in Chromium and in Firefox: signed in, the test follows the
links from the dashboard (the menu, then one page of each kind: a run, a workflow, its run, a
schedule's form...) and on each page checks what the issue asks of all of them: it opens, the
skip link comes first when tabbing, every control has a name; and at the end, no script failed,
the content security policy refused nothing and no file the pages use was missing. Pages added
later are visited as soon as a link leads to them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flows_support import WORKFLOW, save_workflow
from test_ui_browser import sign_in, some_runs
from test_ui_workflows_browser import unnamed_controls
from ui_support import ADMIN, Site

from idms.schedules.define import define_schedule

NOT_PAGES = re.compile(r"/hooks/|/signout|/failed\.|/steps/")  # webhooks, downloads
FILES = {"stylesheet", "script", "image", "font", "media"}
MOST_PAGES = 40  # a bound, should links multiply


def some_of_everything(site: Site, tmp_path: Path) -> None:
    """Runs (one with a bad row), a workflow and its run, and a schedule of that workflow."""
    workspace = site.workspace
    some_runs(site, tmp_path)
    save_workflow(workspace)
    workspace.run_workflow(WORKFLOW, {"imisId": "7", "course": "induction"})
    settings = workspace.settings
    new = define_schedule(
        "Nightly LMS",
        templates=workspace.templates,
        target=settings.target,
        platform=settings.platform.value,
        workflow=WORKFLOW,
        cron="0 2 * * *",
        timezone="Europe/London",
    )
    workspace.add_schedule(new)


def kind(path: str) -> tuple[str, int]:
    """Pages of one kind (all runs' pages, say) share their first segment and their depth."""
    parts = path.strip("/").split("/")
    return parts[0], len(parts)


def missing(response: Any) -> str | None:
    """What a page refers to (its style sheet, a script, an image) and the server lacks."""
    if response.status >= 400 and response.request.resource_type in FILES:
        return f"missing: {response.url} (HTTP {response.status})"
    return None


def links(page: Any, base: str) -> list[str]:
    found: list[str] = page.eval_on_selector_all(
        "a[href]:not([download])", "links => links.map(a => a.href)"
    )
    return [url.split("#")[0] for url in found if url.startswith(f"{base}/")]


@pytest.mark.firefox
def test_every_page_opens_without_errors_and_is_usable_with_the_keyboard(
    site: Site, people: object, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    base = site.base
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(missing(r)) if missing(r) else None)
    some_of_everything(site, tmp_path)
    sign_in(page, base, *ADMIN)

    queue = [f"{base}/"]
    seen_kinds: set[tuple[str, int]] = set()
    visited: list[str] = []
    problems: list[str] = []
    while queue and len(visited) < MOST_PAGES:
        url = queue.pop(0)
        path = urlsplit(url).path.removeprefix(urlsplit(base).path) or "/"
        if NOT_PAGES.search(path) or kind(path) in seen_kinds:
            continue
        seen_kinds.add(kind(path))
        answer = page.goto(url)
        assert answer is not None
        if not answer.ok:
            problems.append(f"{path}: HTTP {answer.status}")
            continue
        visited.append(path)
        problems += [f"{path}: no name for {html}" for html in unnamed_controls(page)]
        page.locator("body").focus()
        page.keyboard.press("Tab")
        first = page.evaluate("document.activeElement.textContent")
        if first != "Skip to the content":
            problems.append(f"{path}: Tab goes first to {first!r}, not the skip link")
        queue += links(page, base)

    # no script error, nothing the CSP refused, no missing file (Firefox logs none of these last)
    assert problems + errors == []
    expected = {"/", "/runs", "/import", "/schedules", "/workflows", "/transfers", "/users"}
    assert expected | {"/settings", "/schedules/new", f"/workflows/{WORKFLOW}"} <= {
        p.replace("%20", " ") for p in visited
    }
    assert any(p.startswith("/runs/") for p in visited)
    assert any(p.startswith("/workflows/runs/") for p in visited)
