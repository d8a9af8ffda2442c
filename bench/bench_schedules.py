"""Scheduler latency with 10,000 enabled schedules in a SQLite suite database.

The schedules have varied crons (every minute, every 5 minutes, hourly, daily, weekly, at other
times) in seven time zones, half of them job files (whose input is copied at each run), half a
template; a share of them (``--due-share``, 0.2 by default: about 2,000) is due at the same
minute. One scheduler loop (``Scheduler.run``: it wakes when the next schedule is due, and at
least every second; the time to spare goes to building the jobs due soon) runs in real time;
for each schedule due at that minute, the delay from its due time to its run's creation
(``runs.queued_at``) is measured. Goal: p99 <= 1 s. Also reported: the time of one tick with
nothing due.

    .venv/bin/python bench/bench_schedules.py [--schedules 10000] [--due-share 0.2]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/London",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Los_Angeles",
    "Asia/Kolkata",
]
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
QUERY_TEMPLATE = {
    "name": "Lapsed members",
    "input": {"query": "Lapsed members"},
    "source": "Contact",
    "action": "update",
    "mappings": [
        {"field": "ID", "column": "ID", "match": True},
        {"field": "Status", "value": "I"},
    ],
}


def due_cron(rng: random.Random, moment: datetime, zone: ZoneInfo) -> str:
    """A cron (of several kinds) that fires at ``moment`` in ``zone``."""
    local = moment.astimezone(zone)
    m, h, dow = local.minute, local.hour, (local.weekday() + 1) % 7
    return rng.choice(
        [
            "* * * * *",
            f"{m % 5}-59/5 * * * *",
            f"{m} * * * *",
            f"{m} {h} * * *",
            f"{m} {h} * * {dow}",
            f"{m} {h},{(h + 12) % 24} * * 1-5,0,6",
        ]
    )


def other_cron(rng: random.Random, moment: datetime, zone: ZoneInfo) -> str:
    """A cron that does not fire at ``moment`` (its minute differs)."""
    local = moment.astimezone(zone)
    m = (local.minute + rng.randint(1, 58)) % 60
    return rng.choice([f"{m} * * * *", f"{m} {rng.randint(0, 23)} * * *", f"{m} 9 * * 1-5"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--due-share", type=float, default=0.2)
    args = parser.parse_args()

    from sqlalchemy import func, insert, select

    from idms.config import Settings
    from idms.jobs.model import load_job_file
    from idms.schedules.scheduler import Scheduler
    from idms.schedules.timing import next_fire, parse_cron
    from idms.state.models import Run, Schedule, utcnow
    from idms.state.templates import TemplateStore
    from idms.workspace import Workspace

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "people.csv").write_text(
            "First,Last,E-mail\nAda,Lovelace,ada@example.org\n", encoding="utf-8"
        )
        (folder / "job.yml").write_text(JOB, encoding="utf-8")
        workspace = Workspace.open(Settings.load(workspace=folder / "ws"))
        engine = workspace.suite
        TemplateStore(engine).save("Lapsed members", QUERY_TEMPLATE)
        document = json.dumps(load_job_file(folder / "job.yml"))

        # The minute most schedules are due at: the next one at least 20 s away (setup time).
        start = utcnow()
        due_at = (start + timedelta(seconds=80)).replace(second=0, microsecond=0)
        if due_at - start > timedelta(seconds=60):
            due_at -= timedelta(minutes=1)
        rows = []
        due_ids: set[str] = set()
        for n in range(args.schedules):
            zone_name = ZONES[n % len(ZONES)]
            zone = ZoneInfo(zone_name)
            due = rng.random() < args.due_share
            cron = (due_cron if due else other_cron)(rng, due_at, zone)
            first = next_fire(parse_cron(cron), zone, due_at - timedelta(seconds=1))
            by_template = n % 2 == 1
            schedule_id = f"s{n:05d}"
            if first == due_at:
                due_ids.add(schedule_id)
            rows.append(
                {
                    "id": schedule_id,
                    "name": f"schedule {n}",
                    "description": "",
                    "kind": "template" if by_template else "job",
                    "job_document": None if by_template else document,
                    "job_file": None if by_template else str(folder / "job.yml"),
                    "template": "Lapsed members" if by_template else None,
                    "input_file": None,
                    "target": "embedded",
                    "platform": "ems",
                    "cron": cron,
                    "timezone": zone_name,
                    "misfire": "run-once",
                    "overlap": rng.choice(["skip", "queue"]),
                    "state": "active",
                    "next_fire_at": first,
                    "consecutive_failures": 0,
                    "skipped_fires": 0,
                    "created_at": start,
                    "updated_at": start,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(Schedule), rows)
        setup = (utcnow() - start).total_seconds()
        wait = (due_at - utcnow()).total_seconds()
        print(
            f"{args.schedules:,} schedules ({len(due_ids):,} due at {due_at:%H:%M:%S} UTC) set up "
            f"in {setup:.1f} s; the scheduler loop starts, {wait:.0f} s before they are due"
        )

        scheduler = Scheduler(workspace)
        stop = threading.Event()
        loop = threading.Thread(target=scheduler.run, args=(stop,), daemon=True)
        loop.start()
        # Watch cheaply (a count) so as not to slow the scheduler down, until every due
        # schedule has its run, or a minute has passed.
        time.sleep(max(0.0, wait))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with engine.connect() as conn:
                count = conn.execute(
                    select(func.count()).select_from(Run).where(Run.trigger == "schedule")
                ).scalar()
            if (count or 0) >= len(due_ids):
                break
        stop.set()
        loop.join()
        with engine.connect() as conn:
            made = conn.execute(
                select(Run.schedule_id, Run.queued_at).where(Run.trigger == "schedule")
            ).all()

        first_run: dict[str, datetime] = {}
        for schedule_id, queued_at in made:
            if schedule_id in due_ids:
                first_run.setdefault(schedule_id, queued_at)
                first_run[schedule_id] = min(first_run[schedule_id], queued_at)
        delays = sorted((first_run[s] - due_at).total_seconds() for s in first_run)
        missing = len(due_ids) - len(delays)
        p50 = statistics.median(delays)
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        print(
            f"due -> run created, {len(delays):,} runs: p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms "
            f"(goal p99 <= 1 s: {'met' if p99 <= 1.0 and not missing else 'NOT met'})"
            + (f"; {missing} due schedules got no run" if missing else "")
        )

        idle = Scheduler(workspace)
        idle.tick()  # takes the lead (the loop above gave it up)
        times = []
        for _ in range(50):
            begun = time.perf_counter()
            idle.tick(due_at + timedelta(seconds=1))
            times.append(time.perf_counter() - begun)
        idle.close()
        print(
            f"one tick with nothing due (10,000 schedules): median "
            f"{statistics.median(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms"
        )
        workspace.close()


if __name__ == "__main__":
    main()
