"""Saved-query export speed and memory against a reference measured in the same run (issue 6).

An embedded store is filled with N contacts (raw executemany into its own tables, each contact
with its default-purpose address). Then, on the same store:

1. The reference: one raw ``sqlite3`` SELECT of the same 8 columns with the same filter, join and
   order as idms runs, written with ``csv.writer.writerows`` (UTF-8 with BOM).
2. idms: a saved query over Contact (ID, names, e-mail, member type, join date, the
   organization flag, postal code; Status = A) exported to CSV with ``export_query``, in a
   subprocess so that its peak memory (VmHWM) is its own. Goal: at least 0.5x the reference.
3. Memory: the same export of the first ``--small`` rows (the query's ``limit``); the peak of both
   runs should be about the same (constant memory, whatever the row count).

    .venv/bin/python bench/bench_query_export.py [--rows 1000000] [--small 200000]
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

COLUMNS = {
    "ID": "ImisId",
    "First": "FirstName",
    "Last": "LastName",
    "Email": "Email",
    "Type": "MemberType",
    "Joined": "JoinDate",
    "Organization": "IsOrganization",
    "Zip": "PostalCode",
}
REFERENCE_SQL = (
    "SELECT c.imis_id, c.first_name, c.last_name, c.email, c.member_type, c.join_date, "
    "c.is_organization, a.postal_code FROM contacts c LEFT JOIN addresses a "
    "ON a.imis_id = c.imis_id AND a.address_purpose = 'Address' "
    "WHERE lower(c.status) = 'a' ORDER BY c.imis_id"
)


def build_store(db_path: Path, rows: int) -> int:
    """N contacts with their addresses, straight into the store's tables; how many are active."""
    from datetime import UTC, datetime

    from idms.targets.embedded.adapters.folding import register_fold
    from idms.targets.embedded.keys import new_guid
    from idms.targets.embedded.store import open_store

    engine = open_store(f"sqlite:///{db_path}")
    engine.dispose()
    rng = random.Random(6)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "seconds")
    conn = sqlite3.connect(db_path)
    register_fold(conn)  # the e-mail and last-name indexes are on idms_fold(...)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    contact_sql = (
        "INSERT INTO contacts (imis_id, contact_key, is_organization, first_name, last_name, "
        "email, member_type, status, join_date, mark_for_erasure, created_on, updated_on) "
        "VALUES (?,?,?,?,?,?,?,?,?,0,?,?)"
    )
    address_sql = (
        "INSERT INTO addresses (imis_id, address_purpose, city, postal_code, "
        "is_preferred_mailing, is_preferred_billing, is_preferred_shipping) "
        "VALUES (?, 'Address', 'Springfield', ?, 1, 1, 0)"
    )
    active = 0
    for start in range(0, rows, 10_000):
        people: list[tuple[object, ...]] = []
        places: list[tuple[object, ...]] = []
        for n in range(start + 1, min(start + 10_000, rows) + 1):
            status = "A" if rng.random() < 0.9 else "I"
            active += status == "A"
            joined = f"{2000 + n % 25}-{1 + n % 12:02d}-{1 + n % 28:02d}"
            people.append(
                (str(n), new_guid(), int(n % 50 == 0), f"First{n}", f"Last{n % 5000}",
                 f"person{n}@example.org", rng.choice(["GLD", "SLV", "REG"]), status, joined,
                 now, now)
            )  # fmt: skip
            places.append((str(n), f"{n % 100000:05d}"))
        conn.executemany(contact_sql, people)
        conn.executemany(address_sql, places)
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return active


def reference(db_path: Path, out: Path) -> tuple[int, float]:
    """Raw sqlite3 + csv: rows written and seconds."""
    start = time.perf_counter()
    conn = sqlite3.connect(db_path)
    cursor = conn.execute(REFERENCE_SQL)
    with out.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(list(COLUMNS))
        count = 0
        while chunk := cursor.fetchmany(4096):
            writer.writerows(chunk)
            count += len(chunk)
    conn.close()
    return count, time.perf_counter() - start


