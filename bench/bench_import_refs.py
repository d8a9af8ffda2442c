"""Import speed against honest references: the same rows, into the same tables (issue 3, goals 1-2).

Two passes of an insert-update of N contacts (14 mapped columns, matched on Email; City,
StateProvince and PostalCode land in the addresses table): pass 1 into an empty store (all new),
pass 2 the same file with every other row changed (Title and City: the contact and its address),
so half the rows are updates and half unchanged. idms runs each pass as ``idms run`` does
(``Workspace.run``: durable, matched, validated, row results and undo images recorded), in a
process of its own whose peak memory (VmHWM, per pass) is reported. The references write the
same file into a store whose tables the store itself created (``open_store`` on a fresh
database: identical tables and indexes, the case-insensitive ``idms_fold`` ones included); what
they keep of the store's rules and what they leave out is in ``import_refs.py``.

- ``--store sqlite``: the reference is raw ``sqlite3`` ``executemany`` (match on the folded
  e-mail, insert contacts and addresses, update the changed rows), a commit per 1,000 rows, on
  the store's own connection settings. Goal 1: idms at >= 0.5x of it, each pass. Beside it,
  the *floor* (``import_refs.sqlite_floor``): the same writes plus only what no import with
  idms's guarantees may skip (cells typed by idms's coercers, lookup codes checked, matched
  records read whole and compared, each row's result with its before- and after-images
  journalled in the store's transaction and recorded in a second database), written as one
  loop with a tuple per row. Its ratio to executemany is how close any CPython import that
  keeps those guarantees can come; idms's ratio to it is what idms's pipeline costs above it.
  And the *set floor* (``import_refs.sqlite_set_floor``, issue 18): exactly those guarantees,
  set-based: Python per row only types the cells into a tuple, each batch is staged by one
  executemany into a TEMP table, and a few ``INSERT ... SELECT`` / ``UPDATE ... FROM``
  statements check the codes, match, diff, write, make the images (JSON, in SQL) and journal.
  Its ratio to executemany is what an idms pipeline built that way could reach; both floors'
  ratios to executemany are printed, by CPU time, and idms's ratio to each.
- ``--store postgresql`` (a fresh database per store and run on ``--pg``, default
  ``postgresql://postgres@127.0.0.1:5432``): the references are ``COPY`` into a temporary table
  then a set-based merge (goal 2: idms at >= 0.5x), and the naive per-row loop, a commit per
  1,000 rows (idms must never be slower).

After each pass the stores' contents are compared (contacts, addresses, changed titles and
cities, distinct ContactKeys, the contact-ID counter; after pass 1 among the references, idms's
through its outcome counts), and on SQLite the two floors' recorded row results (outcomes,
identities, before- and after-images as JSON values): a reference that did less than idms, or a
floor that recorded less than the other, would fail the bench.

    .venv/bin/python bench/bench_import_refs.py --store sqlite --rows 100000 --repeat 3
    .venv/bin/python bench/bench_import_refs.py --store postgresql --rows 100000

Prints rows/s per pass for idms and each reference, the ratios and idms's peak memory, as
min / median / max over the repeats (``--json`` for the raw figures). The programs run one after
the other, so on a shared machine the load can change between them and move the ratios: against
the SQLite reference (in this process, nearly all of its work on the processor) the ratio by
processor time is printed too, which the load changes least. On PostgreSQL part of the work is
the server's, so there only wall-clock ratios are printed; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import csv
import functools
import itertools
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from bench_import import COLUMNS, FIELDS, make_csv
from import_refs import (
    pg_copy_merge,
    pg_naive,
    sqlite_executemany,
    sqlite_floor,
    sqlite_set_floor,
    timed,
)

IDMS_SCRIPT = r"""
import json, sys, time
from pathlib import Path
from idms.config import Settings
from idms.jobs.model import build_job
from idms.workspace import Workspace

