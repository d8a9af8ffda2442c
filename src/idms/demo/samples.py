"""Sample files and jobs for the demo association, to try an import right away.

Written next to the workspace by ``idms demo``:

* ``webinar-attendance.csv`` + ``webinar-attendance.yml`` — a webinar platform's roster without
  iMIS IDs (e-mail and last name in whatever case people typed them, US dates, one stranger and a
  malformed address), imported as activities with insert-with-matching;
* ``member-levels.csv`` + ``member-levels.yml`` — member levels from a spreadsheet ("Gold",
  "Silver") mapped to member type codes, an insert-update on Contact matched on e-mail.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from sqlalchemy import Engine, select

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
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)  # nosec B311 # repeatable sample files, not a secret
    with engine.connect() as conn:
        people = conn.execute(
            select(contacts.c.first_name, contacts.c.last_name, contacts.c.email)
            .where(contacts.c.is_organization.is_(False), contacts.c.email.is_not(None))
            .order_by(contacts.c.imis_id)
            .limit(400)
        ).all()
    attendees = rng.sample(people, min(len(people), 150))
    with (folder / "webinar-attendance.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["E-mail", "First name", "Last name", "Webinar", "Attended", "Minutes"])
        for first, last, email in attendees:
            shown = email.upper() if rng.random() < 0.2 else f" {email} "
            w.writerow([shown, first, last.lower() if rng.random() < 0.3 else last,
                        rng.choice(WEBINARS), f"0{rng.randint(1, 9)}/1{rng.randint(0, 9)}/2026",
                        rng.choice([30, 45, 60, 90])])  # fmt: skip
        w.writerow(["visitor@example.net", "Val", "Visitor", WEBINARS[0], "03/15/2026", 60])
        w.writerow(["not-an-address", "Nora", "Nobody", WEBINARS[1], "03/15/2026", 45])
    levels = rng.sample(people, min(len(people), 60))
    with (folder / "member-levels.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Email", "First", "Last", "Level"])
        for first, last, email in levels:
            w.writerow([email, first, last, rng.choice(["Gold", "Silver", "Regular"])])
        w.writerow(["new.member@example.org", "Nia", "Newcomer", "Gold"])
    jobs = [folder / "webinar-attendance.yml", folder / "member-levels.yml"]
    jobs[0].write_text(WEBINAR_JOB, encoding="utf-8")
    jobs[1].write_text(LEVELS_JOB, encoding="utf-8")
    return jobs