EXPORT_SCRIPT = r"""
import json, resource, sys, time
from idms.queries.compile import compile_query
from idms.io.writer import export_query
from idms.queries.model import build_query
from idms.targets.embedded.target import EmbeddedTarget

db, out, columns, limit, profile = sys.argv[1:6]
document = {"name": "Active contacts", "from": "Contact", "columns": json.loads(columns),
            "filters": [{"field": "Status", "op": "eq", "value": "A"}]}
if int(limit):
    document["limit"] = int(limit)
opened = time.perf_counter()
target = EmbeddedTarget(f"sqlite:///{db}")
compiled = compile_query(build_query(document), target.sources())
start = time.perf_counter()

def run():
    with target.query(compiled) as result:
        return export_query(result, out)

if profile:
    import cProfile, pstats
    profiler = cProfile.Profile()
    rows = profiler.runcall(run)
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
else:
    rows = run()
elapsed = time.perf_counter() - start
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the process that started this one
with open("/proc/self/status") as status:
    hwm = next(x for x in status if x.startswith("VmHWM:"))
peak_mb = int(hwm.split()[1]) / 1024
print(json.dumps({"rows": rows, "seconds": elapsed, "peak_mb": peak_mb,
                  "setup": start - opened}))
"""


def idms_export(
    db_path: Path, out: Path, *, limit: int = 0, profile: bool = False
) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", EXPORT_SCRIPT, str(db_path), str(out), json.dumps(COLUMNS),
         str(limit), "1" if profile else ""],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    if profile:
        sys.stderr.write(done.stderr)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=200_000, help="rows of the memory check")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs of each")
    parser.add_argument("--profile", action="store_true", help="cProfile the idms export")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        db = base / "imis.db"
        start = time.perf_counter()
        active = build_store(db, args.rows)
        built = time.perf_counter() - start
        print(f"store: {args.rows:,} contacts ({active:,} active) built in {built:.1f} s")
        reference(db, base / "raw.csv")  # warm the page cache for both
        raw_seconds = ours_seconds = float("inf")
        ours: dict[str, float] = {}
        for _ in range(args.repeat):  # interleaved, so that both see the same machine load
            raw_rows, seconds = reference(db, base / "raw.csv")
            raw_seconds = min(raw_seconds, seconds)
            run = idms_export(db, base / "idms.csv", profile=args.profile)
            if run["seconds"] < ours_seconds:
                ours, ours_seconds = run, run["seconds"]
        small = idms_export(db, base / "small.csv", limit=min(args.small, active))
        raw_rate = raw_rows / raw_seconds
        our_rate = ours["rows"] / ours_seconds
        print(f"best of {args.repeat} runs each")
        print(
            f"raw sqlite3 + csv: {raw_rows:,} rows in {raw_seconds:.2f} s, {raw_rate:,.0f} rows/s"
        )
        print(
            f"idms export_query to CSV: {int(ours['rows']):,} rows in {ours_seconds:.2f} s, "
            f"{our_rate:,.0f} rows/s (plus {ours['setup']:.2f} s to open the store and compile)"
        )
        print(f"ratio: {our_rate / raw_rate:.2f}x of the raw reference (goal >= 0.5x)")
        print(
            f"peak memory of the export process: {ours['peak_mb']:.0f} MB for "
            f"{int(ours['rows']):,} rows, {small['peak_mb']:.0f} MB for {int(small['rows']):,} "
            f"rows ({ours['peak_mb'] - small['peak_mb']:+.0f} MB: constant)"
        )
        raw_mb = (base / "raw.csv").stat().st_size / 1e6
        idms_mb = (base / "idms.csv").stat().st_size / 1e6
        print(f"files: raw {raw_mb:.1f} MB, idms {idms_mb:.1f} MB (True/False for 0/1)")


if __name__ == "__main__":
    main()