workspace, target, fields, columns, *files = sys.argv[1:]
mappings = [
    {"field": f, "column": c, "match": f == "Email"}
    for f, c in zip(fields.split(","), columns.split(","))
]
out = []
with Workspace.open(Settings.load(workspace=workspace, target=target, environ={})) as ws:
    for path in files:
        job = build_job({"input": path, "source": "Contact", "action": "insert-update",
                         "mappings": mappings})
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from VmRSS
        start, cpu = time.perf_counter(), time.process_time()
        report = ws.run(job)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        with open("/proc/self/status") as status:
            hwm = next(x for x in status if x.startswith("VmHWM:"))
        out.append({"seconds": seconds, "cpu": cpu, "peak_mb": int(hwm.split()[1]) / 1024,
                    "counts": report.summary()})
print(json.dumps(out))
"""

# The references that run in this process, so their CPU time is nearly all their work.
IN_PROCESS = ("executemany", "floor", "set floor")

STATE = (
    "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM addresses), "
    "(SELECT count(*) FROM contacts WHERE title = 'Director'), "
    "(SELECT count(*) FROM addresses WHERE city = 'Shelbyville' AND address_purpose = 'Address'), "
    "(SELECT count(DISTINCT contact_key) FROM contacts), "
    "(SELECT value FROM counters WHERE name = 'LAST_CONTACT_ID')"
)


def changed_half(csv_path: Path, out: Path) -> None:
    """The same contacts, every other one with a new Title and City (its address changes)."""
    with csv_path.open(newline="", encoding="utf-8") as f, out.open("w", newline="") as g:
        reader, writer = csv.reader(f), csv.writer(g)
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i % 2 == 0:
                row[4], row[11] = "Director", "Shelbyville"
            writer.writerow(row)


def fresh_store(url: str) -> None:
    """A new store at ``url``: its tables from its own migrations, its lookups (no contacts)."""
    from idms.demo.generate import fill_demo
    from idms.targets.embedded.store import open_store

    engine = open_store(url)
    fill_demo(engine, contacts=0)
    engine.dispose()


def state(url: str) -> tuple[int, ...]:
    from sqlalchemy import text

    from idms.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text(STATE)).one()
    engine.dispose()
    return tuple(int(v or 0) for v in row)


def same_results(floor: Path, other: Path) -> None:
    """Both floors recorded the same row results, pass by pass: outcomes, and identities and
    images equal as JSON values (the texts may differ in key order or escapes, not in content).
    Read side by side: a pass's images do not fit in memory at a million rows."""
    from idms.runs.rows import loads

    sql = (
        "SELECT seq, row_number, outcome, identity, before, after FROM run_rows "
        "ORDER BY run_id, seq"
    )
    with closing(sqlite3.connect(floor)) as a, closing(sqlite3.connect(other)) as b:
        for x, y in itertools.zip_longest(a.execute(sql), b.execute(sql)):
            if (
                x is None
                or y is None
                or x[:3] != y[:3]
                or any(loads(u) != loads(v) for u, v in zip(x[3:], y[3:], strict=True))
            ):
                raise SystemExit(f"The floors' row results differ: {x} / {y}")


