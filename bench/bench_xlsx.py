"""XLSX reading: idms's reader against python-calamine's own iteration of the same file.

Goal (the performance issue): reading a 100,000-row workbook through ``idms.io.reader.open_input``
runs at 0.8x or more of python-calamine's own rate (open the workbook, load the sheet, iterate
its rows), every run. Both sides are timed in turn, ``--repeat`` times, in this one process, and
the ratio is taken pair by pair, so a machine whose speed drifts moves both sides of a pair.
Wall time is the goal's measure; the process's CPU time is shown too, as the ratio that a busy
machine (other processes taking turns on the cores) disturbs least.

    .venv/bin/python bench/bench_xlsx.py [--rows 100000] [--repeat 7]

The workbook has the 14 text columns of bench_import.py's contacts plus two numbers and a date,
so the cell conversion (whole floats to int, empty text to None) is exercised too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

COLUMNS = [
    "Email", "First", "Last", "Middle", "Title", "HomePhone", "WorkPhone", "MemberType",
    "Status", "BirthDate", "JoinDate", "City", "State", "Zip", "Dues", "Visits", "Renewed",
]  # fmt: skip


def make_workbook(path: Path, rows: int) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Contacts")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for c, name in enumerate(COLUMNS):
        sheet.write_string(0, c, name)
    renewed = dt.datetime(2024, 3, 1)
    for r in range(1, rows + 1):
        values = [
            f"person{r}@example.org", f"First{r}", f"Last{r}", "Q", "Engineer", "555", "",
            "GLD", "A", "1970-01-01", "2020-01-15", "Springfield", "IL", "02139",
        ]  # fmt: skip
        for c, value in enumerate(values):
            if value:
                sheet.write_string(r, c, value)
        sheet.write_number(r, 14, 125.5 if r % 2 else 120)
        sheet.write_number(r, 15, r % 17)
        sheet.write_datetime(r, 16, renewed, date_format)
    book.close()


def calamine_seconds(path: Path) -> tuple[int, float, float]:
    """python-calamine alone: open, load the first sheet, build every row's Python values.
    (rows, wall seconds, CPU seconds)"""
    from python_calamine import CalamineWorkbook

    start, cpu = time.perf_counter(), time.process_time()
    workbook = CalamineWorkbook.from_path(str(path))
    sheet = workbook.get_sheet_by_name(workbook.sheet_names[0])
    count = sum(1 for _ in sheet.iter_rows()) - 1  # the header row is not a record
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    workbook.close()
    return count, seconds, cpu


def idms_seconds(path: Path) -> tuple[int, float, float]:
    """idms's reader: the same, plus the header, typed cells and one dict per row."""
    from idms.io.reader import open_input

    start, cpu = time.perf_counter(), time.process_time()
    with open_input(path) as reader:
        count = sum(1 for _ in reader)
    return count, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.xlsx"
        make_workbook(path, args.rows)
        calamine_seconds(path)  # warm the page cache and the imports
        idms_seconds(path)
        ratios, cpu_ratios, raw_rates, our_rates = [], [], [], []
        for _ in range(args.repeat):
            raw_count, raw, raw_cpu = calamine_seconds(path)
            our_count, ours, our_cpu = idms_seconds(path)
            assert raw_count == our_count == args.rows, (raw_count, our_count)
            raw_rates.append(args.rows / raw)
            our_rates.append(args.rows / ours)
            ratios.append(raw / ours)
            cpu_ratios.append(raw_cpu / our_cpu)

    def spread(values: list[float], fmt: str) -> str:
        return "  ".join(
            f"{name} {format(f(values), fmt)}"
            for name, f in (("min", min), ("median", statistics.median), ("max", max))
        )

    print(f"xlsx {args.rows:,} rows x {len(COLUMNS)} columns, {args.repeat} pairs")
    print(f"python-calamine rows/s: {spread(raw_rates, ',.0f')}")
    print(f"idms reader rows/s:     {spread(our_rates, ',.0f')}")
    print(f"ratio idms/calamine:    {spread(ratios, '.3f')}  (goal >= 0.8 every run)")
    print(f"ratio in CPU time:      {spread(cpu_ratios, '.3f')}")


if __name__ == "__main__":
    main()
