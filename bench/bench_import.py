"""Import speed and memory against references measured in the same run (issue 3).

1. Insert-update of N contact rows (14 mapped columns, matched on Email) into the embedded SQLite
   store, against a raw ``sqlite3`` ``executemany`` upsert (``ON CONFLICT(email) DO UPDATE``) of
   the same file. Goal: at least 0.5x the raw rate.
2. Peak memory of the import process (goal: at most 200 MB whatever the file size).
3. Reading a 100,000-row XLSX through idms's reader against python-calamine's own iteration of
   the same file. Goal: at least 0.8x.

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--xlsx-rows 100000] [--no-update]

4. (Reported, no goal.) An update job over the same contacts with two columns changed.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLUMNS = [
    "Email", "First", "Last", "Middle", "Title", "HomePhone", "WorkPhone", "MemberType",
    "Status", "BirthDate", "JoinDate", "City", "State", "Zip",
]  # fmt: skip
FIELDS = [
    "Email", "FirstName", "LastName", "MiddleName", "Title", "HomePhone", "WorkPhone",
    "MemberType", "Status", "BirthDate", "JoinDate", "City", "StateProvince", "PostalCode",
]  # fmt: skip


def make_csv(path: Path, rows: int) -> None:
    rng = random.Random(1)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for i in range(rows):
            w.writerow(
                [
                    f"person{i}@example.org", f"First{i}", f"Last{i % 5000}", "Q", "Engineer",
                    f"555-{i % 10000:04d}", "", rng.choice(["GLD", "SLV", "REG"]), "A",
                    f"19{50 + i % 50}-0{1 + i % 9}-1{i % 9}", "2020-01-15", "Springfield", "IL",
                    f"{i % 100000:05d}",
                ]
            )  # fmt: skip


def raw_upsert(csv_path: Path, db_path: Path) -> float:
    """The reference: csv module + sqlite3 executemany upsert, in batches of 1000."""
    conn = sqlite3.connect(db_path)
    conn.execute(
        "CREATE TABLE contacts (email TEXT UNIQUE, first TEXT, last TEXT, middle TEXT, "
        "title TEXT, home TEXT, work TEXT, member_type TEXT, status TEXT, birth TEXT, "
        "joined TEXT, city TEXT, state TEXT, zip TEXT)"
    )
    sql = (
        "INSERT INTO contacts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(email) DO UPDATE "
        "SET first=excluded.first, last=excluded.last, middle=excluded.middle, "
        "title=excluded.title, home=excluded.home, work=excluded.work, "
        "member_type=excluded.member_type, status=excluded.status, birth=excluded.birth, "
        "joined=excluded.joined, city=excluded.city, state=excluded.state, zip=excluded.zip"
    )
    start = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        batch: list[list[str]] = []
        for row in reader:
            batch.append(row)
            if len(batch) >= 1000:
                conn.executemany(sql, batch)
                conn.commit()
                batch = []
        if batch:
            conn.executemany(sql, batch)
            conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def raw_into_store(csv_path: Path, db_path: Path) -> float:
    """The floor of the iMIS-shaped store: raw executemany of the same rows into its own tables.

    A contact row (with its key GUID and timestamps) plus its default-purpose address row, with
    every index the store keeps, and nothing else: no matching, validation, results or undo.
    """
    from datetime import UTC, datetime

    from idms.targets.embedded.adapters.folding import register_fold
    from idms.targets.embedded.keys import new_guid
    from idms.targets.embedded.store import open_store

    engine = open_store(f"sqlite:///{db_path}")
    engine.dispose()
    conn = sqlite3.connect(db_path)
    register_fold(conn)  # the e-mail and last-name indexes are on idms_fold(...)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint=16384")  # as the store's own connections
    contact_sql = (
        "INSERT INTO contacts (imis_id, contact_key, is_organization, first_name, middle_name, "
        "last_name, title, email, home_phone, work_phone, member_type, status, birth_date, "
        "join_date, mark_for_erasure, created_on, updated_on) "
        "VALUES (?,?,0,?,?,?,?,?,?,?,?,?,?,?,0,?,?)"
    )
    address_sql = (
        "INSERT INTO addresses (imis_id, address_purpose, city, state_province, postal_code, "
        "is_preferred_mailing, is_preferred_billing, is_preferred_shipping) "
        "VALUES (?, 'Address', ?, ?, ?, 1, 1, 0)"
    )
    now = datetime.now(UTC).isoformat(" ")
    start = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        people: list[tuple[object, ...]] = []
        places: list[tuple[object, ...]] = []
        for n, row in enumerate(reader, start=1):
            imis_id = str(n)
            people.append(
                (imis_id, new_guid(), row[1], row[3], row[2], row[4], row[0],
                 row[5], row[6], row[7], row[8], row[9], row[10], now, now)
            )  # fmt: skip
            places.append((imis_id, row[11], row[12], row[13]))
            if len(people) >= 1000:
                conn.executemany(contact_sql, people)
                conn.executemany(address_sql, places)
                conn.commit()
                people, places = [], []
        if people:
            conn.executemany(contact_sql, people)
            conn.executemany(address_sql, places)
            conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


IMPORT_SCRIPT = r"""
import json, resource, sys, time
from idms.demo.generate import fill_demo
from idms.jobs.model import build_job
from idms.jobs.runner import run_job
from idms.runs.record import RunStore
from idms.state.store import open_suite
from idms.targets.embedded.target import EmbeddedTarget