class Databases:
    """Fresh stores: files in a temporary folder, or databases on one PostgreSQL server."""

    def __init__(self, kind: str, folder: Path, server: str) -> None:
        self.kind, self.folder, self.server, self.made = kind, folder, server.rstrip("/"), []

    def new(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / name}.db"
        import psycopg

        db = f"idms_bench_{name}"
        with psycopg.connect(f"{self.server}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {db}")
        self.made.append(db)
        return f"{self.server}/{db}"

    def drop(self) -> None:
        if self.made:
            import psycopg

            with psycopg.connect(f"{self.server}/postgres", autocommit=True) as conn:
                for db in self.made:
                    conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def run_idms(url: str, workspace: Path, files: list[Path]) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-c", IDMS_SCRIPT, str(workspace), url, ",".join(FIELDS),
         ",".join(COLUMNS), *map(str, files)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: list[dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def one_round(args: argparse.Namespace, dbs: Databases, files: list[Path], n: int) -> dict:  # type: ignore[type-arg]
    """idms and every reference, both passes each, on fresh stores; their states compared."""
    refs: dict[str, Callable[[str, Path], dict[str, int]]]
    if args.store == "sqlite":
        refs = {
            "executemany": sqlite_executemany,
            "floor": sqlite_floor,
            "set floor": sqlite_set_floor,
        }
    else:
        refs = {"copy_merge": pg_copy_merge, "naive": pg_naive}
    result: dict[str, Any] = {}
    url = dbs.new(f"idms{n}")
    fresh_store(url)
    passes = run_idms(url, dbs.folder / f"ws{n}", files)
    result["idms"] = passes
    states = {"idms": state(url)}  # after pass 2; pass 1 is compared through the counts
    firsts: dict[str, tuple[int, ...]] = {}  # the references' states after pass 1
    for name, reference in refs.items():
        slug = f"{name.replace(' ', '_')}{n}"
        url = dbs.new(slug)
        fresh_store(url)
        result[name] = []
        if reference in (sqlite_floor, sqlite_set_floor):  # a suite of its own, as idms's run
            reference = functools.partial(reference, suite_path=dbs.folder / f"{slug}.suite.db")
        for path in files:
            seconds, cpu, counts = timed(reference, url, path)
            result[name].append({"seconds": seconds, "cpu": cpu, "counts": counts})
            firsts.setdefault(name, state(url))
        states[name] = state(url)
    if len(set(firsts.values())) != 1:
        raise SystemExit(f"The stores differ after pass 1 (contacts, addresses, ...): {firsts}")
    if len(set(states.values())) != 1:
        raise SystemExit(f"The stores differ after pass 2 (contacts, addresses, ...): {states}")
    if args.store == "sqlite":
        same_results(dbs.folder / f"floor{n}.suite.db", dbs.folder / f"set_floor{n}.suite.db")
    for i, p in enumerate(passes):
        mine = {k: p["counts"][k] for k in ("inserted", "updated", "unchanged")}
        for name in refs:
            if result[name][i]["counts"] != mine:
                raise SystemExit(f"Pass {i + 1}: idms {mine}, {name} {result[name][i]['counts']}")
    result["state"] = states["idms"]
    return result


def spread(values: list[float], fmt: str) -> str:
    lo, mid, hi = min(values), statistics.median(values), max(values)
    return f"{lo:{fmt}} / {mid:{fmt}} / {hi:{fmt}}" if len(values) > 1 else f"{mid:{fmt}}"


def report(rounds: list[dict[str, Any]], rows: int) -> None:
    names = [k for k in rounds[0] if k not in ("idms", "state")]
    print(f"rows: {rows:,}; repeats: {len(rounds)} (min / median / max)")
    for i, label in enumerate(("pass 1 (all new)", "pass 2 (50% changed)")):
        idms = [rows / r["idms"][i]["seconds"] for r in rounds]
        print(f"{label}: {rounds[0]['idms'][i]['counts']}")
        print(f"  idms (durable, as `idms run`): {spread(idms, ',.0f')} rows/s")
        for name in names:
            rate = [rows / r[name][i]["seconds"] for r in rounds]
            ratio = [a / b for a, b in zip(idms, rate, strict=True)]
            print(f"  {name}: {spread(rate, ',.0f')} rows/s; idms at {spread(ratio, '.3f')}x")
            if name in IN_PROCESS:  # CPU time is nearly all its work
                cpu = [r[name][i]["cpu"] / r["idms"][i]["cpu"] for r in rounds]
                print(f"    by CPU time (steadier on a loaded machine): {spread(cpu, '.3f')}x")
        for floor in ("floor", "set floor"):
            if floor in names and "executemany" in names:
                ratio = [r["executemany"][i]["cpu"] / r[floor][i]["cpu"] for r in rounds]
                print(f"  the {floor} at {spread(ratio, '.3f')}x of executemany by CPU time")
        secs = [r["idms"][i]["seconds"] for r in rounds]
        peak = [r["idms"][i]["peak_mb"] for r in rounds]
        print(f"  idms seconds {spread(secs, '.1f')}; peak memory {spread(peak, '.0f')} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        files = [base / "contacts.csv", base / "changed.csv"]
        make_csv(files[0], args.rows)
        changed_half(files[0], files[1])
        dbs = Databases(args.store, base, args.pg)
        try:
            rounds = [one_round(args, dbs, files, n) for n in range(args.repeat)]
        finally:
            dbs.drop()
    if args.json:
        print(json.dumps(rounds, indent=1))
    report(rounds, args.rows)


if __name__ == "__main__":
    main()
