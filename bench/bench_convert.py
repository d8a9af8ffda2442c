"""Convert's speed and memory against a bare csv-module loop measured in the same run (issue 16:
an export of 1,000,000 rows as CSV at >= 0.5x a bare script, in flat memory).

A row set of N member rows (8 columns: id, names, e-mail, city, an amount, a join date, a flag)
is written once as JSON Lines, as Fetch Query Data leaves it in a run's folder. Then, in turn,
three times each (each run in a subprocess of its own, so that its peak memory, VmHWM, is
its own):

1. The reference: read the JSONL with ``json.loads`` a line at a time and write every row with
   ``csv.writer.writerow`` (UTF-8 with BOM, CRLF), nothing else.
2. idms: the Convert action (defaults: CSV, header, formula escaping, UTF-8 with BOM, CRLF) over
   the row set's reference, through its ``ActionSpec`` as the runner calls it.
3. Memory: Convert of the first ``--small`` rows; the peak of both Convert runs should be about
   the same (constant memory, whatever the row count).

Reported: min and median seconds of each, by the wall clock and by the process's CPU time (the
steadier measure on a shared machine), the ratio (reference time / Convert time; goal >= 0.5)
and the peak RSS of each.

    .venv/bin/python bench/bench_convert.py [--rows 1000000] [--small 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

COLUMNS = ["id", "first", "last", "email", "city", "amount", "joined", "active"]
FIRST = ["Ann", "Bob", "Zoë", "Élodie", "Jörg", "Li", "María", "Sam", "=cmd", "Tom"]
LAST = ["Smith", "Ångström", "O'Neil", "Nguyễn", "Brown", "García", "Müller", "Lee"]
CITY = ["Liège", "Paris", "New York, NY", "São Paulo", "Zürich", "Leeds", "Oslo"]


def build(path: Path, rows: int) -> None:
    rng = random.Random(16)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            row: dict[str, Any] = {
                "id": 100000 + i,
                "first": first,
                "last": last,
                "email": f"{first.lower()}.{i}@example.org",
                "city": rng.choice(CITY),
                "amount": round(rng.uniform(-50, 500), 2),
                "joined": f"20{rng.randint(10, 24)}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(1, 28):02d}",
                "active": rng.random() < 0.8,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def bare(source: Path, target: Path) -> int:
    """The reference: what a hand-written script does."""
    count = 0
    with (
        source.open(encoding="utf-8") as lines,
        target.open("w", encoding="utf-8-sig", newline="") as out,
    ):
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for line in lines:
            row = json.loads(line)
            writer.writerow([row.get(column) for column in COLUMNS])
            count += 1
    return count


def prepare_convert(source: Path, rows: int) -> Callable[[], int]:
    """Convert as the runner calls it, ready to run: the suite imported, the step's parameters
    validated (neither is the export's work, and neither is timed)."""
    from idms.workflows.actions import actions
    from idms.workflows.actions.base import ActionContext

    spec = actions()["convert"]
    context = ActionContext(
        services=None,  # type: ignore[arg-type]  # Convert asks nothing of the suite
        workflow_id="bench",
        workflow="bench",
        run_id="bench",
        step_id="export",
        attempt=1,
        files=source.parent,
        render=lambda template, names: template,
    )
    reference = {"$rows": source.name, "count": rows, "columns": COLUMNS}
    params = spec.params.model_validate({"input": reference, "file_name": "members.csv"})
    return lambda: int(spec.run(params, {}, context).output["rows"])


def child(kind: str, source: Path, rows: int) -> None:
    work = (
        prepare_convert(source, rows)
        if kind == "convert"
        else lambda: bare(source, source.parent / "bare.csv")
    )
    started, cpu = time.perf_counter(), time.process_time()
    written = work()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the process that started this one
    with open("/proc/self/status", encoding="ascii") as status:
        peak_kib = int(next(x for x in status if x.startswith("VmHWM:")).split()[1])
    print(
        json.dumps({"seconds": seconds, "cpu": cpu, "rows": written, "peak_mib": peak_kib / 1024})
    )


def measure(kind: str, source: Path, rows: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(source), str(rows)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["rows"] == rows, result
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        kind, source, rows = args.child
        child(kind, Path(source), int(rows))
        return
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "members.jsonl"
        small = Path(folder) / "small" / "members.jsonl"
        small.parent.mkdir()
        build(source, args.rows)
        build(small, args.small)
        print(f"{args.rows:,} rows, {source.stat().st_size / 2**20:,.0f} MiB of JSON Lines")
        runs: dict[str, list[dict[str, Any]]] = {"bare": [], "convert": []}
        for _ in range(args.repeat):  # interleaved, so that both see the same machine
            runs["bare"].append(measure("bare", source, args.rows))
            runs["convert"].append(measure("convert", source, args.rows))
        small_run = measure("convert", small, args.small)
        for clock in ("seconds", "cpu"):
            times = {k: [r[clock] for r in v] for k, v in runs.items()}
            print(f"-- {'wall clock' if clock == 'seconds' else 'CPU time of the process'}")
            for kind, seconds in times.items():
                print(
                    f"{kind:8} min {min(seconds):6.2f} s  "
                    f"median {statistics.median(seconds):6.2f} s"
                )
            ratio_min = min(times["bare"]) / min(times["convert"])
            ratio_median = statistics.median(times["bare"]) / statistics.median(times["convert"])
            print(
                f"ratio (bare / convert): {ratio_min:.2f}x by min, {ratio_median:.2f}x by median "
                "(goal >= 0.5x)"
            )
        for kind, kind_runs in runs.items():
            print(f"{kind:8} peak RSS {max(r['peak_mib'] for r in kind_runs):6.1f} MiB")
        big = max(r["peak_mib"] for r in runs["convert"])
        print(
            f"convert of {args.small:,} rows: {small_run['seconds']:.2f} s, "
            f"peak RSS {small_run['peak_mib']:.1f} MiB; {big / small_run['peak_mib']:.2f}x that "
            f"at {args.rows:,} rows (flat: under 1.5x; what convert holds over the bare loop "
            "is the suite's imports)"
        )


if __name__ == "__main__":
    main()
