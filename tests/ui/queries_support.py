"""What the saved-query pages' tests share: a store holding a few known contacts (one whose
last name a spreadsheet would run as a formula), saved queries over them, and a query page's
rows read back from its HTML."""

from __future__ import annotations

import re
from pathlib import Path

from idms.jobs.model import Job
from idms.workspace import Workspace

FORMULA = '=HYPERLINK("http://x.io")'  # 22 characters: a last name holds 30
PEOPLE = (
    "Email,FirstName,LastName\r\n"
    "ada@example.org,Ada,Lovelace\r\n"
    "grace@example.org,Grace,Hopper\r\n"
    f'eve@example.org,Eve,"{FORMULA.replace(chr(34), chr(34) * 2)}"\r\n'
)
EVERYONE = "Everyone"
BY_NAME = "Members by name"


def known_people(workspace: Workspace, folder: Path) -> None:
    """Three contacts, imported as any file is."""
    rows = folder / "people.csv"
    rows.write_text(PEOPLE, encoding="utf-8")
    job = Job.model_validate(
        {
            "name": "Three people",
            "input": str(rows),
            "source": "Contact",
            "action": "insert",
            "mappings": [
                {"field": "Email", "column": "Email"},
                {"field": "FirstName", "column": "FirstName"},
                {"field": "LastName", "column": "LastName"},
            ],
        }
    )
    report = workspace.run(job)
    assert report.counts.errors == 0


def save_queries(workspace: Workspace) -> None:
    """``Everyone`` (no prompts) and ``Members by name`` (a required prompt ``last``)."""
    workspace.save_query(
        {
            "name": EVERYONE,
            "description": "Every contact, by ID",
            "from": "Contact",
            "columns": {"ID": "ImisId", "First": "FirstName", "Last": "LastName"},
            "order_by": ["ID"],
        }
    )
    workspace.save_query(
        {
            "name": BY_NAME,
            "from": "Contact",
            "columns": {"ID": "ImisId", "Last": "LastName", "Email": "Email"},
            "filters": [
                {"field": "LastName", "op": "startsWith", "prompt": "last", "required": True}
            ],
            "order_by": ["ID"],
        }
    )


def row_cells(html: str) -> list[list[str]]:
    """The query page's rows (the table ``rows``), as text."""
    if 'data-testid="rows"' not in html:
        return []
    body = html.split('data-testid="rows"', 1)[1].split("<tbody>", 1)[1].split("</tbody>")[0]
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]
