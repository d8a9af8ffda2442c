"""The import wizard in a real headless Chromium: an editor drops an Excel workbook with a bad
row on the upload page, switches to the sheet holding the members, checks what was detected,
chooses Contact and insert-update, accepts the mapping, plans (the bad row shown first), runs,
sees the counts as the run ends, downloads the failed rows, fixes the bad one and uploads
the file again with the same mapping, runs it and undoes that run.

With ``IDMS_TEST_UI_SCREENSHOTS=1`` each step is saved as ``docs/images/ui-import-*.png``.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_ui_browser import choose_source, screenshot, sign_in
from ui_support import EDITOR, Site

MEMBERS = [
    ("E-mail", "First Name", "Last Name", "Zip"),
    ("ada@example.org", "Ada", "Lovelace", "02139"),
    ("grace@example.org", "Grace", "Hopper", "10001"),
    ("not-an-email", "Bad", "Row", "99999"),
]


def workbook() -> bytes:
    """An instructions sheet first (as exports often have), then the members."""
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Read me"
    notes.append(["Note"])
    notes.append(["Members of the spring fair, one per row."])
    members = book.create_sheet("Members")
    for row in MEMBERS:
        members.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def drop_file(page: Any, selector: str, name: str, content: bytes) -> None:
    """Drop a file on ``selector`` as a person dragging it from their desktop does."""
    data = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name));
            return transfer;
        }""",
        [name, base64.b64encode(content).decode("ascii")],
    )
    page.dispatch_event(selector, "drop", {"dataTransfer": data})


def facts(page: Any) -> dict[str, str]:
    terms = page.locator("[data-testid=detected] dt").all_inner_texts()
    values = page.locator("[data-testid=detected] dd").all_inner_texts()
    return dict(zip(terms, values, strict=True))


@pytest.mark.firefox
def test_an_editor_imports_a_workbook_with_a_bad_row(
    running_site: Site, people: object, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    base = running_site.base
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, base, *EDITOR)

    # 1. Upload: the file is dropped on the drop zone.
    page.get_by_role("link", name="Import").click()
    page.wait_for_url(f"{base}/import")
    assert "at most 100 MiB" in page.inner_text("main")
    drop_file(page, "[data-dropzone]", "spring-fair.xlsx", workbook())
    assert page.eval_on_selector("#import-file", "e => e.files[0].name") == "spring-fair.xlsx"
    screenshot(page, "import-upload")
    page.get_by_role("button", name="Upload and look at the file").click()

    # 2. What was detected: the first sheet, then the members' sheet chosen.
    page.wait_for_url("**/file")
    assert facts(page)["Sheet"] == "Read me (of 2)"
    page.get_by_label("Sheet").select_option("Members")
    page.get_by_role("button", name="Read again").click()
    page.wait_for_selector("text=Members (of 2)")
    assert facts(page) == {
        "File": facts(page)["File"],
        "Format": "Excel workbook",
        "Sheet": "Members (of 2)",
        "Header row": "1",
        "Columns": "4",
        "Rows": "3",
    }
    assert facts(page)["File"].startswith("spring-fair.xlsx (")
    preview = page.locator("[data-testid=preview] tbody tr").all_inner_texts()
    assert [r.split("\t") for r in preview][2] == ["4", "not-an-email", "Bad", "Row", "99999"]
    screenshot(page, "import-file")
    page.get_by_role("link", name="Next: source and action").click()

    # 3. Source and action: Contact's actions (no delete) and its rules.
    page.wait_for_url("**/source")
    choose_source(page, "Contact")
    page.wait_for_selector("#action-insert-update")
    assert page.locator("#action-delete").count() == 0
    assert "contacts cannot be deleted in iMIS" in page.inner_text("#actions")
    page.get_by_label("insert-update").check()
    screenshot(page, "import-source")
    page.get_by_role("button", name="Next: mapping").click()

    # 4. Mapping: every column preselected, the match keys ticked; accepted as it is.
    page.wait_for_url("**/mapping")
    assert page.get_by_label("Field for E-mail").input_value() == "Email"
    assert page.get_by_label("Field for Zip").input_value() == "PostalCode"
    assert page.get_by_label("Match on E-mail").is_checked()
    assert page.get_by_label("Match on Last Name").is_checked()
    assert not page.get_by_label("Match on Zip").is_checked()
    screenshot(page, "import-mapping")
    page.get_by_role("button", name="Next: options").click()

    # 5. Options, left as they are.
    page.wait_for_url("**/options")
    assert page.get_by_label("Empty cells").input_value() == "ignore"
    screenshot(page, "import-options")
    page.get_by_role("button", name="Next: plan").click()

    # 6. Plan: the bad row first.
    page.wait_for_url("**/plan")
    page.get_by_role("button", name="Make the plan").click()
    page.wait_for_selector("[data-testid=plan-rows]")
    first = page.locator("[data-testid=plan-rows] tbody tr").first.inner_text()
    assert first.startswith("4\terror")
    assert "not-an-email" in first
    assert "2 inserted · 1 error" in page.inner_text("main")
    screenshot(page, "import-plan")
    page.get_by_role("button", name="Run the import").click()

    # 7. Run: followed until it ends, then its counts and the failed rows.
    page.wait_for_url("**/results")
    page.wait_for_selector("text=Completed with errors", timeout=15_000)
    assert page.inner_text("[data-testid=run-counts]") == "3 rows: 2 inserted · 1 error"
    screenshot(page, "import-run")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Excel").click()
    saved = tmp_path / "failed.xlsx"
    downloading.value.save_as(saved)
    rows = list(openpyxl.load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[0][:4] == MEMBERS[0]
    assert rows[1][:4] == MEMBERS[3]
    assert len(rows) == 2
    assert any("mail" in str(cell).lower() for cell in rows[1][4:])  # the Error column says why

    # Fix and upload again: the same mapping, straight to the plan.
    book = openpyxl.load_workbook(saved)
    book.active["A2"] = "bad.row@example.org"
    fixed = tmp_path / "fixed.xlsx"
    book.save(fixed)
    page.get_by_label("Fixed file").set_input_files(str(fixed))
    page.get_by_role("button", name="Upload it with the same mapping").click()
    page.wait_for_url("**/plan")
    assert "fixed.xlsx" in page.inner_text("main")
    page.get_by_role("button", name="Make the plan").click()
    page.wait_for_selector("[data-testid=plan-rows]")
    assert "1 inserted" in page.inner_text("main h2")
    page.get_by_role("button", name="Run the import").click()
    page.wait_for_selector("text=Succeeded", timeout=15_000)
    assert page.inner_text("[data-testid=run-counts]") == "1 row: 1 inserted"

    # Undo it, once asked to confirm.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo this import").click()
    # Queued, then followed by the panel until it has ended.
    page.wait_for_selector("[data-testid=undo] >> text=Succeeded", timeout=15_000)
    assert page.inner_text("[data-testid=undo]").startswith("Undone by run")
    assert page.get_by_role("button", name="Undo this import").count() == 0
    assert errors == []
