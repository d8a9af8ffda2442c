"""How long `idms demo --contacts 10000` takes, against the one-minute goal (issue 2).

The reference is the goal itself (60 s) and, measured in the same run, a raw sqlite3
executemany of 10,000 contact rows, to show what share of the time the demo's richness costs.

    .venv/bin/python bench/bench_demo_fill.py [--contacts N]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from idms.demo.generate import fill_demo
from idms.targets.embedded.store import open_store


def raw_reference(path: Path, n: int) -> float:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE c (id TEXT PRIMARY KEY, first TEXT, last TEXT, email TEXT)")
    rows = [(str(i), f"First{i}", f"Last{i}", f"p{i}@example.org") for i in range(n)]
    start = time.perf_counter()
    conn.executemany("INSERT INTO c VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_store(f"sqlite:///{Path(tmp) / 'imis.db'}")
        start = time.perf_counter()
        summary = fill_demo(engine, contacts=args.contacts, seed=1)
        demo = time.perf_counter() - start
        engine.dispose()
        raw = raw_reference(Path(tmp) / "raw.db", args.contacts)
    rows = sum(n for _, n in summary.as_rows())
    print(f"demo fill of {args.contacts} contacts ({rows} rows in all): {demo:.1f} s")
    print(f"goal: under 60 s -> {demo / 60:.2f} of the budget ({'met' if demo < 60 else 'MISSED'})")
    print(f"raw sqlite3 insert of {args.contacts} bare contact rows: {raw:.3f} s")


if __name__ == "__main__":
    main()
