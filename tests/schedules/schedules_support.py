"""What the schedule tests share: a job, its input, moments, and adding schedules quickly."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner, Result

from idms.cli.app import app
from idms.schedules import ScheduleInfo, ScheduleStore, define_schedule
from idms.state.templates import TemplateStore
from idms.workspace import Workspace

JOB = """\
name: People by e-mail
input: people.csv
source: Contact
action: insert-update
mappings:
  - {field: Email, column: E-mail, match: true}
  - {field: Last Name, column: Last}
  - {field: first name, column: First}
"""

PEOPLE = [
    {"First": "Ada", "Last": "Lovelace", "E-mail": "ada@example.org"},
    {"First": "Alan", "Last": "Turing", "E-mail": "alan@example.org"},
]


def write_people(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(PEOPLE[0]))
        writer.writeheader()
        writer.writerows(PEOPLE)
    return path


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def add(
    workspace: Workspace,
    name: str,
    job_file: Path,
    *,
    now: datetime,
    **options: object,
) -> ScheduleInfo:
    """Add a schedule of ``job_file`` (options as define_schedule's), as if at ``now``."""
    settings = workspace.settings
    new = define_schedule(
        name,
        templates=TemplateStore(workspace.suite),
        target=settings.target,
        platform=settings.platform.value,
        job_file=job_file,
        now=now,
        **options,  # type: ignore[arg-type]
    )
    return ScheduleStore(workspace.suite).add(new, now=now)


class Cli:
    """Runs ``idms ARGS...`` in-process, with stdout and stderr kept apart."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args))