csv_path, work, fields, columns = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
target = EmbeddedTarget(f"sqlite:///{work}/imis.db")
fill_demo(target.engine, contacts=0)
runs = RunStore(open_suite(f"sqlite:///{work}/suite.db"))
mappings = [
    {"field": f, "column": c, "match": f == "Email"}
    for f, c in zip(fields.split(","), columns.split(","))
]
job = build_job({"input": csv_path, "source": "Contact", "action": "insert-update",
                 "mappings": mappings})
# As `idms run` does: durable (every batch staged, sealed and journalled, so a crash resumes).
from pathlib import Path
from cryptography.fernet import Fernet
from idms.runs.durable import Durable
from idms.secrets import SecretBox
durable = Durable(box=SecretBox([Fernet.generate_key()]), run_dir=Path(work) / "runs")
start = time.perf_counter()
report = run_job(job, target=target, runs=runs, durable=durable)
elapsed = time.perf_counter() - start
result = {"seconds": elapsed, "summary": report.summary()}
if len(sys.argv) > 5:  # then the same contacts again, two columns changed: all updates
    job = build_job({"input": sys.argv[5], "source": "Contact", "action": "update",
                     "mappings": mappings})
    start = time.perf_counter()
    again = run_job(job, target=target, runs=runs, durable=durable)
    result["update_seconds"] = time.perf_counter() - start
    result["update_summary"] = again.summary()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the process that started this one
with open("/proc/self/status") as status:
    hwm = next(x for x in status if x.startswith("VmHWM:"))
result["peak_mb"] = int(hwm.split()[1]) / 1024
print(json.dumps(result))
"""


def changed_copy(csv_path: Path, out: Path) -> None:
    """The same contacts with a new Title and City: an update job changes every row."""
    with csv_path.open(newline="", encoding="utf-8") as f, out.open("w", newline="") as g:
        reader, writer = csv.reader(f), csv.writer(g)
        writer.writerow(next(reader))
        for row in reader:
            row[4], row[11] = "Director", "Shelbyville"
            writer.writerow(row)


def idms_import(csv_path: Path, work: Path, update_path: Path | None) -> dict[str, object]:
    extra = [str(update_path)] if update_path is not None else []
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_SCRIPT, str(csv_path), str(work), ",".join(FIELDS),
         ",".join(COLUMNS), *extra],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def xlsx_rates(path: Path, rows: int) -> tuple[float, float]:
    import xlsxwriter
    from python_calamine import CalamineWorkbook

    from idms.io.reader import open_input

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Contacts")
    for c, name in enumerate(COLUMNS):
        sheet.write_string(0, c, name)
    for r in range(1, rows + 1):
        values = [
            f"person{r}@example.org", f"First{r}", f"Last{r}", "Q", "Engineer", "555", "",
            "GLD", "A", "1970-01-01", "2020-01-15", "Springfield", "IL", "02139",
        ]  # fmt: skip
        for c, value in enumerate(values):
            sheet.write_string(r, c, value)
    book.close()

    start = time.perf_counter()
    workbook = CalamineWorkbook.from_path(str(path))
    count = sum(1 for _ in workbook.get_sheet_by_name("Contacts").iter_rows()) - 1
    raw = count / (time.perf_counter() - start)

    start = time.perf_counter()
    with open_input(path) as reader:
        count = sum(1 for _ in reader)
    ours = count / (time.perf_counter() - start)
    return raw, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument(
        "--no-update", action="store_true", help="skip the second pass (an update of every row)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        csv_path = base / "contacts.csv"
        make_csv(csv_path, args.rows)
        raw_seconds = raw_upsert(csv_path, base / "raw.db")
        floor_seconds = raw_into_store(csv_path, base / "floor.db")
        work = base / "idms"
        work.mkdir()
        update_path = None if args.no_update else base / "changed.csv"
        if update_path is not None:
            changed_copy(csv_path, update_path)
        result = idms_import(csv_path, work, update_path)
        seconds = float(result["seconds"])  # type: ignore[arg-type]
        raw_rate, our_rate = args.rows / raw_seconds, args.rows / seconds
        print(f"rows: {args.rows:,}")
        print(f"raw sqlite3 upsert: {raw_rate:,.0f} rows/s ({raw_seconds:.1f} s)")
        floor_rate = args.rows / floor_seconds
        print(
            f"raw executemany into the store's own tables: {floor_rate:,.0f} rows/s "
            f"({floor_rate / raw_rate:.2f}x of the raw upsert: the schema's own ceiling)"
        )
        print(
            f"idms insert-update (durable, as `idms run`): {our_rate:,.0f} rows/s ({seconds:.1f} s)"
        )
        print(f"ratio: {our_rate / raw_rate:.3f}x of the raw upsert (goal >= 0.5x)")
        print(f"ratio: {our_rate / floor_rate:.3f}x of the store's raw ceiling")
        print(f"peak memory of the import process: {result['peak_mb']:.0f} MB (goal <= 200 MB)")
        print(f"outcomes: {result['summary']}")
        if "update_seconds" in result:
            rate = args.rows / float(result["update_seconds"])  # type: ignore[arg-type]
            print(f"idms update of every row (2 columns changed): {rate:,.0f} rows/s")
            print(f"outcomes: {result['update_summary']}")
        raw_x, ours_x = xlsx_rates(base / "contacts.xlsx", args.xlsx_rows)
        print(f"xlsx {args.xlsx_rows:,} rows: calamine {raw_x:,.0f} rows/s, idms reader "
              f"{ours_x:,.0f} rows/s, ratio {ours_x / raw_x:.2f}x (goal >= 0.8x)")  # fmt: skip


if __name__ == "__main__":
    main()
