"""Sample files and jobs for the demo association, to try an import right away.

Written next to the workspace by ``idms demo``:

* ``webinar-attendance.csv`` + ``webinar-attendance.yml`` — a webinar platform's roster without
  iMIS IDs (e-mail and last name in whatever case people typed them, US dates, one stranger and a
  malformed address), imported as activities with insert-with-matching;
* ``member-levels.csv`` + ``member-levels.yml`` — member levels from a spreadsheet ("Gold",
  "Silver") mapped to member type codes, an insert-update on Contact matched on e-mail.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from idms.io.writer import write_table
from idms.private import private_folder, private_open
from idms.targets.embedded.schema import contacts

WEBINAR_JOB = """\
name: Webinar attendance (sample)
input: webinar-attendance.csv
source: Activity
action: insert-with-matching
mappings:
  - {field: Email, column: "E-mail", match: true}
  - {field: LastName, column: "Last name", match: true}
  - {field: ActivityType, value: WEBINAR}
  - {field: TransactionDate, column: Attended, format: "%m/%d/%Y"}
  - {field: Description, template: "{{ row.Webinar }} ({{ row.Minutes }} min)"}
  - {field: Units, column: Minutes}
options:
  skip_update_if_multiple_matches: true
"""

LEVELS_JOB = """\
name: Member levels (sample)
input: member-levels.csv
source: Contact
action: insert-update
mappings:
  - {field: Email, column: Email, match: true}
  - {field: FirstName, column: First}
  - {field: LastName, column: Last}
  - {field: MemberType, column: Level, values: {Gold: GLD, Silver: SLV, Regular: REG}}
"""

WEBINARS = ("Governance Essentials", "Advocacy 101", "Data Privacy for Associations")


def write_samples(engine: Engine, folder: Path, *, seed: int = 0) -> list[Path]:
    """Write the sample files for the people in the store; returns the job files."""
    private_folder(folder)
    rng = random.Random(seed)  # nosec B311 # repeatable sample files, not a secret
    with engine.connect() as conn:
        people = conn.execute(
            select(contacts.c.first_name, contacts.c.last_name, contacts.c.email)
            .where(contacts.c.is_organization.is_(False), contacts.c.email.is_not(None))
            .order_by(contacts.c.imis_id)
            .limit(400)
        ).all()
    attendees = rng.sample(people, min(len(people), 150))
    rows: list[list[Any]] = []
    for first, last, email in attendees:
        shown = email.upper() if rng.random() < 0.2 else f" {email} "
        rows.append([shown, first, last.lower() if rng.random() < 0.3 else last,
                     rng.choice(WEBINARS), f"0{rng.randint(1, 9)}/1{rng.randint(0, 9)}/2026",
                     rng.choice([30, 45, 60, 90])])  # fmt: skip
    rows.append(["visitor@example.net", "Val", "Visitor", WEBINARS[0], "03/15/2026", 60])
    rows.append(["not-an-address", "Nora", "Nobody", WEBINARS[1], "03/15/2026", 45])
    header = ["E-mail", "First name", "Last name", "Webinar", "Attended", "Minutes"]
    write_table(folder / "webinar-attendance.csv", header, rows, private=True)
    levels = rng.sample(people, min(len(people), 60))
    rows = [[email, first, last, rng.choice(["Gold", "Silver", "Regular"])]
            for first, last, email in levels]  # fmt: skip
    rows.append(["new.member@example.org", "Nia", "Newcomer", "Gold"])
    write_table(
        folder / "member-levels.csv", ["Email", "First", "Last", "Level"], rows, private=True
    )
    jobs = [folder / "webinar-attendance.yml", folder / "member-levels.yml"]
    for path, text in zip(jobs, (WEBINAR_JOB, LEVELS_JOB), strict=True):
        with private_open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return jobs
