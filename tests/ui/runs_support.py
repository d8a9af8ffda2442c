"""Runs for the runs pages' tests: a real import with a bad row (on the embedded store), a
queued run (the test server has no executor, so it stays queued), and many runs recorded at
once through the store, with the statuses, kinds and people a test asks for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from idms.jobs.model import Job
from idms.runs.record import NewRun, RunStore
from idms.runs.status import RunStatus
from idms.workspace import Workspace

PEOPLE_CSV = (
    "Email,FirstName,LastName\nada@example.org,Ada,Lovelace\n"
    "grace@example.org,Grace,Hopper\nnot-an-email,Bad,Row\n"
)


def people_job(folder: Path, name: str = "New members from the spring fair") -> Job:
    rows = folder / "people.csv"
    rows.write_text(PEOPLE_CSV, encoding="utf-8")
    return Job.model_validate(
        {
            "name": name,
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


def run_with_a_bad_row(workspace: Workspace, folder: Path) -> str:
    """A real import of three people, one with a bad e-mail: completed with errors."""
    report = workspace.run(people_job(folder))
    return report.run_id


def queued_run(workspace: Workspace, folder: Path) -> str:
    return workspace.submit(people_job(folder, "Queued members"), trigger="api")


def record_runs(workspace: Workspace, specs: Sequence[tuple[str, str, str]]) -> list[str]:
    """Runs recorded at once, (status, kind, started_by) each, as the scheduler records its
    batches (one statement): no job runs."""
    runs = [
        NewRun(
            kind=kind,
            name=f"Run {i} ({status})",
            source="Contact",
            action="insert",
            target="embedded",
            platform="cloud",
            job={},
            status=RunStatus(status),
            started_by=who,
        )
        for i, (status, kind, who) in enumerate(specs)
    ]
    return RunStore(workspace.suite).create_many(runs)


def listed_runs(html: str) -> list[str]:
    """The run IDs a runs page lists, in order."""
    return re.findall(r'<tr data-run="([0-9a-f]+)">', html)
